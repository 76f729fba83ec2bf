"""`autoindex create-admin` is the only way to make an admin, and it works against the configured database."""

from __future__ import annotations

import os
import subprocess
import sys

from autoindex.db.uow import UnitOfWork
from autoindex.identity.models import User
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.functions.conftest import new_email
from tests.lambda_http import ROOT


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoindex_dev.cli", *args],
        cwd=ROOT,
        check=False,
        env=dict(os.environ),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_create_admin_reads_the_password_from_stdin(migrated: Engine) -> None:
    email = new_email()
    done = run_cli("create-admin", "--email", email, stdin="Admin-password-from-stdin\n")
    assert done.returncode == 0, done.stderr
    assert "Admin-password" not in done.stdout + done.stderr
    with UnitOfWork(read_only=True) as uow:
        user = uow.session.scalars(select(User).where(User.email == email)).one()
        assert user.role == "admin"


def test_create_admin_refuses_a_weak_password_and_a_duplicate(migrated: Engine) -> None:
    email = new_email()
    weak = run_cli("create-admin", "--email", email, "--password", "short")
    assert weak.returncode == 1 and "at least 12" in weak.stderr
    assert run_cli("create-admin", "--email", email, "--password", "Strong-enough-pass-1").returncode == 0
    again = run_cli("create-admin", "--email", email.upper(), "--password", "Strong-enough-pass-1")
    assert again.returncode == 1 and "already exists" in again.stderr
