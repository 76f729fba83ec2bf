"""Lua scripts run in one Redis round trip: ``EVALSHA`` first, ``EVAL`` only when the server lacks the script.

Every atomic decision in the product (rate limits, the provider credit budget, the provider
circuit breaker) is one script. The server caches a script by its SHA-1, so after the first
call (or after a ``SCRIPT FLUSH`` or a failover) each decision is one ``EVALSHA``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis import Redis

ScriptArg = str | int | float | bytes


class RedisScript:
    """A Lua script bound to its SHA-1, called with :meth:`run`.

    Parameters
    ----------
    source
        The Lua source. It should read the clock with ``redis.call('TIME')`` when it needs one,
        so every caller agrees on time whatever its own clock says.
    """

    __slots__ = ("sha", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    def run(self, client: Redis, keys: Sequence[str], args: Sequence[ScriptArg]) -> Any:
        """Run the script atomically and return its reply.

        Parameters
        ----------
        client
            A ``redis.Redis`` client.
        keys, args
            ``KEYS`` and ``ARGV`` of the script.

        Raises
        ------
        redis.exceptions.RedisError
            Connection, timeout and script errors propagate; each caller applies its own fallback.
            On a cluster, every key the script touches must be in ``keys`` and share one slot.
        """
        from redis.exceptions import ClusterError, NoScriptError, ResponseError

        try:
            try:
                return client.evalsha(self.sha, len(keys), *keys, *args)
            except NoScriptError:
                # EVAL also caches the script on the server, so the next call is one EVALSHA again.
                return client.eval(self.source, len(keys), *keys, *args)
        except ResponseError as exc:
            if "non local key" in str(exc):
                # A cluster node refusing a key of another slot: the slot moved, or a key lost its hash tag.
                raise ClusterError(str(exc)) from exc
            raise


def lua_now_ms(argv: int, name: str = "now_ms") -> str:
    """Lua that sets ``name`` to milliseconds since the epoch: ``ARGV[argv]`` when a test injects a clock,
    else the server's ``TIME`` (so every caller agrees, whatever its own clock says)."""
    return (
        f"local {name}\n"
        f"if ARGV[{argv}] ~= '' then\n"
        f"  {name} = tonumber(ARGV[{argv}])\n"
        "else\n"
        "  local t = redis.call('TIME')\n"
        f"  {name} = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
        "end\n"
    )


def redis_unavailable_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "Redis could not be reached in time" (not a script bug).

    On a Redis Cluster that includes a cluster that is down or failing over, a slot no node
    serves, and the redirect, cross-slot and "non local key" replies (see :meth:`RedisScript.run`):
    a node that moved under the client, or a key in a slot this node does not own, is a store that
    cannot answer now, so each caller applies its stated fallback (fail open or fail closed), never a 500.
    """
    from redis.exceptions import AskError, ClusterCrossSlotError, ClusterError, RedisClusterException, TryAgainError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    # ClusterError covers ClusterDownError and MasterDownError; AskError covers MovedError.
    return (
        RedisConnectionError,
        RedisTimeoutError,
        OSError,
        ClusterError,
        AskError,
        TryAgainError,
        ClusterCrossSlotError,
        RedisClusterException,
    )


def hash_tag(text: str) -> str:
    """``{text}``: on a Redis Cluster every key that starts with it lives in one slot, so one script may
    touch them all. (Should ``text`` hold a ``}``, the tag ends there: still the same slot for the same text.)"""
    return "{" + text + "}"


def as_text(value: object) -> str:
    """A Lua string reply as ``str`` whether the client decodes responses or not."""
    if isinstance(value, bytes):
        return value.decode()
    return str(value)
