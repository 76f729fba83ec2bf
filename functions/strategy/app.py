"""The strategy function: versioned configuration and risk metrics."""

from autoindex.web.app import create_app, http_handler
from routes import router

app = create_app([router], title="strategy")
handler = http_handler(app)
