"""The request journal: every call a client made to a faked service, what it was answered, and whether the
request conformed to its contract.

`Recorder` (ASGI middleware) writes one entry per call to a service path, whatever answered it (a route,
an unknown-URL handler, an error). Secrets are never stored: the bearer token and the grant are kept as
a few of their decoded claims, never as the signed string, and secret query or form values are redacted
(journal_limits.py). Entries are bounded in number and in bytes. The contract verdict (`conforms`,
`problems`) is worked out when the journal is read, so a busy server does not pay for it per call.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

import jwt
from starlette.types import ASGIApp, Receive, Scope, Send

from . import fastjwt
from .bodylimit import MAX_BODY
from .conformance.checks import check, retry_problems
from .errorbody import error_code
from .journal_limits import form_fields, redact_query, size_of, small_claims, small_header
from .services import BY_NAME, split_path
from .state import JOURNAL_BYTES, JOURNAL_ENTRIES, Store, StoreError
from .state.background import Background
from .state.memory import MemoryStore
from .tenants import ANONYMOUS, tenant_of

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


# A client sends one bearer token many times: decode it once (entries share the decoded, unchanged dicts).
_decoded_bearer = lru_cache(maxsize=256)(_decoded)


def _authorization(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if not token:
        decoded = None
    else:  # the cache is keyed by the token: huge ones would fill it with their own bytes
        decoded = _decoded_bearer(token) if len(token) <= fastjwt.MAX_CACHED else _decoded(token)
    return {"scheme": scheme, "claims": decoded[1] if decoded else None}


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
        """Called by a handler: the outcome code (and caller) of the call the Recorder is journaling.
        `forced` when the sandbox was told to give this answer, `by` what told it (FORCED_BY; a network
        fault when not said), so the verdict never holds the answer's status against the client."""
        request.state.journal_outcome = (outcome, caller)
        if forced:
            request.state.journal_forced = by or "network-fault"

    @staticmethod
    def delayed(request: Any, by: str, seconds: float) -> None:
        """The answer was held back on purpose (a slow scenario, `--latency`); its status is still the call's."""
        request.state.journal_delayed = {"by": by, "seconds": round(seconds, 3)}

    def new_example(self, tenant: str | None = None) -> None:
        """The tenant's calls (None: everyone's) from here on are a new example: an earlier answer's
        Retry-After no longer binds them."""
        self.store.new_example(tenant)

    def add(self, entry: dict[str, Any], tenant: str = ANONYMOUS) -> None:
        entry["tenant"] = tenant
        if self.background is not None:
            self.background.add(tenant, entry, size_of(entry))
        else:
            self.store.journal_add(tenant, entry, size_of(entry))

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
        entries = self.store.journal(tenant)
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


def _service_of(path: str) -> tuple[str, str] | None:
    if path.startswith(NOT_JOURNALED):
        return None
    hit = split_path(path)
    return (hit[0].name, hit[1]) if hit is not None else None


