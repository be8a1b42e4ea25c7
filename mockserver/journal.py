"""The request journal: every call a client made to a faked service, what it was answered, and whether the
request conformed to its contract.

The front door (front.py) has `record` write one entry per call to a service path, whatever answered it (a
route, an unknown-URL handler, an error); an ordinary call's entry is kept as its values and filled in when
the journal is read (`Recorded`). Secrets are never stored: the bearer token and the grant are kept as
a few of their decoded claims, never as the signed string, and secret query or form values are redacted
(journal_limits.py). Entries are bounded in number and in bytes. The contract verdict (`conforms`,
`problems`) is worked out when the journal is read, so a busy server does not pay for it per call.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

import jwt
from starlette.types import Scope

from . import fastjwt
from .callheaders import headers_of
from .conformance.checks import check, retry_problems
from .errorbody import error_code
from .journal_limits import form_fields, redact_query, size_of, small_claims, small_header
from .services import BY_NAME, split_path
from .state import JOURNAL_BYTES, JOURNAL_ENTRIES, Store, StoreError
from .state.background import Background
from .state.memory import MemoryStore
from .tenants import ANONYMOUS, SESSION_KEY, tenant, valid_session

log = logging.getLogger("ske_sandbox.journal")
MAX_TEXT = 2048  # path and query are client-controlled: keep a bounded prefix
MAX_ENTRIES = JOURNAL_ENTRIES  # per tenant
MAX_BYTES = JOURNAL_BYTES  # per tenant, as JSON; ~3000 ordinary entries would fit
# What can force an answer (an entry's `forced_by`): the scenario header or the kit's scenario(), a canned
# answer (the kit's answer(), `serve --responses generated`), a `--fault-rate` roll, a network fault.
FORCED_BY = ("scenario", "answer", "fault-rate", "network-fault")


def _decoded(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A token's header and claims in the small form kept (see journal_limits): nothing is verified here,
    so nothing more of what the caller chose is kept."""
    try:
        decoded = fastjwt.unverified(token)
        header, claims = decoded["header"], decoded["payload"]
    except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
        return None
    if not isinstance(claims, dict) or not isinstance(header, dict):
        return None
    return small_header(header), small_claims(claims)


def _authorization_uncached(value: bytes) -> tuple[dict[str, Any], int]:
    scheme, _, token = value.decode("latin-1").strip().partition(" ")
    decoded = _decoded(token.strip()) if token.strip() else None
    kept = {"scheme": scheme, "claims": decoded[1] if decoded else None}
    return kept, size_of(kept)


# A client sends one bearer token many times: decode it once (entries share the kept, unchanged dicts).
_decoded_bearer = lru_cache(maxsize=256)(_authorization_uncached)


def _authorization(value: bytes | None) -> tuple[dict[str, Any] | None, int]:
    """The Authorization header as kept (scheme and a few claims), with its size as JSON."""
    if value is None:
        return None, 4
    # the cache is keyed by the header: huge ones would fill it with their own bytes
    return _decoded_bearer(value) if len(value) <= fastjwt.MAX_CACHED else _authorization_uncached(value)


class Journal:
    """The calls of each tenant: the last JOURNAL_ENTRIES, and (in memory) no more than `max_bytes` of them;
    the oldest go first. Kept in the sandbox's store (state/), so workers and replicas share one journal."""

    def __init__(self, store: Store | None = None, size: int = JOURNAL_ENTRIES, max_bytes: int = JOURNAL_BYTES,
                 background: Background | None = None) -> None:
        self.store = store if store is not None else MemoryStore(entries=size, max_bytes=max_bytes)
        # a shared store is written in batches, off the calls' path (state/background.py)
        self.background = background if background is not None or not self.store.shared else Background(self.store)

    def note(self, request: Any, outcome: str, caller: Any = None, forced: bool = False,
             by: str | None = None) -> None:
        """Called by a handler: the outcome code (and caller) of the call the front door is journaling.
        `forced` when the sandbox was told to give this answer, `by` what told it (FORCED_BY; a network
        fault when not said), so the verdict never holds the answer's status against the client."""
        state = request.scope.setdefault("state", {})  # what request.state writes to, without its wrapper
        state["journal_outcome"] = (outcome, caller)
        if forced:
            state["journal_forced"] = by or "network-fault"

    @staticmethod
    def delayed(request: Any, by: str, seconds: float) -> None:
        """The answer was held back on purpose (a slow scenario, `--latency`); its status is still the call's."""
        request.scope.setdefault("state", {})["journal_delayed"] = {"by": by, "seconds": round(seconds, 3)}

    def new_example(self, tenant: str | None = None) -> None:
        """The tenant's calls (None: everyone's) from here on are a new example: an earlier answer's
        Retry-After no longer binds them."""
        self.store.new_example(tenant)

    def add(self, entry: dict[str, Any], tenant: str = ANONYMOUS, size: int | None = None) -> None:
        """Keep `entry` in the tenant's journal; `size` is its size as JSON when the caller knows it."""
        entry["tenant"] = tenant
        if size is None:
            size = size_of(filled(entry))
        if self.background is not None:  # a shared store keeps the entry as JSON
            self.background.add(tenant, compact(entry), size)
        else:
            self.store.journal_add(tenant, entry, size)

    def settle(self) -> None:
        """Every process's entries are in the store (a no-op in one process)."""
        if self.background is not None:
            self.background.settle()

    @property
    def bytes(self) -> int:
        """About how many bytes the entries take as JSON (their verdicts not counted)."""
        self.settle()
        return self.store.journal_bytes(None)

    def entries(self, checkpoint: Callable[[], None] | None = None, tenant: str | None = None
                ) -> list[dict[str, Any]]:
        """One tenant's entries (None: everyone's), oldest first, each with its contract verdict. `checkpoint`
        is called between entries (it raises to give up the work, e.g. when the caller has gone)."""
        self.settle()
        entries = [filled(entry) for entry in self.store.journal(tenant)]
        retries = retry_problems(entries)
        for e in entries:
            if checkpoint is not None:
                checkpoint()
            if "conforms" not in e or e["seq"] in retries:
                problems = check(e)
                if e["seq"] in retries:
                    problems.append(retries[e["seq"]])
                e["problems"], e["conforms"] = problems, not problems
        return entries

    def clear(self, tenant: str | None = None) -> None:
        self.settle()
        self.store.journal_clear(tenant)


