"""Skatteetaten's API gateway, as every data API meets it, written once: the bearer-token check, content
negotiation, the error body, scenario overrides, latency, faults (network faults too) and the concurrency
limit.

Each API (summertskattegrunnlag/, inntekt/, sistetilgjengeligeskatteoppgjoer/) describes itself with an
`ApiSpec` and hands `serve` two plain functions: `check` validates the call's inputs (or raises the API's
documented error) and returns what `produce` needs; `produce` makes the body from its room's model.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ..callheaders import headers_of
from ..canned import CannedAnswer
from ..environments import environment_of
from ..maskinporten.authdetails import SYSTEMUSER, of_type
from ..maskinporten.tokens import InvalidToken, check_lifetime, orgnr_of
from ..netfaults import VALUES as NETWORK_FAULTS
from ..netfaults import FaultResponse, NetworkFault, parse
from ..representation import JSON, NotAcceptable, choose_media_type, render
from ..sandbox import sandbox_of
from ..services import Service
from ..skatteetaten_errors import CORRELATION_HEADER, ErrorCatalogue, SkeError, error_response
from ..state import StoreError
from ..tenants import SESSION_HEADER, SESSION_KEY, TenantError, checked_session, tenant
from ..wire import wire_of

log = logging.getLogger("ske_sandbox")

SCENARIO_HEADER = "Ske-Sandbox-Scenario"
_SCENARIO_KEY = SCENARIO_HEADER.lower().encode()
MAX_SLOW = 30.0
_SLOW = re.compile(r"slow:(?:([0-9]{1,4})ms|([12]?[0-9]|30)s)", re.ASCII)  # as the contracts' pattern


def header(request: Request, name: bytes) -> str | None:
    """A request header's first value (`name` in lower case), from the call's one dict (callheaders.py)."""
    value = headers_of(request.scope).get(name)
    return value.decode("latin-1") if value is not None else None


_RANDOM: list[str] = []  # hex digits of the next correlation ids: one read from the OS per 256 calls
os.register_at_fork(after_in_child=_RANDOM.clear)  # a worker never repeats its parent's ids


def correlation_id() -> str:
    """A random (version 4) UUID as text, as `str(uuid.uuid4())` gives, made with fewer steps: one per call."""
    if not _RANDOM:
        pool = os.urandom(4096).hex()
        _RANDOM.extend(pool[i:i + 32] for i in range(0, len(pool), 32))
    h = _RANDOM.pop()
    # version 4 in the 13th digit; the variant's two high bits 10 in the 17th (one of 8, 9, a, b)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


@dataclass(frozen=True)
class ApiSpec:
    name: str
    errors: ErrorCatalogue
    scopes: frozenset[str]
    xml_root: str
    xml_namespace: str
    forbidden: str = "forbidden"  # meaning used for a missing scope
    xml_items: Mapping[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def of(cls, service: Service, forbidden: str = "forbidden") -> ApiSpec:
        """The spec of a data API in the service registry."""
        if service.errors is None:
            raise ValueError(f"{service.name} is not a data API")
        return cls(service.name, service.errors, service.scopes, service.xml_root, service.xml_namespace, forbidden,
                   service.xml_items)


@dataclass(frozen=True)
class Caller:
    consumer: str  # orgnr the data is for (never the supplier)
    client_id: str
    scopes: frozenset[str]
    claims: dict[str, Any]


def authenticate(request: Request, api: ApiSpec) -> Caller:
    """The caller a bearer token makes for `api`, or the API's refusal. A token's caller is worked out once
    per API; its lifetime is checked on every call, on the sandbox's clock."""
    sandbox = sandbox_of(request)
    scheme, _, token = (header(request, b"authorization") or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise api.errors("unauthenticated", "Mangler Authorization: Bearer <Maskinporten-token>")
    issuer = environment_of(request).issuer
    key = (token, issuer, api.name)
    callers = sandbox.caches.callers
    caller: Caller | None = callers.get(key)
    try:
        if caller is not None:
            check_lifetime(caller.claims, sandbox.clock)
            return caller
        claims = sandbox.caches.verified_claims(token, issuer, sandbox.keys, sandbox.clock)
    except InvalidToken as exc:
        callers.pop(key)
        raise api.errors("unauthenticated", f"Ugyldig token: {exc}") from exc
    caller = _caller(claims, api)
    callers.put(key, caller)
    return caller


def _caller(claims: dict[str, Any], api: ApiSpec) -> Caller:
    scopes = frozenset(str(claims.get("scope", "")).split())
    if not scopes & api.scopes:
        raise api.errors(api.forbidden, f"Tokenet mangler scope {' eller '.join(sorted(api.scopes))}")
    consumer = orgnr_of(claims.get("consumer"))
    if consumer is None:
        raise api.errors("unauthenticated", "Tokenet mangler consumer-claim")
    if of_type(claims, SYSTEMUSER):
        # Skatteetaten lists the APIs that take system users (Krav og betalinger, innrapportering, trekkpålegg);
        # these are not among them, and their access follows the consumer's rettighetspakke and delegation.
        raise api.errors(api.forbidden, "Systembruker-token (authorization_details urn:altinn:systemuser) støttes "
                         "ikke av dette API-et; kunden må delegere tilgangen «På vegne av» i Altinn, og "
                         "leverandøren bruker consumer_org")
    return Caller(consumer, str(claims.get("client_id", "")), scopes, claims)


def _scenario(request: Request, api: ApiSpec) -> tuple[SkeError | None, float, NetworkFault | None]:
    """(error to answer, extra delay, network fault) from the Ske-Sandbox-Scenario header."""
    value = header(request, _SCENARIO_KEY)
    if value is None:  # the pytest kit's `scenario()` forces answers without the header
        value = sandbox_of(request).scenarios.get(api.name)
    if value is None:
        return None, 0.0, None
    value = value.strip()
    codes = {code: (status, melding) for code, status, melding in api.errors.table()}
    if value in codes:
        status, melding = codes[value]
        return SkeError(value, status, f"{melding} (scenario)"), 0.0, None
    slow = _SLOW.fullmatch(value)
    if slow:
        ms, s = slow.groups()
        return None, int(ms) / 1000 if ms is not None else float(s), None
    if value == "503":
        return api.errors("backend", "Tjenesten er midlertidig utilgjengelig (scenario)", status="503",
                          **{"Retry-After": "1"}), 0.0, None
    if value == "429":
        return too_many(api), 0.0, None
    fault = parse(value)
    if fault is not None:
        if fault.needs_wire and wire_of(request.scope) is None:
            raise api.errors("invalid", f"{SCENARIO_HEADER} {value!r} trenger en ekte forbindelse: ske-sandbox "
                             "serve, eller de ekte vertsnavnene i pytest-kittet")
        return None, 0.0, fault
    known = ", ".join(sorted(codes))
    raise api.errors("invalid", f"Ukjent {SCENARIO_HEADER} {value!r}; bruk en av {known}, "
                     f"slow:<n>ms (n < 10000) eller slow:<n>s (høyst {MAX_SLOW:.0f}), 503, 429, "
                     f"{NETWORK_FAULTS}")


def _drawn_fault(request: Request, tenant: str) -> NetworkFault | None:
    """The network fault `--network-fault-rate` draws for this call, if the server can act it out."""
    value = sandbox_of(request).faults.network(tenant)
    fault = parse(value) if value is not None else None
    if fault is None or (fault.needs_wire and wire_of(request.scope) is None):
        return None
    return fault


def _broken(request: Request, answer: Response, fault: NetworkFault | None, caller: Caller | None) -> Response:
    """`answer`, or with a network fault the same answer broken on its way out, journaled as forced."""
    if fault is None:
        return answer
    sandbox_of(request).journal.note(request, fault.value, caller, forced=True, by="network-fault")
    return FaultResponse(fault, answer)


def _tenant(request: Request, api: ApiSpec, caller: Caller) -> str:
    """The caller's tenant (tenants.py); a session header the sandbox cannot take is the API's 400."""
    session = header(request, SESSION_KEY)
    try:
        return tenant(checked_session(session) if session is not None else None, caller.consumer)
    except TenantError as exc:
        raise api.errors("invalid", f"Ugyldig {SESSION_HEADER}: {exc}") from exc


def unavailable(api: ApiSpec) -> SkeError:
    """The sandbox's shared state (serve --state) does not answer: the API's 503, never a guessed answer."""
    return api.errors("backend", "Tjenesten er midlertidig utilgjengelig (sandboxens delte tilstand svarer ikke)",
                      status="503", **{"Retry-After": "1"})


def too_many(api: ApiSpec) -> SkeError:
    return api.errors("unexpected", "For mange samtidige kall; Skatteetaten tillater 5 samtidige kall per "
                      "API per virksomhet", status="429", **{"Retry-After": "1"})


def answer_canned(request: Request, api: ApiSpec, canned: CannedAnswer, media: str, korrelasjonsid: str,
                  caller: Caller) -> Response:
    """Render a responder's answer as the API renders its own: same roots, error body and headers."""
    journal = sandbox_of(request).journal
    if canned.status >= 400:
        err = SkeError(str(canned.body.get("kode", "")), canned.status, str(canned.body.get("melding", "")),
                       dict(canned.headers))
        journal.note(request, err.kode, caller, forced=True, by="answer")
        return error_response(err, media, korrelasjonsid)
    journal.note(request, str(canned.status), caller, forced=True, by="answer")
    return render(canned.body, media, status=canned.status, xml_root=api.xml_root, xml_namespace=api.xml_namespace,
                  headers={**canned.headers, CORRELATION_HEADER: korrelasjonsid}, xml_items=api.xml_items)


Query = TypeVar("Query")
Body = bytes | dict[str, Any]  # a dict, or bytes already encoded in the media type (a cached answer)


async def serve(request: Request, api: ApiSpec, check: Callable[[Request, Caller], Query],
                produce: Callable[[Request, Query, str], Body]) -> Response:
    """Run one API call the way Skatteetaten's gateway does, and never answer a bare 500.

    `check` runs once, after authentication, scenarios and faults, and before a responder's canned
    answer, so a call the real API would refuse is refused with either."""
    sandbox = sandbox_of(request)
    korrelasjonsid = correlation_id()
    caller: Caller | None = None
    fault: NetworkFault | None = None
    forced_by: str | None = None  # set where the sandbox, not the call, chooses the answer
    slot = None
    try:
        media, acceptable = choose_media_type(header(request, b"accept")), True
    except NotAcceptable:
        media, acceptable = JSON, False
    try:
        caller = authenticate(request, api)
        if not acceptable:
            raise api.errors("not_acceptable", "Kun application/json og application/xml støttes")
        tenant_key = _tenant(request, api, caller)
        forced, slow, fault = _scenario(request, api)
        if fault is None and sandbox.faults.network_rate:
            fault = _drawn_fault(request, tenant_key)
        # a call is in flight for its whole duration, delays included
        slot = sandbox.faults.acquire(api.name, caller.consumer, request.scope.get("client"), tenant_key)
        if slot is None:
            raise too_many(api)
        delay = slow + sandbox.faults.delay(tenant_key)
        if delay:
            sandbox.journal.delayed(request, "scenario" if slow else "latency", delay)
            await asyncio.sleep(delay)
        if forced is not None:
            forced_by = "scenario"
            raise forced
        if sandbox.faults.roll(tenant_key):
            forced_by = "fault-rate"
            raise api.errors("backend", "Uventet feil i baksystem (tilfeldig feil, --fault-rate)")
        query = check(request, caller)
        if sandbox.responder is not None:
            canned = sandbox.responder(api.name, request)
            if canned is not None:
                return _broken(request, answer_canned(request, api, canned, media, korrelasjonsid, caller), fault,
                               caller)
        body = produce(request, query, media)
        sandbox.journal.note(request, "200", caller)
        return _broken(request, render(body, media, xml_root=api.xml_root, xml_namespace=api.xml_namespace,
                                       headers={CORRELATION_HEADER: korrelasjonsid}, xml_items=api.xml_items),
                       fault, caller)
    except SkeError as err:
        sandbox.journal.note(request, err.kode, caller, forced=forced_by is not None, by=forced_by)
        return _broken(request, error_response(err, media, korrelasjonsid), fault, caller)
    except StoreError as exc:
        log.error("%s: %s", api.name, exc)
        down = unavailable(api)
        sandbox.journal.note(request, down.kode, caller)
        return error_response(down, media, korrelasjonsid)
    except Exception:  # a sandbox bug must still answer in the API's own format
        log.exception("unexpected error in %s", api.name)
        return error_response(api.errors("unexpected"), media, korrelasjonsid)
    finally:
        if slot is not None:
            try:
                sandbox.faults.release(slot)
            except StoreError as exc:  # the slot runs out by itself in the store
                log.error("%s: slot not released: %s", api.name, exc)


class Endpoint:
    """One data-API route as a bare ASGI app. `serve` answers every error itself, in the API's own format,
    so a call needs none of Starlette's per-call request and exception wrapping (a Route wraps a plain
    function in both; an instance it calls as it is)."""

    def __init__(self, api: ApiSpec, check: Callable[[Request, Caller], Any],
                 produce: Callable[[Request, Any, str], Body]) -> None:
        self.api, self.check, self.produce = api, check, produce

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await serve(Request(scope, receive), self.api, self.check, self.produce)
        await response(scope, receive, send)


def unknown_url(api: ApiSpec) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        try:
            media = choose_media_type(request.headers.get("accept"))
        except NotAcceptable:
            media = JSON
        return error_response(api.errors("unknown_url", f"Ukjent URL: {request.url.path}"), media)

    return endpoint
