"""The web side of authentication: the FastAPI dependency every route uses."""
