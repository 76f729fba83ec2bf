"""Which layers each function carries, read from template.yaml without a YAML library (the runtime's Python has none).

Every function carries the Globals' SharedLayer; a function that also lists ``Layers: [!Ref NumpyLayer]`` gets that.
Used by ``infra/smoke_build.py`` (sizes, isolated imports) and the cloud check (each function with only its layers).
"""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
_BLOCK = r"^  {name}:\n((?:^(?:    .*)?\n)*)"
_LAYERS = re.compile(r"^      Layers: \[([^\]]*)\]", re.MULTILINE)


def function_layers(logical_id: str, template: Path = TEMPLATE) -> list[str]:
    """The layers (logical ids, in path order) of one function: the shared layer first, then its own."""
    text = template.read_text()
    block = re.search(_BLOCK.format(name=re.escape(logical_id)), text, re.MULTILINE)
    if block is None:
        raise KeyError(f"{logical_id} is not a resource of {template.name}")
    own = _LAYERS.search(block.group(1))
    extra = [ref.removeprefix("!Ref").strip() for ref in own.group(1).split(",")] if own else []
    return ["SharedLayer", *extra]
