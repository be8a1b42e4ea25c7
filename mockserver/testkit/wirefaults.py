"""Network faults in-process: the kit offers the app a wire (see mockserver/wire.py) with no socket under
it, and hands the client of a routed call what a socket would have handed it.

Each exception is the one httpx (or requests) raises against `ske-sandbox serve` for the same fault, with
the same message: `reset` → httpx.ReadError, `empty` → httpx.RemoteProtocolError before any response,
`truncated` and `malformed-chunk` → a response whose body raises httpx.RemoteProtocolError when read.
`trickle` needs no wire; in-process its body arrives whole once the duration has passed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..netfaults import BAD_SIZE_LINE
from ..wire import WIRE

MARK = "ske-sandbox-wire-fault"  # between WireEmulation and the routing; never reaches a client


class _EmulatedWire:
    def __init__(self) -> None:
        self.raw = b""
        self.closed_with: str | None = None  # "close" or "reset"

    async def write(self, data: bytes) -> None:
        self.raw += data

    async def close(self, reset: bool = False) -> None:
        self.closed_with = "reset" if reset else "close"

    async def closed(self, receive: Any) -> None:
        return None


class WireEmulation:
    """ASGI middleware: each HTTP call gets an emulated wire; an answer the app broke on it is handed on
    whole, marked with what a client would have met."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wire = _EmulatedWire()
        scope["extensions"] = {**(scope.get("extensions") or {}), WIRE: wire}
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        if wire.closed_with is None:
            for message in held:
                await send(message)
            return
        start = next((m for m in held if m["type"] == "http.response.start"), None)
        body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
        if wire.closed_with == "reset":
            fault = "reset"
        elif start is None:
            fault = "empty"
        else:
            fault = "malformed-chunk" if wire.raw else "truncated"
        headers = [*(start["headers"] if start else []), (MARK.encode(), fault.encode())]
        await send({"type": "http.response.start", "status": start["status"] if start else 500, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _BrokenBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that stops with `error` after `received`, as a cut connection's does."""

    def __init__(self, received: bytes, error: Exception) -> None:
        self.received = received
        self.error = error

    def __iter__(self) -> Iterator[bytes]:
        if self.received:
            yield self.received
        raise self.error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.received:
            yield self.received
        raise self.error


def as_client_meets_it(request: httpx.Request, status: int, headers: httpx.Headers, content: bytes) -> httpx.Response:
    """The routed call's answer as httpx hands it over a socket: the response, or the error it raises."""
    fault = headers.get(MARK)
    if fault is None:
        return httpx.Response(status, headers=headers, content=content)
    if fault == "reset":
        raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
    if fault == "empty":
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
    headers = httpx.Headers([(k, v) for k, v in headers.multi_items() if k.lower() != MARK])
    if fault == "truncated":
        error = httpx.RemoteProtocolError(
            f"peer closed connection without sending complete message body (received {len(content)} bytes, "
            f"expected {headers.get('content-length')})", request=request)
    else:
        error = httpx.RemoteProtocolError(f"illegal chunk header: {bytearray(BAD_SIZE_LINE)!r}", request=request)
    return httpx.Response(status, headers=headers, stream=_BrokenBody(content, error), request=request)


def requests_error(fault: str, headers: Any, content: bytes) -> Exception:
    """What `requests` raises against a socket for the fault (on reading the body, for a cut one)."""
    from http.client import RemoteDisconnected

    from requests.exceptions import ChunkedEncodingError, ConnectionError
    from urllib3.exceptions import IncompleteRead, ProtocolError

    if fault == "reset":
        reset = ConnectionResetError(104, "Connection reset by peer")
        return ConnectionError(ProtocolError("Connection aborted.", reset))
    if fault == "empty":
        return ConnectionError(ProtocolError("Connection aborted.",
                                             RemoteDisconnected("Remote end closed connection without response")))
    if fault == "truncated":
        cut = IncompleteRead(len(content), int(headers.get("content-length", len(content))) - len(content))
        return ChunkedEncodingError(ProtocolError(f"Connection broken: {cut!r}", cut))
    return ChunkedEncodingError(ProtocolError(f"Connection broken: InvalidChunkLength(got length {BAD_SIZE_LINE!r}, "
                                              "0 bytes read)"))
