"""Alembic migrations, run by ``autoindex migrate`` and the tests; never at cold start or on a request path."""
