"""What must never ship in the Lambda layer: the local runner, dispatch and schedules, fake servers, sample events.

Used on the source tree by the unit tests and on `sam build`'s output by `infra/smoke_build.py`.
Run alone: ``python infra/layer_check.py DIR`` exits non-zero and lists the offenders.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# Module names that only development code has (they lived in the layer before dev/autoindex_dev existed).
DEV_MODULE_NAMES = frozenset({"cli", "cron", "dispatch", "envelopes", "lambda_events", "loader", "runner", "template"})
DEV_PACKAGE_NAMES = frozenset({"autoindex_dev", "fake", "fake_twelvedata", "local"})
_DEV_IMPORT = re.compile(r"^\s*(from|import)\s+(autoindex_dev|yaml)\b", re.MULTILINE)


def development_modules(root: Path) -> list[str]:
    """Paths under ``root`` (the layer's ``autoindex`` package or a built layer) that are development code."""
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not _ours(rel):
            continue
        if path.is_dir() and path.name in DEV_PACKAGE_NAMES:
            found.append(f"{rel}/ (a development package)")
        elif path.suffix == ".py":
            if path.stem in DEV_MODULE_NAMES:
                found.append(f"{rel} (a development module)")
            elif _DEV_IMPORT.search(path.read_text(encoding="utf-8", errors="replace")):
                found.append(f"{rel} (imports development code or PyYAML)")
    return found


def _ours(rel: Path) -> bool:
    # A built layer holds python/autoindex beside third-party packages; only ours (or a stray dev package) counts.
    if rel.parts[0] != "python":
        return True
    return len(rel.parts) > 1 and rel.parts[1] in {"autoindex", "autoindex_dev"}


def main(argv: list[str]) -> int:
    offenders = development_modules(Path(argv[1]))
    for line in offenders:
        print(f"development code in the layer: {line}", file=sys.stderr)
    return 1 if offenders else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
