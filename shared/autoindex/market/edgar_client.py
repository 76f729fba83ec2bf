"""SEC EDGAR over HTTP (``../shared/reference/sec-edgar.md``): companyfacts and the ticker → CIK map, with a
declared User-Agent, at most ``EDGAR_MAX_RPS`` requests a second, retries on outages, and a circuit.

No key. SEC blocks a client that goes over 10 requests a second for ten minutes, counting every process
of ours as one client, so each request first reserves a slot from the pace (``ratelimit/pace.py``): with
REDIS_URL one pace shared by every process (the weekly job, its retry, the CLI), else this client's own.
A slot the invocation cannot wait for (``time_left_s``) is refused before any sleep: the job stops with
nothing stored and is retried. A 403/429 is never retried (retrying extends the block): it trips the
circuit, which then refuses every request for ``EDGAR_CIRCUIT_COOLDOWN_S``. 5xx, timeouts and connection
failures are retried with exponential backoff; ``EDGAR_CIRCUIT_FAILURES`` failed documents in a row open
the circuit too. The circuit is the price provider's breaker (``market/providers/circuit.py``) under
EDGAR's own key, so with REDIS_URL every process sees it; when Redis is out of reach the circuit fails
open and the pace falls back to this process's own, and throttle handling still holds.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx

from autoindex.observability import add_metric
from autoindex.ratelimit.pace import LocalPace, Pace, SlotTooFar

if TYPE_CHECKING:
    from autoindex.market.providers.circuit import CircuitBreaker, CircuitDecision

SEC_DATA = "https://data.sec.gov"
SEC_TICKERS = "https://www.sec.gov/files/company_tickers.json"
# "Company or Name contact@example.com", as SEC's fair-access page asks.
_USER_AGENT = re.compile(r"^\S.*\s\S+@\S+\.\S+$")


class EdgarError(RuntimeError):
    """EDGAR could not be read; nothing of this run is stored."""


class EdgarThrottled(EdgarError):
    """SEC answered 403 or 429 (over the rate, or an undeclared client): stop, and stay away for 10 minutes."""


class EdgarCircuitOpen(EdgarError):
    """EDGAR's circuit is open (recent outages or a throttle, in any process): nothing was asked."""


class EdgarOutOfTime(EdgarError):
    """The next free slot of the pace comes too late for this invocation: nothing was asked."""


def check_user_agent(value: str | None) -> str:
    """The User-Agent, or a refusal to start: SEC requires an operator name and a contact address."""
    if not value or not _USER_AGENT.match(value.strip()):
        raise EdgarError(
            "EDGAR_USER_AGENT must name the operator and a contact e-mail, e.g. 'Example Ltd ops@example.com'"
        )
    return value.strip()


def default_tickers_url(base_url: str) -> str:
    """SEC's map (on www.sec.gov) beside SEC's data API; the same path on any other base (a local fake)."""
    base = base_url.rstrip("/")
    return SEC_TICKERS if base == SEC_DATA else f"{base}/files/company_tickers.json"


