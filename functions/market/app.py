"""The market function: assets, prices and history."""

from autoindex.web.app import create_app, http_handler
from routes import router

app = create_app([router], title="market")
handler = http_handler(app)
