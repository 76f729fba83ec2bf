"""`autoindex <command> --help` says what the command does, not only which options it takes."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from autoindex_dev.cli import build_parser


def _commands() -> dict[str, argparse.ArgumentParser]:
    (sub,) = (a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_command_is_checked() -> None:
    assert {"serve", "invoke", "migrate", "refresh", "openapi", "create-admin"} <= set(_commands())


@pytest.mark.parametrize("name", sorted(_commands()))
def test_a_commands_help_opens_with_what_it_does(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([name, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    usage, description, *_ = out.split("\n\n")
    assert usage.startswith(f"usage: autoindex {name}")
    assert not description.startswith(("options:", "positional arguments:")), out
    # The same line `autoindex --help` lists the command with, as a sentence.
    listed = " ".join(build_parser().format_help().split())
    summary = " ".join(description.split()).removesuffix(".")
    assert summary[1:] in listed and len(summary) > 20


def _documented_commands() -> dict[str, str]:
    # The rows of docs/operations.md's command table: "| `autoindex NAME [options]` | what it does |".
    text = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `autoindex ([a-z-]+)([^`]*)` \|", text, flags=re.MULTILINE)
    return {name: options for name, options in rows}


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_has_a_row_in_the_operations_runbook(name: str) -> None:
    # `make run` calls `autoindex share-counts`; a new user looking it up in the runbook found no row.
    documented = _documented_commands()
    assert name in documented, f"docs/operations.md lists no `autoindex {name}`"
    options = {
        flag
        for action in _commands()[name]._actions
        for flag in action.option_strings
        if flag.startswith("--") and flag not in {"--help", "--template"}
    }
    missing = sorted(flag for flag in options if flag not in documented[name])
    assert not missing, f"`autoindex {name}` in docs/operations.md does not name {missing}"
