"""The Lambda service, played from ``sam build``'s output: one process per function on the runtime's Python.

Each function runs in its own process (:mod:`worker`), with only its built code, its own layers and the
runtime's boto3 on the path, its deployed environment, and its Timeout: an invocation that overruns kills the
process (the next invocation is a cold start), as Lambda ends an execution environment. One invocation at a time
per function, as one environment serves them.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from autoindex_dev.cloud.worker import MARK

WORKER = Path(__file__).with_name("worker.py")


class FunctionTimeout(Exception):
    """The invocation overran the function's Timeout; its process was ended."""


class FunctionError(Exception):
    """The handler raised: Lambda's unhandled error, with the exception's type and message."""


@dataclass
class Invocation:
    function: str
    ok: bool
    duration_ms: float
    init_ms: float
    error: str | None = None


@dataclass
class BuiltFunction:
    logical_id: str
    handler: str
    paths: list[str]  # the function's code, its layers' python/ folders, the runtime's boto3
    environment: dict[str, str]
    timeout_s: int
    python: str
    log: IO[str]
    _process: subprocess.Popen[str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _answers: list[str] = field(default_factory=list)
    _answered: threading.Condition = field(default_factory=threading.Condition)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def _start(self) -> subprocess.Popen[str]:
        process = subprocess.Popen(  # noqa: S603 - the runtime's interpreter and our worker script
            [self.python, str(WORKER), self.handler, json.dumps(self.paths)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.environment,
            cwd=self.paths[0],
        )
        threading.Thread(target=self._pump, args=(process,), daemon=True).start()
        return process

    def _pump(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(MARK):
                with self._answered:
                    self._answers.append(line[len(MARK) :])
                    self._answered.notify_all()
            else:
                self.log.write(f"[{self.logical_id}] {line}")
                self.log.flush()
        with self._answered:
            self._answered.notify_all()

    def invoke(self, event: Any) -> tuple[Any, Invocation]:
        """The handler's result, or FunctionError / FunctionTimeout, with what it cost."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._process = self._start()
            process = self._process
            assert process.stdin is not None
            request = {"event": event, "timeout_ms": self.timeout_s * 1000, "request_id": f"req-{next(self._ids)}"}
            started = time.monotonic()
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
            answer = self._wait(process, started)
            if answer is None:
                process.kill()
                process.wait()
                self._process = None
                elapsed = time.monotonic() - started
                if elapsed >= self.timeout_s:
                    raise FunctionTimeout(f"{self.logical_id} overran its {self.timeout_s} s Timeout")
                raise FunctionError(f"{self.logical_id}: its process exited during the invocation (see the log)")
        cost = Invocation(self.logical_id, "error" not in answer, answer["duration_ms"], answer["init_ms"])
        if "error" in answer:
            cost.error = f"{answer['error']['type']}: {answer['error']['message']}"
            raise FunctionError(f"{self.logical_id} failed: {cost.error}")
        return answer["result"], cost

    def _wait(self, process: subprocess.Popen[str], started: float) -> dict[str, Any] | None:
        # The Timeout counts from the request, so a cold start's init counts against it (as for Lambda's first
        # invocation of an on-demand environment, which has up to 10 s of init on top; we allow none).
        with self._answered:
            while not self._answers:
                left = started + self.timeout_s - time.monotonic()
                if left <= 0 or process.poll() is not None:
                    return None
                self._answered.wait(min(left, 0.5))
            answer: dict[str, Any] = json.loads(self._answers.pop(0))
            return answer

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()


def base_environment(*, region: str, endpoint: str | None) -> dict[str, str]:
    """What every function process gets besides its own variables: no developer environment leaks in."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PYTHONDONTWRITEBYTECODE": "1",  # the artefact carries its bytecode; /opt and /var/task are read-only
        "PYTHONUNBUFFERED": "1",
    }
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


def runtime_python() -> str:
    """The Lambda runtime's interpreter (python3.13): RUNTIME_PY, or pyenv's, or the one on PATH."""
    import shutil

    # pyenv's shim for python3.13 fails unless 3.13 is selected, so its real interpreter is looked up first.
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = sorted(root.glob("3.13*/bin/python3.13"))
    found = os.environ.get("RUNTIME_PY") or (str(candidates[-1]) if candidates else shutil.which("python3.13"))
    if not found:
        sys.exit("python3.13 (the Lambda runtime) is needed: set RUNTIME_PY")
    return found
