"""The lock files pin what pyproject.toml declares, with hashes, and each ships only where it belongs."""

from __future__ import annotations

import importlib.util
import tomllib
from types import ModuleType

import pytest
from packaging.requirements import Requirement

from tests.lambda_http import ROOT


def _lock_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lock", ROOT / "infra" / "lock.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LOCK = _lock_module()
LOCK_FILES = [
    "requirements/dev.txt",
    "requirements/local.txt",
    *LOCK.runtime_groups(),
]


def _pins(path: str) -> dict[str, str]:
    """name -> version of every pinned line (markers ignored: the dev lock is universal)."""
    pins: dict[str, str] = {}
    for line in (ROOT / path).read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            requirement = Requirement(line.rstrip(" \\"))
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"{path}: {line} is not pinned"
            pins.setdefault(requirement.name.lower(), spec.version)
    return pins


@pytest.mark.parametrize("path", LOCK_FILES)
def test_every_lock_file_was_made_from_the_current_pyproject(path: str) -> None:
    text = (ROOT / path).read_text()
    digest = next((line for line in text.splitlines() if line.startswith(LOCK.DIGEST_PREFIX)), "")
    assert digest.removeprefix(LOCK.DIGEST_PREFIX) == LOCK.inputs_digest(), (
        f"{path} is stale: pyproject.toml's dependencies (or infra/lock.py's layer split) changed since it was "
        "locked. Run `make lock` (needs PyPI) and commit every file it rewrites; `make install` installs only "
        "what the lock files pin."
    )


@pytest.mark.parametrize("path", LOCK_FILES)
def test_every_pin_carries_a_hash(path: str) -> None:
    lines = (ROOT / path).read_text().splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith((" ", "#")):
            assert line.endswith("\\") and "--hash=sha256:" in lines[i + 1], f"{path}: {line} has no hash"


def test_the_pins_satisfy_the_declared_ranges() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]
    runtime = _pins("requirements/lambda-runtime.txt")
    dev = _pins("requirements/dev.txt")
    for requirement in declared:
        name = requirement.name.lower()
        for pins in (dev, runtime) if name in runtime else (dev,):
            assert name in pins, f"{name} is declared but not locked: run `make lock`"
            assert requirement.specifier.contains(pins[name], prereleases=True), (name, pins[name])


def test_each_layer_ships_only_its_own_share() -> None:
    shared = _pins("shared/requirements.txt")
    numpy = _pins("layers/numpy/requirements.txt")
    migrate = _pins("functions/migrate/requirements.txt")
    runtime = _pins("requirements/lambda-runtime.txt")
    for heavy in ("boto3", "botocore", "numpy", "alembic", "mako", "cryptography"):
        assert heavy not in shared, f"the shared layer would ship {heavy}"
    assert set(numpy) == {"numpy"}
    assert "alembic" in migrate and "numpy" not in migrate
    # One version of each package across the layers and functions: each subset agrees with the whole.
    for subset in (shared, numpy, migrate):
        assert {name: runtime[name] for name in subset} == subset
    assert set(runtime) == set(shared) | set(numpy) | set(migrate)
