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
    assert step["price"] != step["total"]  # the toggle redrew the page from the total-return series
    assert (SCREENSHOTS / "index.png").stat().st_size > 10_000


def test_the_index_page_fits_a_phone_and_follows_the_dark_theme(e2e: Report) -> None:
    e2e.step("the index page fits a 375 px screen")
    e2e.step("the dark theme follows the system setting")


def test_a_reload_keeps_the_cookie_session_and_sign_out_ends_it(e2e: Report) -> None:
    # The script also checks the cookie is HttpOnly, Secure, SameSite=Strict, scoped to /v1/auth/session.
    e2e.step("a reload keeps the session; sign-out ends it")


def test_the_allocations_page_shows_current_and_target_weights(e2e: Report) -> None:
    e2e.step("the allocations page shows current and target weights")


def test_a_simulation_shows_the_value_in_its_currency_and_the_currency_effect(e2e: Report) -> None:
    step = e2e.step("the simulation shows the value in a currency and the currency effect")
    assert "€" in step["end_value"] and "%" in step["currency_effect"]
    assert "start must not be after end" in step["error"]  # the problem's detail, as the API wrote it


def test_the_compare_page_puts_index_and_benchmark_side_by_side(e2e: Report) -> None:
    e2e.step("the compare page shows index and benchmark side by side")


def test_api_keys_are_shown_once_copied_listed_and_revoked(e2e: Report) -> None:
    e2e.step("API keys: created (shown once, copied), listed, revoked")


def test_admin_pages_edit_the_strategy_follow_runs_and_filter_the_audit_log(e2e: Report) -> None:
    step = e2e.step(
        "admin: strategy editor (problem details, diff, compute run), refresh run, freshness, usage, audit filter"
    )
    assert "must sum to 1" in step["validation"]  # the API's own validation message, in the form


def test_axe_finds_no_serious_or_critical_violation_on_any_page(e2e: Report) -> None:
    pages = e2e.step("axe-core finds no serious or critical violation")["pages"]
    assert {"sign-in", "index", "allocations", "simulate", "compare", "account", "admin", "index-dark"} <= set(pages)


def test_registering_shows_the_password_rule_then_signs_the_account_in(e2e: Report) -> None:
    assert "12" in e2e.step("registering signs the new account in")["refusal"]
