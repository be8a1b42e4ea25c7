"""What Skatteetaten's data-sharing APIs have in common, written once: the bearer-token check,
content negotiation, the error body, scenario overrides, latency, faults and the concurrency limit.

Each API (summertskattegrunnlag/, inntekt/, sistetilgjengeligeskatteoppgjoer/) describes itself with an
`ApiSpec` and hands `serve` a function that builds the body or raises its documented error.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .caching import person_number
from .canned import CannedAnswer
from .environments import environment_of
from .identifiers import InvalidIdentifier
from .maskinporten.tokens import InvalidToken, orgnr_of
from .representation import JSON, NotAcceptable, choose_media_type, render
from .services import Service
from .skatteetaten_errors import CORRELATION_HEADER, ErrorCatalogue, SkeError, error_response

log = logging.getLogger("ske_sandbox")

SCENARIO_HEADER = "Ske-Sandbox-Scenario"
MAX_SLOW = 30.0
_SLOW = re.compile(r"slow:(?:([0-9]{1,4})ms|([12]?[0-9]|30)s)", re.ASCII)  # as the contracts' pattern
CONCURRENCY_LIMIT = 5  # Skatteetaten: at most 5 concurrent calls per API per organisation


@dataclass(frozen=True)
class ApiSpec:
    name: str
    errors: ErrorCatalogue
    scopes: frozenset[str]
    xml_root: str
    xml_namespace: str
    forbidden: str = "forbidden"  # meaning used for a missing scope

    @classmethod
    def of(cls, service: Service, forbidden: str = "forbidden") -> ApiSpec:
        """The spec of a data API in the service registry."""
        if service.errors is None:
            raise ValueError(f"{service.name} is not a data API")
        return cls(service.name, service.errors, service.scopes, service.xml_root, service.xml_namespace, forbidden)


@dataclass(frozen=True)
class Caller:
    consumer: str  # orgnr the data is for (never the supplier)
    client_id: str
    scopes: frozenset[str]
    claims: dict[str, Any]


def parse_duration(text: str) -> float:
    """'250ms' or '2s' → seconds."""
    m = re.fullmatch(r"([0-9]{1,5})(ms|s)", text.strip(), re.ASCII)
    if not m:
        raise ValueError(f"expected a duration like 250ms or 2s, got {text!r}")
    value = int(m.group(1))
    return value / 1000 if m.group(2) == "ms" else float(value)


def parse_latency(text: str) -> tuple[float, float]:
    """'50ms..400ms' or '100ms' → (low, high) seconds."""
    low, _, high = text.partition("..")
    lo = parse_duration(low)
    hi = parse_duration(high) if high else lo
    if hi < lo:
        raise ValueError(f"latency range {text!r} runs backwards")
    return lo, hi


SERVICE_TIME = 0.1  # seconds: a call holds its concurrency slot at least this long (see contracts/README.md)


@dataclass
class Slot:
    """One call's claim on its consumer org's concurrency budget for one API."""

    key: tuple[str, str]
    connection: Any
    started: float
    until: float = math.inf  # while the call runs


@dataclass
class Faults:
    """Server-wide realism: latency, a seeded error rate, and the 5-concurrent-calls limit.

    The limit counts calls the way the gateway sees them: a call holds its slot while it runs and, after
    the sandbox's quick answer, until `service_time` has passed since it began, as it would behind the real
    service. A connection's next call frees its previous slot at once: an HTTP/1.1 connection carries one
    call at a time, so a client calling in series never counts twice.
    """

    seed: int = 1
    latency: tuple[float, float] | None = None
    fault_rate: float = 0.0
    enforce_concurrency: bool = False
    service_time: float = SERVICE_TIME
    now: Callable[[], float] = time.monotonic
    _rng: random.Random = field(init=False)
    _slots: dict[tuple[str, str], list[Slot]] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("fault rate must be between 0 and 1")
        self.reset()

    def reset(self) -> None:
        self._rng = random.Random(f"{self.seed}:faults")
        with self._lock:
            self._slots.clear()

    def delay(self) -> float:
        if self.latency is None:
            return 0.0
        with self._lock:
            return self._rng.uniform(*self.latency)

    def roll(self) -> bool:
        if self.fault_rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < self.fault_rate

    def acquire(self, api: str, org: str, connection: Any = None) -> Slot | None:
        """A slot for one call, or None when `org` already has 5 calls to `api` in flight."""
        slot = Slot((api, org), connection, self.now())
        if not self.enforce_concurrency:
            return slot
        with self._lock:
            held = [s for s in self._slots.get(slot.key, ()) if s.until > slot.started
                    and not (connection is not None and s.connection == connection and s.until != math.inf)]
            self._slots[slot.key] = held
            if len(held) >= CONCURRENCY_LIMIT:
                return None
            held.append(slot)
            return slot

    def release(self, slot: Slot) -> None:
        with self._lock:
            slot.until = max(self.now(), slot.started + self.service_time)


def authenticate(request: Request, api: ApiSpec) -> Caller:
    sandbox = request.app.state.sandbox
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise api.errors("unauthenticated", "Mangler Authorization: Bearer <Maskinporten-token>")
    try:
        claims = sandbox.caches.verified_claims(token.strip(), environment_of(request).issuer, sandbox.keys,
                                                sandbox.clock)
    except InvalidToken as exc:
        raise api.errors("unauthenticated", f"Ugyldig token: {exc}") from exc
    scopes = frozenset(str(claims.get("scope", "")).split())
    if not scopes & api.scopes:
        raise api.errors(api.forbidden, f"Tokenet mangler scope {' eller '.join(sorted(api.scopes))}")
    consumer = orgnr_of(claims.get("consumer"))
    if consumer is None:
        raise api.errors("unauthenticated", "Tokenet mangler consumer-claim")
    return Caller(consumer, str(claims.get("client_id", "")), scopes, claims)


def _scenario(request: Request, api: ApiSpec) -> tuple[SkeError | None, float]:
    """(error to answer, extra delay) from the Ske-Sandbox-Scenario header."""
    value = request.headers.get(SCENARIO_HEADER)
    if value is None:  # the pytest kit's `scenario()` forces answers without the header
        value = request.app.state.sandbox.scenarios.get(api.name)
    if value is None:
        return None, 0.0
    value = value.strip()
    codes = {code: (status, melding) for code, status, melding in api.errors.table()}
    if value in codes:
        status, melding = codes[value]
        return SkeError(value, status, f"{melding} (scenario)"), 0.0
    slow = _SLOW.fullmatch(value)
    if slow:
        ms, s = slow.groups()
        return None, int(ms) / 1000 if ms is not None else float(s)
    if value == "503":
        return api.errors("backend", "Tjenesten er midlertidig utilgjengelig (scenario)", status="503",
                          **{"Retry-After": "1"}), 0.0
    if value == "429":
        return too_many(api), 0.0
    known = ", ".join(sorted(codes))
    raise api.errors("invalid", f"Ukjent {SCENARIO_HEADER} {value!r}; bruk en av {known}, "
                     f"slow:<n>ms (n < 10000) eller slow:<n>s (høyst {MAX_SLOW:.0f}), 503 eller 429")


def too_many(api: ApiSpec) -> SkeError:
    return api.errors("unexpected", "For mange samtidige kall; Skatteetaten tillater 5 samtidige kall per "
                      "API per virksomhet", status="429", **{"Retry-After": "1"})


def answer_canned(request: Request, api: ApiSpec, canned: CannedAnswer, media: str, korrelasjonsid: str,
                  caller: Caller) -> Response:
    """Render a responder's answer as the API renders its own: same roots, error body and headers."""
    journal = request.app.state.sandbox.journal
    if canned.status >= 400:
        err = SkeError(str(canned.body.get("kode", "")), canned.status, str(canned.body.get("melding", "")),
                       dict(canned.headers))
        journal.note(request, api.name, err.kode, caller)
        return error_response(err, media, korrelasjonsid)
    journal.note(request, api.name, str(canned.status), caller)
    return render(canned.body, media, status=canned.status, xml_root=api.xml_root, xml_namespace=api.xml_namespace,
                  headers={**canned.headers, CORRELATION_HEADER: korrelasjonsid})