class EdgarClient:
    """companyfacts documents from ``base_url`` (``https://data.sec.gov`` or a local fake) and the ticker map
    from ``tickers_url`` (``https://www.sec.gov/files/company_tickers.json``).

    ``circuit`` and ``pace`` are shared state (:func:`autoindex.market.share_counts.source_from_settings`
    passes the Redis ones); without them the client keeps its own: a circuit that opens after
    ``circuit_failures`` failed documents in a row and stays open for ``circuit_cooldown_s``, and a pace of
    ``max_rps`` on ``clock``. ``time_left_s`` says how long the caller may still run (a Lambda
    invocation's remaining time); a request whose slot would leave it less than ``timeout_s`` is not made.
    """

    name = "edgar"

    def __init__(
        self,
        *,
        base_url: str,
        user_agent: str | None,
        tickers_url: str | None = None,
        max_rps: float = 10.0,
        attempts: int = 3,
        backoff_s: float = 0.5,
        circuit: CircuitBreaker | None = None,
        pace: Pace | None = None,
        time_left_s: Callable[[], float] | None = None,
        circuit_failures: int = 3,
        circuit_cooldown_s: float = 600.0,
        timeout_s: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        base = base_url.rstrip("/")
        self._client = httpx.Client(
            base_url=base,
            timeout=timeout_s,
            headers={"User-Agent": check_user_agent(user_agent), "Accept-Encoding": "gzip, deflate"},
        )
        self._tickers_url = tickers_url or default_tickers_url(base)
        self._pace = pace or LocalPace(max_rps, clock=clock)
        self._time_left_s, self._timeout_s = time_left_s, timeout_s
        self._attempts, self._backoff_s = attempts, backoff_s
        self._sleep = sleep
        if circuit is None:
            from autoindex.market.providers.circuit import MemoryCircuitBreaker

            circuit = MemoryCircuitBreaker(
                threshold=circuit_failures,
                window_ms=86_400_000,  # "in a row": a success resets the count, time does not
                cooldown_ms=int(circuit_cooldown_s * 1000),
                lease_ms=int(timeout_s * attempts * 1000) + 5_000,
                metric_prefix="Edgar",
            )
        self._circuit = circuit
        self.requests = 0

    def close(self) -> None:
        self._client.close()

    def _wait_for_slot(self, what: str) -> None:
        """Reserve this request's slot and sleep until it, or refuse if it comes too late for the deadline."""
        max_wait_s = None if self._time_left_s is None else max(self._time_left_s() - self._timeout_s, 0.0)
        try:
            wait = self._pace.reserve(max_wait_s)
        except SlotTooFar as exc:
            add_metric("EdgarOutOfTime")
            raise EdgarOutOfTime(
                f"EDGAR's next free slot is {exc.wait_s:.1f} s away, too late for this run; not asking for {what}"
            ) from None
        if wait > 0:
            self._sleep(wait)

    def companyfacts(self, symbol: str, cik: int) -> object | None:
        """The companyfacts document of ``cik``, or None when SEC has none (a 404: most funds)."""
        return self._document(f"/api/xbrl/companyfacts/CIK{cik:010d}.json", f"{symbol}'s companyfacts", missing_ok=True)

    def company_tickers(self) -> object:
        """SEC's ticker → CIK map as sent (``market.tickers.parse_company_tickers`` reads it)."""
        body = self._document(self._tickers_url, "the ticker map", missing_ok=False)
        assert body is not None  # a 404 raised
        return body

    def _document(self, url: str, what: str, *, missing_ok: bool) -> object | None:
        decision = self._circuit.acquire()
        if not decision.allowed:
            add_metric("EdgarCircuitRejected")
            wait = f"retry in {decision.retry_after_s:.0f} s"
            raise EdgarCircuitOpen(f"EDGAR circuit open ({wait}); not asking for {what}")
        for attempt in range(1, self._attempts + 1):
            self._wait_for_slot(what)
            self.requests += 1
            try:
                response = self._client.get(url)
            except httpx.TransportError as exc:
                failure: str = type(exc).__name__
            else:
                if response.status_code in (403, 429):
                    add_metric("EdgarThrottled")
                    self._circuit.trip()  # every process stays away for the cooldown
                    raise EdgarThrottled(f"SEC answered {response.status_code} for {what}: slow down for 10 minutes")
                if response.status_code == 404 and missing_ok:  # no XBRL facts (most funds): not a failure
                    self._succeeded(decision)
                    return None
                if response.status_code < 500:
                    return self._parsed(what, response, decision)
                failure = f"HTTP {response.status_code}"
            if attempt < self._attempts:
                self._sleep(self._backoff_s * 2 ** (attempt - 1))
        self._circuit.record_failure()
        raise EdgarError(f"EDGAR unavailable for {what} after {self._attempts} attempts ({failure})")

    def _succeeded(self, decision: CircuitDecision) -> None:
        # A closed circuit without failures has nothing to reset, and an unknown one (Redis out of reach)
        # cannot be reset: skip the round trip.
        if decision.state in ("open", "half_open") or decision.failures > 0:
            self._circuit.record_success()

    def _parsed(self, what: str, response: httpx.Response, decision: CircuitDecision) -> object:
        if response.status_code != 200:
            self._succeeded(decision)  # it answered: not an outage
            raise EdgarError(f"SEC answered {response.status_code} for {what}")
        try:
            body = json.loads(response.content)
        except ValueError:
            self._circuit.record_failure()
            raise EdgarError(f"SEC sent {what} as something that is not JSON (truncated?)") from None
        self._succeeded(decision)
        return body
