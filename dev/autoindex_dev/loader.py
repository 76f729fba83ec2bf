"""Import a function's handler from its code folder the way its own Lambda would, without name clashes.

Every function folder has an ``app.py`` and imports its siblings as top-level modules (``from
routes import router``), exactly as it will in Lambda, where its folder is the code root. Here
all functions share one interpreter, so each folder's modules are imported with the folder
first on ``sys.path`` and then moved to a private namespace in ``sys.modules``.
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

_lock = threading.Lock()


def _own_module_names(code_dir: Path) -> set[str]:
    names = {p.stem for p in code_dir.glob("*.py")}
    names |= {p.name for p in code_dir.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    return names


def _belongs(module_name: str, names: set[str]) -> bool:
    return module_name.split(".", 1)[0] in names


def load_handler(code_dir: Path, handler: str) -> Any:
    """The object Lambda would call for ``Handler: <module>.<attribute>`` in ``code_dir``."""
    return getattr(load_module(code_dir, handler), handler.rsplit(".", 1)[1])


@functools.cache
def load_module(code_dir: Path, handler: str) -> ModuleType:
    """The handler's module, imported once per process as that function's Lambda would import it."""
    module_name = handler.rsplit(".", 1)[0]
    names = _own_module_names(code_dir)
    namespace = f"_autoindex_function_{code_dir.name}"
    with _lock:
        saved = {k: v for k, v in sys.modules.items() if _belongs(k, names)}
        for key in saved:
            del sys.modules[key]
        sys.path.insert(0, str(code_dir))
        try:
            module = importlib.import_module(module_name.replace("/", "."))
        finally:
            sys.path.remove(str(code_dir))
            for key in [k for k in sys.modules if _belongs(k, names)]:
                sys.modules[f"{namespace}.{key}"] = sys.modules.pop(key)
            sys.modules.update(saved)
    return module
