"""Rate-limit decision latency against one Redis PING round trip, on the same Redis, in the same run.

A decision is one EVALSHA of the fixed-window script (INCR, PEXPIRE on the first hit, TIME),
so it should cost about one round trip. Goal: p50 <= 1.5x PING.
"""

from __future__ import annotations

import os
import sys
import time

from autoindex.ratelimit.limiter import Limiter
from autoindex.ratelimit.store import RedisCounterStore
from autoindex.settings import RateLimitPolicy
from redis import Redis

from bench._common import percentile, report


def main(rounds: int = 3000) -> int:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = Redis.from_url(url)
    limiter = Limiter(
        RedisCounterStore(client), {"bench": RateLimitPolicy(limit=10**6, window_s=60)}, key_prefix="rl-bench"
    )
    for _ in range(200):  # connect, load the script, warm up
        client.ping()
        limiter.hit("bench", "ip:bench")
    pings, decisions = [], []
    for i in range(rounds):
        started = time.perf_counter()
        client.ping()
        pings.append(time.perf_counter() - started)
        started = time.perf_counter()
        limiter.hit("bench", f"ip:bench-{i % 50}")
        decisions.append(time.perf_counter() - started)
    ok = report("rate-limit decision p50 vs Redis PING p50", decisions, pings, goal=1.5, unit="us")
    print(f"  p99: decision {percentile(decisions, 0.99) * 1e6:.0f} us, ping {percentile(pings, 0.99) * 1e6:.0f} us")
    return 0 if ok or "--no-fail" in sys.argv else 1


if __name__ == "__main__":
    raise SystemExit(main())
