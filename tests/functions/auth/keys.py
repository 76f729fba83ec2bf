"""Creating a B2B API key through the auth function, for tests that need a key-holding caller."""

from __future__ import annotations

from typing import Any

from tests.functions.conftest import Account, Client


def create_key(auth: Client, account: Account, scopes: list[str], **extra: Any) -> dict[str, Any]:
    result = auth.post("/v1/auth/api-keys", headers=account.bearer(), body={"name": "ci", "scopes": scopes, **extra})
    assert result.status == 201, result.body
    body: dict[str, Any] = result.json()
    return body
