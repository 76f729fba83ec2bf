"""The health function: liveness, readiness, and the catch-all for paths no other function owns."""

from autoindex.web.app import create_app, http_handler
from routes import router

app = create_app([router], title="health", rate_limit_policy=None)
handler = http_handler(app)
