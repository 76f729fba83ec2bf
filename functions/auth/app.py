"""The auth function: accounts, tokens and API keys."""

from autoindex.web.app import create_app, http_handler
from routes import router
from session_routes import router as session_router

app = create_app([router, session_router], title="auth", body_limit="auth")
handler = http_handler(app)
