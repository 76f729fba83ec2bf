"""Read the functions and their events out of ``template.yaml`` (CloudFormation tags tolerated)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads ``!Ref X`` as ``{"Ref": X}`` and ``!Sub …`` as ``{"Fn::Sub": …}``."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


@dataclass(frozen=True)
class Route:
    method: str  # an HTTP method, or ANY
    path: str  # "/v1/auth/{proxy+}", or "$default"
    function: str
    pattern: re.Pattern[str] | None = field(compare=False, default=None)

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    @property
    def specificity(self) -> tuple[int, int, int, int]:
        """Sort key, most specific first: no greedy segment, fewer parameters, longer path, a named method."""
        if self.path == "$default":
            return (2, 0, 0, 1)
        greedy = 1 if "+}" in self.path else 0
        params = self.path.count("{")
        return (greedy, params, -len(self.path), 0 if self.method != "ANY" else 1)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.path == "$default" or self.pattern is None:
            return None
        if self.method not in ("ANY", method):
            return None
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    timeout_s: int
    memory_mb: int
    events: dict[str, dict[str, Any]]

    @property
    def short_name(self) -> str:
        return self.logical_id.removesuffix("Function").lower()


@dataclass(frozen=True)
class Template:
    root: Path
    functions: dict[str, Function]
    routes: list[Route]
    resources: dict[str, Any] = field(default_factory=dict)

    def events_of_type(self, *types: str) -> list[tuple[Function, dict[str, Any]]]:
        """(function, event properties) for every event source of the given SAM types."""
        return [
            (fn, event.get("Properties") or {})
            for fn in self.functions.values()
            for event in fn.events.values()
            if event.get("Type") in types
        ]

    def function(self, name: str) -> Function:
        for fn in self.functions.values():
            if name in (fn.logical_id, fn.short_name):
                return fn
        known = ", ".join(sorted(fn.short_name for fn in self.functions.values()))
        raise KeyError(f"no function {name!r} in the template (known: {known})")

    def allowed_methods(self, path: str) -> list[str] | None:
        """The methods the template's own routes take for ``path`` (HEAD with GET, and OPTIONS), or None when
        no route names this path or an ``ANY`` route does (then its function knows which methods it serves)."""
        methods: set[str] = set()
        for route in self.routes:
            if route.path == "$default" or route.pattern is None or route.pattern.fullmatch(path) is None:
                continue
            if route.method == "ANY":
                return None
            methods.add(route.method)
        if not methods:
            return None
        if "GET" in methods:
            methods.add("HEAD")
        return sorted(methods | {"OPTIONS"})

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """API Gateway's choice: the most specific matching route, else ``$default`` if there is one."""
        for route in self.routes:
            params = route.match(method, path)
            if params is not None:
                return route, params
        default = next((r for r in self.routes if r.path == "$default"), None)
        return (default, {}) if default else None


def _path_pattern(path: str) -> re.Pattern[str]:
    out = []
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("+}"):
            out.append(f"(?P<{part[1:-2]}>.+)")
        elif part.startswith("{"):
            out.append(f"(?P<{part[1:-1]}>[^/]+)")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out))


def read_document(path: Path) -> dict[str, Any]:
    """The template as plain data: ``!Ref X`` becomes ``{"Ref": X}``, ``!If [...]`` ``{"Fn::If": [...]}``."""
    document: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    return document


def load_template(path: Path) -> Template:
    document = read_document(path)
    globals_fn = (document.get("Globals") or {}).get("Function") or {}
    functions: dict[str, Function] = {}
    routes: list[Route] = []
    for logical_id, resource in (document.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties") or {}
        events = props.get("Events") or {}
        functions[logical_id] = Function(
            logical_id=logical_id,
            code_uri=(path.parent / props["CodeUri"]).resolve(),
            handler=props["Handler"],
            timeout_s=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
            memory_mb=int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
            events=events,
        )
        for event in events.values():
            if event.get("Type") != "HttpApi":
                continue
            ev = event.get("Properties") or {}
            route_path = ev.get("Path", "$default")
            method = str(ev.get("Method", "ANY")).upper()
            method = "ANY" if method in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD") else method
            pattern = None if route_path == "$default" else _path_pattern(route_path)
            routes.append(Route(method=method, path=route_path, function=logical_id, pattern=pattern))
    routes.sort(key=lambda r: r.specificity)
    return Template(root=path.parent, functions=functions, routes=routes, resources=document.get("Resources") or {})
