"""The caller's sessions: listed without token material, the current one marked, each ended on its own,
and nobody else's seen or ended (a 404, as for an unknown id)."""

from __future__ import annotations

import uuid

from tests.functions.auth.keys import create_key
from tests.functions.auth.sessions import login, me, refresh
from tests.functions.conftest import Account, Client, register_and_login


def sessions(auth: Client, access_token: str) -> list[dict[str, object]]:
    result = auth.get("/v1/auth/sessions", headers={"Authorization": f"Bearer {access_token}"})
    assert result.status == 200, result.body
    items: list[dict[str, object]] = result.json()["items"]
    return items


def test_the_list_shows_each_live_session_newest_first_and_marks_the_current_one(auth: Client, user: Account) -> None:
    second = login(auth, user)
    listed = sessions(auth, second["access_token"])
    assert len(listed) == 2
    assert [s["current"] for s in listed] == [True, False]  # newest first: the second login
    assert set(listed[0]) == {"id", "started_at", "last_refreshed_at", "expires_at", "current"}
    body = auth.get("/v1/auth/sessions", headers=user.bearer()).body.decode()
    assert user.refresh_token not in body and second["refresh_token"] not in body
    assert [s["current"] for s in sessions(auth, user.access_token)] == [False, True]


def test_a_refresh_moves_last_refreshed_but_keeps_the_session(auth: Client, user: Account) -> None:
    (before,) = sessions(auth, user.access_token)
    status, pair = refresh(auth, user.refresh_token)
    assert status == 200
    (after,) = sessions(auth, str(pair["access_token"]))
    assert after["id"] == before["id"] and after["started_at"] == before["started_at"]
    assert str(after["last_refreshed_at"]) >= str(before["last_refreshed_at"]) and after["current"] is True


def test_ending_one_session_ends_its_tokens_and_leaves_the_others(auth: Client, user: Account) -> None:
    other = login(auth, user)
    target = next(s for s in sessions(auth, user.access_token) if not s["current"])
    ended = auth.delete(f"/v1/auth/sessions/{target['id']}", headers=user.bearer())
    assert ended.status == 204
    assert me(auth, other["access_token"]) == 401
    assert refresh(auth, other["refresh_token"])[0] == 401
    assert me(auth, user.access_token) == 200
    assert [s["id"] for s in sessions(auth, user.access_token)] != [target["id"]]
    assert len(sessions(auth, user.access_token)) == 1
    # Ending it again is a 404: it is over.
    assert auth.delete(f"/v1/auth/sessions/{target['id']}", headers=user.bearer()).status == 404


def test_nobody_sees_or_ends_another_users_session(auth: Client, user: Account) -> None:
    stranger = register_and_login(auth)
    (theirs,) = sessions(auth, stranger.access_token)
    assert all(s["id"] != theirs["id"] for s in sessions(auth, user.access_token))
    refused = auth.delete(f"/v1/auth/sessions/{theirs['id']}", headers=user.bearer())
    assert refused.status == 404 and refused.json()["detail"] == "No such session."
    unknown = auth.delete(f"/v1/auth/sessions/{uuid.uuid4()}", headers=user.bearer())
    assert unknown.status == 404 and unknown.json()["detail"] == refused.json()["detail"]
    assert me(auth, stranger.access_token) == 200


def test_ending_a_session_is_audited(auth: Client, user: Account) -> None:
    from autoindex.db.uow import UnitOfWork
    from autoindex.identity.models import AuditEvent
    from sqlalchemy import select

    other = login(auth, user)
    target = next(s for s in sessions(auth, other["access_token"]) if not s["current"])
    assert (
        auth.delete(
            f"/v1/auth/sessions/{target['id']}", headers={"Authorization": f"Bearer {other['access_token']}"}
        ).status
        == 204
    )
    with UnitOfWork(read_only=True) as uow:
        rows = list(
            uow.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "auth.logout", AuditEvent.target_id == target["id"])
            )
        )
    assert len(rows) == 1 and rows[0].outcome == "success"


def test_api_keys_and_anonymous_callers_have_no_sessions(auth: Client, user: Account) -> None:
    key = create_key(auth, user, ["read", "write"])["key"]
    assert auth.get("/v1/auth/sessions", headers={"X-API-Key": key}).status == 403
    (mine,) = sessions(auth, user.access_token)
    assert auth.delete(f"/v1/auth/sessions/{mine['id']}", headers={"X-API-Key": key}).status == 403
    assert auth.get("/v1/auth/sessions").status == 401
    assert auth.delete(f"/v1/auth/sessions/{mine['id']}").status == 401
    assert auth.delete("/v1/auth/sessions/not-a-uuid", headers=user.bearer()).status == 422
    assert me(auth, user.access_token) == 200
