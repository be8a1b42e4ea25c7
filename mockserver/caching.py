"""The hot path's caches: what a repeated call would otherwise work out again.

Every answer is a pure function of its inputs (seed, person, year or months, rettighetspakke, media type,
data calendar), and every check that depends on time still runs per call: a cached token is refused the
moment it expires on the injected clock. Each cache is bounded, so a long load test cannot grow the
process; all of it is per process and cleared by the sandbox's reset.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import lru_cache
from typing import Any

from .clock import Clock
from .identifiers import PersonNumber, parse_person_number
from .maskinporten.keys import KeySet
from .maskinporten.tokens import InvalidToken, check_lifetime, verify_access_token
from .representation import encode
from .skatteetaten_errors import SkeError

TOKENS = 4096
BODIES = 8192
SEARCHES = 32  # Tenor's hit lists (up to the whole population each): a script paging through one query
PERSON_NUMBERS = 65536


@lru_cache(maxsize=PERSON_NUMBERS)
def person_number(value: str) -> PersonNumber:
    """`parse_person_number`, remembered for valid numbers (an invalid one raises, and is not kept)."""
    return parse_person_number(value)


class Bounded:
    """A least-recently-used map of at most `size` entries."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a cache needs room for one entry")
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def pop(self, key: Hashable) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class Caches:
    """One sandbox's caches: verified access tokens, the callers they make per API, encoded bodies and
    Tenor's recent hit lists."""

    def __init__(self, tokens: int = TOKENS, bodies: int = BODIES, searches: int = SEARCHES) -> None:
        self.tokens = Bounded(tokens)
        self.callers = Bounded(tokens)  # (token, issuer, API) -> the gateway's Caller; refusals are not kept
        self.bodies = Bounded(bodies)
        self.searches = Bounded(searches)

    def verified_claims(self, token: str, issuer: str, keys: KeySet, clock: Clock) -> dict[str, Any]:
        """`verify_access_token`, with the signature and claims checked once per token and issuer;
        expiry and issue time are checked on every call. A refused token is never cached."""
        key = (token, issuer)
        claims = self.tokens.get(key)
        if claims is None:
            claims = verify_access_token(token, issuer, keys, clock)
            self.tokens.put(key, claims)
            return claims
        try:
            check_lifetime(claims, clock)
        except InvalidToken:
            self.tokens.pop(key)
            raise
        return claims

    def encoded(self, key: Hashable, build: Callable[[], dict[str, Any]], media_type: str, *, xml_root: str,
                xml_namespace: str) -> bytes:
        """The encoded body for `key`; `key` must name everything `build` depends on, media type included.
        A documented error `build` raises (unknown person, no settlement, …) is remembered as well and
        raised afresh on every call."""
        content = self.bodies.get(key)
        if content is None:
            try:
                content = encode(build(), media_type, xml_root=xml_root, xml_namespace=xml_namespace)
            except SkeError as err:
                content = err
            self.bodies.put(key, content)
        if isinstance(content, SkeError):
            raise SkeError(content.kode, content.status, content.melding, dict(content.headers))
        return content

    def clear(self) -> None:
        self.tokens.clear()
        self.callers.clear()
        self.bodies.clear()
        self.searches.clear()
