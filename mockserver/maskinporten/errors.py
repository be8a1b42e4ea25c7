"""Maskinporten's error answers: HTTP 400 `{error, error_description, error_uri}`.

The description ends with ` (trace_id: <32 hex>)` and `error_uri` is `<issuer>errors/MP-nnn`, as the
real service answers. Where Digdir documents a text without a code, the closest group's code is used
(listed in contracts/README.md).
"""

from __future__ import annotations

import secrets

from starlette.responses import JSONResponse

AUTH_FAILED = "Invalid assertion. Client authentication failed."


class GrantError(Exception):
    def __init__(self, code: str, description: str, error: str = "invalid_grant") -> None:
        super().__init__(f"{code} {error}: {description}")
        self.code = code
        self.description = description
        self.error = error

    def response(self, issuer: str) -> JSONResponse:
        body = {
            "error": self.error,
            "error_description": f"{self.description} (trace_id: {secrets.token_hex(16)})",
            "error_uri": f"{issuer}errors/{self.code}",
        }
        return JSONResponse(body, status_code=400, headers={"Cache-Control": "no-store"})


def invalid_request(description: str) -> GrantError:
    return GrantError("MP-011", description, "invalid_request")


def auth_failed(code: str, detail: str) -> GrantError:
    return GrantError(code, f"{AUTH_FAILED} {detail}")


def documented_codes() -> dict[str, list[tuple[str, str, str]]]:
    """MP code -> [(error, meaning, when)], read from the table in contracts/README.md (one source)."""
    import re

    from ..resources import contracts_dir

    rows: dict[str, list[tuple[str, str, str]]] = {}
    for line in (contracts_dir() / "README.md").read_text().splitlines():
        m = re.match(r"\| (MP-\d{3}) \| `([a-z_]+)` \| ([^|]+) \| ([^|]+) \|$", line)
        if m:
            rows.setdefault(m.group(1), []).append((m.group(2), m.group(3).strip(), m.group(4).strip()))
    return rows
