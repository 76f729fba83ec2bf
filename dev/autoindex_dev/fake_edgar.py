"""A fake SEC EDGAR on 127.0.0.1: companyfacts and the ticker map in the real shapes, the real 404 and throttle answers.

Serves ``/api/xbrl/companyfacts/CIK##########.json`` for the companies it knows (the demo market's
filings, plus any documents a test sets), a 404 with a small XML body for others, and 403 to a request
without a declared User-Agent. ``/files/company_tickers.json`` (on ``www.sec.gov`` at SEC; one server
here) is the demo market's map in SEC's shape (``market.edgar_demo.TICKERS``) or one a test sets.
Faults a test can switch on: ``throttle`` (the next N answer 403 with SEC's HTML page), ``too_many``
(429), ``truncated`` (200 with half a JSON document), ``garbage`` (200 with JSON of the wrong shape),
``server_errors`` (500).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from autoindex.market.edgar_demo import company_tickers, companyfacts_for_cik

LOOPBACK = "127.0.0.1"
_PATH = re.compile(r"^/api/xbrl/companyfacts/CIK(\d{10})\.json$")
TICKERS_PATH = "/files/company_tickers.json"
_THROTTLED = b"<html><head><title>SEC.gov | Request Rate Threshold Exceeded</title></head><body>...</body></html>"
_NO_SUCH_KEY = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code>'
    b"<Message>The specified key does not exist.</Message></Error>"
)


@dataclass
class EdgarFaults:
    throttle: int = 0
    too_many: int = 0
    truncated: int = 0
    garbage: int = 0
    server_errors: int = 0
    after: int = 0  # faults apply only once this many requests have been answered cleanly
    documents: dict[int, Any] = field(default_factory=dict)  # CIK -> a companyfacts document to serve
    tickers: Any = None  # a ticker map to serve instead of the demo market's


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        self.server.record(time.monotonic(), self.path)
        status, body, kind = self.server.answer(self.path, self.headers.get("User-Agent", ""))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, today: Any) -> None:
        super().__init__((LOOPBACK, port), _Handler)
        self.lock = threading.Lock()
        self.faults = EdgarFaults()
        self.requests: list[tuple[float, str]] = []
        self.today = today
        self.answered = 0

    def record(self, at: float, path: str) -> None:
        with self.lock:
            self.requests.append((at, path))

    def _take(self, name: str) -> bool:
        with self.lock:
            left = getattr(self.faults, name)
            if left > 0:
                setattr(self.faults, name, left - 1)
                return True
            return False

    def _refusal(self, agent: str) -> tuple[int, bytes, str] | None:
        if "@" not in agent or self._take("throttle"):  # an undeclared tool, or over the rate
            return 403, _THROTTLED, "text/html"
        if self._take("too_many"):
            return 429, b"Too Many Requests", "text/plain"
        if self._take("server_errors"):
            return 500, b"Internal Server Error", "text/plain"
        return None

    def answer(self, path: str, agent: str) -> tuple[int, bytes, str]:
        with self.lock:
            self.answered += 1
            faulty = self.answered > self.faults.after
        refusal = self._refusal(agent) if faulty else None
        if refusal is not None:
            return refusal
        path = path.split("?", maxsplit=1)[0]
        match = _PATH.match(path)
        cik = int(match.group(1)) if match else None
        document = self.faults.documents.get(cik) if cik is not None else None
        if document is None and cik is not None:
            document = companyfacts_for_cik(cik, self.today())
        if path == TICKERS_PATH:
            document = self.faults.tickers if self.faults.tickers is not None else company_tickers()
        if document is None:
            return 404, _NO_SUCH_KEY, "application/xml"
        body = json.dumps(document).encode()
        if faulty and self._take("truncated"):
            return 200, body[: len(body) // 2], "application/json"
        if faulty and self._take("garbage"):
            return 200, b'{"cik": "not a company", "facts": []}', "application/json"
        return 200, body, "application/json"


class FakeEdgar:
    """The fake on a free port (``with FakeEdgar() as fake: fake.url``)."""

    def __init__(self, port: int = 0, today: Any = None) -> None:
        self._server = _Server(port, today or (lambda: datetime.now(UTC).date()))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    @property
    def faults(self) -> EdgarFaults:
        return self._server.faults

    @property
    def requests(self) -> list[tuple[float, str]]:
        with self._server.lock:
            return list(self._server.requests)

    def __enter__(self) -> FakeEdgar:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def run_fake_edgar(port: int) -> None:
    """Serve until interrupted."""
    with FakeEdgar(port) as fake:
        # The ticker map is served here too: with EDGAR_TICKERS_URL unset, the client asks EDGAR_BASE_URL for it.
        print(f"fake SEC EDGAR on {fake.url}; use SHARE_COUNT_SOURCE=edgar EDGAR_BASE_URL={fake.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
