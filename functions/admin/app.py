"""The admin function: the universe, refresh and compute triggers, runs, freshness, provider usage, cache, audit."""

from autoindex.web.app import create_app, http_handler
from routes import router

app = create_app([router], title="admin")
handler = http_handler(app)
