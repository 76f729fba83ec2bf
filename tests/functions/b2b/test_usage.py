"""GET /v1/usage: requests today by route group (counted in the rate-limit round trip), quota, backtests, deliveries."""

from __future__ import annotations

from typing import Any

import pytest
from autoindex.redis_scripts import RedisScript

from tests.functions.auth.keys import create_key
from tests.functions.conftest import Account, Client


def test_usage_counts_requests_by_route_group_and_the_quota(b2b: Client, auth: Client, user: Account) -> None:
    key = {"X-API-Key": create_key(auth, user, ["read"])["key"]}
    for _ in range(3):
        assert b2b.get("/v1/webhooks", headers=key).status == 200
    for _ in range(2):
        assert b2b.get("/v1/backtests", headers=key).status == 200
    usage = b2b.get("/v1/usage", headers=key)
    assert usage.status == 200, usage.body
    body = usage.json()
    assert body["caller"] == "api_key"
    assert body["requests"] == {"webhooks": 3, "backtests": 2, "usage": 1}  # this request counted itself first
    assert body["request_quota"]["used"] == 6
    assert body["request_quota"]["remaining"] == body["request_quota"]["limit"] - 6
    assert body["backtests"]["today"] == 0 and body["backtests"]["daily_quota"]["remaining"] > 0
    assert body["webhook_deliveries"] == {"pending": 0, "delivered": 0, "failed": 0}
    # Another caller of the same account counts apart; a bearer token has no request quota.
    mine = b2b.get("/v1/usage", headers=user.bearer()).json()
    assert mine["caller"] == "user" and mine["request_quota"] is None
    assert mine["requests"] == {"usage": 1, "auth": 2}  # logging in is anonymous; /me and the key creation are not


def test_counting_usage_adds_no_redis_round_trip(
    b2b: Client, auth: Client, user: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = {"X-API-Key": create_key(auth, user, ["read"])["key"]}
    assert b2b.get("/v1/webhooks", headers=key).status == 200  # the key's facts are in the principal cache now
    calls: list[list[str]] = []
    original = RedisScript.run

    def counting(self: RedisScript, client: Any, keys: Any, args: Any) -> Any:
        calls.append(list(keys))
        return original(self, client, keys, args)

    monkeypatch.setattr(RedisScript, "run", counting)
    assert b2b.get("/v1/webhooks", headers=key).status == 200
    (rate_limit_call,) = calls  # one script call: the rate limits and the usage count together
    assert any(k.endswith(":usage_webhooks") for k in rate_limit_call)
