"""No test file imports another test file: shared helpers live in modules named for what they hold.

Importing a test module runs its module-level code and, if its test functions are imported by name,
collects them twice; it also ties one file's tests to another's private helpers. The check reads the
import statements with ast, so a module named in a comment or a string does not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]


def _package_of(path: Path) -> list[str]:
    """The dotted package a file under tests/ belongs to, e.g. ['tests', 'functions', 'auth']."""
    return ["tests", *path.parent.relative_to(TESTS).parts]


def find_test_module_imports(source: str, package: list[str]) -> list[str]:
    """Each import of a test module (a dotted name with a part starting ``test_``) in ``source``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _names_a_test_module(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            if _names_a_test_module(module):
                found.append(module)
            elif module.split(".")[0] == "tests":
                # `from tests.unit import test_iam` imports the module by its attribute name.
                found += [f"{module}.{alias.name}" for alias in node.names if alias.name.startswith("test_")]
    return found


def _names_a_test_module(dotted: str) -> bool:
    return any(part.startswith("test_") for part in dotted.split("."))


def test_no_file_under_tests_imports_a_test_module() -> None:
    offenders = [
        f"{path.relative_to(TESTS.parent)}: {module}"
        for path in sorted(TESTS.rglob("*.py"))
        for module in find_test_module_imports(path.read_text(encoding="utf-8"), _package_of(path))
    ]
    assert len(list(TESTS.rglob("test_*.py"))) > 50, "the walk did not find the test files"
    assert not offenders, (
        "a test module imports another test module; move the shared helper into a module named for what it "
        "holds (not test_*) and import it from there:\n" + "\n".join(offenders)
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from tests.unit.test_iam import NEEDS", ["tests.unit.test_iam"]),
        ("import tests.functions.test_problem_details", ["tests.functions.test_problem_details"]),
        ("from tests.unit import test_iam", ["tests.unit.test_iam"]),
        (
            "def f():\n    from tests.functions.auth.test_api_keys import create_key",
            ["tests.functions.auth.test_api_keys"],
        ),
        ("from .test_sessions import login", ["tests.functions.auth.test_sessions"]),
        ("from ..test_problem_details import assert_problem", ["tests.functions.test_problem_details"]),
        ("from . import test_sessions", ["tests.functions.auth.test_sessions"]),
        ("from tests.functions.auth.keys import create_key", []),
        ("from .sessions import login", []),
        ("# from tests.unit.test_iam import NEEDS", []),
        ('"""from tests.unit.test_iam import NEEDS"""', []),
        ("from tests.functions.conftest import Account", []),
    ],
)
def test_the_check_finds_imports_of_test_modules_and_nothing_else(source: str, expected: list[str]) -> None:
    assert find_test_module_imports(source, ["tests", "functions", "auth"]) == expected
