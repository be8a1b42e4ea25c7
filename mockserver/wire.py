"""The connection under a request, for the faults that live below HTTP (see netfaults.py).

ASGI gives an app messages, never the socket, so a server that lets the sandbox reset a connection or
write bytes the HTTP framing would not put there offers a *wire* in the request's scope, under
`scope["extensions"][WIRE]`. `ske-sandbox serve` offers a `SocketWire` (its protocols in hardening.py,
h11 and httptools alike); the pytest kit offers an in-process one that tells the client what a socket
would have told it. A server that offers none (plain `uvicorn mockserver.app:…`,
a bare TestClient) gets the faults that need a wire refused with the API's validation error.

A wire has three operations, all taken after the app has sent what it wants sent through ASGI:
`write(data)` puts raw bytes on the connection, `close(reset)` ends it (with a TCP RST when `reset`), and
`closed(receive)` waits until the server has seen the connection go, so the app returns without the
server answering a 500 for it.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Mapping
from typing import Any, Protocol

WIRE = "ske_sandbox.wire"
CLOSE_WAIT = 5.0  # seconds to wait for the server to notice a closed connection


class Wire(Protocol):
    async def write(self, data: bytes) -> None: ...

    async def close(self, reset: bool = False) -> None: ...

    async def closed(self, receive: Any) -> None: ...


def wire_of(scope: Mapping[str, Any]) -> Wire | None:
    """The wire the server offers for this request, if any."""
    return (scope.get("extensions") or {}).get(WIRE)


class SocketWire:
    """The wire of one accepted connection; it reads the protocol's transport when it acts."""

    def __init__(self, protocol: asyncio.Protocol) -> None:
        self._protocol = protocol

    @property
    def _transport(self) -> asyncio.Transport:
        return self._protocol.transport  # type: ignore[attr-defined]

    async def write(self, data: bytes) -> None:
        self._transport.write(data)

    async def close(self, reset: bool = False) -> None:
        transport = self._transport
        if not reset:
            transport.close()  # what is written goes out first, then a FIN
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:  # linger 0: closing sends RST, not FIN (under TLS too: this is the TCP socket)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    async def closed(self, receive: Any) -> None:
        try:
            async with asyncio.timeout(CLOSE_WAIT):
                while (await receive())["type"] != "http.disconnect":
                    pass
        except TimeoutError:
            pass


def wired(app: Any, protocol: asyncio.Protocol) -> Any:
    """`app` with the protocol's connection offered to each HTTP request as its wire."""
    wire = SocketWire(protocol)

    async def with_wire(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope["extensions"] = {**(scope.get("extensions") or {}), WIRE: wire}
        await app(scope, receive, send)

    return with_wire
