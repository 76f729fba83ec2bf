"""HTTP to Twelve Data: header auth, the credit budget, the circuit breaker, retries and 429 handling.

One :meth:`TwelveDataTransport.get` is one logical call. In order: the circuit breaker may refuse
it; the credit budget reserves ``cost`` credits (waiting for the next minute if it must); the
request goes out with ``Authorization: apikey <key>`` (never in the query string); 5xx, timeouts,
HTML error pages and malformed JSON are retried with exponential backoff (tenacity); a per-minute
429 waits for the next minute boundary a bounded number of times; a daily 429 stops at once.
An error is an HTTP status >= 400 *or* an ``"status": "error"`` body on HTTP 200 (legacy mode).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autoindex.market.providers import credit_meter
from autoindex.market.providers.protocol import (
    AuthenticationFailed,
    BudgetUnavailable,
    CircuitOpen,
    CreditHeaders,
    DailyLimitExhausted,
    InvalidResponse,
    MinuteLimitExceeded,
    ProviderError,
    ProviderUnavailable,
)
from autoindex.market.providers.sessions import Clock, Sleep, next_utc_midnight, seconds_to_next_minute
from autoindex.market.providers.twelvedata.parse import error_of
from autoindex.observability import add_metric, logger

if TYPE_CHECKING:
    import httpx
    from tenacity import RetryCallState

    from autoindex.market.providers.budget import CreditBudget
    from autoindex.market.providers.circuit import CircuitBreaker, CircuitDecision


@dataclass(frozen=True, slots=True)
class TransportConfig:
    base_url: str
    timeout_s: float = 10.0
    connect_timeout_s: float = 3.0
    retry_attempts: int = 3  # attempts per call on 5xx, timeouts, HTML pages, malformed JSON
    backoff_s: float = 0.5  # first backoff; doubles up to backoff_max_s
    backoff_max_s: float = 8.0
    minute_limit_retries: int = 2  # waits for the next minute after a per-minute 429
    minute_margin_s: float = 1.0  # extra wait past the minute boundary (clock skew with the provider)
    budget_max_wait_s: float = 65.0  # longest wait for room in the credit budget before giving up


@dataclass(frozen=True, slots=True)
class Payload:
    """A readable response. ``error`` is a top-level error left to the caller (400, 403, 404, 414)."""

    body: Any
    error: tuple[int, str] | None = None


class _Transient(Exception):
    """A failure worth retrying: 5xx, timeout, connection error, HTML page, malformed JSON."""

    def __init__(self, reason: str, *, malformed: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.malformed = malformed


class _MinuteLimit(Exception):
    """The provider answered 429 for the current minute."""


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class TwelveDataTransport:
    """The HTTP side of the Twelve Data client. The key lives only in the client's default headers."""

    def __init__(
        self,
        *,
        api_key: str,
        config: TransportConfig,
        budget: CreditBudget | None = None,
        circuit: CircuitBreaker | None = None,
        clock: Clock,
        sleep: Sleep,
        http_transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx

        if not api_key:
            raise ValueError("an API key is required")
        self._config = config
        self._budget = budget
        self._circuit = circuit
        self._clock = clock
        self._sleep = sleep
        self._httpx = httpx
        # trust_env=False: no proxy or .netrc from the environment may see (or add) credentials.
        self._http = httpx.Client(
            base_url=config.base_url,
            headers={"Authorization": f"apikey {api_key}", "X-API-Version": "last", "Accept": "application/json"},
            timeout=httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s),
            follow_redirects=False,
            trust_env=False,
            transport=http_transport,
        )
        self.last_credits: CreditHeaders | None = None

    def __repr__(self) -> str:
        return f"TwelveDataTransport(base_url={self._config.base_url!r})"

    def close(self) -> None:
        self._http.close()

    # --- one logical call

    def get(self, path: str, params: Mapping[str, str], *, cost: int) -> Payload:
        """GET ``path`` as one logical call costing ``cost`` credits.

        Raises
        ------
        CircuitOpen, ProviderUnavailable, InvalidResponse, MinuteLimitExceeded, DailyLimitExhausted,
        AuthenticationFailed, BudgetUnavailable
            See the module docstring; every message is safe to show and log.
        """
        decision = self._circuit.acquire() if self._circuit is not None else None
        if decision is not None and not decision.allowed:
            add_metric("ProviderCircuitRejected")
            raise CircuitOpen(retry_after_s=decision.retry_after_s)
        try:
            payload = self._within_minute_limits(path, params, cost)
        except BudgetUnavailable:
            raise  # our Redis, not the provider: no verdict on the provider
        except (ProviderUnavailable, InvalidResponse):
            if self._circuit is not None:
                self._circuit.record_failure()
            raise
        except ProviderError as exc:
            if exc.code is not None:  # it answered (a 401, a 429): not an outage
                self._record_success(decision)
            raise
        self._record_success(decision)
        return payload

    def _record_success(self, decision: CircuitDecision | None) -> None:
        # A closed circuit without failures has nothing to reset: skip the round trip.
        if self._circuit is None or decision is None or decision.state == "unknown":  # no circuit, or store down
            return
        if decision.state != "closed" or decision.failures > 0:
            self._circuit.record_success()

    def _within_minute_limits(self, path: str, params: Mapping[str, str], cost: int) -> Payload:
        for attempt in range(self._config.minute_limit_retries + 1):
            try:
                return self._with_retries(path, params, cost)
            except _MinuteLimit:
                add_metric("ProviderMinuteLimitHit")
                if self._budget is not None:
                    self._budget.exhaust("minute")  # every other caller waits for the next minute too
                wait = seconds_to_next_minute(self._clock()) + self._config.minute_margin_s
                if attempt == self._config.minute_limit_retries:
                    raise MinuteLimitExceeded(retry_after_s=wait, code=429) from None
                logger.warning("provider minute limit reached; waiting", extra={"path": path, "wait_s": wait})
                self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _with_retries(self, path: str, params: Mapping[str, str], cost: int) -> Payload:
        from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

        retrying = Retrying(
            sleep=self._sleep,
            stop=stop_after_attempt(self._config.retry_attempts),
            wait=wait_exponential(multiplier=self._config.backoff_s, max=self._config.backoff_max_s),
            retry=retry_if_exception_type(_Transient),
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return retrying(self._attempt, path, params, cost)
        except _Transient as exc:
            add_metric("ProviderCallFailed")
            if exc.malformed:
                raise InvalidResponse(f"The provider sent an unreadable response ({exc.reason}).") from None
            raise ProviderUnavailable(f"The provider is not answering ({exc.reason}).") from None

    def _log_retry(self, state: RetryCallState) -> None:
        outcome = state.outcome
        reason = str(outcome.exception()) if outcome is not None else "?"
        add_metric("ProviderRetry")
        logger.warning("provider call failed; retrying", extra={"attempt": state.attempt_number, "reason": reason})

    # --- one HTTP attempt

    def _reserve(self, cost: int) -> None:
        if self._budget is None:
            return
        waited = 0.0
        while True:
            reservation = self._budget.reserve(cost)
            if reservation.granted:
                return
            if reservation.day_exhausted:
                raise DailyLimitExhausted(resets_at=next_utc_midnight(self._clock()))
            wait = reservation.retry_after_s
            if waited + wait > self._config.budget_max_wait_s:
                raise MinuteLimitExceeded(retry_after_s=wait)
            add_metric("ProviderBudgetWait")
            self._sleep(wait)
            waited += wait

    def _attempt(self, path: str, params: Mapping[str, str], cost: int) -> Payload:
        self._reserve(cost)
        # Counted once reserved, whatever the answer: a 5xx, a 429 or a timeout still took them from the budget.
        add_metric("ProviderCreditsUsed", cost)
        credit_meter.count(cost)
        try:
            response = self._http.get(path, params=dict(params))
        except self._httpx.TimeoutException:
            raise _Transient("timeout") from None
        except self._httpx.TransportError as exc:
            raise _Transient(f"connection failed: {type(exc).__name__}") from None
        return self._classify(response)

    def _classify(self, response: httpx.Response) -> Payload:
        self.last_credits = CreditHeaders(
            used=_header_int(response.headers, "api-credits-used"),  # httpx headers ignore case
            left=_header_int(response.headers, "api-credits-left"),
        )
        status = response.status_code
        html = "html" in response.headers.get("content-type", "") or response.content.lstrip()[:1] == b"<"
        if status >= 500:
            raise _Transient(f"HTTP {status}, HTML error page" if html else f"HTTP {status}")
        try:
            body = json.loads(response.content)
        except ValueError:
            raise _Transient("HTML error page" if html else "malformed JSON", malformed=not html) from None
        found = error_of(body)
        if found is None and status < 400:
            return Payload(body)
        code = (found[0] if found else None) or status
        message = found[1] if found else ""
        if code == 429:
            self._limit_reached(message)
        if code == 401:
            raise AuthenticationFailed("The provider refused the configured API key.", code=401)
        if code >= 500:
            raise _Transient(f"provider error {code}")
        return Payload(body, (code, message))

    def _limit_reached(self, message: str) -> None:
        # The provider says which limit in words only: "... for the day" vs "... for the current minute".
        if "for the day" in message.lower():
            add_metric("ProviderDailyLimitHit")
            if self._budget is not None:
                self._budget.exhaust("day")
            raise DailyLimitExhausted(resets_at=next_utc_midnight(self._clock()), code=429, provider_message=message)
        raise _MinuteLimit
