"""JSON request bodies read with bounds: a caller's body is read no further than a byte limit, and refused
before parsing when it nests deeper than a depth limit (Python's parser would raise RecursionError, a 500).

Every route that takes JSON from a caller reads it through `read_json`; a refusal is a `BodyError` carrying
the 4xx status and a message for the sandbox's `{"error": ...}` answer.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request

MAX_BYTES = 16 * 1024
MAX_DEPTH = 32  # the deepest body the sandbox takes (a persona) nests 3 levels

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class BodyError(ValueError):
    """A body the sandbox refuses: `status` (4xx) and `message` for the answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status, self.message = status, message


def nesting_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in `raw`, brackets inside strings not counted. Linear, no recursion."""
    depth = deepest = 0
    for bracket in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def parse_json(raw: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    if nesting_depth(raw) > max_depth:
        raise BodyError(400, f"body nests deeper than {max_depth} levels")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BodyError(400, f"body is not valid UTF-8 JSON: {str(exc)[:120]}") from exc
    except RecursionError as exc:  # not expected after the depth check; never a 500 all the same
        raise BodyError(400, f"body nests deeper than {max_depth} levels") from exc


async def read_json(request: Request, *, limit: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """The request's JSON body, read no further than `limit` bytes so a huge upload costs nothing."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise BodyError(415, "Content-Type must be application/json")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyError(413, f"body larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyError(413, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return parse_json(b"".join(chunks), max_depth=max_depth)
