"""The index function: current allocation, history, allocations, simulation, currencies, benchmark."""

from autoindex.web.app import create_app, http_handler
from routes import router

app = create_app([router], title="index")
handler = http_handler(app)
