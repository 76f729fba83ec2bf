"""One Lambda execution environment: this file runs on the runtime's Python (3.13) with only the function's
built code and its layers on ``sys.path``, standard library only (nothing of autoindex_dev is importable here).

Usage: ``python3.13 worker.py HANDLER PATH_JSON``. Each line on stdin is one invocation
(``{"event": ..., "timeout_ms": ..., "request_id": ...}``); each answer is one line on stdout starting with
:data:`MARK` (the function's own log lines go to stdout too, as in Lambda, and are passed on by the parent).
The parent enforces the Timeout by killing this process, as Lambda ends an environment that overruns.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any

MARK = "\x1eAUTOINDEX-INVOKE-RESULT "


class Context:
    def __init__(self, request_id: str, timeout_ms: int) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"))
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


def main(argv: list[str]) -> int:
    handler_path, paths = argv[1], json.loads(argv[2])
    sys.path[0:1] = paths  # instead of this script's folder: the function's code, its layers, the runtime's boto3
    module_name, _, attribute = handler_path.rpartition(".")
    started = time.monotonic()
    handler = getattr(importlib.import_module(module_name), attribute)  # the init phase
    init_ms = (time.monotonic() - started) * 1000
    for line in sys.stdin:
        request = json.loads(line)
        context = Context(request["request_id"], request["timeout_ms"])
        started = time.monotonic()
        try:
            answer: dict[str, Any] = {"result": handler(request["event"], context)}
        except Exception as exc:  # the runtime reports an unhandled error as the invocation's result
            answer = {"error": {"type": type(exc).__name__, "message": str(exc)[:2000]}}
            traceback.print_exc()
        answer["init_ms"], init_ms = init_ms, 0.0
        answer["duration_ms"] = (time.monotonic() - started) * 1000
        sys.stdout.write(MARK + json.dumps(answer, default=str) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