async def serve(request: Request, api: ApiSpec, produce: Callable[[Caller, str], dict[str, Any]],
                check: Callable[[Caller], Any] | None = None) -> Response:
    """Run one API call the way Skatteetaten's gateway does, and never answer a bare 500.

    `check` is the API's input validation (also run by `produce`): it runs before a responder's
    canned answer, so a call the real API would refuse is refused here too."""
    sandbox = request.app.state.sandbox
    korrelasjonsid = str(uuid.uuid4())
    caller: Caller | None = None
    slot = None
    try:
        media, acceptable = choose_media_type(request.headers.get("accept")), True
    except NotAcceptable:
        media, acceptable = JSON, False
    try:
        caller = authenticate(request, api)
        if not acceptable:
            raise api.errors("not_acceptable", "Kun application/json og application/xml støttes")
        forced, slow = _scenario(request, api)
        # a call is in flight for its whole duration, delays included
        slot = sandbox.faults.acquire(api.name, caller.consumer, request.scope.get("client"))
        if slot is None:
            raise too_many(api)
        delay = slow + sandbox.faults.delay()
        if delay:
            await asyncio.sleep(delay)
        if forced is not None:
            raise forced
        if sandbox.faults.roll():
            raise api.errors("backend", "Uventet feil i baksystem (tilfeldig feil, --fault-rate)")
        if sandbox.responder is not None:
            if check is not None:
                check(caller)
            canned = sandbox.responder(api.name, request)
            if canned is not None:
                return answer_canned(request, api, canned, media, korrelasjonsid, caller)
        body = produce(caller, media)
        sandbox.journal.note(request, api.name, "200", caller)
        return render(body, media, xml_root=api.xml_root, xml_namespace=api.xml_namespace,
                      headers={CORRELATION_HEADER: korrelasjonsid})
    except SkeError as err:
        sandbox.journal.note(request, api.name, err.kode, caller)
        return error_response(err, media, korrelasjonsid)
    except Exception:  # a sandbox bug must still answer in the API's own format
        log.exception("unexpected error in %s", api.name)
        return error_response(api.errors("unexpected"), media, korrelasjonsid)
    finally:
        if slot is not None:
            sandbox.faults.release(slot)


