"""Content negotiation and the two wire formats Skatteetaten serves: JSON and XML.

XML is produced with ElementTree from the same dict the JSON comes from, so both always carry the same
data: a list becomes repeated elements of the field's name, booleans are `true`/`false`.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from starlette.responses import Response

JSON = "application/json"
XML = "application/xml"


# Characters XML 1.0 cannot carry, even escaped; replaced so every answer stays well-formed.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class NotAcceptable(Exception):
    """The client's Accept header names neither JSON nor XML."""


@lru_cache(maxsize=256)  # clients send the same few Accept headers on every call
def choose_media_type(accept: str | None) -> str:
    """Pick JSON or XML from an Accept header (JSON when absent or `*/*`), honouring q-values."""
    if not accept or not accept.strip():
        return JSON
    ranges: list[tuple[float, int, str]] = []
    refused: set[str] = set()
    for pos, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        q = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                q = _quality(value)
        if q > 0:
            ranges.append((-q, pos, media))
        else:
            refused.add(media)
    for _, _, media in sorted(ranges):
        for offer, names in ((JSON, _JSON_NAMES), (XML, _XML_NAMES)):
            if (media in names or media.endswith("+" + offer.split("/")[1])) and offer not in refused:
                return offer
    raise NotAcceptable(accept)


_JSON_NAMES = (JSON, "application/*", "*/*", "application/problem+json")
_XML_NAMES = (XML, "text/xml", "text/*", "application/*", "*/*")


def _quality(text: str) -> float:
    """RFC 9110 qvalue (0 to 1, three decimals); anything malformed counts as 1."""
    text = text.strip()
    if not re.fullmatch(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?", text):
        return 1.0
    return float(text)


def _add(parent: ET.Element, name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, list):
        for item in value:
            _add(parent, name, item)
        return
    child = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key, sub in value.items():
            _add(child, key, sub)
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    else:
        child.text = _XML_INVALID.sub("\ufffd", str(value))


def to_xml(root: str, namespace: str, body: dict[str, Any], items: Mapping[str, str] | None = None) -> bytes:
    """`items` names the repeated elements of a top-level list where they are not named after the field
    (an event feed's `hendelser` are `<hendelse>` elements)."""
    element = ET.Element(root, xmlns=namespace)
    for key, value in body.items():
        _add(element, (items or {}).get(key, key), value)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def encode_json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def encode(body: dict[str, Any], media_type: str, *, xml_root: str, xml_namespace: str,
           xml_items: Mapping[str, str] | None = None) -> bytes:
    return to_xml(xml_root, xml_namespace, body, xml_items) if media_type == XML else encode_json(body)


def render(
    body: dict[str, Any] | bytes,
    media_type: str,
    *,
    status: int = 200,
    xml_root: str,
    xml_namespace: str,
    headers: dict[str, str] | None = None,
    xml_items: Mapping[str, str] | None = None,
) -> Response:
    """`body` is a dict, or bytes already encoded in `media_type` (a cached answer)."""
    if not isinstance(body, bytes):
        body = encode(body, media_type, xml_root=xml_root, xml_namespace=xml_namespace, xml_items=xml_items)
    content_type = XML_CONTENT_TYPE if media_type == XML else JSON
    if headers and not _SET_BY_US.isdisjoint(name.lower() for name in headers):
        return Response(body, status, headers=headers, media_type=content_type)
    return Rendered(body, status, content_type, headers)


XML_CONTENT_TYPE = "application/xml; charset=utf-8"
_SET_BY_US = frozenset({"content-length", "content-type"})


class Rendered(Response):
    """An encoded answer with the headers Starlette's Response would give it (the given ones, then length
    and type), built directly: every data-API call ends here, and the generic checks are known here."""

    def __init__(self, body: bytes, status: int, content_type: str, headers: Mapping[str, str] | None) -> None:
        self.status_code, self.body, self.background, self.media_type = status, body, None, content_type
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()] if headers else []
        if status >= 200 and status not in (204, 304):
            raw.append((b"content-length", b"%d" % len(body)))
        raw.append((b"content-type", content_type.encode("latin-1")))
        self.raw_headers = raw
