"""Least privilege: the ``autoindex_app`` role the functions connect as (PostgreSQL only).

Migrations run as the owner of the schema. The functions connect as a login role that is a
member of ``autoindex_app``: plain DML on the tables, but only SELECT and INSERT on
``audit_events`` and only SELECT on ``alembic_version``. Not being the owner or a superuser, it
cannot disable the audit trail's triggers, ``SET session_replication_role = replica`` or TRUNCATE.
Tables made by later migrations (as the same owner) get the same DML by default privileges; a
later table that must be append-only revokes UPDATE and DELETE in its own migration.

The role is cluster-wide, so it is created once (several databases may share it) and never
dropped by a downgrade; the login role and its password are a deploy step (docs/operations.md).
SQLite has no roles: the embedded database is a file only its owner can open.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

APP_ROLE = "autoindex_app"

_UPGRADE = f"""
DO $$
BEGIN
  CREATE ROLE {APP_ROLE} NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;  -- made by an earlier database in this cluster, or by a concurrent migration
END
$$;
DO $$
BEGIN
  EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO {APP_ROLE}', current_database());
END
$$;
GRANT USAGE ON SCHEMA public TO {APP_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE};
REVOKE UPDATE, DELETE ON audit_events FROM {APP_ROLE};
REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {APP_ROLE};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE};
"""

_DOWNGRADE = f"""
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {APP_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {APP_ROLE};
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE};
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE};
REVOKE USAGE ON SCHEMA public FROM {APP_ROLE};
DO $$
BEGIN
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM {APP_ROLE}', current_database());
END
$$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_UPGRADE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_DOWNGRADE)
