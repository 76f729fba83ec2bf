"""Fixtures of the B2B function's tests: its client, and webhook settings with time compressed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from tests.functions.conftest import Client
from tests.lambda_http import function_handler


@pytest.fixture
def b2b(migrated: Engine) -> Client:
    return Client(function_handler("b2b"))


@pytest.fixture
def fast_webhooks(fresh_settings: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Receivers on 127.0.0.1 allowed (tests only), and the 24-hour retry schedule compressed to under a second."""
    fresh_settings.setenv("WEBHOOK_ALLOW_PRIVATE", "true")
    fresh_settings.setenv("WEBHOOK_RETRY_BASE_S", "0.05")
    fresh_settings.setenv("WEBHOOK_RETRY_MAX_S", "0.2")
    return fresh_settings


@pytest.fixture(autouse=True)
def _no_webhooks_left(migrated: Engine) -> Iterator[None]:
    """Webhooks a test made are gone after it: a later module's events must not fan out to dead receivers
    (whose retries would keep that module's dispatcher busy)."""
    yield
    from autoindex.db.uow import UnitOfWork
    from autoindex.webhooks.models import WebhookEndpoint
    from sqlalchemy import delete

    with UnitOfWork() as uow:
        uow.session.execute(delete(WebhookEndpoint))
