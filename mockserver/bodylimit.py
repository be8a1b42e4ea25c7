"""Bounded request heads and bodies, for every endpoint (applied by the front door, front.py).

A request head over `MAX_HEAD` gets 431; a body over `MAX_BODY` is refused while it is read (Content-Length
first, then counted chunk by chunk, never buffered past the limit); a body that takes longer than
`BODY_TIMEOUT` gets 408. The token endpoint answers in Maskinporten's format (400 `invalid_request`, MP-011),
the data APIs in their own (413 with `kode`), everything else in plain JSON.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope

from .callheaders import headers_of
from .environments import environment_of
from .hardening import MAX_HEAD
from .maskinporten.errors import invalid_request
from .services import MASKINPORTEN, of_path
from .skatteetaten_errors import error_response

MAX_BODY = 64 * 1024  # bytes of request body; Maskinporten grants are a few KiB
BODY_TIMEOUT = 30.0  # seconds to receive a whole body

_CLOSE = {"Connection": "close"}


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _head_size(scope: Scope) -> int:
    size = len(scope.get("raw_path") or scope["path"].encode("utf-8", "replace")) + len(scope.get("query_string", b""))
    return size + sum(len(k) + len(v) + 4 for k, v in scope.get("headers", []))


def refusal(scope: Scope, status: int, reason: str) -> Response:
    """The answer to a request refused for its size or slowness, in the format of the service it was for."""
    path = scope["path"]
    service = of_path(path)
    if service is MASKINPORTEN and status in (408, 413):
        answer = invalid_request(reason).response(environment_of(Request(scope)).issuer)
        answer.headers.update(_CLOSE)
        return answer
    if service is not None and service.errors is not None:
        return error_response(service.errors("invalid", reason, status=str(status), **_CLOSE))
    return JSONResponse({"error": "request_refused", "status": status, "reason": reason},
                        status_code=status, headers=_CLOSE)


def head_too_large(scope: Scope, max_head: int = MAX_HEAD) -> Response | None:
    """The 431 for a request head over `max_head` bytes (a head the server let through), else None."""
    if _head_size(scope) <= max_head:
        return None
    return JSONResponse({"error": "request_header_fields_too_large", "limit": max_head}, status_code=431,
                        headers=_CLOSE)


async def read_body(scope: Scope, receive: Receive, max_body: int = MAX_BODY,
                    body_timeout: float = BODY_TIMEOUT) -> bytes | Response | None:
    """A request's whole body, read up to the limit and within the time limit; None when the request declares
    none (no Content-Length, no Transfer-Encoding), or the answer that refuses it.

    The body is read here and handed on whole (`replay`): the app never sees a refused request, and memory per
    request stays below `max_body` plus one chunk.
    """
    found = headers_of(scope)
    length = found.get(b"content-length")
    if length is None and b"transfer-encoding" not in found:
        return None  # no body (the server sends an empty one)
    try:
        if length is not None and int(length) > max_body:
            raise _Refused(413, f"Request body too large: {int(length)} bytes, at most {max_body}")
        return await _read(receive, max_body, body_timeout)
    except ValueError:
        return refusal(scope, 400, "Content-Length is not a number")
    except _Refused as refused:
        return refusal(scope, refused.status, refused.reason)


async def _read(receive: Receive, max_body: int, body_timeout: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(body_timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _Refused(400, "The client went away while sending the body")
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > max_body:
                    raise _Refused(413, f"Request body too large: more than {max_body} bytes")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        raise _Refused(408, f"Request body not received within {body_timeout:.0f} s") from None


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives `body` whole, once, then waits on the server's own receive."""
    sent = False

    async def once() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # later calls wait for the disconnect, as the server's own receive does
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return once
