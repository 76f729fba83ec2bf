"""The audit trail: a row for each covered action, admin-only reads, filters and cursor pages."""

from __future__ import annotations

from typing import Any

from autoindex.db.uow import UnitOfWork
from autoindex.identity.models import AuditEvent

from tests.functions.conftest import Account, Client, new_email, register_and_login


def events(admin_api: Client, admin: Account, **query: str) -> dict[str, Any]:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    result = admin_api.get("/v1/admin/audit", headers=admin.bearer(), query=qs)
    assert result.status == 200, result.body
    body: dict[str, Any] = result.json()
    return body


def test_non_admins_are_refused_and_the_refusal_is_audited(admin_api: Client, user: Account, admin: Account) -> None:
    refused = admin_api.get("/v1/admin/audit", headers=user.bearer(), query="")
    assert refused.status == 403
    assert refused.headers["content-type"] == "application/problem+json"
    denied = events(admin_api, admin, action="access.denied", actor_id=user.user_id)["items"]
    assert denied and denied[0]["outcome"] == "denied" and denied[0]["target_id"] == "GET /v1/admin/audit"


def test_anonymous_is_401(admin_api: Client) -> None:
    assert admin_api.get("/v1/admin/audit").status == 401


def test_each_identity_action_leaves_one_row(auth: Client, admin_api: Client, admin: Account) -> None:
    account = register_and_login(auth)
    auth.post("/v1/auth/login", body={"email": account.email, "password": "wrong-password-xx"})
    rotated = auth.post("/v1/auth/refresh", body={"refresh_token": account.refresh_token}).json()
    key = auth.post(
        "/v1/auth/api-keys",
        headers={"Authorization": f"Bearer {rotated['access_token']}"},
        body={"name": "k", "scopes": ["read"]},
    ).json()
    auth.delete(f"/v1/auth/api-keys/{key['id']}", headers={"Authorization": f"Bearer {rotated['access_token']}"})
    auth.post("/v1/auth/refresh", body={"refresh_token": account.refresh_token})  # reuse: ends the session
    auth.post("/v1/auth/logout", body={"refresh_token": rotated["refresh_token"]})

    mine = events(admin_api, admin, actor_id=account.user_id, limit="50")["items"]
    seen = [(e["action"], e["outcome"]) for e in reversed(mine)]
    assert seen == [
        ("auth.register", "success"),
        ("auth.login", "success"),
        ("auth.login", "failure"),
        ("auth.refresh", "success"),
        ("auth.api_key.create", "success"),
        ("auth.api_key.revoke", "success"),
        ("auth.refresh.reuse_detected", "denied"),
        ("auth.logout", "success"),
    ]
    first = mine[-1]
    assert first["source_ip"] == auth.source_ip and first["request_id"]


def test_failed_login_for_unknown_email_is_recorded(auth: Client, admin_api: Client, admin: Account) -> None:
    email = new_email()
    auth.post("/v1/auth/login", body={"email": email, "password": "whatever-password"})
    rows = events(admin_api, admin, action="auth.login", outcome="failure", limit="200")["items"]
    assert any(r["target_id"] == email and r["actor_type"] == "anonymous" for r in rows)


def test_admin_creation_is_recorded(admin_api: Client, admin: Account) -> None:
    rows = events(admin_api, admin, action="admin.create", limit="200")["items"]
    assert any(r["target_id"] == admin.user_id and r["actor_id"] == "cli" for r in rows)


def test_cursor_pages_cover_everything_once(admin_api: Client, admin: Account) -> None:
    everything = [e["id"] for e in events(admin_api, admin, limit="200")["items"]]
    paged: list[int] = []
    cursor = None
    while True:
        query = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = events(admin_api, admin, **query)
        paged += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == sorted(paged, reverse=True) and len(paged) == len(set(paged))
    assert set(everything) <= set(paged)


def test_bad_filters_are_422(admin_api: Client, admin: Account) -> None:
    for qs in (
        "limit=0",
        "limit=201",
        "cursor=%%%",
        "outcome=maybe",
        "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
        "since=2026-01-01T00:00:00",
        "unknown=1",
    ):
        result = admin_api.get("/v1/admin/audit", headers=admin.bearer(), query=qs)
        assert result.status == 422, (qs, result.body)


def test_audit_rows_cannot_be_updated_or_deleted(migrated: Any) -> None:
    import pytest
    from sqlalchemy import delete, text, update
    from sqlalchemy.exc import DBAPIError

    with UnitOfWork() as uow:
        from autoindex.identity import audit

        row = audit.record(uow.session, action="test.append_only", outcome="success", meta=None)
        row_id = row.id
    for statement in (
        update(AuditEvent).where(AuditEvent.id == row_id).values(outcome="failure"),
        delete(AuditEvent).where(AuditEvent.id == row_id),
        text("TRUNCATE audit_events"),
    ):
        with pytest.raises(DBAPIError, match="append-only"), UnitOfWork() as uow:
            uow.session.execute(statement)
    with UnitOfWork(read_only=True) as uow:
        kept = uow.session.get(AuditEvent, row_id)
        assert kept is not None and kept.outcome == "success"
