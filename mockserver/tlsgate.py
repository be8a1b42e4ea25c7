"""TLS for `serve --real-hosts`, with the handshake under the same limits as a plain connection.

Given the certificate, uvicorn lets the event loop do TLS: a connection reaches the HTTP protocol only once
its handshake is done, so a client that never sends a ClientHello is held for the loop's default 60 s and is
neither counted against the connection cap nor shed. Here uvicorn serves plain TCP and every connection
starts at a `TLSGate`: it is counted from its first byte, does its handshake with `loop.start_tls` within
`HANDSHAKE_TIMEOUT`, and only then hands the TLS transport to the HTTP protocol. Past the cap, the oldest
unfinished handshakes are closed together with the longest-idle connections. TLS mode runs on asyncio's
loop, which keeps the ClientHello unread until `start_tls` takes the connection over.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

from uvicorn.config import HTTP_PROTOCOLS
from uvicorn.importer import import_from_string

from .hardening import HEAD_TIMEOUT, GuardedH11

HANDSHAKE_TIMEOUT = HEAD_TIMEOUT  # seconds from connection to a finished TLS handshake


def server_context(certfile: Path, keyfile: Path) -> ssl.SSLContext:
    """The server's TLS context: the standard library's defaults (TLS 1.2 and up) with our certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    return context


class _Early(asyncio.Protocol):
    """Holds what the TLS transport delivers between the handshake's end and the HTTP protocol's start."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def data_received(self, data: bytes) -> None:
        self.events.append(("data", data))

    def eof_received(self) -> bool:
        self.events.append(("eof", None))
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append(("lost", exc))

    def replay(self, protocol: asyncio.Protocol, transport: asyncio.Transport) -> None:
        for kind, value in self.events:
            if kind == "data":
                protocol.data_received(value)
            elif kind == "eof":
                if not protocol.eof_received():
                    transport.close()
            else:
                protocol.connection_lost(value)


class TLSGate(asyncio.Protocol):
    """The first protocol of every connection: a bounded TLS handshake, then the HTTP protocol.

    Subclasses made by `tls_options` set the HTTP protocol class, context, timeout, cap and the set of
    unfinished handshakes (one per server)."""

    protocol_class: type[asyncio.Protocol] = GuardedH11
    context: ssl.SSLContext
    handshake_timeout: float = HANDSHAKE_TIMEOUT
    max_connections: int = 1000
    handshakes: dict[TLSGate, None]

    def __init__(self, config: Any, server_state: Any, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._args = {"config": config, "server_state": server_state, "app_state": app_state, "_loop": _loop}
        self.connections: set[Any] = server_state.connections
        self.loop = _loop or asyncio.get_event_loop()
        self.transport: asyncio.Transport | None = None
        self.started = 0.0
        self._task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.transport = transport
        self.started = self.loop.time()
        transport.pause_reading()  # the ClientHello waits for start_tls, which resumes reading
        self.handshakes[self] = None
        if len(self.connections) + len(self.handshakes) > self.max_connections:
            self._shed()
        self._task = self.loop.create_task(self._handshake(transport))

    def data_received(self, data: bytes) -> None:
        # only on a loop that reads before honouring pause_reading (uvloop): the ClientHello would be lost
        self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.handshakes.pop(self, None)

    async def _handshake(self, transport: asyncio.Transport) -> None:
        early = _Early()
        try:
            async with asyncio.timeout(self.handshake_timeout):
                tls = await self.loop.start_tls(transport, early, self.context, server_side=True,
                                                ssl_handshake_timeout=self.handshake_timeout)
        except BaseException as exc:  # timed out, refused, reset or shed: nothing reached the app
            transport.abort()
            if not isinstance(exc, Exception):
                raise
            return
        finally:
            self.handshakes.pop(self, None)
        protocol = self.protocol_class(**self._args)
        tls.set_protocol(protocol)
        protocol.connection_made(tls)
        early.replay(protocol, tls)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self.transport is not None:
            self.transport.abort()
        self.handshakes.pop(self, None)

    def _shed(self) -> None:
        # as GuardedH11 does, down to 90 % at once; a real client's handshake takes milliseconds, so the
        # oldest unfinished ones are the stalled ones
        excess = len(self.connections) + len(self.handshakes) - int(self.max_connections * 0.9)
        stalled = [(gate.started, gate.close) for gate in self.handshakes if gate is not self]
        idle = [(c._last, c.transport.close) for c in self.connections if isinstance(c, GuardedH11) and c._idle()]
        for _, close in sorted(stalled + idle, key=lambda pair: pair[0])[:excess]:
            close()


def tls_options(options: dict[str, Any], certfile: Path, keyfile: Path,
                handshake_timeout: float = HANDSHAKE_TIMEOUT) -> dict[str, Any]:
    """uvicorn options (from `hardening.uvicorn_options`) that serve TLS through a `TLSGate`."""
    http = options["http"]
    protocol = import_from_string(HTTP_PROTOCOLS[http]) if isinstance(http, str) else http
    cap = getattr(protocol, "max_connections", options.get("limit_concurrency", 1001) - 1)
    gate = type("TLSGate", (TLSGate,), {
        "protocol_class": protocol, "context": server_context(certfile, keyfile),
        "handshake_timeout": handshake_timeout, "max_connections": cap, "handshakes": {}})
    # asyncio's loop: uvloop starts reading only after connection_made, so pausing there has no effect
    return {**options, "http": gate, "loop": "asyncio"}
