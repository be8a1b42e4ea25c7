"""The operations of each contract, indexed for matching a request's method and path against them."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..contractschema import resolve
from ..resources import contracts_dir
from ..services import BY_NAME


@dataclass(frozen=True)
class Parameter:
    name: str
    where: str  # path, query or header
    required: bool
    schema: dict[str, Any]
    example: Any = None

    def wants(self) -> str:
        """What the contract wants, in words: the pattern or enum, and the example."""
        if "enum" in self.schema:
            text = "one of " + ", ".join(map(str, self.schema["enum"]))
        elif self.schema.get("type") == "integer" and ("minimum" in self.schema or "maximum" in self.schema):
            text = f"a whole number from {self.schema.get('minimum', '-∞')} to {self.schema.get('maximum', '∞')}"
        elif "pattern" in self.schema:
            text = f"a value matching {self.schema['pattern']}"
        else:
            text = f"a {self.schema.get('type', 'value')}"
        return text + (f" (for example {self.example})" if self.example is not None else "")


@dataclass(frozen=True)
class Operation:
    service: str
    method: str
    template: str  # as in the contract, relative to the base path
    operation_id: str
    parameters: tuple[Parameter, ...]
    regex: re.Pattern[str] = field(compare=False)

    def match(self, path: str) -> dict[str, str] | None:
        m = self.regex.fullmatch(path)
        return m.groupdict() if m else None

    @property
    def name(self) -> str:
        return f"{BY_NAME[self.service].title} contract, {self.operation_id} ({self.method} {self.template})"


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(doc, node["$ref"])
    return node


def _regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    body = "".join(f"(?P<{p[1:-1]}>[^/]*)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(body)


@functools.cache
def operations(service: str) -> tuple[Operation, ...]:
    # libyaml when present: the first journal read parses every contract, 0.8 s in pure Python
    doc = yaml.load((contracts_dir() / f"{service}.yaml").read_text(), Loader=getattr(yaml, "CSafeLoader",
                                                                                      yaml.SafeLoader))
    out = []
    for template, item in doc["paths"].items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method not in ("get", "post", "put", "delete", "patch"):
                continue
            params = []
            for raw in [*shared, *op.get("parameters", [])]:
                p = _resolve(doc, raw)
                params.append(Parameter(p["name"], p["in"], bool(p.get("required")), _resolve(doc, p["schema"]),
                                        p.get("example")))
            out.append(Operation(service, method.upper(), template, op.get("operationId", template),
                                 tuple(params), _regex(template)))
    return tuple(out)


def operation_of(service: str, method: str, path: str) -> Operation | None:
    """The contract operation a journaled call (service, method, service-relative path) was made to."""
    known = BY_NAME.get(service)
    if known is None or not path.startswith(known.base_path + "/"):
        return None
    relative = path[len(known.base_path):]
    for o in operations(service):
        if o.method == method and o.match(relative) is not None:
            return o
    return None
