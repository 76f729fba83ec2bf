"""The caller's sessions and API keys page with ``limit``/``cursor``: every item once, newest first, even
when items share a creation moment; a forged cursor or an over-large limit is a 422."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from autoindex.db.uow import UnitOfWork
from autoindex.identity.models import ApiKey, RefreshToken
from sqlalchemy import select, update

from tests.functions.auth.keys import create_key
from tests.functions.auth.sessions import login
from tests.functions.conftest import Account, Client

# One moment shared by several rows: the pages must break the tie by id, not skip or repeat a row.
SHARED_MOMENT = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def _pages(auth: Client, path: str, bearer: dict[str, str], limit: int) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        query = f"limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        result = auth.get(path, query=query, headers=bearer)
        assert result.status == 200, result.body
        body = result.json()
        assert len(body["items"]) <= limit
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "the cursor never ended"


def _refused_cursor(auth: Client, path: str, bearer: dict[str, str], cursor: str) -> None:
    result = auth.get(path, query=f"cursor={cursor}", headers=bearer)
    assert result.status == 422, (cursor, result.body)
    assert result.json()["errors"][0]["loc"] == ["query", "cursor"]


def test_sessions_page_through_every_live_session_once_newest_first(auth: Client, user: Account) -> None:
    for _ in range(4):
        login(auth, user)
    with UnitOfWork() as uow:  # three of the five sessions began at the same moment
        owned = select(RefreshToken.family_id).where(RefreshToken.user_id == uuid.UUID(user.user_id))
        families = sorted(set(uow.session.scalars(owned)))
        uow.session.execute(
            update(RefreshToken).where(RefreshToken.family_id.in_(families[:3])).values(issued_at=SHARED_MOMENT)
        )
    pages = _pages(auth, "/v1/auth/sessions", user.bearer(), limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    listed = [s for page in pages for s in page]
    assert sorted(uuid.UUID(s["id"]) for s in listed) == families  # no gap, no duplicate
    keys = [(s["started_at"], s["id"]) for s in listed]
    assert keys == sorted(keys, reverse=True)  # newest first across the pages
    assert [s["current"] for s in listed].count(True) == 1  # "This browser" is marked on whichever page


def test_api_keys_page_through_revoked_and_live_keys_alike(
    auth: Client, user: Account, fresh_settings: pytest.MonkeyPatch
) -> None:
    fresh_settings.setenv("API_KEY_MAX_PER_USER", "2")
    created: list[str] = []
    for _ in range(3):  # the cap counts live keys only, so revoked ones accumulate past it
        pair = [create_key(auth, user, ["read"])["id"] for _ in range(2)]
        for key_id in pair:
            assert auth.delete(f"/v1/auth/api-keys/{key_id}", headers=user.bearer()).status == 204
        created += pair
    created.append(create_key(auth, user, ["read"])["id"])
    with UnitOfWork() as uow:
        tied = [uuid.UUID(i) for i in created[2:5]]
        uow.session.execute(update(ApiKey).where(ApiKey.id.in_(tied)).values(created_at=SHARED_MOMENT))
    pages = _pages(auth, "/v1/auth/api-keys", user.bearer(), limit=3)
    assert [len(p) for p in pages] == [3, 3, 1]
    listed = [k for page in pages for k in page]
    assert sorted(k["id"] for k in listed) == sorted(created)
    keys = [(k["created_at"], k["id"]) for k in listed]
    assert keys == sorted(keys, reverse=True)
    assert sum(k["revoked_at"] is None for k in listed) == 1


@pytest.mark.parametrize("path", ["/v1/auth/sessions", "/v1/auth/api-keys"])
def test_a_forged_or_foreign_cursor_is_a_422(auth: Client, user: Account, path: str) -> None:
    login(auth, user)
    create_key(auth, user, ["read"])
    create_key(auth, user, ["read"])
    other = "/v1/auth/api-keys" if path == "/v1/auth/sessions" else "/v1/auth/sessions"
    foreign = auth.get(other, query="limit=1", headers=user.bearer()).json()["next_cursor"]
    assert foreign  # a real cursor, of the other list
    _refused_cursor(auth, path, user.bearer(), foreign)
    _refused_cursor(auth, path, user.bearer(), "bm90LWEtY3Vyc29y")  # base64 of "not-a-cursor"
    own = auth.get(path, query="limit=1", headers=user.bearer()).json()["next_cursor"]
    assert auth.get(path, query=f"limit=1&cursor={own}", headers=user.bearer()).status == 200
    _refused_cursor(auth, path, user.bearer(), own[:-3])  # truncated


@pytest.mark.parametrize("path", ["/v1/auth/sessions", "/v1/auth/api-keys"])
def test_the_limit_is_capped_at_one_hundred(auth: Client, user: Account, path: str) -> None:
    assert auth.get(path, query="limit=100", headers=user.bearer()).status == 200
    for limit in ("101", "0"):
        refused = auth.get(path, query=f"limit={limit}", headers=user.bearer())
        assert refused.status == 422, limit
        assert refused.json()["errors"][0]["loc"] == ["query", "limit"]
