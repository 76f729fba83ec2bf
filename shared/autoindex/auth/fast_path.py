"""A cached request's authentication, rate limits and prefetched keys in one Redis round trip.

Without it a cached read sends three commands one after another: the principal cache lookup, the
rate-limit script, and the read cache's version ``GET``. Here one script does all three, in this
order: it reads the principal's cache entries and, only if they show a verified principal (an API
key's entry exists under the name its presented secret's HMAC derives, or a JWT's user facts are
cached and its session is cached as live), counts the caller's budgets (``hit_all``, the same Lua
as the limiter's) and reads the keys registered in ``autoindex.redis_prefetch``. A miss counts
nothing and the caller takes the ordinary path (:mod:`autoindex.identity.authn`), which reads the
database; so does any Redis error, where that path applies each policy's fail mode.

The fast path runs only on a single Redis node: on a Redis Cluster the principal, the budgets and
the version live in different slots, so one script cannot hold them (``REDIS_CLUSTER=true`` takes
the ordinary path, one round trip per store).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request

from autoindex import redis_prefetch
from autoindex.clients import get_redis
from autoindex.errors import Unauthorized
from autoindex.identity import authn, key_format, tokens
from autoindex.identity.credentials import INVALID_TOKEN, check_key, last_use_due
from autoindex.identity.principal import Principal, scopes_for_role
from autoindex.identity.principal_cache import HOLD, LIVE, get_principal_cache
from autoindex.ratelimit.limiter import Decision, get_limiter
from autoindex.ratelimit.store import HIT_ALL_LUA, budget_args, windows_of
from autoindex.redis_scripts import RedisScript, ScriptArg, redis_unavailable_errors
from autoindex.settings import get_settings
from autoindex.web.ratelimit import route_group

if TYPE_CHECKING:
    from autoindex.identity.principal_cache import PrincipalCache

# KEYS: the principal's entries (1 for a key, user and session for a token), the budgets, the prefetched keys.
# ARGV: kind ('k' | 'u'), hold marker, live marker, #principal keys, #budgets, then (window_ms, limit) per budget.
# Reply: {0} on a miss; else {1, principal entries..., (count, reset_ms, window_id) per budget..., prefetched...}.
_AUTHENTICATE = RedisScript(
    HIT_ALL_LUA
    + """
local np, nb = tonumber(ARGV[4]), tonumber(ARGV[5])
local entries = redis.call('MGET', unpack(KEYS, 1, np))
if not entries[1] or entries[1] == ARGV[2] then return {0} end
if ARGV[1] == 'u' and entries[2] ~= ARGV[3] then return {0} end
local out = {1}
for i = 1, np do out[#out + 1] = entries[i] end
for _, v in ipairs(hit_all(np, nb, 5)) do out[#out + 1] = v end
for i = np + nb + 1, #KEYS do out[#out + 1] = redis.call('GET', KEYS[i]) end
return out
"""
)


@dataclass(frozen=True, slots=True)
class CachedCaller:
    """A principal verified from the cache, with the decisions of its budgets (already counted)."""

    principal: Principal
    decisions: list[Decision]


def cached_caller(request: Request, groups: list[str]) -> CachedCaller | None:
    """The caller verified from the principal cache, its budgets counted, in one round trip; None: take
    the ordinary path (no Redis, a cluster, a cache miss, Redis failing, no or malformed credential).

    Raises
    ------
    Unauthorized
        The cache says the credential is not (or no longer) valid, as the ordinary path would.
    """
    redis_prefetch.remember({})
    client, settings = get_redis(), get_settings()
    cache = get_principal_cache()
    if client is None or settings.redis_cluster or not cache.enabled:
        return None
    credential = _credential(request)
    if credential is None:
        return None
    kind, value = credential
    if kind == "k":
        parsed = key_format.parse(value)
        if parsed is None:
            return None
        presented_hmac = key_format.secret_hmac(parsed.secret)
        entries, identity = [cache.api_key_name(parsed.key_id, presented_hmac)], f"key:{parsed.key_id}"
        own = ["api_key", "api_key_daily"]
    else:
        claims = tokens.decode_access_token(value)
        entries = cache.user_and_session_names(claims.subject, claims.session_id)
        identity, own = f"user:{claims.subject}", ["user"]
    own.append(f"usage_{route_group(request.url.path)}")  # GET /v1/usage's count, in the same round trip
    limiter = get_limiter()
    checks = [(policy, identity) for policy in [*groups, *own]] if settings.rate_limit_enabled else []
    budgets = limiter.budgets(checks)
    wanted = redis_prefetch.wanted()
    args: list[ScriptArg] = [kind, HOLD, LIVE, len(entries), len(budgets), *budget_args(budgets)]
    try:
        reply = _AUTHENTICATE.run(client, [*entries, *(b.key for b in budgets), *wanted], args)
    except redis_unavailable_errors():
        return None
    if int(reply[0]) != 1:
        return None
    values, counted, fetched = _split(reply[1:], len(entries), 3 * len(budgets))
    redis_prefetch.remember(dict(zip(wanted, fetched, strict=True)))
    decisions = limiter.decisions(checks, windows_of(counted))
    if kind == "k":
        principal = _key_principal(cache, value, values[0], presented_hmac)
    else:
        principal = _user_principal(cache, claims.subject, values)
    return None if principal is None else CachedCaller(principal, decisions)


def _credential(request: Request) -> tuple[str, str] | None:
    """('k', API key) or ('u', bearer token); None when there is none, both, or a malformed header."""
    authorization, api_key = request.headers.get("authorization"), request.headers.get("x-api-key")
    if authorization and api_key:
        return None
    if api_key:
        return "k", api_key
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return "u", token.strip()
    return None


def _split(
    values: list[object], entries: int, counted: int
) -> tuple[list[bytes | None], list[object], list[bytes | None]]:
    def raw(value: object) -> bytes | None:
        return value if isinstance(value, bytes) else None

    return (
        [raw(v) for v in values[:entries]],
        values[entries : entries + counted],
        [raw(v) for v in values[entries + counted :]],
    )


def _key_principal(cache: PrincipalCache, presented: str, entry: bytes | None, presented_hmac: str) -> Principal | None:
    facts = cache.key_facts_of(entry)
    if facts is None:
        return None
    at = authn.now()
    principal = check_key(facts, presented_hmac, at)  # Unauthorized for a revoked or expired key
    if last_use_due(facts, at):
        # Once a minute per key its last use is written: the ordinary path reads and touches the row.
        # Its budgets are counted already, so only the principal is asked for.
        return authn.api_key_principal(presented, cache=cache)
    return principal


def _user_principal(cache: PrincipalCache, user_id: uuid.UUID, values: list[bytes | None]) -> Principal | None:
    facts, live = cache.user_and_session_of(user_id, values[0], values[1])
    if facts is None or not live:
        return None
    if not facts.active:
        raise Unauthorized(INVALID_TOKEN)
    return Principal(
        kind="user", user_id=facts.user_id, email=facts.email, role=facts.role, scopes=scopes_for_role(facts.role)
    )
