"""Domain services: keyword-only functions that take the unit of work first; no FastAPI, no Lambda types."""
