"""TLS for `serve --real-hosts`, with the handshake under the same limits as a plain connection.

Given the certificate, uvicorn lets the event loop do TLS: a connection reaches the HTTP protocol only once
its handshake is done, so a client that never sends a ClientHello is held for the loop's default 60 s and is
neither counted against the connection cap nor shed. Here uvicorn serves plain TCP and every connection's
first protocol is a `TLSGate`, asyncio's own server-side TLS protocol: it is counted from its first byte,
gives up on a handshake not done within `HANDSHAKE_TIMEOUT`, and only then connects the HTTP protocol. Past
the cap, the oldest unfinished handshakes are closed together with the longest-idle connections.

The gate subclasses `asyncio.sslproto.SSLProtocol`, what `loop.create_server(ssl=...)` itself uses (not a
documented API; its constructor is the same from Python 3.11 to 3.13, and tests/test_tls_handshakes.py runs
it for real). So TLS mode runs on asyncio's loop, whose transports that protocol drives, with a 32 KiB read
buffer per connection instead of asyncio's 256 KiB, which it allocates and zeroes for every connection.
"""

from __future__ import annotations

import asyncio
import ssl
from asyncio import sslproto
from pathlib import Path
from typing import Any, cast

from uvicorn.config import HTTP_PROTOCOLS
from uvicorn.importer import import_from_string

from .hardening import HEAD_TIMEOUT, GuardedH11

HANDSHAKE_TIMEOUT = HEAD_TIMEOUT  # seconds from connection to a finished TLS handshake
SHUTDOWN_TIMEOUT = 5.0  # seconds a closing connection waits for the client's close_notify (asyncio: 30)
READ_BUFFER = 32 * 1024  # two full TLS records


def server_context(certfile: Path, keyfile: Path) -> ssl.SSLContext:
    """The server's TLS context: the standard library's defaults (TLS 1.2 and up) with our certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    return context


class _Announced:
    """Mixed into the HTTP protocol: tells its gate that the handshake is done when TLS connects it."""

    gate: TLSGate | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.gate is not None:
            self.gate.handshakes.pop(self.gate, None)
            self.gate = None
        super().connection_made(transport)  # type: ignore[misc]


class TLSGate(sslproto.SSLProtocol):
    """The first protocol of every connection: a bounded, counted TLS handshake, then the HTTP protocol.

    `tls_options` makes a subclass per server with the HTTP protocol class, context, timeout, cap and the
    server's unfinished handshakes (oldest first)."""

    max_size = READ_BUFFER
    protocol_class: type[Any] = GuardedH11
    context: ssl.SSLContext
    handshake_timeout: float = HANDSHAKE_TIMEOUT
    max_connections: int = 1000
    handshakes: dict[TLSGate, None]

    def __init__(self, config: Any, server_state: Any, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        loop = _loop or asyncio.get_event_loop()
        app = self.protocol_class(config=config, server_state=server_state, app_state=app_state, _loop=_loop)
        app.gate = self
        # no waiter: nobody awaits the handshake, and a failed one would leave an unretrieved exception
        super().__init__(loop, app, self.context, None, server_side=True,  # type: ignore[arg-type]
                         ssl_handshake_timeout=self.handshake_timeout,  # type: ignore[arg-type]  # a float works
                         ssl_shutdown_timeout=SHUTDOWN_TIMEOUT)  # type: ignore[arg-type]
        self.connections: set[Any] = server_state.connections
        self.raw: asyncio.Transport | None = None
        self.started = loop.time()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.raw = cast(asyncio.Transport, transport)
        self.handshakes[self] = None
        if len(self.connections) + len(self.handshakes) > self.max_connections:
            self._shed()
        super().connection_made(transport)  # starts the handshake and its timeout

    def connection_lost(self, exc: BaseException | None) -> None:
        self.handshakes.pop(self, None)
        super().connection_lost(exc)

    def _close_unfinished(self) -> None:
        self.handshakes.pop(self, None)
        if self.raw is not None:
            self.raw.abort()

    def _shed(self) -> None:
        # as GuardedH11 does, down to 90 % at once; a real client's handshake takes milliseconds, so the
        # oldest unfinished ones are the stalled ones
        excess = len(self.connections) + len(self.handshakes) - int(self.max_connections * 0.9)
        stalled = [(gate.started, gate._close_unfinished) for gate in self.handshakes if gate is not self]
        # aborted, not closed: a TLS close waits for the client's close_notify, holding the descriptor
        idle = [(c._last, c.transport.abort) for c in self.connections if isinstance(c, GuardedH11) and c._idle()]
        for _, close in sorted(stalled + idle, key=lambda pair: pair[0])[:excess]:
            close()


def tls_options(options: dict[str, Any], certfile: Path, keyfile: Path,
                handshake_timeout: float = HANDSHAKE_TIMEOUT) -> dict[str, Any]:
    """uvicorn options (from `hardening.uvicorn_options`) that serve TLS through a `TLSGate`."""
    http = options["http"]
    protocol = import_from_string(HTTP_PROTOCOLS[http]) if isinstance(http, str) else http
    cap = getattr(protocol, "max_connections", options.get("limit_concurrency", 1001) - 1)
    gate = type("TLSGate", (TLSGate,), {
        "protocol_class": type(protocol.__name__, (_Announced, protocol), {}),
        "context": server_context(certfile, keyfile), "handshake_timeout": handshake_timeout,
        "max_connections": cap, "handshakes": {}})
    return {**options, "http": gate, "loop": "asyncio"}