def unknown_url(api: ApiSpec) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        try:
            media = choose_media_type(request.headers.get("accept"))
        except NotAcceptable:
            media = JSON
        return error_response(api.errors("unknown_url", f"Ukjent URL: {request.url.path}"), media)

    return endpoint


def check_person_number(api: ApiSpec, value: str) -> None:
    try:
        person_number(value)
    except InvalidIdentifier as exc:
        raise api.errors("invalid", f"Ugyldig personidentifikator {value!r}: {exc}") from exc


def check_rettighetspakke(request: Request, api: ApiSpec, caller: Caller, name: str):
    """The package must be published for this API, be granted to the consumer org, and carry consent where
    it needs it."""
    sandbox = request.app.state.sandbox
    if not re.fullmatch(r"[A-Za-z]{2,60}", name):
        raise api.errors("invalid", f"Ugyldig rettighetspakke {name!r}: 2–60 bokstaver")
    pakke = sandbox.pakker.get(name.lower())
    if pakke is None or api.name not in pakke.apis:
        # only names nobody publishes for this API are unknown; a published one not held is 403 below
        raise api.errors("unknown_url", f"Ukjent rettighetspakke {name!r}")
    if not sandbox.registry.granted(caller.consumer, pakke.name):
        raise api.errors("forbidden", f"Virksomheten {caller.consumer} har ikke tilgang til rettighetspakken "
                         f"{pakke.name}")
    if pakke.samtykke and not request.headers.get("altinnsamtykke"):
        raise api.errors("consent", f"Rettighetspakken {pakke.name} krever samtykke fra personen")
    return pakke
