"""A canned answer: what a data API answers instead of its persona data when a responder is set.

`Sandbox.responder` is one hook with two users: the pytest kit (a drawn body for the next calls) and
`serve --responses generated`. The call still passes authentication, Accept negotiation, scenario and
fault handling and the API's input validation first, so a client meets the same checks either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.requests import Request

# Set by the server itself on every answer, so never taken from a canned answer.
_SERVER_HEADERS = {"content-type", "content-length", "korrelasjonsid"}


class _Drawn(Protocol):
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass(frozen=True)
class CannedAnswer:
    """`status` with `body` (for an error status: `{kode, melding}`; the server adds `korrelasjonsid`)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_drawn(cls, drawn: _Drawn) -> CannedAnswer:
        """From a `mockserver.testkit.strategies.DrawnResponse` (or anything with status, body, headers)."""
        extra = {k: v for k, v in drawn.headers.items() if k.lower() not in _SERVER_HEADERS}
        return cls(drawn.status, drawn.body, extra)


Responder = Callable[[str, Request], "CannedAnswer | None"]
