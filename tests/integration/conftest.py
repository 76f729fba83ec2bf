"""These tests run against the real PostgreSQL and Redis (see ``services`` in tests/conftest.py)."""

import pytest

from tests.pipeline_fixtures import dispatcher, market  # noqa: F401 - pytest fixtures


@pytest.fixture(autouse=True)
def _services(services: None) -> None:
    """Every test here uses the session's own database."""
