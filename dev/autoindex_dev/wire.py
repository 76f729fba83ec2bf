"""What the local runner's HTTP server needs below HTTP: reads under a deadline, and safe echoes of input."""

from __future__ import annotations

import io
import re
import socket
import time

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")


def printable(text: str, limit: int) -> str:
    """``text`` with control characters (ESC among them) and backslashes escaped, at most ``limit`` characters.

    Clipped before escaping as well as after, so a path of 65,000 control bytes costs no more than a short one.
    """
    clipped = text[:limit]
    escaped = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), clipped)
    if len(escaped) > limit or len(text) > limit:
        return escaped[:limit] + "…"
    return escaped


class DeadlineReader(io.RawIOBase):
    """A socket's read side where a whole phase (request line and headers, or a body) has one deadline.

    A socket timeout bounds each read only, so a client sending one byte every few seconds would
    never trip it; here every read gets only what is left of the phase's deadline, then ``TimeoutError``.
    ``received`` counts the bytes of the current phase (none: an idle keep-alive connection).
    """

    def __init__(self, sock: socket.socket, *, idle_timeout_s: float) -> None:
        super().__init__()
        self._sock = sock
        self._idle_timeout_s = idle_timeout_s
        self._deadline: float | None = None
        self.received = 0

    def start_phase(self, seconds: float | None) -> None:
        """Give the reads from now on ``seconds`` in all (None: the idle timeout per read only)."""
        self._deadline = None if seconds is None else time.monotonic() + seconds
        self.received = 0
        if seconds is None:
            self._sock.settimeout(self._idle_timeout_s)  # writes share the socket's timeout: not a deadline's rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        timeout = self._idle_timeout_s
        if self._deadline is not None:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("deadline passed")
            timeout = min(timeout, remaining)
        self._sock.settimeout(timeout)
        count = self._sock.recv_into(buffer)
        self.received += count
        return count
