"""The server's own limits for clients that misbehave at the connection: head size (431), head and idle
timeouts, a connection cap that sheds idle connections first, and the open-files limit (`uvicorn_options`).
TLS handshakes get the same (`tlsgate`); request bodies are bounded in `bodylimit`, and who may use the
control API and the page's journal is decided in `guard`. Both protocols offer each request its connection
as a wire (`wire`), for the network faults.
"""

from __future__ import annotations

import asyncio
import resource
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .wire import WIRE, SocketWire, wired

MAX_HEAD = 64 * 1024  # bytes of request line plus headers
HEAD_AT_MOST = "ske_sandbox.head_at_most"  # scope key: a bound on the head's size the server already knows
HEAD_TIMEOUT = 10.0  # seconds from connection (or the previous answer) to a complete request head
KEEP_ALIVE = 5  # seconds an idle keep-alive connection is kept
MAX_CONNECTIONS = 1000  # past this, the longest-idle connections are closed to make room
FD_RESERVE = 64  # descriptors kept for files, the listening socket and logging
BACKLOG = 1024

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
    """uvicorn's httptools protocol (the default) with the limits GuardedH11 keeps, and the wire.

    llhttp has no limit on a request head, so the bytes that arrive while a head is incomplete are counted
    here: past `max_head` the answer is 431 and the connection closes, so a 64 MB header costs at most one
    read beyond the limit. The count takes whole reads: a read that ends one request's body and begins a
    pipelined one's head counts toward the head (clients rarely pipeline; they never do past 64 KiB).

    The head timeout is one timer per connection that re-arms itself, not a timer per request: a busy
    keep-alive connection pays only for noting the time its wait for a head began.
    """

    max_head = MAX_HEAD
    head_timeout = HEAD_TIMEOUT
    max_connections = MAX_CONNECTIONS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._extensions = {WIRE: SocketWire(self)}

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._reading = 0
        self._last = self._waiting_since = self.loop.time()
        self._in_head = False  # a message has begun and its headers are not complete
        self._head_bytes = 0
        self._in_message = False
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = self.loop.call_later(self.head_timeout, self._check_head)
        if len(self.connections) > self.max_connections:
            self._shed_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._reading = len(data)
        super().data_received(data)  # an idle connection's last activity is its last answer (`_last`)
        if self._in_head and not self.transport.is_closing():  # this read began or continued a head
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head:
                self._send_431()

    def on_message_begin(self) -> None:
        self._in_message = self._in_head = True
        self._head_bytes = 0
        super().on_message_begin()
        self.scope["extensions"] = self._extensions  # type: ignore[typeddict-item]  # the wire (wire.py)

    def on_headers_complete(self) -> None:
        self._in_head = False
        # the head is no longer than the reads it came in: said on the scope, the app need not measure it
        self.scope[HEAD_AT_MOST] = self._head_bytes + self._reading  # type: ignore[literal-required]
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_message = False
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self._last = self._waiting_since = self.loop.time()
        super().on_response_complete()

    def _send_431(self) -> None:
        body = f"Request head over {self.max_head} bytes".encode()
        self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                             b"content-type: text/plain; charset=utf-8\r\nconnection: close\r\n"
                             b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        self.transport.close()

    def _idle(self) -> bool:
        return not self._in_message and (self.cycle is None or self.cycle.response_complete)

    def _shed_idle(self) -> None:
        excess = len(self.connections) - int(self.max_connections * 0.9)
        idle = sorted((c for c in self.connections if c is not self and isinstance(c, GuardedH11 | WiredHttpTools)
                       and c._idle()), key=lambda c: c._last)
        for other in idle[:excess]:
            other.transport.close()

    def _check_head(self) -> None:
        """Close the connection if a head has been awaited for `head_timeout` (since the connection opened
        or the last answer went out), else look again when it would be."""
        self._head_timer = None
        if self.transport.is_closing():
            return
        waiting = (not self._in_message or self._in_head) and (self.cycle is None or self.cycle.response_complete)
        due = self._waiting_since + self.head_timeout
        now = self.loop.time()
        if waiting and now >= due:
            self.transport.close()
            return
        self._head_timer = self.loop.call_later(max(due - now, 0.0) if waiting else self.head_timeout,
                                                self._check_head)


PARSERS = {"h11": GuardedH11, "httptools": WiredHttpTools}


def uvicorn_options(settings: Any = None, http: str = "h11") -> dict[str, Any]:
    """uvicorn Config keyword arguments for the limits above, on either parser (both keep them). Raises the
    open-files soft limit as it goes."""
    files = raise_open_files_limit()
    connections = max(16, min(MAX_CONNECTIONS, files - FD_RESERVE))
    base = PARSERS[http]
    protocol = type(base.__name__, (base,), {"max_connections": connections})
    return {
        "http": protocol,
        "h11_max_incomplete_event_size": MAX_HEAD,
        # uvicorn answers 503 past this many connections or running calls; idle ones are shed before that
        "limit_concurrency": connections + 1,
        "timeout_keep_alive": KEEP_ALIVE,
        "backlog": BACKLOG,
    }
