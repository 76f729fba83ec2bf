"""Smoke-test what `sam build` produced, on the Lambda runtime's Python: import each HTTP function's
handler from its built folder with only its own built layers on the path, and answer one request
(health: liveness; every other API function: an unknown path, which must be a problem+json 404).
Also: bytecode everywhere, nothing heavy or misplaced in a layer, each function's unzipped size under the cap.

Run by `make template-check` with the runtime's interpreter (python3.13).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BUILD = Path(".aws-sam/build").resolve()


class Context:
    function_name = "smoke"
    memory_limit_in_mb = 256
    aws_request_id = "smoke"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:smoke"
    function_version = "$LATEST"


def _source(path: Path) -> str:
    return path.read_text() if path.is_file() else ""


def _event(path: str) -> dict[str, object]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {},
        "requestContext": {
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": "smoke",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }


def _invoke_isolated(function_dir: Path, path: str) -> dict[str, object]:
    """Import and call one built function in a fresh interpreter, with only its own layers on the path."""
    from build_layout import function_layers  # beside this script

    layer_paths = [str(BUILD / layer / "python") for layer in function_layers(function_dir.name)]
    script = (
        "import json, sys; sys.path[:0] = json.loads(sys.argv[1]); import app, smoke_build; "
        "print(json.dumps(app.handler(smoke_build._event(sys.argv[2]), smoke_build.Context())))"
    )
    here = str(Path(__file__).parent)
    completed = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", script, json.dumps([str(function_dir), *layer_paths, here]), path],
        check=False,
        capture_output=True,
        text=True,
        cwd=function_dir,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert completed.returncode == 0, f"{function_dir.name} failed on its own layers:\n{completed.stderr[-3000:]}"
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _assert_compiled(root: Path) -> None:
    """Every module has bytecode for this interpreter beside it (compileall ran on the build)."""
    tag = sys.implementation.cache_tag  # cpython-313 on the Lambda runtime
    missing = [
        str(py.relative_to(BUILD))
        for py in root.rglob("*.py")
        if not (py.parent / "__pycache__" / f"{py.stem}.{tag}.pyc").is_file()
    ]
    assert not missing, f"{len(missing)} modules without {tag} bytecode, e.g. {missing[:5]}"


# The runtime provides boto3; HS256 needs no cryptography; NumPy has its own layer; Alembic ships only in migrate.
NEVER_IN = {
    "SharedLayer": ("boto3", "botocore", "cryptography", "numpy", "alembic", "mako"),
    "NumpyLayer": ("boto3", "botocore", "cryptography", "alembic", "autoindex"),
}


def _assert_lean() -> None:
    for layer, names in NEVER_IN.items():
        site = BUILD / layer / "python"
        heavy = [name for name in names if (site / name).exists()]
        assert not heavy, f"{layer} ships what it should not: {heavy}"
    for function_dir in _function_dirs():
        heavy = [name for name in ("boto3", "botocore", "numpy") if (function_dir / name).exists()]
        assert not heavy, f"{function_dir.name} ships what it should not: {heavy}"
        if function_dir.name != "MigrateFunction":
            assert not (function_dir / "alembic").exists(), f"{function_dir.name} ships Alembic"


def _function_dirs() -> list[Path]:
    return sorted(p for p in BUILD.iterdir() if p.is_dir() and p.name.endswith("Function"))


MAX_UNZIPPED_MB = 150  # well under Lambda's 250 MB, so a cold start never unpacks more than it must


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _assert_sizes() -> None:
    """Each function's unzipped size (its code plus its layers), printed as the README's table and capped."""
    from build_layout import function_layers  # beside this script

    layers = {name: _tree_bytes(BUILD / name) for name in ("SharedLayer", "NumpyLayer")}
    for name, size in layers.items():
        print(f"| {name} (layer) | {size / 2**20:.1f} MiB |")
    for function_dir in _function_dirs():
        own = function_layers(function_dir.name)
        total = (_tree_bytes(function_dir) + sum(layers[layer] for layer in own)) / 2**20
        print(f"| {function_dir.name} ({' + '.join(['code', *own])}) | {total:.1f} MiB |")
        assert total <= MAX_UNZIPPED_MB, f"{function_dir.name} unzips to {total:.1f} MB (cap {MAX_UNZIPPED_MB} MB)"


def main() -> int:
    from layer_check import development_modules  # beside this script

    offenders = development_modules(BUILD / "SharedLayer")
    assert not offenders, f"development code in the built layer: {offenders}"
    _assert_lean()
    _assert_sizes()
    for code_root in (p for p in BUILD.iterdir() if p.is_dir()):  # layers (third-party code too) and functions
        _assert_compiled(code_root)
    checked = []
    # API functions wrap an app with http_handler; jobs (refresh, ingest) take other events and are covered by tests.
    for function_dir in sorted(p for p in BUILD.iterdir() if "http_handler" in _source(p / "app.py")):
        is_health = function_dir.name == "HealthFunction"
        result = _invoke_isolated(function_dir, "/health" if is_health else "/v1/__smoke__/missing")
        # (every API function, the docs one included, answers an unknown path with a problem+json 404)
        body = json.loads(str(result["body"]))
        if is_health:
            assert result["statusCode"] == 200 and body["status"] == "ok", result
        else:
            assert result["statusCode"] == 404 and body["status"] == 404, result
        checked.append(function_dir.name)
    assert "HealthFunction" in checked, checked
    # The dashboard's files went into the build (make web runs before sam build): its page answers.
    page = _invoke_isolated(BUILD / "WebFunction", "/")
    assert page["statusCode"] == 200 and "<script" in str(page["body"]), page
    print(f"built functions answered on Python {sys.version.split()[0]}: {', '.join(checked)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
