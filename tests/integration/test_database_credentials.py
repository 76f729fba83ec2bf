"""Database credentials from Secrets Manager, against a PostgreSQL that checks passwords (SCRAM), not trust auth.

A rotated password is read again on the first refused login; RDS Proxy's endpoint replaces the secret's host;
the read replica's URL comes from its own secret at run time.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from autoindex.db.engine import read_engine, write_engine
from moto import mock_aws
from sqlalchemy import create_engine, text

from tests.net import free_port

SUPERUSER_PASSWORD = "superuser-" + os.urandom(8).hex()


def _as_postgres(command: list[str]) -> list[str]:
    # initdb refuses to run as root; CI and these machines run tests as root, a developer may not.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="module")
def scram_postgres() -> Iterator[int]:
    """A PostgreSQL cluster of its own on 127.0.0.1 with password (SCRAM) authentication; yields its port."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [shutil.which("initdb") or ""]
    if not found[-1]:
        pytest.skip("initdb is not installed (PostgreSQL server binaries)")
    bindir = Path(found[-1]).parent
    # Not under pytest's temporary folder: that is private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="autoindex-scram-pg-"))
    data, pwfile = root / "data", root / "pw"
    pwfile.write_text(SUPERUSER_PASSWORD)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(pwfile, "postgres")
    port = free_port()
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256", f"--pwfile={pwfile}"]
    subprocess.run(_as_postgres(initdb), check=True, capture_output=True)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
    subprocess.run(_as_postgres(start), check=True, capture_output=True)
    try:
        yield port
    finally:
        stop = [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
        subprocess.run(_as_postgres(stop), check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _superuser(port: int, sql: str) -> None:
    admin = create_engine(
        f"postgresql+pg8000://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{port}/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(sql))
    admin.dispose()


@pytest.fixture
def secrets(fresh_settings: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "DB_NULL_POOL": "true",  # every query opens a connection, as behind RDS Proxy
    }.items():
        fresh_settings.setenv(name, value)
    fresh_settings.delenv("DATABASE_URL", raising=False)
    from aws_lambda_powertools.utilities.parameters import base

    with mock_aws():
        base.DEFAULT_PROVIDERS.clear()  # type: ignore[attr-defined]
        yield boto3.client("secretsmanager")
        base.DEFAULT_PROVIDERS.clear()  # type: ignore[attr-defined]
        base.clear_caches()  # type: ignore[no-untyped-call]


def _rds_secret(user: str, password: str, host: str, port: int) -> str:
    return json.dumps({"username": user, "password": password, "host": host, "port": port, "dbname": "postgres"})


def _whoami(*, read: bool = False) -> str:
    with (read_engine() if read else write_engine()).connect() as connection:
        return str(connection.execute(text("SELECT current_user")).scalar_one())


def test_a_rotated_password_is_read_again_on_the_first_refused_login(
    scram_postgres: int, secrets: Any, fresh_settings: pytest.MonkeyPatch
) -> None:
    role = "rotating_" + os.urandom(4).hex()
    _superuser(scram_postgres, f"CREATE ROLE {role} LOGIN PASSWORD 'first-{role}'")
    arn = secrets.create_secret(
        Name=role, SecretString=_rds_secret(role, f"first-{role}", "127.0.0.1", scram_postgres)
    )["ARN"]
    fresh_settings.setenv("DATABASE_SECRET_ARN", arn)
    assert _whoami() == role
    # Rotation: the database and the secret change; this warm container still caches the old secret.
    _superuser(scram_postgres, f"ALTER ROLE {role} PASSWORD 'second-{role}'")
    secrets.put_secret_value(
        SecretId=arn, SecretString=_rds_secret(role, f"second-{role}", "127.0.0.1", scram_postgres)
    )
    assert _whoami() == role
    assert _whoami() == role  # and the next connection goes straight in with the new password


def test_a_wrong_password_in_the_secret_still_fails_after_one_reread(
    scram_postgres: int, secrets: Any, fresh_settings: pytest.MonkeyPatch
) -> None:
    arn = secrets.create_secret(
        Name="wrong", SecretString=_rds_secret("postgres", "not-it", "127.0.0.1", scram_postgres)
    )["ARN"]
    fresh_settings.setenv("DATABASE_SECRET_ARN", arn)
    with pytest.raises(Exception, match=r"28P01|password authentication failed"):
        _whoami()


def test_the_proxy_endpoint_replaces_the_secret_s_host(
    scram_postgres: int, secrets: Any, fresh_settings: pytest.MonkeyPatch
) -> None:
    # The secret names the instance (unreachable from here); the functions go through the proxy.
    secret = _rds_secret("postgres", SUPERUSER_PASSWORD, "instance.internal.invalid", 1)
    fresh_settings.setenv("DATABASE_SECRET_ARN", secrets.create_secret(Name="via-proxy", SecretString=secret)["ARN"])
    fresh_settings.setenv("DATABASE_PROXY_ENDPOINT", f"127.0.0.1:{scram_postgres}")
    assert _whoami() == "postgres"
    assert write_engine().url.port == scram_postgres


def test_the_read_replica_url_comes_from_its_secret(
    scram_postgres: int, secrets: Any, fresh_settings: pytest.MonkeyPatch
) -> None:
    role = "replica_" + os.urandom(4).hex()
    _superuser(scram_postgres, f"CREATE ROLE {role} LOGIN PASSWORD 'r-{role}'")
    writer = _rds_secret("postgres", SUPERUSER_PASSWORD, "127.0.0.1", scram_postgres)
    fresh_settings.setenv("DATABASE_SECRET_ARN", secrets.create_secret(Name="writer", SecretString=writer)["ARN"])
    url = f"postgresql+pg8000://{role}:r-{role}@127.0.0.1:{scram_postgres}/postgres"
    fresh_settings.setenv("DATABASE_READ_URL_SECRET_ARN", secrets.create_secret(Name="reader", SecretString=url)["ARN"])
    assert _whoami(read=True) == role
    assert _whoami() == "postgres"  # writes keep the writer's credentials
