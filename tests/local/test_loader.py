"""The local runner's function loader: every function imported once, whatever the other threads are doing.

`autoindex serve` loads a function on its first request, from a request thread, while other requests run
handlers that import modules lazily. A browser test once saw a 500 from that: the loader iterated the live
``sys.modules`` while another thread added to it ("dictionary changed size during iteration").
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from autoindex_dev.loader import _import_isolated, load_module

from tests.lambda_http import ROOT
from tests.net import free_port, wait_until_serving


def _function_folder(root: Path, name: str) -> Path:
    """A function folder shaped like ours: ``app.py`` imports a sibling as a top-level module."""
    folder = root / name
    folder.mkdir()
    (folder / "routes.py").write_text("ANSWER = 42\n")
    (folder / "app.py").write_text(
        "import os\n"
        "from routes import ANSWER\n"
        "with open(os.path.join(os.path.dirname(__file__), 'imports.log'), 'a') as log:\n"
        "    log.write('imported\\n')\n"
        "def handler(event, context):\n"
        "    return ANSWER\n"
    )
    return folder


@pytest.fixture
def busy_importer() -> Iterator[None]:
    """Another thread adding and removing modules as fast as it can, with thread switches forced often."""
    stop = threading.Event()

    def churn() -> None:
        n = 0
        while not stop.is_set():
            name = f"_loader_test_churn_{n % 64}"
            sys.modules[name] = ModuleType(name)
            sys.modules.pop(f"_loader_test_churn_{(n + 32) % 64}", None)
            n += 1

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    worker = threading.Thread(target=churn, daemon=True)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join()
        sys.setswitchinterval(interval)
        for n in range(64):
            sys.modules.pop(f"_loader_test_churn_{n}", None)


def test_a_function_imports_while_another_thread_imports_modules(tmp_path: Path, busy_importer: None) -> None:
    folder = _function_folder(tmp_path, "churned")
    for _ in range(300):
        module = _import_isolated(folder, "app.handler")
        assert module.handler({}, None) == 42
    assert "routes" not in sys.modules  # the folder's own modules never leak under their bare names


def test_concurrent_first_loads_import_a_function_once(tmp_path: Path) -> None:
    folder = _function_folder(tmp_path, "raced")
    start = threading.Barrier(8)

    def first_request() -> ModuleType:
        start.wait()
        return load_module(folder, "app.handler")

    with ThreadPoolExecutor(max_workers=8) as pool:
        modules = list(pool.map(lambda _: first_request(), range(8)))
    assert all(m is modules[0] for m in modules)
    assert (folder / "imports.log").read_text() == "imported\n"


@pytest.mark.slow
def test_the_first_requests_to_every_function_at_once_get_no_5xx(migrated: object) -> None:
    """A fresh server, then one request to each function's route at the same moment: each function loads
    on a request thread while the others run, as in the first minute of `make run`."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoindex_dev.cli", "serve"],
        cwd=ROOT,
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    paths = [
        "/v1/admin/runs?limit=10", "/v1/auth/me", "/v1/index/current", "/v1/assets", "/v1/strategy/config",
        "/v1/backtests", "/v1/usage", "/v1/webhooks", "/docs", "/v1/currencies", "/v1/benchmark/series",
    ]  # fmt: skip
    try:
        wait_until_serving(f"{base}/health", proc)
        start = threading.Barrier(len(paths))

        def get(path: str) -> tuple[str, int]:
            start.wait()
            return path, httpx.get(base + path, timeout=60).status_code

        with ThreadPoolExecutor(max_workers=len(paths)) as pool:
            answers = dict(pool.map(get, paths))
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0].decode(errors="replace")
    assert all(code < 500 for code in answers.values()), f"{answers}\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
