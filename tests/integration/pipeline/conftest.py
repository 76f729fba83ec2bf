"""Pipeline fixtures (shared with the function tests)."""

from tests.pipeline_fixtures import dispatcher, market  # noqa: F401 - pytest fixtures
