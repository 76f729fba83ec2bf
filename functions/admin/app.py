"""The admin function: operator routes (audit trail; universe and pipeline controls come with market data)."""

from autoindex.web.app import create_app, http_handler
from routes import router

app = create_app([router], title="admin")
handler = http_handler(app)
