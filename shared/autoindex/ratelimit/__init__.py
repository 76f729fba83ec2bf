"""Distributed rate limiting: one atomic decision per request, shared by every Lambda instance."""

from autoindex.ratelimit.limiter import Decision, Limiter, get_limiter, most_restrictive

__all__ = ["Decision", "Limiter", "get_limiter", "most_restrictive"]