NOT_JOURNALED = ("/maskinporten/errors/",)  # pages for people, not calls of a client


@lru_cache(maxsize=4096)  # a client calls the same few paths again and again
def journaled(path: str) -> tuple[str, str] | None:
    """(service, path under its prefix) of a call the journal keeps; None for any other path."""
    if path.startswith(NOT_JOURNALED):
        return None
    hit = split_path(path)
    return (hit[0].name, hit[1]) if hit is not None else None


class Answer:
    """What the front door saw of an answer: status, headers, the start of an error body."""

    __slots__ = ("status", "headers", "body", "started", "recorded")

    def __init__(self) -> None:
        self.status = 500
        self.headers: Any = ()
        self.body = bytearray()
        self.started = self.recorded = False


_WANTED = (b"accept", b"content-type", b"authorization", SESSION_KEY)
# An ordinary entry's size as JSON, less its texts (counted per entry) and its authorization (sized once per
# token): the keys, the punctuation, the numbers and the JSON nulls.
_FIXED = size_of({"at": 1e9 + 0.123, "t": 1e9 + 0.123456, "method": "GET", "environment": "", "issuer": "",
                  "service": "", "url": "", "path": "", "query": "", "status": 200, "outcome": "", "consumer": "",
                  "client_id": "", "headers": {"accept": "", "content-type": "", "authorization": None},
                  "retry_after": "", "server_time": 1e9 + 0.123456, "tenant": ""}) - 4


@lru_cache(maxsize=64)
def _base(base_url: str, service: str) -> str:
    return base_url.rstrip("/") + BY_NAME[service].prefix


class Recorded(dict):  # type: ignore[type-arg]
    """An ordinary call's entry, filled in when the journal is first read: per call the server keeps the few
    values the entry is made of, not the entry. The store's keys (`seq`, `example`) and the tenant are set
    on it at once, as on any entry; `fill` puts the call's fields before them."""

    __slots__ = ("_raw",)

    def __init__(self, raw: tuple[Any, ...]) -> None:
        super().__init__()
        self._raw: tuple[Any, ...] | None = raw

    def fill(self) -> Recorded:
        raw, self._raw = self._raw, None
        if raw is not None:
            _put_first(self, _ordinary(*_values(raw)))
        return self

    def compact(self) -> dict[str, Any]:
        """The entry as a shared store keeps it: its values as one JSON list, filled in when read."""
        if self._raw is None:
            return dict(self)
        return {COMPACT: _values(self._raw), **self}


COMPACT = "_values"  # key of an ordinary entry's values in a shared store (never shown: `filled` expands it)


def _values(raw: tuple[Any, ...]) -> list[Any]:
    """A Recorded's values as plain JSON ones, in `_ordinary`'s order."""
    (now, started, method, env, service, base, path, query, status, outcome, consumer, client_id, accept,
     content_type, authorization, retry_after) = raw
    return [now, started, method, env.name, env.issuer, service, base, path, query, status, outcome, consumer,
            client_id, accept.decode("latin-1") if accept is not None else None,
            content_type.decode("latin-1") if content_type is not None else None, authorization, retry_after]


def _put_first(entry: dict[str, Any], fields: dict[str, Any]) -> None:
    kept = dict(entry)
    entry.clear()
    entry.update(fields)
    entry.update(kept)


def filled(entry: dict[str, Any]) -> dict[str, Any]:
    """`entry` with every field in it: a `Recorded` one, or one a shared store kept compact, is filled in."""
    if isinstance(entry, Recorded):
        return entry.fill()
    values = entry.pop(COMPACT, None)
    if values is not None:
        _put_first(entry, _ordinary(*values))
    return entry


def compact(entry: dict[str, Any]) -> dict[str, Any]:
    """`entry` as a shared store keeps it (see Recorded.compact)."""
    return entry.compact() if isinstance(entry, Recorded) else entry


