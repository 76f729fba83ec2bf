"""Browser sessions (`/v1/auth/session/*`): the refresh token only ever in an HttpOnly, Secure,
SameSite=Strict cookie scoped to those routes, rotation and reuse detection as for the body routes,
and the CSRF defence refusing anything but the site's own pages."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest

from tests.functions.conftest import Account, Client, random_ip

HOST = "autoindex.example.com"
SAME_ORIGIN = {"host": HOST, "x-autoindex-csrf": "1", "sec-fetch-site": "same-origin", "origin": f"https://{HOST}"}


def cookie_of(raw: dict[str, object]) -> tuple[str, dict[str, str]]:
    """The refresh cookie's value and its attributes (lower-case names) from a handler result."""
    cookies = raw.get("cookies") or []
    assert isinstance(cookies, list) and len(cookies) == 1, cookies
    header = str(cookies[0])
    parsed = SimpleCookie()
    parsed.load(header)
    morsel = parsed["autoindex_refresh"]
    flags = {part.strip().lower() for part in header.split(";")[1:]}
    attributes = {k: str(v) for k, v in morsel.items() if v}
    attributes |= {flag: "true" for flag in ("httponly", "secure") if flag in flags}
    return morsel.value, attributes


def session_login(
    auth: Client, account: Account, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, object]]:
    result = auth.post(
        "/v1/auth/session/login",
        body={"email": account.email, "password": account.password},
        headers=SAME_ORIGIN if headers is None else headers,
    )
    return result.status, result.raw


def with_cookie(value: str) -> dict[str, str]:
    return {**SAME_ORIGIN, "cookie": f"autoindex_refresh={value}"}


def me(auth: Client, access_token: str) -> int:
    return auth.get("/v1/auth/me", headers={"Authorization": f"Bearer {access_token}"}).status


def test_login_puts_the_refresh_token_in_a_strict_httponly_cookie_and_the_access_token_in_the_body(
    auth: Client, user: Account
) -> None:
    result = auth.post(
        "/v1/auth/session/login", body={"email": user.email, "password": user.password}, headers=SAME_ORIGIN
    )
    assert result.status == 200, result.body
    body = result.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}  # no refresh token a script could read
    assert result.headers["cache-control"] == "no-store"
    value, attributes = cookie_of(result.raw)
    assert len(value) >= 32
    assert attributes["httponly"] == "true" and attributes["secure"] == "true"
    assert attributes["samesite"].lower() == "strict"
    assert attributes["path"] == "/v1/auth/session"  # never sent to the API's other routes
    assert int(attributes["max-age"]) > 0
    assert me(auth, body["access_token"]) == 200


def test_refresh_rotates_the_cookie_and_a_reused_cookie_ends_the_session(auth: Client, user: Account) -> None:
    _, raw = session_login(auth, user)
    first, _ = cookie_of(raw)
    rotated = auth.post("/v1/auth/session/refresh", headers=with_cookie(first), source_ip=random_ip())
    assert rotated.status == 200, rotated.body
    second, _ = cookie_of(rotated.raw)
    assert second != first
    access = rotated.json()["access_token"]
    assert me(auth, access) == 200
    # The first cookie again (stolen, or replayed): the whole session ends, the current cookie with it.
    reused = auth.post("/v1/auth/session/refresh", headers=with_cookie(first), source_ip=random_ip())
    assert reused.status == 401 and reused.headers["content-type"] == "application/problem+json"
    assert auth.post("/v1/auth/session/refresh", headers=with_cookie(second), source_ip=random_ip()).status == 401
    assert me(auth, access) == 401


def test_logout_ends_the_session_and_clears_the_cookie(auth: Client, user: Account) -> None:
    status, raw = session_login(auth, user)
    assert status == 200
    value, _ = cookie_of(raw)
    refreshed = auth.post("/v1/auth/session/refresh", headers=with_cookie(value))
    current, _ = cookie_of(refreshed.raw)
    out = auth.post("/v1/auth/session/logout", headers=with_cookie(current))
    assert out.status == 204
    cleared, attributes = cookie_of(out.raw)
    assert cleared == "" and attributes["max-age"] == "0" and attributes["path"] == "/v1/auth/session"
    assert me(auth, refreshed.json()["access_token"]) == 401
    assert auth.post("/v1/auth/session/refresh", headers=with_cookie(current)).status == 401


def test_refresh_without_a_cookie_is_a_401_and_logout_without_one_only_clears(auth: Client) -> None:
    missing = auth.post("/v1/auth/session/refresh", headers=SAME_ORIGIN)
    assert missing.status == 401 and "sign in" in missing.json()["detail"]
    assert auth.post("/v1/auth/session/refresh", headers=with_cookie("x" * 500)).status == 401
    out = auth.post("/v1/auth/session/logout", headers=SAME_ORIGIN)
    assert out.status == 204 and cookie_of(out.raw)[0] == ""


CROSS_SITE = {
    "no CSRF header": {k: v for k, v in SAME_ORIGIN.items() if k != "x-autoindex-csrf"},
    "a wrong CSRF header": {**SAME_ORIGIN, "x-autoindex-csrf": "true"},
    "a cross-site fetch": {**SAME_ORIGIN, "sec-fetch-site": "cross-site"},
    "a same-site (other subdomain) fetch": {**SAME_ORIGIN, "sec-fetch-site": "same-site"},
    "another Origin": {**SAME_ORIGIN, "origin": "https://evil.example.net"},
    "Origin null": {**SAME_ORIGIN, "origin": "null"},
    "neither Origin nor Sec-Fetch-Site": {"host": HOST, "x-autoindex-csrf": "1"},
}


@pytest.mark.parametrize("case", sorted(CROSS_SITE))
def test_the_csrf_defence_refuses_what_another_site_could_send(auth: Client, user: Account, case: str) -> None:
    status, raw = session_login(auth, user, headers=CROSS_SITE[case])
    assert status == 403, case
    assert not raw.get("cookies")  # no session started
    refreshed = auth.post(
        "/v1/auth/session/refresh", headers={**CROSS_SITE[case], "cookie": "autoindex_refresh=" + "a" * 40}
    )
    assert refreshed.status == 403


def test_an_origin_alone_is_enough_for_a_browser_without_fetch_metadata(auth: Client, user: Account) -> None:
    headers = {"host": HOST, "x-autoindex-csrf": "1", "origin": f"https://{HOST}"}
    assert session_login(auth, user, headers=headers)[0] == 200


def test_the_cookie_authenticates_no_other_route(auth: Client, user: Account) -> None:
    value, _ = cookie_of(session_login(auth, user)[1])
    assert auth.get("/v1/auth/me", headers={"cookie": f"autoindex_refresh={value}"}).status == 401
    # The body route takes its token from the body only, never from the cookie.
    assert auth.post("/v1/auth/refresh", headers={"cookie": f"autoindex_refresh={value}"}, body={}).status == 422
