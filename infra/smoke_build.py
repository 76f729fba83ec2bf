"""Smoke-test what `sam build` produced, on the Lambda runtime's Python: import each HTTP function's
handler from its built folder with only the built layer on the path, and answer one request
(health: liveness; every other API function: an unknown path, which must be a problem+json 404).

Run by `make template-check` with the runtime's interpreter (python3.13).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BUILD = Path(".aws-sam/build")


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
    # Each function is a separate Lambda: forget the previous one's modules (they share names like `app`).
    for name in ("app", "routes"):
        sys.modules.pop(name, None)
    sys.path.insert(0, str(function_dir))
    try:
        import app  # the built function's own module, as Lambda imports it

        assert str(function_dir) in str(app.__file__), app.__file__
        result: dict[str, object] = app.handler(_event(path), Context())
        return result
    finally:
        sys.path.remove(str(function_dir))


def _assert_compiled(root: Path) -> None:
    """Every module has bytecode for this interpreter beside it (compileall ran on the build)."""
    tag = sys.implementation.cache_tag  # cpython-313 on the Lambda runtime
    missing = [
        str(py.relative_to(BUILD))
        for py in root.rglob("*.py")
        if not (py.parent / "__pycache__" / f"{py.stem}.{tag}.pyc").is_file()
    ]
    assert not missing, f"{len(missing)} modules without {tag} bytecode, e.g. {missing[:5]}"


def _assert_lean(site: Path) -> None:
    """The runtime provides boto3; HS256 needs no cryptography."""
    heavy = [name for name in ("boto3", "botocore", "cryptography") if (site / name).exists()]
    assert not heavy, f"the layer ships what it should not: {heavy}"


MAX_UNZIPPED_MB = 150  # well under Lambda's 250 MB, so a cold start never unpacks more than it must


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _assert_sizes() -> None:
    """Each function's unzipped size (its code plus the layer every function carries), printed and capped."""
    layer = _tree_bytes(BUILD / "SharedLayer")
    print(f"shared layer: {layer / 2**20:.1f} MB unzipped")
    for function_dir in sorted(p for p in BUILD.iterdir() if p.is_dir() and p.name.endswith("Function")):
        total = (_tree_bytes(function_dir) + layer) / 2**20
        print(f"{function_dir.name}: {total:.1f} MB unzipped with its layer")
        assert total <= MAX_UNZIPPED_MB, f"{function_dir.name} unzips to {total:.1f} MB (cap {MAX_UNZIPPED_MB} MB)"


def main() -> int:
    from layer_check import development_modules  # beside this script

    offenders = development_modules(BUILD / "SharedLayer")
    assert not offenders, f"development code in the built layer: {offenders}"
    _assert_lean(BUILD / "SharedLayer" / "python")
    _assert_sizes()
    for code_root in [BUILD / "SharedLayer" / "python" / "autoindex", *(p for p in BUILD.iterdir() if p.is_dir())]:
        _assert_compiled(code_root)
    sys.path.insert(0, str(BUILD / "SharedLayer" / "python"))
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
