"""Which call a recorded URL is: the service (from the registry, by real hostname or sandbox prefix), the
contract operation, and its call class -- what the sandbox must be asked to answer the same kind of call.

A call class keeps everything of the call but the person: API, operation, rettighetspakke, stadie, year or
period, media type. The person is replaced by one of the sandbox's people of the same kind as the real
answer shows: found (data), screened (`skjermet`), or the documented error code the real service gave.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..conformance.operations import Operation, operation_of
from ..environments import REAL_HOSTS
from ..services import BY_NAME, Service, split_path

PERSON = "personidentifikator"
FOUND = "found"
SCREENED = "skjermet"


@dataclass(frozen=True)
class Call:
    service: Service
    environment: str  # "test", "prod", or "sandbox" for a URL under the sandbox's prefixes
    operation: Operation
    path: str  # relative to the service's root (the sandbox prefix): /v1/lommebok/<fnr>/inntekter
    params: dict[str, str]
    query: str

    @property
    def name(self) -> str:
        return f"{self.service.name} {self.operation.operation_id}"


class Unclassified(ValueError):
    """A URL that is not a call of any contract; the message says why."""


def classify(method: str, url: str) -> Call:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    real = REAL_HOSTS.get(host)
    if real is not None:
        env, name = real
        service, path, environment = BY_NAME[name], parts.path or "/", env.name
    else:
        hit = split_path(parts.path)
        if hit is None:
            raise Unclassified(f"{host or url} is not a host of any service the sandbox knows, nor a sandbox path")
        service, path = hit
        environment = "sandbox"
    op = operation_of(service.name, method.upper(), path)
    if op is None:
        raise Unclassified(f"{method.upper()} {path} is no operation of the {service.title} contract")
    params = op.match(path[len(service.base_path):]) or {}
    return Call(service, environment, op, path, params, parts.query)


def json_body(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None


def error_code(body: Any) -> str | None:
    """Skatteetaten's `kode`, or Maskinporten's OAuth `error`."""
    if isinstance(body, dict):
        for key in ("kode", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return None


def answer_class(status: int, body: Any) -> str:
    """The kind of answer: `found`, `skjermet`, or the error code (the status when there is none)."""
    if status >= 400:
        return error_code(body) or str(status)
    if isinstance(body, dict) and body.get("skjermet") is True:
        return SCREENED
    return FOUND
