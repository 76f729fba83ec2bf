"""The layer installs what the package declares, and the template stays buildable."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement

from tests.lambda_http import ROOT


def _reqs(lines: list[str]) -> dict[str, Requirement]:
    out = {}
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            out[req.name.lower()] = req
    return out


def test_layer_requirements_match_pyproject_ranges() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _reqs(project["dependencies"])
    layer = _reqs((ROOT / "shared" / "requirements.txt").read_text().splitlines())
    assert layer, "the layer installs nothing"
    for name, req in layer.items():
        assert name in declared, f"{name} is in the layer but not in pyproject.toml"
        assert str(req.specifier) == str(declared[name].specifier), name
        assert req.extras == declared[name].extras, name
    # Runtime dependencies are exactly what the layer installs; development-only ones live in the dev extra.
    assert set(declared) == set(layer), set(declared) ^ set(layer)


def test_function_folders_hold_only_routes_and_handlers() -> None:
    for folder in (ROOT / "functions").iterdir():
        if folder.is_dir() and folder.name != "__pycache__":
            names = {p.name for p in folder.glob("*.py")}
            assert names <= {"app.py", "routes.py", "deps.py", "handler.py"}, (folder.name, names)
