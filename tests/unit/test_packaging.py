"""The layer installs what the package declares, and the template stays buildable."""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from tests.lambda_http import ROOT


def test_function_folders_hold_only_routes_and_handlers() -> None:
    for folder in (ROOT / "functions").iterdir():
        if folder.is_dir() and folder.name != "__pycache__":
            names = {p.name for p in folder.glob("*.py")}
            # Route modules may be split by concern (auth: routes.py and session_routes.py); nothing else.
            others = {n for n in names if not n.endswith("routes.py")}
            assert others <= {"app.py", "deps.py", "handler.py"}, (folder.name, names)
            # A function's own dependencies (migrate: Alembic) come only from a hashed lock (make lock).
            requirements = folder / "requirements.txt"
            if requirements.exists():
                assert "--hash=sha256:" in requirements.read_text(), folder.name


def _layer_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("layer_check", ROOT / "infra" / "layer_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _layer_content_uri() -> Path:
    text = (ROOT / "template.yaml").read_text()
    match = re.search(r"SharedLayer:\n(?:\s{4,}.*\n)*?\s+ContentUri: (\S+)", text)
    assert match, "the template declares no SharedLayer ContentUri"
    return ROOT / match.group(1)


def test_the_layer_holds_no_development_code() -> None:
    layer = _layer_content_uri()
    assert (layer / "autoindex").is_dir() and not (layer / "autoindex_dev").exists()
    assert _layer_check().development_modules(layer) == []


def test_the_layer_check_finds_development_code_where_it_is(tmp_path: Path) -> None:
    # A copy of the layer with the runner and the fake server put back, as before dev/autoindex_dev existed.
    layer = tmp_path / "python"
    shutil.copytree(ROOT / "shared" / "autoindex", layer / "autoindex")
    shutil.copy(ROOT / "dev" / "autoindex_dev" / "runner.py", layer / "autoindex" / "runner.py")
    shutil.copytree(ROOT / "dev" / "autoindex_dev" / "fake_twelvedata", layer / "autoindex" / "fake_twelvedata")
    (layer / "autoindex" / "ops" / "sneaky.py").write_text("from autoindex_dev.envelopes import sqs_record\n")
    (layer / "yaml").mkdir()
    (layer / "yaml" / "loader.py").write_text("# a third-party module of the same name is not ours\n")
    found = _layer_check().development_modules(tmp_path)
    assert any("autoindex/runner.py" in f for f in found)
    assert any(f.startswith("python/autoindex/fake_twelvedata/ ") for f in found)
    assert any("ops/sneaky.py" in f for f in found)
    assert not any("yaml/" in f for f in found)


def test_package_inits_import_nothing() -> None:
    # Importing autoindex.index.engine.strategy must not load the whole engine: each __init__ is a docstring at most.
    inits = sorted((ROOT / "shared" / "autoindex").rglob("__init__.py"))
    assert len(inits) >= 10
    for init in inits:
        body = ast.parse(init.read_text()).body
        statements = [
            node for node in body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        ]
        assert all(isinstance(node, ast.Assign) for node in statements), init  # e.g. __version__ = "..."


def test_naming_the_demo_provider_loads_no_numpy() -> None:
    # The health and admin functions read the provider's capabilities without the NumPy layer (template.yaml).
    import subprocess
    import sys

    script = (
        "import sys; from autoindex.market.providers.demo import DemoProvider; "
        "DemoProvider().capabilities; print('numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("function", ["auth", "admin", "market", "strategy", "health"])
def test_an_api_function_starts_without_sqlalchemy(function: str) -> None:
    # Cold start (docs/performance.md): routes bind their services with autoindex.lazy, so SQLAlchemy and the
    # models load with the first request that needs the database, not at import.
    import subprocess
    import sys

    folder = ROOT / "functions" / function
    script = f"import sys; sys.path[0:0] = [{str(folder)!r}, {str(ROOT / 'shared')!r}]; import app; print(sorted("
    script += "m for m in ('sqlalchemy', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, cwd=folder)
    assert out.stdout.strip().splitlines()[-1] == "[]", f"{function} imports {out.stdout.strip()} at cold start"


def test_a_lazy_module_loads_on_first_use() -> None:
    import subprocess
    import sys

    script = (
        "import sys; from autoindex.lazy import lazy; m = lazy('autoindex.identity.audit'); "
        "print('sqlalchemy' in sys.modules); m.AuditEvent; print('sqlalchemy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["False", "True"]


def test_the_project_license_is_an_spdx_expression() -> None:
    # A TOML table here made setuptools print a deprecation banner three times into every `make run`.
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert isinstance(project["project"]["license"], str)
    assert "setuptools>=77" in project["build-system"]["requires"]  # the first to read that form
