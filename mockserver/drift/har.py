"""HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) read into exchanges and written back, redacted.

Browsers' devtools, proxies (mitmproxy, Charles, Fiddler) and WireMock's recorder write this format; only
what a comparison needs is read: method, URL, request headers and body, status, response headers and body
(base64 bodies are decoded). Anything else in the file is ignored.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .. import __version__
from .redact import redact_header, redact_text

MAX_HAR_BYTES = 256 * 1024 * 1024  # a browser's HAR of a long session stays far below this


class HarError(ValueError):
    """A file that is not a usable HAR; the message says where and why."""


@dataclass
class Exchange:
    method: str
    url: str
    status: int
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: str = ""
    request_mime: str = ""
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: str = ""
    response_mime: str = ""
    status_text: str = ""
    started: dt.datetime | None = None
    time_ms: float = 0.0

    def header(self, name: str, response: bool = False) -> str | None:
        for key, value in self.response_headers if response else self.request_headers:
            if key.lower() == name.lower():
                return value
        return None

    def redacted(self) -> Exchange:
        """A copy with credentials and person numbers removed from URL, headers and bodies."""
        return Exchange(
            self.method, redact_text(self.url), self.status,
            [(k, redact_header(k, v)) for k, v in self.request_headers], redact_text(self.request_body),
            self.request_mime, [(k, redact_header(k, v)) for k, v in self.response_headers],
            redact_text(self.response_body), self.response_mime, self.status_text, self.started, self.time_ms)

    def entry(self) -> dict[str, Any]:
        """The HAR 1.2 entry of this exchange (as it is: redact first)."""
        started = self.started or dt.datetime.now(dt.UTC)
        query = urlsplit(self.url).query
        request: dict[str, Any] = {
            "method": self.method, "url": self.url, "httpVersion": "HTTP/1.1", "cookies": [],
            "headers": [{"name": k, "value": v} for k, v in self.request_headers],
            "queryString": [{"name": k, "value": v} for k, v in parse_qsl(query, keep_blank_values=True)],
            "headersSize": -1, "bodySize": len(self.request_body.encode()),
        }
        if self.request_body:
            request["postData"] = {"mimeType": self.request_mime, "text": self.request_body}
        return {
            "startedDateTime": started.isoformat(timespec="milliseconds"),
            "time": round(self.time_ms, 3),
            "request": request,
            "response": {
                "status": self.status, "statusText": self.status_text, "httpVersion": "HTTP/1.1", "cookies": [],
                "headers": [{"name": k, "value": v} for k, v in self.response_headers],
                "content": {"size": len(self.response_body.encode()), "mimeType": self.response_mime,
                            "text": self.response_body},
                "redirectURL": "", "headersSize": -1, "bodySize": len(self.response_body.encode()),
            },
            "cache": {},
            "timings": {"send": 0, "wait": round(self.time_ms, 3), "receive": 0},
        }


def document(exchanges: list[Exchange], comment: str = "") -> dict[str, Any]:
    """A HAR 1.2 document of `exchanges`, each redacted."""
    log: dict[str, Any] = {"version": "1.2", "creator": {"name": "ske-sandbox", "version": __version__},
                           "entries": [e.redacted().entry() for e in exchanges]}
    if comment:
        log["comment"] = comment
    return {"log": log}


def write(path: Path, exchanges: list[Exchange], comment: str = "") -> None:
    """Write a redacted HAR atomically: a reader never sees half a file, even while recording goes on."""
    text = json.dumps(document(exchanges, comment), ensure_ascii=False, indent=1)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _pairs(items: Any, where: str) -> list[tuple[str, str]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise HarError(f"{where} is not a list of name/value pairs")
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise HarError(f"{where} has an entry without a name")
        out.append((item["name"], str(item.get("value", ""))))
    return out


def _body(content: Any, where: str) -> tuple[str, str]:
    if not isinstance(content, dict):
        return "", ""
    text = content.get("text") or ""
    if not isinstance(text, str):
        raise HarError(f"{where}.text is not a string")
    if content.get("encoding") == "base64":
        try:
            text = base64.b64decode(text, validate=True).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError) as exc:
            raise HarError(f"{where}.text is marked base64 but is not: {exc}") from exc
    return text, str(content.get("mimeType") or "")


def _started(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse(doc: Any) -> list[Exchange]:
    log = doc.get("log") if isinstance(doc, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise HarError("not a HAR file: it has no log.entries list")
    out = []
    for i, entry in enumerate(entries):
        where = f"log.entries[{i}]"
        request, response = (entry.get("request"), entry.get("response")) if isinstance(entry, dict) else (None, None)
        if not isinstance(request, dict) or not isinstance(response, dict):
            raise HarError(f"{where} has no request or no response")
        method, url, status = request.get("method"), request.get("url"), response.get("status")
        if not isinstance(method, str) or not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise HarError(f"{where}.request needs a method and an absolute http(s) url")
        if not isinstance(status, int) or isinstance(status, bool):
            raise HarError(f"{where}.response.status is not a number")
        post = request.get("postData") if isinstance(request.get("postData"), dict) else {}
        request_body, request_mime = _body(post, f"{where}.request.postData")
        response_body, response_mime = _body(response.get("content"), f"{where}.response.content")
        time = entry.get("time")
        out.append(Exchange(
            method.upper(), url, status, _pairs(request.get("headers"), f"{where}.request.headers"),
            request_body, request_mime, _pairs(response.get("headers"), f"{where}.response.headers"),
            response_body, response_mime, str(response.get("statusText") or ""), _started(entry.get("startedDateTime")),
            float(time) if isinstance(time, int | float) and not isinstance(time, bool) else 0.0))
    return out


def read(path: Path) -> list[Exchange]:
    """The exchanges of a HAR file; HarError names what is wrong with it."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise HarError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size > MAX_HAR_BYTES:
        raise HarError(f"{path} is {size // 2**20} MiB; at most {MAX_HAR_BYTES // 2**20} MiB is read")
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise HarError(f"{path} is not a HAR file (JSON): {exc}") from exc
    try:
        return parse(doc)
    except HarError as exc:
        raise HarError(f"{path}: {exc}") from exc
