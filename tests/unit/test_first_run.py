"""A new user's first runs: local secrets that survive a restart, a database path that does not depend on
the working directory, `--version`, and help on every option. No servers needed."""

from __future__ import annotations

import argparse
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.lambda_http import ROOT

_LOCAL_ONLY = ("DATABASE_URL", "JWT_SIGNING_KEY", "API_KEY_PEPPER", "EMBEDDED_DATABASE_PATH", "REDIS_URL")


def _local_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LOCAL_ONLY}
    return {**env, "STAGE": "local", **extra}


def _python(code: str, *, env: dict[str, str], cwd: Path = ROOT) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_local_secrets_are_made_once_and_survive_a_restart(tmp_path: Path) -> None:
    env = _local_env(EMBEDDED_DATABASE_PATH=str(tmp_path / "var" / "autoindex.sqlite3"))
    issue = (
        "import uuid; from autoindex.identity.tokens import issue_access_token;"
        "print(issue_access_token(uuid.uuid4(), 'user', session_id=uuid.uuid4())[0])"
    )
    token = _python(issue, env=env)  # the first run makes the secrets
    decode = f"from autoindex.identity.tokens import decode_access_token; print(decode_access_token({token!r}).role)"
    assert _python(decode, env=env) == "user"  # a second process ("after a restart") still accepts the token
    pepper = "from autoindex.secret_store import api_key_pepper; print(api_key_pepper().hex())"
    assert _python(pepper, env=env) == _python(pepper, env=env)  # so API keys keep working too
    kept = sorted((tmp_path / "var" / "secrets").iterdir())
    assert [p.name for p in kept] == ["api_key_pepper", "jwt_signing_key"]
    for path in kept:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(path.read_bytes()) >= 32
    assert kept[0].read_bytes() != kept[1].read_bytes()


def test_the_embedded_database_is_the_project_s_wherever_the_command_runs(tmp_path: Path) -> None:
    where = "from autoindex.settings import get_settings; print(get_settings().embedded_database_path)"
    from_elsewhere = _python(where, env=_local_env(), cwd=tmp_path)
    assert Path(from_elsewhere) == ROOT / "var" / "autoindex.sqlite3"
    assert _python(where, env=_local_env(), cwd=ROOT) == from_elsewhere
    assert list(tmp_path.iterdir()) == []  # nothing was made in the folder it ran from


def test_version_is_printed() -> None:
    from autoindex import __version__

    done = subprocess.run(
        [sys.executable, "-m", "autoindex_dev.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == f"autoindex {__version__}"


def test_every_option_of_every_command_has_help() -> None:
    from autoindex_dev.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, sub in commands.choices.items()
        for action in sub._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert missing == []
    assert all(choice.help for choice in commands._choices_actions)


def test_the_embedded_database_is_owner_only_and_migrate_tightens_an_old_one(tmp_path: Path) -> None:
    # It holds password hashes and API-key HMACs: no other account on the machine may read it.
    fresh = tmp_path / "fresh" / "autoindex.sqlite3"
    migrate = "from autoindex_dev.cli import main; raise SystemExit(main(['migrate']))"
    _run(migrate, env=_local_env(EMBEDDED_DATABASE_PATH=str(fresh)))
    made = [fresh, *(p for p in (Path(f"{fresh}-wal"), Path(f"{fresh}-shm")) if p.exists())]
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in made} == {p.name: "0o600" for p in made}

    old = tmp_path / "old" / "autoindex.sqlite3"
    old.parent.mkdir()
    old.touch(mode=0o644)
    old.chmod(0o644)  # as earlier versions left it, whatever the umask
    _run(migrate, env=_local_env(EMBEDDED_DATABASE_PATH=str(old)))
    assert stat.S_IMODE(old.stat().st_mode) == 0o600


def _run(code: str, *, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr


def test_a_first_migrate_prints_no_warning(tmp_path: Path) -> None:
    # `make run` on a fresh checkout printed a SQLAlchemy reflection warning a new user could only worry about.
    fresh = tmp_path / "autoindex.sqlite3"
    migrate = "from autoindex_dev.cli import main; raise SystemExit(main(['migrate']))"
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", migrate],
        cwd=ROOT,
        env=_local_env(EMBEDDED_DATABASE_PATH=str(fresh)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr
