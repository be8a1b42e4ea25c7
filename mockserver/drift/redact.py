"""What a recording must never carry onward: tokens, keys, secrets and personal numbers.

Applied to text (headers, URLs, bodies in JSON, XML or form encoding) rather than to parsed bodies, so a
body keeps its bytes (`35050.0` stays `35050.0`) apart from what is removed. Idempotent: a masked number
is not a valid fødselsnummer, a placeholder not a token.
"""

from __future__ import annotations

import hashlib
import re

from ..identifiers import InvalidIdentifier, parse_person_number

REDACTED = "REDACTED"
# Headers whose whole value is a credential or a session.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-ske-sandbox-admin",
                            "altinnsamtykke", "x-api-key", "api-key"})
# Fields (JSON keys or form names) whose value is a credential, whatever it looks like.
SECRET_FIELDS = ("access_token", "id_token", "refresh_token", "assertion", "client_assertion", "client_secret",
                 "password", "private_key", "private_key_pem", "samtykketoken")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL)
_FIELDS = "|".join(SECRET_FIELDS)
_JSON_FIELD = re.compile(rf'("(?:{_FIELDS})"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE)
_FORM_FIELD = re.compile(rf"((?:^|[&?\s])(?:{_FIELDS})=)[^&\s]*", re.IGNORECASE)
_XML_FIELD = re.compile(rf"(<(?:[\w-]+:)?({_FIELDS})>)[^<]*(</)", re.IGNORECASE)
_ELEVEN = re.compile(r"(?<![0-9])[0-9]{11}(?![0-9])")
MASK_PREFIX = "000000"  # day and month 00: no person, real or synthetic, has such a number


def is_person_number(text: str) -> bool:
    try:
        parse_person_number(text)
    except InvalidIdentifier:
        return False
    return True


def mask_person_number(fnr: str) -> str:
    """An 11-digit stand-in that no person has, the same for the same number (two people in a file stay
    two), and too short a digest to find the number again."""
    digest = int(hashlib.sha256(fnr.encode()).hexdigest()[:8], 16) % 100_000
    return f"{MASK_PREFIX}{digest:05d}"


def _mask(match: re.Match[str]) -> str:
    text = match.group(0)
    return mask_person_number(text) if is_person_number(text) else text


def redact_text(text: str) -> str:
    """`text` with private keys, JWTs, credential fields and person numbers replaced."""
    text = _PEM.sub(REDACTED, text)
    text = _JSON_FIELD.sub(rf'\1"{REDACTED}"', text)
    text = _FORM_FIELD.sub(rf"\g<1>{REDACTED}", text)
    text = _XML_FIELD.sub(rf"\g<1>{REDACTED}\g<3>", text)
    text = _JWT.sub(REDACTED, text)
    return _ELEVEN.sub(_mask, text)


def redact_header(name: str, value: str) -> str:
    """A credential header keeps its scheme (`Bearer REDACTED`), which says how the call authenticated."""
    if name.lower() not in SECRET_HEADERS:
        return redact_text(value)
    scheme, sep, _ = value.partition(" ")
    return f"{scheme} {REDACTED}" if sep and name.lower().endswith("authorization") else REDACTED
