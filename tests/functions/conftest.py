"""Fixtures for calling the real function handlers: a client per test with its own source address."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.lambda_http import Result, call, function_handler
from tests.pipeline_fixtures import RecordingDispatcher, dispatcher, market  # noqa: F401 - pytest fixtures


@pytest.fixture(autouse=True)
def _services(services: None) -> None:
    """Every function test runs against the session's own PostgreSQL database and the test Redis."""


def random_ip() -> str:
    return f"203.0.{random.randint(0, 255)}.{random.randint(1, 254)}"


@dataclass
class Client:
    """Calls one function's handler; every test gets a fresh address so per-IP budgets never leak between tests."""

    handler: Any
    source_ip: str = field(default_factory=random_ip)

    def request(self, method: str, path: str, **kwargs: Any) -> Result:
        kwargs.setdefault("source_ip", self.source_ip)
        return call(self.handler, method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Result:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Result:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Result:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def unlimited(fresh_settings: pytest.MonkeyPatch) -> None:
    """Hundreds of requests from one caller: the rate limit is not what is under test."""
    fresh_settings.setenv("RATE_LIMIT_ENABLED", "false")


@pytest.fixture
def auth(migrated: Engine) -> Client:
    return Client(function_handler("auth"))


@pytest.fixture
def admin_api(migrated: Engine) -> Client:
    return Client(function_handler("admin"))


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


GOOD_PASSWORD = "correct-Horse-battery-9"


@dataclass
class Account:
    email: str
    password: str
    access_token: str
    refresh_token: str
    user_id: str

    @property
    def session_id(self) -> str:
        """The session (``sid``) of the access token."""
        import jwt

        return str(jwt.decode(self.access_token, options={"verify_signature": False})["sid"])

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def register_and_login(auth: Client, email: str | None = None, password: str = GOOD_PASSWORD) -> Account:
    email = email or new_email()
    created = auth.post("/v1/auth/register", body={"email": email, "password": password})
    assert created.status == 202, created.body
    tokens = auth.post("/v1/auth/login", body={"email": email, "password": password})
    assert tokens.status == 200, tokens.body
    body = tokens.json()
    me = auth.get("/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status == 200, me.body
    return Account(email, password, body["access_token"], body["refresh_token"], me.json()["id"])


def make_admin(email: str | None = None, password: str = GOOD_PASSWORD) -> tuple[str, str]:
    """An admin made the only way there is: the management command's service."""
    from autoindex.db.uow import UnitOfWork
    from autoindex.identity import service as identity

    email = email or new_email()
    identity.create_admin(uow=UnitOfWork(), email=email, password=password)
    return email, password


@pytest.fixture
def user(auth: Client) -> Account:
    return register_and_login(auth)


@pytest.fixture
def reader(auth: Client) -> Account:
    """A plain account that reads the index."""
    return register_and_login(auth)


@pytest.fixture(scope="module")
def seeded(migrated: Engine) -> Iterator[RecordingDispatcher]:
    """A market with enough history for the index, refreshed and computed through the real pipeline, per module."""
    from tests.integration.compute.seeding import seeded_market

    with seeded_market() as recording:
        yield recording


@pytest.fixture
def admin(auth: Client) -> Account:
    email, password = make_admin()
    tokens = auth.post("/v1/auth/login", body={"email": email, "password": password})
    assert tokens.status == 200, tokens.body
    body = tokens.json()
    me = auth.get("/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    return Account(email, password, body["access_token"], body["refresh_token"], me.json()["id"])
