"""The structural difference between a real answer and the sandbox's answer to the same kind of call.

Bodies are compared as shapes, never as values: every field path (`a[].b.c`, an array's items merged)
with the JSON types and string formats seen there. Amounts, dates and names differ by design (other
people); what is compared is what a client's parser meets:

- status, the media type (JSON or XML), and the error code (`kode`, Maskinporten's `error`);
- a field in one answer and not the other -- reported only where its parent is in both, so an array
  empty on one side says nothing about its items, and a missing object is one difference, not one per
  field inside it;
- the JSON types at a path (`integer` and `number` apart: `35050` and `35050.0` parse differently);
- the string formats at a path (date-time, date, year-month, n digits, uuid, uri, text);
- a code-list value of the real answer (`tekniskNavn`, `beskrivelse`, `kategori`) the sandbox's code lists
  do not hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..variants import NAME_FORMAT, name_lists
from .classify import error_code

CODE_LIST_FIELDS = ("tekniskNavn", "beskrivelse", "kategori")
_FORMATS = (
    ("date-time", re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
                             r"(Z|[+-][0-9]{2}:?[0-9]{2})?")),
    ("date", re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")),
    ("year-month", re.compile(r"[0-9]{4}-[0-9]{2}")),
    ("uuid", re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")),
    ("uri", re.compile(r"https?://\S+")),
)


@dataclass(frozen=True)
class Difference:
    kind: str  # status, media, code, only-real, only-sandbox, type, format, unknown-value
    path: str  # the field ("" for status and code)
    real: str
    sandbox: str

    def text(self) -> str:
        where = self.path or "answer"
        if self.kind == "status":
            return f"status: the real service answered {self.real}, the sandbox {self.sandbox}"
        if self.kind == "media":
            return f"media type: the real answer is {self.real}, the sandbox's {self.sandbox}"
        if self.kind == "code":
            return f"error code: the real service answered {self.real}, the sandbox {self.sandbox}"
        if self.kind == "only-real":
            return f"{where}: in the real answer ({self.real}), never in the sandbox's"
        if self.kind == "only-sandbox":
            return f"{where}: in the sandbox's answer ({self.sandbox}), never in the real one"
        if self.kind == "type":
            return f"{where}: type {self.real} in the real answer, {self.sandbox} in the sandbox's"
        if self.kind == "format":
            return f"{where}: format {self.real} in the real answer, {self.sandbox} in the sandbox's"
        return f"{where}: the real answer has {self.real}, which the sandbox's code lists do not hold"

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "path": self.path, "real": self.real, "sandbox": self.sandbox,
                "text": self.text()}


@dataclass
class Seen:
    types: set[str] = field(default_factory=set)
    formats: set[str] = field(default_factory=set)
    values: set[str] = field(default_factory=set)  # code-list fields only


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def string_format(text: str) -> str:
    if text.isascii() and text.isdigit():
        return f"{len(text)} digits"
    for name, pattern in _FORMATS:
        if pattern.fullmatch(text):
            return name
    return "text"


def shape(body: Any) -> dict[str, Seen]:
    """Every path of `body` with what was seen there; `""` is the body itself."""
    out: dict[str, Seen] = {}

    def walk(value: Any, path: str) -> None:
        seen = out.setdefault(path, Seen())
        seen.types.add(json_type(value))
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(sub, f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            for item in value:
                walk(item, f"{path}[]")
        elif isinstance(value, str):
            seen.formats.add(string_format(value))
            if path.rsplit(".", 1)[-1] in CODE_LIST_FIELDS:
                seen.values.add(value)

    walk(body, "")
    return out


def _parent(path: str) -> str:
    if path.endswith("[]"):
        return path[:-2]
    return path.rsplit(".", 1)[0] if "." in path else ""


def _known(name: str) -> frozenset[str]:
    return frozenset(name_lists().get(NAME_FORMAT + name, ()))


def _list(values: set[str]) -> str:
    return ", ".join(sorted(values))


def media_kind(content_type: str) -> str:
    """json, xml or the bare media type: what a client's parser is chosen by."""
    media = content_type.split(";")[0].strip().lower()
    return "json" if media.endswith("json") else "xml" if media.endswith("xml") else media


def compare(real_status: int, real: Any, sandbox_status: int, sandbox: Any,
            real_media: str = "", sandbox_media: str = "") -> list[Difference]:
    """Every difference between a real answer and the sandbox's, in path order."""
    out: list[Difference] = []
    if real_status != sandbox_status:
        out.append(Difference("status", "", str(real_status), str(sandbox_status)))
    elif real_media and sandbox_media and media_kind(real_media) != media_kind(sandbox_media):
        out.append(Difference("media", "", media_kind(real_media), media_kind(sandbox_media)))
    real_code, sandbox_code = error_code(real), error_code(sandbox)
    if (real_status >= 400 or sandbox_status >= 400) and real_code != sandbox_code:
        out.append(Difference("code", "", real_code or "none", sandbox_code or "none"))
    if real_status != sandbox_status or real is None or sandbox is None:
        return out  # different answers have different bodies by design; a non-JSON body has no shape
    a, b = shape(real), shape(sandbox)
    for path in sorted(a.keys() | b.keys()):
        if path not in b:
            if _parent(path) in b and not path.endswith("[]"):
                out.append(Difference("only-real", path, _list(a[path].types), ""))
            continue
        if path not in a:
            if _parent(path) in a and not path.endswith("[]"):
                out.append(Difference("only-sandbox", path, "", _list(b[path].types)))
            continue
        ra, sb = a[path], b[path]
        if ra.types != sb.types:
            out.append(Difference("type", path, _list(ra.types), _list(sb.types)))
        elif ra.formats != sb.formats:
            out.append(Difference("format", path, _list(ra.formats), _list(sb.formats)))
        name = path.rsplit(".", 1)[-1]
        if name in CODE_LIST_FIELDS:
            unknown = ra.values - _known(name) - sb.values
            if unknown:
                out.append(Difference("unknown-value", path, _list(unknown), ""))
    return out