class Recorder:
    """ASGI middleware that journals every call to a service path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hit = _service_of(scope["path"]) if scope["type"] == "http" else None
        if hit is None:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})  # before any middleware copies the scope, so handlers' notes reach us
        body = bytearray()
        answer: dict[str, Any] = {"status": 500, "headers": [], "body": bytearray()}
        token_call = scope["method"] == "POST"

        async def receive_and_keep() -> Any:
            message = await receive()
            if token_call and message.get("type") == "http.request" and len(body) < MAX_BODY:
                body.extend(message.get("body", b"")[: MAX_BODY - len(body)])
            return message

        async def send_and_keep(message: Any) -> None:
            if message["type"] == "http.response.start":
                answer["status"], answer["headers"] = message["status"], message.get("headers", [])
                answer["started"] = True
            elif message["type"] == "http.response.body":
                if answer["status"] >= 400 and len(answer["body"]) < 4096:
                    answer["body"].extend(message.get("body", b"")[:4096])
                if observer is not None and not message.get("more_body", False):
                    record()  # before the last part goes out: the call's tracing span ends with it
            await send(message)

        sandbox = scope["app"].state.sandbox
        started = sandbox.clock.now()  # the sandbox's clock: tests move it, never sleep
        observer = sandbox.observer  # metrics and traces (observability/); None when off
        began = time.perf_counter() if observer is not None else 0.0

        def record() -> None:
            answer["recorded"] = True
            entry = self._record(scope, hit, bytes(body), answer, started)
            if observer is not None:
                observer.call(scope, entry, time.perf_counter() - began)

        try:
            await self.app(scope, receive_and_keep, send_and_keep)
        finally:
            if not answer.get("recorded"):
                record()

    @staticmethod
    def _record(scope: Scope, hit: tuple[str, str], body: bytes, answer: dict[str, Any],
                started: float) -> dict[str, Any]:
        # Read straight off the ASGI scope (what Starlette's Request and Headers would give): this runs on
        # every call, so it stays a few dict look-ups.
        sandbox = scope["app"].state.sandbox
        state = scope.get("state") or {}
        env = state.get("environment") or sandbox.own
        service, path = hit
        headers = _first(scope.get("headers") or (), (b"accept", b"content-type", b"authorization"))
        outcome, caller = state.get("journal_outcome", (None, None))
        retry_after = _first(answer["headers"], (b"retry-after",), lower=True)[b"retry-after"]
        host = env.hosts.get(service)
        base = f"https://{host}" if host else sandbox.settings.base_url.rstrip("/") + BY_NAME[service].prefix
        query = redact_query(scope.get("query_string", b"").decode("latin-1")[:MAX_TEXT])
        now = sandbox.clock.now()
        entry: dict[str, Any] = {
            "at": round(now, 3),
            "t": started,
            "method": scope["method"],
            "environment": env.name,
            "issuer": env.issuer,
            "service": service,
            "url": base + path[:MAX_TEXT] + (f"?{query}" if query else ""),
            "path": path[:MAX_TEXT],
            "query": query,
            "status": answer["status"],
            "outcome": outcome,
            "consumer": getattr(caller, "consumer", None),
            "client_id": getattr(caller, "client_id", None),
            "headers": {
                "accept": headers[b"accept"],
                "content-type": headers[b"content-type"],
                "authorization": _authorization(headers[b"authorization"]),
            },
            "retry_after": retry_after,
            "server_time": now,
        }
        if answer["status"] >= 400:
            kode, entry["melding"] = _error_of(bytes(answer["body"]))
            entry["outcome"] = outcome or kode
        elif outcome is None:  # discovery, JWKS: no code of their own
            entry["outcome"] = str(answer["status"])
        forced_by = state.get("journal_forced")
        if forced_by:  # a network fault may leave no status at all: no head went out
            entry["forced"], entry["forced_by"] = True, forced_by
            entry["status"] = answer["status"] if answer.get("started") else None
        if state.get("journal_delayed"):
            entry["delayed"] = state["journal_delayed"]
        if service == "maskinporten" and scope["method"] == "POST":
            _add_grant(entry, body)
        try:
            sandbox.journal.add(entry, tenant_of(scope, entry["consumer"]))
        except StoreError as exc:  # the call was answered; only its entry is lost, and the log says so
            log.error("journal entry lost: %s", exc)
        return entry


def _first(raw: Any, names: tuple[bytes, ...], lower: bool = False) -> dict[bytes, str | None]:
    """The first value of each named header (None when absent), from ASGI's list of (name, value) bytes."""
    found: dict[bytes, str | None] = dict.fromkeys(names)
    missing = len(names)
    for name, value in raw:
        if lower:
            name = name.lower()
        if name in found and found[name] is None:
            found[name] = value.decode("latin-1")
            missing -= 1
            if not missing:
                break
    return found


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
