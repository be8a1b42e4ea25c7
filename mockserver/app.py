"""The one application object: served by uvicorn, or called in-process (ASGI) from pytest."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route

from . import __version__
from .caching import Caches
from .clock import DataCalendar
from .dataapi import Faults, unknown_url
from .environments import RealHosts, sandbox_environment
from .inntekt import routes as inntekt
from .journal import Journal, Recorder
from .maskinporten import routes as maskinporten
from .maskinporten.grant import GrantValidator
from .maskinporten.keys import KeySet
from .maskinporten.registry import Registry, demo_client
from .maskinporten.tokens import TokenIssuer
from .population.world import Population
from .resources import contracts_dir
from .rettighetspakker import load_pakker
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
        self.registry = Registry.build(settings.seed, settings.clients_file)
        self.grants = GrantValidator(self.issuer, self.registry, self.clock)
        self.tokens = TokenIssuer(self.issuer, self.keys, self.clock)
        self.population = Population(
            settings.seed, settings.population, DataCalendar(settings.today or dt.date.today()),
            settings.personas_file,
        )
        self.pakker = load_pakker(settings.rettighetspakker_file)
        self.faults = Faults(settings.seed, settings.latency, settings.fault_rate, settings.enforce_concurrency)
        self.journal = Journal()
        self.caches = Caches()  # verified tokens and encoded bodies, bounded
        self.scenarios: dict[str, str] = {}  # api name -> forced scenario value (set by the pytest kit)

    def base_urls(self) -> dict[str, str]:
        base = self.settings.base_url.rstrip("/")
        return {name: f"{base}/{path}" for name, path in SERVICES.items()}

    def reset(self) -> None:
        """Forget per-process state: used jtis, the journal, forced scenarios, fault sequence, in-flight counts."""
        self.grants.jti.clear()
        self.journal.clear()
        self.caches.clear()
        self.scenarios.clear()
        self.faults.reset()


def _sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "version": __version__})


async def info(request: Request) -> Response:
    sb = _sandbox(request)
    return JSONResponse({
        "version": __version__,
        "seed": sb.settings.seed,
        "today": sb.population.calendar.today.isoformat(),
        "population": sb.population.size,
        "issuer": sb.issuer,
        "base_urls": sb.base_urls(),
    })


async def journal(request: Request) -> Response:
    return JSONResponse(_sandbox(request).journal.entries())


async def reset(request: Request) -> Response:
    _sandbox(request).reset()
    return JSONResponse({"reset": True})


async def demo(request: Request) -> Response:
    return JSONResponse(demo_client(_sandbox(request).settings.seed).as_dict())


SEARCH_SCAN_LIMIT = 20_000


def people(request: Request) -> Response:
    """A plain function: Starlette runs it in a thread, so a long search never blocks other calls."""
    sb = _sandbox(request)
    try:
        limit = max(1, min(500, int(request.query_params.get("limit", "50"))))
    except ValueError:
        return JSONResponse({"error": "limit must be a whole number"}, status_code=400)
    scenario = request.query_params.get("scenario")
    search = request.query_params.get("search")
    out = []
    for life in sb.population.people(scenario=scenario, search=search, scan=SEARCH_SCAN_LIMIT):
        out.append(sb.population.summary(life))
        if len(out) >= limit:
            break
    return JSONResponse(out)


async def contract(request: Request) -> Response:
    name = request.path_params["name"]
    available = {p.name: p for p in contracts_dir().iterdir() if p.suffix in (".yaml", ".md")}
    path = available.get(name)
    if path is None:
        return JSONResponse({"error": f"no contract {name[:80]!r}", "available": sorted(available)}, status_code=404)
    return FileResponse(path, media_type="application/yaml" if path.suffix == ".yaml" else "text/markdown")


async def home(request: Request) -> Response:
    sb = _sandbox(request)
    rows = "".join(
        f"<tr><td><code>{html.escape(p.fnr)}</code></td><td>{html.escape(p.scenario or '')}</td>"
        f"<td>{html.escape(p.story)}</td></tr>"
        for p in sb.population.personas.values()
    )
    urls = "".join(f"<li>{html.escape(k)}: <code>{html.escape(v)}</code></li>" for k, v in sb.base_urls().items())
    page = f"""<!doctype html><html lang="no"><head><meta charset="utf-8"><title>ske-sandbox</title></head>
<body><h1>ske-sandbox {__version__}</h1>
<p>Offline sandbox of Maskinporten, Summert skattegrunnlag v2 and Inntekt v1
(rettighetspakke <code>kommuneboligsosialeformaal</code>). Seed {sb.settings.seed},
data calendar {sb.population.calendar.today.isoformat()}.</p>
<h2>Base URLs</h2><ul>{urls}</ul>
<h2>Personas</h2><table><tr><th>fnr</th><th>scenario</th><th>story</th></tr>{rows}</table>
<p>Control API: <code>/__sandbox/info</code>, <code>/__sandbox/people</code>, <code>/__sandbox/demo-client</code>,
<code>/__sandbox/journal</code>, <code>/__sandbox/contracts/&lt;name&gt;.yaml</code>.</p></body></html>"""
    return HTMLResponse(page)


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
        Route("/", home),
        Mount("/maskinporten", routes=maskinporten.routes),
        Mount("/summertskattegrunnlag", routes=ssg.routes),
        Mount("/inntekt", routes=inntekt.routes),
        Mount("/sistetilgjengeligeskatteoppgjoer", routes=siste.routes),
        Route("/__sandbox/health", health),
        Route("/__sandbox/info", info),
        Route("/__sandbox/journal", journal),
        Route("/__sandbox/reset", reset, methods=["POST"]),
        Route("/__sandbox/demo-client", demo),
        Route("/__sandbox/people", people),
        Route("/__sandbox/contracts/{name}", contract),
    ], exception_handlers={404: not_found}, middleware=[Middleware(RealHosts), Middleware(Recorder)])
    app.state.sandbox = Sandbox(settings)
    return app
