"""Identity costs against their floors, in the same run, on the real PostgreSQL and Redis.

- Login p50 through the auth function's handler against one bare bcrypt verify at the configured
  cost: the hash should be the cost and nothing else (goal <= 1.2x).
- API-key authentication p50 (format and checksum, one primary-key read, HMAC compare, commit)
  against one primary-key lookup in a unit of work on the same database (goal <= 1.5x).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid

os.environ.setdefault("STAGE", "bench")
os.environ.setdefault("MARKET_DATA_PROVIDER", "demo")  # required outside the local stage
os.environ.setdefault("REDIS_URL", os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
os.environ.setdefault("JWT_SIGNING_KEY", "bench-signing-key-" + "x" * 32)
os.environ.setdefault("API_KEY_PEPPER", "bench-api-key-pepper-" + "y" * 32)
# The limiter stays in the path (Redis round trips included); only its budget is widened for the run.
os.environ["RATE_LIMIT_POLICIES"] = (
    '{"login": {"limit": 100000, "window_s": 60}, "default": {"limit": 100000, "window_s": 60},'
    ' "user": {"limit": 100000, "window_s": 60}, "api_key": {"limit": 100000, "window_s": 60}}'
)
os.environ["RATE_LIMIT_KEY_PREFIX"] = f"rl-bench-{uuid.uuid4().hex[:6]}"

from bench._common import ROOT, report
from bench._db import bench_database


def _login_bench(samples: int) -> bool:
    import bcrypt
    from autoindex.db.uow import UnitOfWork
    from autoindex.identity import passwords
    from autoindex.identity import service as identity
    from autoindex.settings import get_settings
    from autoindex_dev.lambda_events import LocalContext, http_event
    from autoindex_dev.loader import load_handler

    rounds = get_settings().bcrypt_rounds
    email, password = f"bench-{uuid.uuid4().hex[:8]}@example.com", "Bench-password-" + uuid.uuid4().hex[:8]
    identity.create_admin(uow=UnitOfWork(), email=email, password=password)
    handler = load_handler(ROOT / "functions" / "auth", "app.handler")
    body = f'{{"email": "{email}", "password": "{password}"}}'.encode()
    stored = passwords.hash_password(password, rounds=rounds)
    prehashed = passwords._prehash(password)  # the exact bytes bcrypt sees in a login
    logins, verifies = [], []
    for i in range(samples + 1):
        event = http_event(
            method="POST",
            path="/v1/auth/login",
            headers=[("content-type", "application/json")],
            body=body,
            source_ip=f"198.51.100.{i % 250 + 1}",
        )
        started = time.perf_counter()
        result = handler(event, LocalContext(function_name="bench"))
        elapsed = time.perf_counter() - started
        assert result["statusCode"] == 200, result
        started = time.perf_counter()
        assert bcrypt.checkpw(prehashed, stored.encode())
        verify = time.perf_counter() - started
        if i:  # the first login pays the function's cold start
            logins.append(elapsed)
            verifies.append(verify)
    print(f"  bcrypt cost {rounds}: {statistics.median(verifies) * 1000:.1f} ms per verify")
    return report("login p50 through the handler vs one bcrypt verify", logins, verifies, goal=1.2)


def _api_key_bench(samples: int) -> bool:
    from autoindex.db.uow import UnitOfWork
    from autoindex.identity import api_keys
    from autoindex.identity import service as identity
    from autoindex.identity.models import ApiKey
    from autoindex.identity.principal import Principal, RequestMeta, scopes_for_role
    from sqlalchemy import select

    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    user = identity.create_admin(uow=UnitOfWork(), email=email, password="Bench-password-" + uuid.uuid4().hex[:8])
    owner = Principal(kind="user", user_id=user.id, email=email, role="admin", scopes=scopes_for_role("admin"))
    created = api_keys.create(
        uow=UnitOfWork(),
        principal=owner,
        name="bench",
        scopes=["read"],
        expires_in_days=None,
        meta=RequestMeta(request_id=None, source_ip=None),
    )
    key_id = created.row.id
    auths, lookups = [], []
    for _ in range(200):  # warm the pool and caches for both
        identity.authenticate_api_key(uow=UnitOfWork(), presented=created.key)
    for _ in range(samples):
        started = time.perf_counter()
        identity.authenticate_api_key(uow=UnitOfWork(), presented=created.key)
        auths.append(time.perf_counter() - started)
        started = time.perf_counter()
        with UnitOfWork() as uow:
            assert uow.session.scalars(select(ApiKey).where(ApiKey.id == key_id)).one()
        lookups.append(time.perf_counter() - started)
    return report("API-key authentication p50 vs one primary-key lookup", auths, lookups, goal=1.5, unit="us")


def main() -> int:
    with bench_database():
        ok = _login_bench(samples=15)
        ok = _api_key_bench(samples=1000) and ok
    return 0 if ok or "--no-fail" in sys.argv else 1


if __name__ == "__main__":
    raise SystemExit(main())
