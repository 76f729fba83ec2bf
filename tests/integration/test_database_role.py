"""The functions' database role: the DML the product needs, and no way around the append-only audit trail."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, make_url, select, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import clear_process_caches
from tests.functions.conftest import GOOD_PASSWORD, Client, new_email, random_ip
from tests.lambda_http import function_handler

APP_ROLE = "autoindex_app"


@pytest.fixture
def app_url(migrated: Engine, database_url: str) -> Iterator[str]:
    """A login role that is a member of the app role, as a deploy provisions one (trust auth here: no password)."""
    login = f"autoindex_api_{uuid.uuid4().hex[:10]}"
    with migrated.connect() as connection:
        connection.execute(text(f'CREATE ROLE "{login}" LOGIN IN ROLE {APP_ROLE}'))
        connection.commit()
    url = make_url(database_url).set(username=login).render_as_string(hide_password=False)
    yield url
    with migrated.connect() as connection:
        connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :u"), {"u": login}
        )
        connection.execute(text(f'DROP ROLE "{login}"'))
        connection.commit()


@pytest.fixture
def app_engine(app_url: str) -> Iterator[Engine]:
    engine = create_engine(app_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _refused(engine: Engine, statement: str) -> str:
    with engine.connect() as connection, pytest.raises(DBAPIError) as raised:
        connection.execute(text(statement))
    return str(raised.value.orig)


def test_the_app_role_cannot_bypass_or_disable_the_audit_trail(app_engine: Engine) -> None:
    with app_engine.connect() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_events (occurred_at, action, outcome, actor_type, details) "
                "VALUES (now(), 'test.role', 'success', 'system', '{}')"
            )
        )
        written: int = connection.execute(
            text("SELECT count(*) FROM audit_events WHERE action = 'test.role'")
        ).scalar_one()
    assert written == 1
    assert "permission denied" in _refused(app_engine, "SET session_replication_role = replica")
    for statement in (
        "UPDATE audit_events SET outcome = 'failure' WHERE action = 'test.role'",
        "DELETE FROM audit_events WHERE action = 'test.role'",
        "TRUNCATE audit_events",
    ):
        assert "permission denied" in _refused(app_engine, statement), statement  # before the trigger runs
    for statement in (
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_events_no_truncate ON audit_events",
        "DROP TABLE audit_events",
    ):
        assert "must be owner" in _refused(app_engine, statement), statement
    assert "permission denied" in _refused(app_engine, "CREATE TABLE scratch (id int)")
    assert "permission denied" in _refused(app_engine, "DELETE FROM alembic_version")


def test_the_product_works_through_the_app_role(
    app_url: str, migrated: Engine, fresh_settings: pytest.MonkeyPatch
) -> None:
    from autoindex.db.uow import UnitOfWork
    from autoindex.identity.models import AuditEvent

    fresh_settings.setenv("DATABASE_URL", app_url)
    clear_process_caches()
    auth = Client(function_handler("auth"), source_ip=random_ip())
    email = new_email()
    assert auth.post("/v1/auth/register", body={"email": email, "password": GOOD_PASSWORD}).status == 202
    login = auth.post("/v1/auth/login", body={"email": email, "password": GOOD_PASSWORD})
    assert login.status == 200, login.body
    tokens = login.json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    key = auth.post("/v1/auth/api-keys", headers=bearer, body={"name": "k", "scopes": ["read"]})
    assert key.status == 201, key.body
    assert auth.delete(f"/v1/auth/api-keys/{key.json()['id']}", headers=bearer).status == 204
    assert auth.post("/v1/auth/logout", body={"refresh_token": tokens["refresh_token"]}).status == 204
    with UnitOfWork(read_only=True) as uow:
        user_id: object = uow.session.execute(text("SELECT id FROM users WHERE email = :e"), {"e": email}).scalar_one()
        actions = set(uow.session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == str(user_id))))
        connected_as: str = uow.session.execute(text("SELECT current_user")).scalar_one()
    assert connected_as.startswith("autoindex_api_")
    assert {"auth.register", "auth.login", "auth.api_key.create", "auth.api_key.revoke", "auth.logout"} <= actions
