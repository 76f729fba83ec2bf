"""Sessions end when they should: logout ends the access token at once, logout-all ends every session,
no session outlives its absolute lifetime however often it is refreshed, and an unreachable cache
never lets a logged-out token through."""

from __future__ import annotations

import socket
import time

import pytest
from autoindex.identity import authn

from tests.conftest import REDIS_URL, clear_process_caches
from tests.functions.auth.sessions import login, me, refresh
from tests.functions.conftest import Account, Client, register_and_login

DAY_S = 86_400


def _dead_redis_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_an_access_token_is_refused_right_after_logout(auth: Client, user: Account) -> None:
    assert me(auth, user.access_token) == 200  # cached as live on this instance
    assert auth.post("/v1/auth/logout", body={"refresh_token": user.refresh_token}).status == 204
    assert me(auth, user.access_token) == 401
    assert refresh(auth, user.refresh_token)[0] == 401


def test_logout_ends_only_its_own_session(auth: Client, user: Account) -> None:
    other = login(auth, user)
    assert auth.post("/v1/auth/logout", body={"refresh_token": user.refresh_token}).status == 204
    assert me(auth, user.access_token) == 401
    assert me(auth, other["access_token"]) == 200


def test_a_session_ends_after_its_absolute_lifetime_even_if_refreshed_every_day(
    auth: Client, user: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SESSION_MAX_AGE_S defaults to 30 days; the refresh token alone lives 30 days from each rotation.
    start = time.time()
    token = user.refresh_token
    for day in range(1, 30):
        monkeypatch.setattr(authn, "now", lambda day=day: start + day * DAY_S)
        status, pair = refresh(auth, token)
        assert status == 200, f"day {day}"
        assert isinstance(pair["expires_in"], int) and pair["expires_in"] <= 900
        token = str(pair["refresh_token"])
    monkeypatch.setattr(authn, "now", lambda: start + 30 * DAY_S + 60)
    assert refresh(auth, token)[0] == 401


def test_the_last_access_token_ends_with_the_session(
    auth: Client, user: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ten minutes before the session's end, a refresh still works but its access token lives ten minutes, not fifteen.
    start = time.time()
    monkeypatch.setattr(authn, "now", lambda: start + 30 * DAY_S - 600)
    status, pair = refresh(auth, user.refresh_token)
    assert status == 200
    assert isinstance(pair["expires_in"], int) and 590 <= pair["expires_in"] <= 600


def test_logout_all_ends_every_session_of_the_caller(auth: Client, user: Account, admin_api: Client) -> None:
    second, third = login(auth, user), login(auth, user)
    bystander = register_and_login(auth)
    for access in (user.access_token, second["access_token"], third["access_token"]):
        assert me(auth, access) == 200
    ended = auth.post("/v1/auth/logout-all", headers=user.bearer())
    assert ended.status == 200 and ended.json() == {"sessions_ended": 3}
    for access in (user.access_token, second["access_token"], third["access_token"]):
        assert me(auth, access) == 401
    for token in (user.refresh_token, second["refresh_token"], third["refresh_token"]):
        assert refresh(auth, token)[0] == 401
    assert me(auth, bystander.access_token) == 200
    # A new login after it is a new session and works.
    assert me(auth, login(auth, user)["access_token"]) == 200


def test_logout_all_is_audited(auth: Client, user: Account, admin: Account) -> None:
    from autoindex.db.uow import UnitOfWork
    from autoindex.identity.models import AuditEvent
    from sqlalchemy import select

    assert auth.post("/v1/auth/logout-all", headers=user.bearer()).status == 200
    with UnitOfWork(read_only=True) as uow:
        rows = list(
            uow.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "auth.logout_all", AuditEvent.actor_id == user.user_id)
            )
        )
    assert len(rows) == 1 and rows[0].outcome == "success" and rows[0].details["sessions_ended"] == 1


def test_logout_all_needs_a_caller(auth: Client) -> None:
    assert auth.post("/v1/auth/logout-all").status == 401


def test_redis_down_never_lets_a_logged_out_token_through(
    auth: Client, user: Account, fresh_settings: pytest.MonkeyPatch
) -> None:
    other = login(auth, user)
    for access in (user.access_token, other["access_token"]):
        assert me(auth, access) == 200  # both cached as live
    assert auth.post("/v1/auth/logout", body={"refresh_token": user.refresh_token}).status == 204
    fresh_settings.setenv("REDIS_URL", _dead_redis_url())
    clear_process_caches()
    # The cache cannot answer: the database decides, and it says the first session is over.
    assert me(auth, user.access_token) == 401
    assert me(auth, other["access_token"]) == 200


def test_a_logout_that_cannot_reach_the_cache_changes_nothing(
    auth: Client, user: Account, fresh_settings: pytest.MonkeyPatch
) -> None:
    assert me(auth, user.access_token) == 200  # cached as live in Redis
    fresh_settings.setenv("REDIS_URL", _dead_redis_url())
    clear_process_caches()
    for answer in (
        auth.post("/v1/auth/logout", body={"refresh_token": user.refresh_token}),
        auth.post("/v1/auth/logout-all", headers=user.bearer()),
    ):
        assert answer.status == 503 and answer.headers["retry-after"]
        assert answer.headers["content-type"] == "application/problem+json"
    fresh_settings.setenv("REDIS_URL", REDIS_URL)
    clear_process_caches()
    # Nothing changed: the session still works, and a logout now ends it.
    assert me(auth, user.access_token) == 200
    assert auth.post("/v1/auth/logout", body={"refresh_token": user.refresh_token}).status == 204
    assert me(auth, user.access_token) == 401


def test_register_answers_the_same_for_a_new_and_a_taken_address(auth: Client, user: Account) -> None:
    fresh = auth.post("/v1/auth/register", body={"email": f"new-{user.email}", "password": user.password})
    taken = auth.post("/v1/auth/register", body={"email": user.email.upper(), "password": "Another-Passw0rd-x"})
    assert fresh.status == taken.status == 202
    assert fresh.body == taken.body
    assert fresh.headers["content-type"] == taken.headers["content-type"]
    # The taken address kept its own password; the new one can log in with the one just chosen.
    assert auth.post("/v1/auth/login", body={"email": user.email, "password": "Another-Passw0rd-x"}).status == 401
    assert auth.post("/v1/auth/login", body={"email": f"new-{user.email}", "password": user.password}).status == 200
