"""The one application object: served by uvicorn, or called in-process (ASGI) from pytest."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount

from .caching import Caches
from .canned import Responder
from .choices import load_choices
from .clock import DataCalendar
from .control import routes as control
from .dataapi import Faults, unknown_url
from .environments import RealHosts, sandbox_environment
from .guard import Guard
from .hardening import BodyLimit
from .inntekt import routes as inntekt
from .journal import Journal, Recorder
from .maskinporten import routes as maskinporten
from .maskinporten.grant import GrantValidator
from .maskinporten.keys import KeySet
from .maskinporten.registry import Registry
from .maskinporten.tokens import TokenIssuer
from .page import routes as page
from .population.world import Population
from .rettighetspakker import load_pakker
from .securityheaders import SecurityHeaders
from .settings import Settings
from .sistetilgjengeligeskatteoppgjoer import routes as siste
from .summertskattegrunnlag import routes as ssg

SERVICES = {
    "maskinporten": "maskinporten/",
    "summertskattegrunnlag": "summertskattegrunnlag/v2",
    "inntekt": "inntekt/v1",
    "sistetilgjengeligeskatteoppgjoer": "sistetilgjengeligeskatteoppgjoer/v1",
}


class Sandbox:
    """All state of one sandbox instance; reachable from handlers as request.app.state.sandbox."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock = settings.clock
        self.own = sandbox_environment(settings.base_url)
        self.issuer = self.own.issuer
        self.keys = KeySet.from_seed(settings.seed, rotate=settings.rotate_keys, key_file=settings.key_file)
        self.pakker = load_pakker(settings.rettighetspakker_file)
        self.registry = Registry.build(settings.seed, settings.clients_file, frozenset(self.pakker))
        self.grants = GrantValidator(self.issuer, self.registry, self.clock)
        self.tokens = TokenIssuer(self.issuer, self.keys, self.clock)
        self.population = Population(
            settings.seed, settings.population, DataCalendar(settings.today or dt.date.today()),
            settings.personas_file, load_choices(settings.choices_file),
        )
        self.faults = Faults(settings.seed, settings.latency, settings.fault_rate, settings.enforce_concurrency)
        self.journal = Journal()
        self.caches = Caches()  # verified tokens and encoded bodies, bounded
        self.scenarios: dict[str, str] = {}  # api name -> forced scenario value (set by the pytest kit)
        # (api name, request) -> CannedAnswer | None: answers instead of the personas (see canned.py)
        self.responder: Responder | None = None

    def base_urls(self) -> dict[str, str]:
        base = self.settings.base_url.rstrip("/")
        return {name: f"{base}/{path}" for name, path in SERVICES.items()}

    def reset(self) -> None:
        """Forget per-process state: used jtis, the journal, forced scenarios, fault sequence, in-flight counts
        and runtime personas."""
        self.grants.jti.clear()
        self.journal.clear()
        self.caches.clear()
        self.scenarios.clear()
        self.faults.reset()
        self.population.forget_runtime_personas()


def _sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


UNKNOWN_URL_BY_PREFIX = {
    "/summertskattegrunnlag": ssg.API,
    "/inntekt": inntekt.API,
    "/sistetilgjengeligeskatteoppgjoer": siste.API,
}


async def not_found(request: Request, exc: Exception) -> Response:
    """Paths no route matches (even odd bytes such as an encoded newline) get the API's own 404 code."""
    for prefix, api in UNKNOWN_URL_BY_PREFIX.items():
        if request.url.path == prefix or request.url.path.startswith(prefix + "/"):
            return await unknown_url(api)(request)
    return JSONResponse({"error": "not_found", "path": request.url.path}, status_code=404)


def create_app(settings: Settings | None = None, **overrides: Any) -> Starlette:
    """Build the sandbox app. `overrides` are Settings fields, e.g. create_app(seed=7, population=100)."""
    settings = settings or Settings(**overrides)
    app = Starlette(routes=[
        *page.routes,
        Mount("/maskinporten", routes=maskinporten.routes),
        Mount("/summertskattegrunnlag", routes=ssg.routes),
        Mount("/inntekt", routes=inntekt.routes),
        Mount("/sistetilgjengeligeskatteoppgjoer", routes=siste.routes),
        Mount("/__sandbox", routes=control.routes),
    ], exception_handlers={404: not_found}, middleware=[
        # the guard after RealHosts, so it judges the path a real host name is routed to
        Middleware(SecurityHeaders), Middleware(RealHosts), Middleware(Guard), Middleware(Recorder),
        Middleware(BodyLimit)])
    app.state.sandbox = Sandbox(settings)
    return app
