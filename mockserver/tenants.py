"""Whose state a call reads and writes: its tenant.

A call carrying `Ske-Sandbox-Session: <id>` belongs to that session (a CI job picks one and sends it on
every call, the pytest kit does so by itself); any other call belongs to the consumer org its token (or its
grant's client) is for; a call with neither, to the anonymous tenant. Each tenant has its own journal, used
grants to reset, fault sequence and concurrency slots. The header is the sandbox's own (documented in the
control API's document), never part of a service contract.
"""

from __future__ import annotations

import re
from typing import Any

SESSION_HEADER = "Ske-Sandbox-Session"
SESSION_KEY = SESSION_HEADER.lower().encode("latin-1")  # as ASGI names it
SESSION_PATTERN = re.compile(r"[A-Za-z0-9._~-]{1,64}", re.ASCII)
ANONYMOUS = "-"
SESSION_RULE = "1 to 64 characters of A-Z, a-z, 0-9 and . _ ~ -"


class TenantError(ValueError):
    """A session header the sandbox cannot take; the message says what it must look like."""


def session_of(scope: Any) -> str | None:
    """The value of the session header of an ASGI scope, checked; None without one."""
    for name, value in scope.get("headers") or ():
        if name == SESSION_KEY:
            return checked_session(value.decode("latin-1"))
    return None


def checked_session(value: str) -> str:
    """A session header's value, or TenantError saying what the sandbox takes."""
    text = value.strip()
    if not SESSION_PATTERN.fullmatch(text):
        raise TenantError(f"{SESSION_HEADER} must be {SESSION_RULE}")
    return text


def valid_session(value: str | None) -> str | None:
    """A session header's value (as text) when the sandbox can take it, else None."""
    if value is None:
        return None
    value = value.strip()
    return value if SESSION_PATTERN.fullmatch(value) else None


def tenant(session: str | None, consumer: str | None) -> str:
    """The tenant key: `session:<id>`, `org:<orgnr>` or the anonymous tenant."""
    if session:
        return f"session:{session}"
    if consumer:
        return f"org:{consumer}"
    return ANONYMOUS


TENANT_PATTERN = re.compile(rf"session:{SESSION_PATTERN.pattern}|org:[0-9]{{9}}|{re.escape(ANONYMOUS)}", re.ASCII)


def parse_tenant(text: str) -> str:
    """A tenant named in the control API's `?tenant=` (session:<id>, org:<orgnr> or -)."""
    if not TENANT_PATTERN.fullmatch(text):
        raise TenantError(f"tenant must be session:<id> (id: {SESSION_RULE}), org:<9 digits> or {ANONYMOUS}")
    return text
