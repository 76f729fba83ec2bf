"""Queries per aggregate. Repositories read and flush; they never commit."""
