"""The documented code in an error answer, read one way everywhere (journal, page, kit)."""

from __future__ import annotations

from typing import Any


def error_code(doc: Any) -> str | None:
    """Skatteetaten's `kode` (SSG-008, IM-007, TD-004, …) or Maskinporten's MP-nnn, the last segment of
    `error_uri`; None when the body carries neither."""
    if not isinstance(doc, dict):
        return None
    kode = doc.get("kode")
    if isinstance(kode, str) and kode:
        return kode
    uri = doc.get("error_uri")
    if isinstance(uri, str) and "/errors/" in uri:
        return uri.rsplit("/", 1)[-1] or None
    return None
