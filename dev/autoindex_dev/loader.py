"""Import a function's handler from its code folder the way its own Lambda would, without name clashes.

Every function folder has an ``app.py`` and imports its siblings as top-level modules (``from
routes import router``), exactly as it will in Lambda, where its folder is the code root. Here
all functions share one interpreter, so each folder's modules are imported with the folder
first on ``sys.path`` and then moved to a private namespace in ``sys.modules``.
"""

from __future__ import annotations

import importlib
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

_lock = threading.Lock()
_loaded: dict[tuple[Path, str], ModuleType] = {}


def _own_module_names(code_dir: Path) -> set[str]:
    names = {p.stem for p in code_dir.glob("*.py")}
    names |= {p.name for p in code_dir.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    return names


def _belongs(module_name: str, names: set[str]) -> bool:
    return module_name.split(".", 1)[0] in names


def load_handler(code_dir: Path, handler: str) -> Any:
    """The object Lambda would call for ``Handler: <module>.<attribute>`` in ``code_dir``."""
    return getattr(load_module(code_dir, handler), handler.rsplit(".", 1)[1])


def load_module(code_dir: Path, handler: str) -> ModuleType:
    """The handler's module, imported once per process as that function's Lambda would import it.

    Requests of the local server load functions on first use from many threads at once: the check and
    the import happen under one lock, so two first requests never import a function twice.
    """
    key = (code_dir, handler)
    found = _loaded.get(key)
    if found is not None:
        return found
    with _lock:
        found = _loaded.get(key)
        if found is None:
            found = _loaded[key] = _import_isolated(code_dir, handler)
    return found


def _import_isolated(code_dir: Path, handler: str) -> ModuleType:
    module_name = handler.rsplit(".", 1)[0]
    names = _own_module_names(code_dir)
    namespace = f"_autoindex_function_{code_dir.name}"
    # Other threads keep importing (lazy imports in handlers already loaded) while this one runs: iterate a
    # copy of sys.modules (``dict.copy`` is one step under the GIL), never the live dict.
    saved = {k: v for k, v in sys.modules.copy().items() if _belongs(k, names)}
    for key in saved:
        del sys.modules[key]
    sys.path.insert(0, str(code_dir))
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    finally:
        sys.path.remove(str(code_dir))
        for key in [k for k in sys.modules.copy() if _belongs(k, names)]:
            sys.modules[f"{namespace}.{key}"] = sys.modules.pop(key)
        sys.modules.update(saved)
    return module
