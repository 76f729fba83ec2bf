"""The B2B function: backtests as a metered API, webhooks, and the caller's usage."""

from autoindex.web.app import create_app, http_handler
from routes import router

app = create_app([router], title="b2b")
handler = http_handler(app)
