"""PyJWT with its base64url segment check done by a regex instead of a Python loop.

PyJWT (since the GHSA-hxm8-2xgr-2p9m hardening) checks every character of every segment against the
base64url alphabet in a generator: about a third of a data call's CPU time for a ~930-byte token. The
check below accepts and refuses exactly the same segments (the tests compare the two on many inputs);
everything else is PyJWT's own code. PyJWT's module-level functions, which users' code may call in the
same process, are left as they are.
"""

from __future__ import annotations

import binascii
import re
from functools import lru_cache
from typing import Any

import jwt
from jwt.api_jws import PyJWS
from jwt.exceptions import DecodeError
from jwt.utils import base64url_decode, base64url_encode

_ALPHABET = re.compile(rb"[A-Za-z0-9_-]*")


def decode_segment(segment: bytes, name: str) -> bytes:
    """PyJWS._decode_base64url_segment, same verdicts, with the alphabet check in C."""
    stripped = segment.rstrip(b"=")
    padding = len(segment) - len(stripped)
    if padding > 2 or (padding and len(segment) % 4 != 0):
        raise DecodeError(f"Invalid {name} padding")
    if len(stripped) % 4 == 1 or not _ALPHABET.fullmatch(stripped):
        raise DecodeError(f"Invalid {name} padding")
    try:
        decoded = base64url_decode(stripped)
    except (TypeError, binascii.Error) as err:
        raise DecodeError(f"Invalid {name} padding") from err
    if base64url_encode(decoded) != stripped:
        raise DecodeError(f"Invalid {name} padding")
    return decoded


class FastJWS(PyJWS):
    _decode_base64url_segment = staticmethod(decode_segment)


class FastJWT(jwt.PyJWT):
    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        if hasattr(self, "_jws"):  # PyJWT >= 2.10 keeps its JWS object here
            self._jws = FastJWS(options=self._get_sig_options())


MAX_CACHED = 8 * 1024  # real grants and tokens are 1-6 KB; a cache of 256 huge ones would hold tens of MB


def _unverified(token: str) -> dict[str, Any]:
    return decode_complete(token, options={"verify_signature": False})


_cached_unverified = lru_cache(maxsize=256)(_unverified)


def unverified(token: str) -> dict[str, Any]:
    """header, payload and signature of a JWT, not verified; parsed once for the grant check and the journal
    alike (tokens up to MAX_CACHED). The dicts are shared: read them, never change them."""
    return _cached_unverified(token) if len(token) <= MAX_CACHED else _unverified(token)


_jws = FastJWS()
_jwt = FastJWT()
get_unverified_header = _jws.get_unverified_header
decode = _jwt.decode
decode_complete = _jwt.decode_complete
get_algorithm_by_name = _jws.get_algorithm_by_name
