"""SEC EDGAR's companyfacts over HTTP (``../shared/reference/sec-edgar.md``): declared User-Agent, at most
``EDGAR_MAX_RPS`` requests a second, retries on outages, and a throttle answer (403 or 429) stops the job.

No key. SEC blocks a client that goes over 10 requests a second for ten minutes, so the pace is kept
here, in the one process the weekly job runs in, and a 403/429 is never retried (retrying extends the
block). 5xx, timeouts and connection failures are retried with exponential backoff; after
``EDGAR_CIRCUIT_FAILURES`` failed documents in a row the client stops asking (a circuit) until the next run.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable

import httpx

from autoindex.observability import add_metric

# "Company or Name contact@example.com", as SEC's fair-access page asks.
_USER_AGENT = re.compile(r"^\S.*\s\S+@\S+\.\S+$")


class EdgarError(RuntimeError):
    """EDGAR could not be read; nothing of this run is stored."""


class EdgarThrottled(EdgarError):
    """SEC answered 403 or 429 (over the rate, or an undeclared client): stop, and stay away for 10 minutes."""


def check_user_agent(value: str | None) -> str:
    """The User-Agent, or a refusal to start: SEC requires an operator name and a contact address."""
    if not value or not _USER_AGENT.match(value.strip()):
        raise EdgarError(
            "EDGAR_USER_AGENT must name the operator and a contact e-mail, e.g. 'Example Ltd ops@example.com'"
        )
    return value.strip()


class EdgarClient:
    """companyfacts documents from ``base_url`` (``https://data.sec.gov`` or a local fake)."""

    name = "edgar"

    def __init__(
        self,
        *,
        base_url: str,
        user_agent: str | None,
        max_rps: float = 10.0,
        attempts: int = 3,
        backoff_s: float = 0.5,
        circuit_failures: int = 3,
        timeout_s: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout_s,
            headers={"User-Agent": check_user_agent(user_agent), "Accept-Encoding": "gzip, deflate"},
        )
        self._interval = 1.0 / max_rps
        self._attempts, self._backoff_s, self._limit = attempts, backoff_s, circuit_failures
        self._sleep, self._clock = sleep, clock
        self._lock = threading.Lock()
        self._next_at = 0.0
        self._failures = 0
        self.requests = 0

    def close(self) -> None:
        self._client.close()

    def _pace(self) -> None:
        """Wait for this request's slot: at most ``max_rps`` a second, however the calls come."""
        with self._lock:
            now = self._clock()
            wait = self._next_at - now
            self._next_at = max(now, self._next_at) + self._interval
        if wait > 0:
            self._sleep(wait)

    def companyfacts(self, symbol: str, cik: int) -> object | None:
        if self._failures >= self._limit:
            raise EdgarError(f"circuit open after {self._failures} failed documents in a row; not asking for {symbol}")
        path = f"/api/xbrl/companyfacts/CIK{cik:010d}.json"
        for attempt in range(1, self._attempts + 1):
            self._pace()
            self.requests += 1
            try:
                response = self._client.get(path)
            except httpx.TransportError as exc:
                failure: str = type(exc).__name__
            else:
                if response.status_code in (403, 429):
                    add_metric("EdgarThrottled")
                    raise EdgarThrottled(f"SEC answered {response.status_code} for {symbol}: slow down for 10 minutes")
                if response.status_code == 404:  # no XBRL facts (most funds): not a failure
                    self._failures = 0
                    return None
                if response.status_code < 500:
                    return self._parsed(symbol, response)
                failure = f"HTTP {response.status_code}"
            if attempt < self._attempts:
                self._sleep(self._backoff_s * 2 ** (attempt - 1))
        self._failures += 1
        raise EdgarError(f"EDGAR unavailable for {symbol} after {self._attempts} attempts ({failure})")

    def _parsed(self, symbol: str, response: httpx.Response) -> object:
        if response.status_code != 200:
            raise EdgarError(f"SEC answered {response.status_code} for {symbol}")
        try:
            body = json.loads(response.content)
        except ValueError:
            self._failures += 1
            raise EdgarError(f"SEC sent {symbol}'s companyfacts as something that is not JSON (truncated?)") from None
        self._failures = 0
        return body
