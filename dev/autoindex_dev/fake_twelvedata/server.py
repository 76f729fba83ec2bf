"""A fake Twelve Data API on 127.0.0.1, for tests and local experiments (``autoindex fake-twelvedata``).

It serves ``/time_series`` (single and batch), ``/quote``, ``/price``, ``/eod``, ``/exchange_rate``,
``/symbol_search``, ``/stocks``, ``/forex_pairs``, ``/earliest_timestamp`` and ``/api_usage`` in the
documented shapes with deterministic data, counts plan credits per minute and per UTC day (with
the real 429 messages and ``api-credits-*`` headers), and gets things wrong on request:

* Python: ``fake.set_faults(html_502=2, legacy_errors=True, ...)`` (see :class:`Faults`);
* HTTP: ``POST /__fake__/faults`` with the same names as JSON, ``POST /__fake__/reset``,
  ``GET /__fake__/stats``. Control paths need no key and cost no credits.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from autoindex_dev.fake_twelvedata import endpoints
from autoindex_dev.fake_twelvedata.state import CreditLedger, FakeState, Faults, RecordedRequest

__all__ = ["FakeTwelveData", "Faults", "RecordedRequest", "run_fake"]

LOOPBACK = "127.0.0.1"
INVALID_KEY = (
    "**apikey** parameter is incorrect or not specified. You can get your free API key instantly following this "
    "link: https://twelvedata.com/pricing. If you believe that everything is correct, you can contact us at "
    "https://twelvedata.com/contact/customer"
)
HTML_502 = (
    b"<!DOCTYPE html>\n<html><head><title>api.twelvedata.com | 502: Bad gateway</title></head>"
    b"<body><h1>Bad gateway</h1><p>Error code 502</p><p>Cloudflare</p></body></html>\n"
)


def _key_of(query: dict[str, list[str]], headers: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("apikey "):
        return auth[7:].strip() or None
    values = query.get("apikey")
    return values[0] if values else None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: tests read the counters instead

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        query = {k.lower(): v for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        state = self.server.state
        if url.path.startswith("/__fake__/"):
            status, payload, extra = self.server.control(self.command, url.path, body)
        else:
            status, payload, extra = self.server.answer(url.path.rstrip("/") or "/", query, headers)
            with state.lock:
                state.by_status[status] += 1
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, state: FakeState) -> None:
        self.state = state
        super().__init__((LOOPBACK, port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out (the delay fault) hangs up before the answer: expected, not news.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    # --- control

    def control(self, method: str, path: str, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        headers = {"Content-Type": "application/json"}
        if path == "/__fake__/stats" and method == "GET":
            return 200, json.dumps(self.state.stats()).encode(), headers
        if path == "/__fake__/reset" and method == "POST":
            self.state.reset()
            return 200, b'{"status":"ok"}', headers
        if path == "/__fake__/faults" and method == "POST":
            try:
                changes = json.loads(body or b"{}")
                with self.state.lock:
                    self.state.faults.update(changes)
            except (ValueError, TypeError, AttributeError) as exc:
                return 400, json.dumps({"status": "error", "message": str(exc)}).encode(), headers
            return 200, b'{"status":"ok"}', headers
        return 404, b'{"status":"error","message":"unknown control path"}', headers

    # --- the API

    def answer(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        status, payload, extra = self._answer(path, query, headers)
        if "Api-Credits-Used" not in extra:  # every response carries them, even one that cost nothing
            with self.state.lock:
                minute, _ = self.state.ledger.usage()
            extra["Api-Credits-Used"] = str(minute)
            extra["Api-Credits-Left"] = str(max(self.state.ledger.per_minute - minute, 0))
        return status, payload, extra

    def _answer(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        state = self.state
        with state.lock:
            state.requests.append(RecordedRequest(at=state.clock(), path=path, query=query, headers=headers))
            state.by_path[path] += 1
            delay, legacy = state.faults.delay_s, state.faults.legacy_errors
        if delay:
            time.sleep(delay)
        if state.take("html_502"):
            return 502, HTML_502, {"Content-Type": "text/html; charset=UTF-8"}
        if state.take("server_errors"):
            return self._json(500, endpoints.error(500, "Internal Server Error"))
        key = _key_of(query, headers)
        if key is None or (state.api_key is not None and key != state.api_key):
            return self._json(401, endpoints.error(401, INVALID_KEY), legacy=legacy)
        if path not in endpoints.ROUTES:
            return self._json(404, endpoints.error(404, f"Endpoint {path[:60]} is not available."))
        params = {k: v[0] for k, v in query.items() if v and k != "apikey"}
        return self._route(path, params)

    def _route(self, path: str, params: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        state = self.state
        now = datetime.fromtimestamp(state.clock(), UTC)
        with state.lock:
            refusal = state.ledger.charge(endpoints.cost_of(path, params))
            minute, day = state.ledger.usage()
            faults = Faults(**vars(state.faults))
        credits = {
            "Api-Credits-Used": str(minute),
            "Api-Credits-Left": str(max(state.ledger.per_minute - minute, 0)),
        }
        if refusal is not None:
            return self._json(429, endpoints.error(429, refusal), credits, legacy=faults.legacy_errors)
        handler, _ = endpoints.ROUTES[path]
        try:
            if handler is None:
                ledger = state.ledger
                reply = endpoints.api_usage(now, minute, ledger.per_minute, day, ledger.per_day)
            else:
                reply = handler(endpoints.Context(params=params, now=now, faults=faults))
        except endpoints.BadRequest as exc:
            reply = endpoints.Reply(exc.code, endpoints.error(exc.code, str(exc)))
        if reply.batch:
            credits["Is_batch"] = "true"
        if state.take("malformed_json"):
            text = json.dumps(reply.body).encode()
            return 200, text[: max(len(text) // 2, 1)], {"Content-Type": "application/json; charset=utf-8", **credits}
        return self._json(reply.status, reply.body, credits, legacy=faults.legacy_errors)

    @staticmethod
    def _json(
        status: int, body: Any, extra: dict[str, str] | None = None, *, legacy: bool = False
    ) -> tuple[int, bytes, dict[str, str]]:
        if legacy and status >= 400 and status != 500:
            status = 200  # the legacy API put every logical error on HTTP 200
        return status, json.dumps(body).encode(), {"Content-Type": "application/json; charset=utf-8", **(extra or {})}


class FakeTwelveData:
    """The fake API in a background thread, for tests.

    Parameters
    ----------
    port
        0 picks a free port; the server binds 127.0.0.1 only.
    credits_per_minute, credits_per_day
        The plan (Basic: 8 and 800).
    api_key
        The only key accepted; None accepts any non-empty key.
    window_s
        Length of the credit "minute" (shorter only in tests).
    clock
        Epoch seconds; decides the credit windows and which day is "today" on the exchanges.

    Examples
    --------
    >>> with FakeTwelveData(credits_per_minute=8) as fake:  # doctest: +SKIP
    ...     fake.set_faults(html_502=1)
    ...     client_base_url = fake.url
    """

    def __init__(
        self,
        *,
        port: int = 0,
        credits_per_minute: int = 8,
        credits_per_day: int = 800,
        api_key: str | None = "fake-key",
        window_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        ledger = CreditLedger(per_minute=credits_per_minute, per_day=credits_per_day, window_s=window_s, clock=clock)
        self.state = FakeState(ledger=ledger, api_key=api_key, clock=clock)
        self._server = _Server(port, self.state)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def start(self) -> FakeTwelveData:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-twelvedata", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeTwelveData:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- faults and counters

    def set_faults(self, **changes: Any) -> None:
        """Switch faults on or off; names and meanings as in :class:`Faults`."""
        with self.state.lock:
            self.state.faults.update(changes)

    def reset(self) -> None:
        """Clear faults, recorded requests and counters (credits keep counting)."""
        self.state.reset()

    @property
    def requests(self) -> list[RecordedRequest]:
        with self.state.lock:
            return list(self.state.requests)

    def request_count(self, path: str | None = None) -> int:
        with self.state.lock:
            return self.state.by_path[path] if path else sum(self.state.by_path.values())

    def status_count(self, status: int) -> int:
        with self.state.lock:
            return self.state.by_status[status]

    def credits_used(self) -> tuple[int, int]:
        """Credits counted in the current minute window and UTC day."""
        with self.state.lock:
            return self.state.ledger.usage()


def run_fake(
    port: int,
    credits_per_minute: int,
    credits_per_day: int,
    splits: list[str] | None = None,
    dividends: list[str] | None = None,
) -> None:
    """Serve the fake API on 127.0.0.1 until interrupted; any non-empty key is accepted.

    Parameters
    ----------
    port
        The port (0 picks a free one; the URL is printed).
    credits_per_minute, credits_per_day
        The plan the fake enforces.
    splits
        ``SYMBOL:YYYY-MM-DD:RATIO`` splits the fake's history shows (split-adjusted once the day has come).
    dividends
        ``SYMBOL:YYYY-MM-DD:AMOUNT`` distributions (``adjust=all`` back-adjusts for them; ``/dividends`` lists them).
    """
    ledger = CreditLedger(per_minute=credits_per_minute, per_day=credits_per_day, window_s=60.0, clock=time.time)
    state = FakeState(ledger=ledger, api_key=None, clock=time.time)
    state.faults.update({"splits": splits or [], "dividends": dividends or []})
    server = _Server(port, state)
    url = f"http://{LOOPBACK}:{server.server_address[1]}"
    print(
        f"fake Twelve Data API on {url} ({credits_per_minute} credits/min, {credits_per_day}/day); "
        f"use TWELVEDATA_BASE_URL={url} MARKET_DATA_PROVIDER=twelvedata TWELVEDATA_API_KEY=<anything>",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
