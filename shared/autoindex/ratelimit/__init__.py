"""Distributed rate limiting: one atomic decision per request, shared by every Lambda instance."""
