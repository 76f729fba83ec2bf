"""These tests run against the real PostgreSQL and Redis (see ``services`` in tests/conftest.py)."""

import pytest


@pytest.fixture(autouse=True)
def _services(services: None) -> None:
    """Every test here uses the session's own database."""