def _ordinary(now: float, started: float, method: str, environment: str, issuer: str, service: str, base: str,
              path: str, query: str, status: int, outcome: str | None, consumer: str | None,
              client_id: str | None, accept: str | None, content_type: str | None,
              authorization: dict[str, Any] | None, retry_after: str | None) -> dict[str, Any]:
    return {
        "at": round(now, 3),
        "t": started,
        "method": method,
        "environment": environment,
        "issuer": issuer,
        "service": service,
        "url": base + path + (f"?{query}" if query else ""),
        "path": path,
        "query": query,
        "status": status,
        "outcome": outcome,
        "consumer": consumer,
        "client_id": client_id,
        "headers": {"accept": accept, "content-type": content_type, "authorization": authorization},
        "retry_after": retry_after,
        "server_time": now,
    }


def record(scope: Scope, hit: tuple[str, str], body: bytes, answer: Answer, started: float) -> dict[str, Any]:
    """Write the journal entry of one answered call (the front door calls this once per journaled call)."""
    # Read straight off the ASGI scope (what Starlette's Request and Headers would give): this runs on
    # every call, so it stays a few dict look-ups.
    answer.recorded = True
    sandbox = scope["app"].sandbox
    state = scope.get("state") or {}
    env = state.get("environment") or sandbox.own
    service, path = hit
    headers = headers_of(scope)
    outcome, caller = state.get("journal_outcome", (None, None))
    status = answer.status
    retry_after = None
    for name, value in answer.headers:
        if name.lower() == b"retry-after":
            retry_after = value.decode("latin-1")
            break
    host = env.hosts.get(service)
    base = f"https://{host}" if host else _base(sandbox.settings.base_url, service)
    query = scope.get("query_string", b"")
    query = redact_query(query.decode("latin-1")[:MAX_TEXT]) if query else ""
    path = path[:MAX_TEXT]
    authorization, size = _authorization(headers.get(b"authorization"))
    consumer = getattr(caller, "consumer", None)
    client_id = getattr(caller, "client_id", None)
    accept, content_type = headers.get(b"accept"), headers.get(b"content-type")
    now = sandbox.clock.now()
    session = headers.get(SESSION_KEY)
    key = tenant(valid_session(session.decode("latin-1")) if session is not None else None, consumer)
    forced_by, delayed = state.get("journal_forced"), state.get("journal_delayed")
    post = service == "maskinporten" and scope["method"] == "POST"
    if status < 400 and not forced_by and not delayed and not post:
        # the ordinary entry: kept as its values, and sized as JSON without encoding it (the fixed part
        # measured once, the authorization once per token, the texts counted)
        outcome = outcome if outcome is not None else str(status)  # discovery, JWKS: no code of their own
        size += (_FIXED + 2 * len(path) + len(base) + 2 * len(query) + len(env.issuer) + len(env.name)
                 + len(service) + len(key) + len(outcome) + len(consumer or "") + len(client_id or "")
                 + len(accept or b"") + len(content_type or b"") + len(retry_after or ""))
        entry: dict[str, Any] = Recorded((now, started, scope["method"], env, service, base, path, query, status,
                                          outcome, consumer, client_id, accept, content_type, authorization,
                                          retry_after))
    else:
        entry = _ordinary(*_values((now, started, scope["method"], env, service, base, path, query, status, outcome,
                                    consumer, client_id, accept, content_type, authorization, retry_after)))
        if status >= 400:
            kode, entry["melding"] = _error_of(bytes(answer.body))
            entry["outcome"] = outcome or kode
        elif outcome is None:
            entry["outcome"] = str(status)
        if forced_by:  # a network fault may leave no status at all: no head went out
            entry["forced"], entry["forced_by"] = True, forced_by
            entry["status"] = status if answer.started else None
        if delayed:
            entry["delayed"] = delayed
        if post:
            _add_grant(entry, body)
        entry["tenant"] = key
        size = size_of(entry)
    try:
        sandbox.journal.add(entry, key, size)
    except StoreError as exc:  # the call was answered; only its entry is lost, and the log says so
        log.error("journal entry lost: %s", exc)
    return entry


def _error_of(body: bytes) -> tuple[str | None, str | None]:
    """(kode, melding) of an error body, JSON only; XML errors keep the outcome the handler noted."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(doc, dict):
        return None, None
    text = doc.get("melding") or doc.get("error_description")
    kode = error_code(doc)
    return kode, str(text)[:300] if text else None


def _add_grant(entry: dict[str, Any], body: bytes) -> None:
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        form = {}
    assertion = form.pop("assertion", None)
    # the assertion itself is never stored, nor the value of any parameter but grant_type
    entry["form"] = form_fields(form)
    if assertion is None:
        return
    decoded = _decoded(assertion.strip())
    if decoded is None:
        entry["grant_error"] = "the assertion is not a JWT; Maskinporten wants a signed JWT grant"
        return
    header, claims = decoded
    entry["grant"] = {"header": header, "claims": claims}
    entry["client_id"] = entry["client_id"] or claims.get("iss")
