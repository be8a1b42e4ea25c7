"""Limits for a sandbox that may face hostile clients: request size, time, connections, and the control API.

- `BodyLimit` (ASGI): a request head over `MAX_HEAD` gets 431; a body over `MAX_BODY` is refused while it
  is read (Content-Length first, then counted chunk by chunk, never buffered past the limit); a body that
  takes longer than `BODY_TIMEOUT` gets 408. The token endpoint answers in Maskinporten's format (400
  `invalid_request`, MP-011), the data APIs in their own (413 with `kode`), everything else in plain JSON.
- who may use the control API and the page's journal is decided in `guard.py`.
- both protocols offer each request its connection as a wire (wire.py), for the network faults.
- `uvicorn_options`: the server's own limits (head size → 431, idle and head timeouts, connection cap that
  sheds idle connections first, open-files limit).
"""

from __future__ import annotations

import asyncio
import resource
from typing import Any

import h11
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .environments import environment_of
from .guard import is_loopback  # noqa: F401  (the serve command's bind check)
from .maskinporten.errors import invalid_request
from .services import MASKINPORTEN, of_path
from .skatteetaten_errors import error_response
from .wire import wired

MAX_BODY = 64 * 1024  # bytes of request body; Maskinporten grants are a few KiB
MAX_HEAD = 64 * 1024  # bytes of request line plus headers
BODY_TIMEOUT = 30.0  # seconds to receive a whole body
HEAD_TIMEOUT = 10.0  # seconds from connection (or the previous answer) to a complete request head
KEEP_ALIVE = 5  # seconds an idle keep-alive connection is kept
MAX_CONNECTIONS = 1000  # past this, the longest-idle connections are closed to make room
FD_RESERVE = 64  # descriptors kept for files, the listening socket and logging
BACKLOG = 1024

_CLOSE = {"Connection": "close"}


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _header(scope: dict[str, Any], name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value
    return None


def _head_size(scope: dict[str, Any]) -> int:
    size = len(scope.get("raw_path") or scope["path"].encode("utf-8", "replace")) + len(scope.get("query_string", b""))
    return size + sum(len(k) + len(v) + 4 for k, v in scope.get("headers", []))


def refusal(scope: dict[str, Any], status: int, reason: str) -> Response:
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


class BodyLimit:
    """ASGI middleware: bounded request heads and bodies, read within a time limit, for every endpoint.

    A body is read here, up to the limit, and handed on whole: the app never sees a refused request, and
    memory per request stays below `max_body` plus one chunk.
    """

    def __init__(self, app: Any, max_body: int = MAX_BODY, max_head: int = MAX_HEAD,
                 body_timeout: float = BODY_TIMEOUT) -> None:
        self.app = app
        self.max_body = max_body
        self.max_head = max_head
        self.body_timeout = body_timeout

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _head_size(scope) > self.max_head:
            answer = JSONResponse({"error": "request_header_fields_too_large", "limit": self.max_head},
                                  status_code=431, headers=_CLOSE)
            await answer(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is None and _header(scope, b"transfer-encoding") is None:
            await self.app(scope, receive, send)  # no body (the server sends an empty one)
            return
        try:
            if length is not None and int(length) > self.max_body:
                raise _Refused(413, f"Request body too large: {int(length)} bytes, at most {self.max_body}")
            body = await self._read(receive)
        except ValueError:
            answer = refusal(scope, 400, "Content-Length is not a number")
        except _Refused as refused:
            answer = refusal(scope, refused.status, refused.reason)
        else:
            await self.app(scope, _replay(body, receive), send)
            return
        await answer(scope, receive, send)

    async def _read(self, receive: Any) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise _Refused(400, "The client went away while sending the body")
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body:
                        raise _Refused(413, f"Request body too large: more than {self.max_body} bytes")
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            raise _Refused(408, f"Request body not received within {self.body_timeout:.0f} s") from None


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return await receive()  # later calls wait for the disconnect, as the server's own receive does
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def raise_open_files_limit() -> int:
    """Raise the soft limit on open files to the hard limit, so idle sockets cannot starve the server of
    descriptors; returns the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft == resource.RLIM_INFINITY or soft >= target:
        return target
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        return soft
    return target


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with a 431 for an oversized head, a head timeout, and idle-connection shedding.

    h11 keeps at most `max_head` bytes of an incomplete head (httptools has no such limit), so a 64 MB header
    costs neither memory nor loop time.
    """

    max_head = MAX_HEAD
    head_timeout = HEAD_TIMEOUT
    max_connections = MAX_CONNECTIONS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = wired(self.app, self)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head_timer: asyncio.TimerHandle | None = None
        self._last = self.loop.time()
        super().connection_made(transport)
        self._arm_head_timer()
        if len(self.connections) > self.max_connections:
            self._shed_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._last = self.loop.time()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_head_timer()

    def on_response_complete(self) -> None:
        self._last = self.loop.time()
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_head_timer()

    def send_400_response(self, msg: str) -> None:
        if len(self.conn.trailing_data[0]) <= self.max_head:
            super().send_400_response(msg)
            return
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
        for event in (h11.Response(status_code=431, headers=headers, reason=b"Request Header Fields Too Large"),
                      h11.Data(data=f"Request head over {self.max_head} bytes".encode()), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()

    def _idle(self) -> bool:
        return self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete)

    def _shed_idle(self) -> None:
        # down to 90 % at once, so a flood of connections costs one scan per hundred, not one each
        excess = len(self.connections) - int(self.max_connections * 0.9)
        idle = sorted((c for c in self.connections if c is not self and isinstance(c, GuardedH11) and c._idle()),
                      key=lambda c: c._last)
        for other in idle[:excess]:
            other.transport.close()

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


class WiredHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol (`serve --http httptools`), offering the wire as GuardedH11 does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = wired(self.app, self)


def uvicorn_options(settings: Any = None) -> dict[str, Any]:
    """uvicorn Config keyword arguments for the limits above. Raises the open-files soft limit as it goes."""
    files = raise_open_files_limit()
    connections = max(16, min(MAX_CONNECTIONS, files - FD_RESERVE))
    protocol = type("GuardedH11", (GuardedH11,), {"max_connections": connections})
    return {
        "http": protocol,
        "h11_max_incomplete_event_size": MAX_HEAD,
        # uvicorn answers 503 past this many connections or running calls; idle ones are shed before that
        "limit_concurrency": connections + 1,
        "timeout_keep_alive": KEEP_ALIVE,
        "backlog": BACKLOG,
    }
