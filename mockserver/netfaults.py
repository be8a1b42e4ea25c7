"""Network faults: answers that break below HTTP, where timeout and retry code is tested.

A data-API call meets one when its `Ske-Sandbox-Scenario` value (or the kit's `scenario()`) names it, or
when `serve --network-fault-rate` draws it. The call is answered as it would have been — same status,
headers and body — and then broken on its way to the client:

- `reset`: the connection is reset (TCP RST) before any answer;
- `empty`: the connection is closed with no answer at all;
- `truncated`: the head, with the whole body's Content-Length, then half the body and a close;
- `malformed-chunk`: chunked transfer encoding, one good chunk, then a size line that is not hex and a close;
- `trickle:<n>ms|<n>s` (as `slow:`, at most 30 s): the body in small pieces spread over the duration.

`trickle` is plain ASGI and works under any server. The others need the connection itself, which the
server offers as a wire (wire.py); without one they are refused as an unknown value is.
"""

from __future__ import annotations

import asyncio
import math
import re
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .wire import wire_of

NEEDS_WIRE = ("reset", "empty", "truncated", "malformed-chunk")
DEFAULT_DRAWN = NEEDS_WIRE  # what `--network-fault-rate` draws from unless `--network-faults` says otherwise
MAX_TRICKLE = 30.0
PIECE_EVERY = 0.25  # seconds between a trickled body's pieces (a byte each, further apart, if it is short)
BAD_SIZE_LINE = b"zz\r\n"  # where a chunk size (hex digits) belongs
_TRICKLE = re.compile(r"trickle:(?:([0-9]{1,4})ms|([12]?[0-9]|30)s)", re.ASCII)  # bounded like slow:
VALUES = "reset, empty, truncated, malformed-chunk, trickle:<n>ms (n < 10000) eller trickle:<n>s (høyst 30)"


@dataclass(frozen=True)
class NetworkFault:
    value: str  # as written: "reset", "trickle:2s"
    name: str  # the kind: one of NEEDS_WIRE, or "trickle"
    duration: float = 0.0  # trickle's

    @property
    def needs_wire(self) -> bool:
        return self.name != "trickle"


def parse(value: str) -> NetworkFault | None:
    """The network fault a scenario value names, or None when it names none."""
    if value in NEEDS_WIRE:
        return NetworkFault(value, value)
    trickle = _TRICKLE.fullmatch(value)
    if trickle:
        ms, s = trickle.groups()
        return NetworkFault(value, "trickle", int(ms) / 1000 if ms is not None else float(s))
    return None


def parse_list(text: str) -> tuple[str, ...]:
    """'reset,empty,trickle:2s' → the values, each checked; ValueError names a bad one."""
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    if not values:
        raise ValueError("expected at least one network fault")
    for v in values:
        if parse(v) is None:
            raise ValueError(f"unknown network fault {v!r}; expected reset, empty, truncated, malformed-chunk "
                             "or trickle:<n>ms / trickle:<n>s (at most 30 s)")
    return values


class FaultResponse(Response):
    """`answer`, broken on the way out as `fault` says (the wire's presence is checked before)."""

    def __init__(self, fault: NetworkFault, answer: Response) -> None:
        super().__init__(answer.body, answer.status_code)
        self.raw_headers = list(answer.raw_headers)
        self.fault = fault

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fault.name == "trickle":
            await self._trickle(send)
            return
        wire = wire_of(scope)
        if wire is None:
            raise RuntimeError(f"network fault {self.fault.value} without a wire")
        body = bytes(self.body)
        half = body[: len(body) // 2]
        if self.fault.name == "reset":
            await wire.close(reset=True)
        elif self.fault.name == "empty":
            await wire.close()
        elif self.fault.name == "truncated":  # Content-Length promises the whole body
            await self._start(send, self.raw_headers)
            await send({"type": "http.response.body", "body": half, "more_body": True})
            await wire.close()
        else:  # malformed-chunk: the server frames the first chunk, the wire adds a broken one
            headers = [(k, v) for k, v in self.raw_headers if k.lower() != b"content-length"]
            await self._start(send, [*headers, (b"transfer-encoding", b"chunked")])
            await send({"type": "http.response.body", "body": half, "more_body": True})
            await wire.write(BAD_SIZE_LINE + body[len(half):])
            await wire.close()
        await wire.closed(receive)

    async def _start(self, send: Send, headers: list[tuple[bytes, bytes]]) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": headers})

    async def _trickle(self, send: Send) -> None:
        body = bytes(self.body)
        await self._start(send, self.raw_headers)
        size = math.ceil(len(body) / max(1, math.ceil(self.fault.duration / PIECE_EVERY)))
        pieces = math.ceil(len(body) / size) if body else 1
        for i in range(pieces):
            await asyncio.sleep(self.fault.duration / pieces)
            piece = body[i * size:(i + 1) * size]
            await send({"type": "http.response.body", "body": piece, "more_body": i < pieces - 1})
