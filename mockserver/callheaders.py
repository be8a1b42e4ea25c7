"""A call's request headers as one dict, made once per call and kept in its scope.

The front door (host, body length), the gateway (token, Accept, scenario, session) and the journal each ask
for several headers; Starlette's Headers scans the header list on every ask. One dict, the first value of
each name winning, serves them all.
"""

from __future__ import annotations

from starlette.types import Scope

KEY = "ske_sandbox.headers"  # scope key of the dict


def headers_of(scope: Scope) -> dict[bytes, bytes]:
    """The call's headers by lower-case name (the first value of each), made on the first ask."""
    found: dict[bytes, bytes] | None = scope.get(KEY)
    if found is None:
        found = scope[KEY] = dict(reversed(scope.get("headers") or ()))  # reversed: the first value wins
    return found
