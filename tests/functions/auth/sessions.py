"""Session calls through the auth function: log in, refresh, and ask who the bearer is."""

from __future__ import annotations

from tests.functions.conftest import Account, Client, random_ip


def me(auth: Client, access_token: str) -> int:
    return auth.get("/v1/auth/me", headers={"Authorization": f"Bearer {access_token}"}).status


def refresh(auth: Client, refresh_token: str) -> tuple[int, dict[str, object]]:
    # A new address each time: these tests are about sessions, not the per-address refresh budget.
    result = auth.post("/v1/auth/refresh", body={"refresh_token": refresh_token}, source_ip=random_ip())
    return result.status, (result.json() if result.status == 200 else {})


def login(auth: Client, account: Account) -> dict[str, str]:
    result = auth.post("/v1/auth/login", body={"email": account.email, "password": account.password})
    assert result.status == 200, result.body
    body: dict[str, str] = result.json()
    return body
