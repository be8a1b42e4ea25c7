"""The contracts' response bodies as plain JSON Schema, and the error codes each status documents.

OpenAPI 3.0 schemas are not quite JSON Schema: `$ref`s point into components, `nullable` stands for a
type list, and `example`, `xml`, `discriminator` and `x-*` are annotations validators and generators must
not see. Everything here is read from `contracts/` (inside the wheel when installed).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import yaml

from .resources import contracts_dir
from .services import CONTRACTS, DATA_API_NAMES

DATA_APIS = DATA_API_NAMES
APIS = CONTRACTS  # the data APIs first: the order `verify` runs them in
# The operation whose responses a client parses: one per data API; Maskinporten's token endpoint.
_OPERATION = {"maskinporten": ("/token", "post")}
_DROP = {"example", "examples", "xml", "discriminator", "readOnly", "writeOnly", "description", "externalDocs"}
_CODE_IN_TEXT = re.compile(r"\*\*([A-Z]+-[0-9]{3})\*\*")
_MP_ROW = re.compile(r"^\| (MP-[0-9]{3}) \| `([a-z_]+)` \|", re.MULTILINE)


class UnknownApi(ValueError):
    """An API name, status or media type the contracts do not document."""


@lru_cache(maxsize=8)
def contract(api: str) -> dict[str, Any]:
    if api not in APIS:
        raise UnknownApi(f"unknown API {api!r}; expected one of {', '.join(APIS)}")
    return yaml.safe_load((contracts_dir() / f"{api}.yaml").read_text(encoding="utf-8"))


def resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def to_json_schema(node: Any, doc: dict[str, Any]) -> Any:
    """Inline local $refs, turn `nullable` into a type list, and drop annotations."""
    if isinstance(node, list):
        return [to_json_schema(item, doc) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return to_json_schema(resolve(doc, node["$ref"]), doc)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP or key.startswith("x-") or key == "nullable":
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub, doc) for name, sub in value.items()}
        else:
            out[key] = to_json_schema(value, doc)
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def operation(api: str, template: str | None = None) -> dict[str, Any]:
    """The GET of `template`, or the API's main operation: the first path of its contract (an event feed's
    page of events comes before its start number)."""
    doc = contract(api)
    if template is not None:
        return doc["paths"][template]["get"]
    if api in _OPERATION:
        path, method = _OPERATION[api]
        return doc["paths"][path][method]
    return next(iter(doc["paths"].values()))["get"]


def templates(api: str) -> list[str]:
    """The contract's paths with a GET, relative to its base path."""
    return [t for t, item in contract(api)["paths"].items() if "get" in item]


def _response(api: str, status: int, template: str | None = None) -> dict[str, Any]:
    doc = contract(api)
    responses = operation(api, template)["responses"]
    response = responses.get(str(status))
    if response is None:
        raise UnknownApi(f"{api} documents no status {status}; documented: {', '.join(responses)}")
    return resolve(doc, response["$ref"]) if "$ref" in response else response


def statuses(api: str) -> list[int]:
    """Every status the operation documents, in order."""
    return sorted(int(s) for s in operation(api)["responses"] if s.isdigit())


def error_statuses(api: str) -> list[int]:
    return [s for s in statuses(api) if s >= 400]


def response_schema(api: str, status: int = 200, media: str = "application/json",
                    template: str | None = None) -> dict[str, Any]:
    content = _response(api, status, template).get("content", {})
    if media not in content:
        raise UnknownApi(f"{api} {status} has no {media} body; it has {', '.join(content) or 'none'}")
    return to_json_schema(content[media]["schema"], contract(api))


def media_types(api: str, status: int = 200) -> list[str]:
    return list(_response(api, status).get("content", {}))


def error_codes(api: str, status: int) -> list[str]:
    """The `kode`s (Maskinporten: `MP-nnn` of `error_uri`) the contract documents for a status."""
    if api == "maskinporten":
        return sorted({code for code, _ in maskinporten_errors()}) if status == 400 else []
    codes = _CODE_IN_TEXT.findall(_response(api, status).get("description", ""))
    return list(dict.fromkeys(codes))


def is_token_operation(api: str, template: str, method: str) -> bool:
    """Whether the operation is Maskinporten's token endpoint, whose refusals carry MP codes."""
    return _OPERATION.get(api) == (template, method.lower()) and api not in DATA_APIS


def documented_codes(api: str, template: str | None = None, method: str = "get") -> dict[int, list[str]]:
    """Every status an operation documents, with the codes documented for it (for Maskinporten's token
    endpoint, the MP codes of contracts/README.md). Without `template`: the API's one client operation."""
    doc = contract(api)
    if template is None:
        op, token = operation(api), api in _OPERATION
    else:
        op = doc["paths"][template][method.lower()]
        token = is_token_operation(api, template, method)
    out: dict[int, list[str]] = {}
    for status, response in op.get("responses", {}).items():
        if not status.isdigit():
            continue
        if token and status == "400":
            out[400] = sorted({code for code, _ in maskinporten_errors()})
            continue
        described = resolve(doc, response["$ref"]) if "$ref" in response else response
        out[int(status)] = list(dict.fromkeys(_CODE_IN_TEXT.findall(described.get("description", ""))))
    return out


def success_media_types(api: str, template: str, method: str = "get") -> list[str]:
    """The media types an operation's 200 answer comes in."""
    doc = contract(api)
    response = doc["paths"][template][method.lower()].get("responses", {}).get("200", {})
    described = resolve(doc, response["$ref"]) if "$ref" in response else response
    return list(described.get("content", {}))


@lru_cache(maxsize=1)
def maskinporten_errors() -> tuple[tuple[str, str], ...]:
    """(MP code, OAuth `error`) pairs from the error table in contracts/README.md."""
    text = (contracts_dir() / "README.md").read_text(encoding="utf-8")
    return tuple(dict.fromkeys(_MP_ROW.findall(text)))


def response_headers(api: str, status: int) -> list[str]:
    return list(_response(api, status).get("headers", {}))


def xml_items(api: str, status: int = 200) -> dict[str, str]:
    """Top-level lists whose XML elements the contract names otherwise than the field (`xml.name`)."""
    doc = contract(api)
    content = _response(api, status).get("content", {})
    raw = content.get("application/xml", content.get("application/json", {})).get("schema", {})
    node = resolve(doc, raw["$ref"]) if "$ref" in raw else raw
    return {name: prop["xml"]["name"] for name, prop in node.get("properties", {}).items()
            if prop.get("type") == "array" and "name" in prop.get("xml", {})}


def required_headers(api: str, status: int) -> dict[str, dict[str, Any]]:
    """The headers a response at `status` must carry, each with its value's JSON Schema."""
    doc = contract(api)
    out: dict[str, dict[str, Any]] = {}
    for name, header in _response(api, status).get("headers", {}).items():
        spec = resolve(doc, header["$ref"]) if "$ref" in header else header
        if spec.get("required"):
            out[name] = to_json_schema(spec.get("schema", {}), doc)
    return out


def xml_name(api: str, status: int = 200) -> tuple[str, str]:
    """(root element, namespace) of a response body in XML, from the schema's `xml` annotation."""
    doc = contract(api)
    content = _response(api, status).get("content", {})
    raw = content.get("application/xml", content.get("application/json", {})).get("schema", {})
    node = resolve(doc, raw["$ref"]) if "$ref" in raw else raw
    xml = node.get("xml", {})
    if "name" not in xml:
        raise UnknownApi(f"{api} {status} has no XML representation")
    return xml["name"], xml.get("namespace", "")
