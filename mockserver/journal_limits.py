"""What the journal keeps of client-controlled text: small, and without secrets.

A token or grant is kept as a few known claims (each value short) and its header's alg, kid and a mark per
x5c certificate: enough for the contract checks and for a person reading the journal, never the token, and
never the ~50 KB a hostile caller can pack into an unverified token. Secrets a client puts in a query string
or form (`access_token`, `client_secret`, `assertion`, …) are replaced by a mark before anything is stored,
so the control API, the journal page and `conformance` never show one.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
from typing import Any
from urllib.parse import unquote_plus

# Claims of a Maskinporten grant and access token that the checks or a reader use; others are dropped.
KNOWN_CLAIMS = ("iss", "aud", "sub", "scope", "resource", "client_id", "client_amr", "consumer", "consumer_org",
                "supplier", "pid", "token_type", "iat", "nbf", "exp", "jti", "delegation_source",
                "authorization_details")
MAX_VALUE = 256  # bytes of a kept claim's value, as JSON
MAX_CERTIFICATES = 5
MAX_FORM_FIELDS, MAX_NAME = 20, 64
SECRET_PARAMS = frozenset({"access_token", "client_secret", "assertion", "client_assertion", "refresh_token",
                           "id_token", "code", "password"})
REDACTED = "<redacted>"
_HINTS = ("token", "secret", "assertion", "code", "password", "%")  # cheap test before parsing a query


def small_claims(claims: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in KNOWN_CLAIMS:
        if name in claims:
            out[name] = _short(claims[name])
    return out


def small_header(header: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {name: _short(header[name]) for name in ("alg", "kid") if name in header}
    if "x5c" in header:  # certificates are public but long: keep a mark each (the checks want the list)
        x5c = header["x5c"]
        out["x5c"] = ([f"<certificate, {_der_size(c)} bytes>" for c in itertools.islice(x5c, MAX_CERTIFICATES)]
                      if isinstance(x5c, list) else _short(x5c))
    return out


def _short(value: Any) -> Any:
    """A value kept as it is when small; a long string cut; anything else large replaced by a mark."""
    if isinstance(value, str):
        return value if len(value) <= MAX_VALUE else value[:MAX_VALUE] + f"… <{len(value)} characters>"
    if value is None or isinstance(value, bool | int | float):
        return value if not isinstance(value, int) or abs(value) < 10**18 else f"<{len(str(value))}-digit number>"
    size = len(json.dumps(value, default=str))
    return value if size <= MAX_VALUE else f"<{size} bytes, not kept>"


def _der_size(cert: Any) -> int:
    try:
        return len(base64.b64decode(str(cert), validate=True))
    except (ValueError, binascii.Error):
        return 0


def redact_query(query: str) -> str:
    """The query string with the value of every secret parameter replaced; names and order kept."""
    lowered = query.lower()
    if not any(hint in lowered for hint in _HINTS):
        return query
    parts = []
    for part in query.split("&"):
        name, eq, _ = part.partition("=")
        if eq and unquote_plus(name).strip().lower() in SECRET_PARAMS:
            part = f"{name}={REDACTED}"
        parts.append(part)
    return "&".join(parts)


def form_fields(form: dict[str, str]) -> dict[str, str]:
    """A token request's form as kept: grant_type's value, the other names (bounded) with a mark."""
    out = {}
    for name, value in itertools.islice(form.items(), MAX_FORM_FIELDS):
        out[name[:MAX_NAME]] = _short(value) if name == "grant_type" else "<given>"
    return out


# made once: json.dumps builds an encoder per call, and the journal sizes every call's entry
_SIZER = json.JSONEncoder(default=str, separators=(",", ":"), check_circular=False)


def size_of(entry: dict[str, Any]) -> int:
    """About how many bytes an entry takes as JSON; exact enough to bound the journal's total."""
    return len(_SIZER.encode(entry))
