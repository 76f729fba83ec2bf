"""What a person sees in the dashboard, in Chromium (web/tests/e2e.mjs); screenshots in var/screenshots."""

from __future__ import annotations

from tests.browser.conftest import SCREENSHOTS, Report


def test_the_whole_script_passed(e2e: Report) -> None:
    assert e2e.failed is None, f"{e2e.failed}\n{e2e.output[-3000:]}"


def test_a_refused_sign_in_shows_the_problem_detail(e2e: Report) -> None:
    assert "password" in e2e.step("sign-in refused shows the problem detail")["detail"].lower()


def test_signing_in_draws_the_index_charts_and_metrics(e2e: Report) -> None:
    step = e2e.step("sign-in, then the index page draws its charts")
    assert step["sign_in_to_charts_ms"] > 0
    assert (SCREENSHOTS / "index.png").stat().st_size > 10_000


def test_the_index_page_fits_a_phone_and_follows_the_dark_theme(e2e: Report) -> None:
    e2e.step("the index page fits a 375 px screen")
    e2e.step("the dark theme follows the system setting")


def test_a_reload_keeps_the_cookie_session_and_sign_out_ends_it(e2e: Report) -> None:
    # The script also checks the cookie is HttpOnly, Secure, SameSite=Strict, scoped to /v1/auth/session.
    e2e.step("a reload keeps the session; sign-out ends it")
