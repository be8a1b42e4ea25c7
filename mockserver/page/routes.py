"""The onboarding page: server-rendered HTML over the same population and services clients use.

Every read-only view works without JavaScript; the little script in static/page.js only copies curl
commands and keeps the journal live.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from .. import __version__, guard
from ..bodylimit import MAX_BODY
from ..clock import EARLIEST_TODAY, LATEST_TODAY
from ..control.routes import OPENAPI
from ..maskinporten.registry import KOMMUNE_PAKKE
from ..resources import contracts_dir
from ..sandbox import population_of, sandbox_of
from . import calendar, journal_view, newperson
from .chart import kr
from .client import SandboxClient
from .inspector import inspect
from .labels import advice
from .people import Filters, SearchError, person_view, scenarios, search, valid_fnr
from .tryit import parse_choice, run_flow, scenario_choices

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["kr"] = kr
ACCEPTS = {"json": "application/json", "xml": "application/xml"}


def _render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    sandbox = sandbox_of(request)
    context.update(version=__version__, seed=sandbox.settings.seed, today=population_of(request).calendar.today,
                   pakke=KOMMUNE_PAKKE, nav=request.url.path)
    return templates.TemplateResponse(request, name, context, status_code=status)


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form, read no further than MAX_BODY bytes; anything else reads as empty, so the
    page answers with its own message, never a 500."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        return {}
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return {}
        chunks.append(chunk)
    pairs = parse_qsl(b"".join(chunks).decode("utf-8", errors="replace"), keep_blank_values=True)
    return dict(pairs[:20])


def home(request: Request) -> Response:
    """People search; a plain function, run in a thread, as a filtered search may walk the crowd."""
    population = population_of(request)
    error, results = "", []
    try:
        filters = Filters.parse(request.query_params)
        results = search(population, filters)
    except SearchError as exc:
        filters, error = Filters(), str(exc)
    return _render(request, "search.html", status=400 if error else 200, filters=filters, results=results,
                   error=error, scenarios=scenarios(population), size=population.size,
                   base_urls=sandbox_of(request).base_urls())


def person(request: Request) -> Response:
    fnr = request.path_params["fnr"]
    problem = valid_fnr(fnr)
    if problem:
        return _render(request, "notfound.html", status=400, title="Ugyldig fødselsnummer",
                       message=f"{fnr[:20]}: {problem}")
    view = person_view(sandbox_of(request), population_of(request), fnr, request.query_params.get("aar"))
    if view.life is None and view.persona is None:
        return _render(request, "notfound.html", status=404, title="Ingen person med dette nummeret",
                       message=f"{fnr} er et gyldig nummer, men ingen i sandkassen har det "
                               f"(tjenestene svarer SSG-007 / IM-007).")
    return _render(request, "person.html", view=view)


async def raw(request: Request) -> Response:
    """The service's own answer, fetched as a client would (demo client's token), one click from the page."""
    fnr, api = request.path_params["fnr"], request.path_params["api"]
    fmt = request.query_params.get("format", "json")
    if valid_fnr(fnr) or api not in ("summertskattegrunnlag", "inntekt", "siste") or fmt not in ACCEPTS:
        return _render(request, "notfound.html", status=400, title="Ugyldig forespørsel",
                       message="Bruk /person/<fnr>/raa/summertskattegrunnlag|inntekt|siste?format=json|xml")
    q = request.query_params
    if api == "summertskattegrunnlag":
        path = f"/summertskattegrunnlag/v2/oppgjoer/{KOMMUNE_PAKKE}/{q.get('aar', '')[:4]}/{fnr}"
    elif api == "inntekt":
        path = (f"/inntekt/v1/{KOMMUNE_PAKKE}/{fnr}/inntekter?fraOgMed={q.get('fraOgMed', '')[:7]}"
                f"&tilOgMed={q.get('tilOgMed', '')[:7]}")
    else:
        path = f"/sistetilgjengeligeskatteoppgjoer/v1/{fnr}"
    async with SandboxClient(request) as client:
        token = await client.access_token()
        ex = await client.call("raw", "GET", path, {"Authorization": f"Bearer {token}", "Accept": ACCEPTS[fmt]})
    return Response(ex.body, status_code=ex.status, media_type=ACCEPTS[fmt] + "; charset=utf-8")


async def tryit(request: Request) -> Response:
    population = population_of(request)
    personas = [p for p in population.personas.values() if p.exists]
    context: dict[str, Any] = {"groups": scenario_choices(), "personas": personas, "flow": None,
                               "fnr": request.query_params.get("fnr", personas[0].fnr if personas else ""),
                               "scenario": "", "format": "json", "error": ""}
    status = 200
    if request.method == "POST":
        form = await _form(request)
        fnr = form.get("fnr", "").strip()
        scenario_value = form.get("scenario", "")
        fmt = form.get("format", "json")
        context.update(fnr=fnr, scenario=scenario_value, format=fmt)
        chosen = parse_choice(scenario_value) if scenario_value else None
        if valid_fnr(fnr):
            context["error"], status = f"Ugyldig fødselsnummer {fnr[:20]!r}: {valid_fnr(fnr)}", 400
        elif scenario_value and chosen is None:
            context["error"], status = f"Ukjent scenario {scenario_value[:40]!r}", 400
        elif fmt not in ACCEPTS:
            context["error"], status = "Format må være json eller xml", 400
        else:
            context["flow"] = await run_flow(request, fnr, chosen, ACCEPTS[fmt])
    return _render(request, "tryit.html", status=status, **context)


async def token_page(request: Request) -> Response:
    result, text = None, ""
    if request.method == "POST":
        text = (await _form(request)).get("jwt", "")
        result = inspect(request, text)
    samples = {}
    async with SandboxClient(request) as client:
        issuer = await client.issuer()
        now = int(client.clock.now())
        samples = {
            "Gyldig grant": client.grant(issuer),
            "Grant med for lang levetid (MP-130)": client.grant(issuer, exp=now + 600),
            "Grant med feil aud (MP-110)": client.grant(issuer, aud="https://maskinporten.no/"),
            "Grant med ukjent scope (MP-200)": client.grant(issuer, scope="skatteetaten:formue"),
        }
    return _render(request, "token.html", status=400 if result and result.error else 200, result=result,
                   text=text[:20000], samples=samples, advice=advice)


def journal(request: Request) -> Response:
    entries = sandbox_of(request).journal.entries()
    q = request.query_params
    filters = {k: q.get(k, "").strip()[:40] for k in ("service", "status", "client")}
    rows = journal_view.rows(entries, **filters)
    template = "journal_rows.html" if q.get("del") == "rader" else "journal.html"
    return _render(request, template, rows=rows, filters=filters, total=len(entries),
                   services=journal_view.SERVICES, verdicts=journal_view.has_verdicts(entries))


def control_api(request: Request) -> Response:
    """The control API's own document, read as a table; the YAML stays the single description."""
    doc = yaml.safe_load(OPENAPI.read_text())
    operations = [(method.upper(), path, op.get("summary", "")) for path, ops in doc["paths"].items()
                  for method, op in ops.items()]
    contracts = sorted(p.name for p in contracts_dir().iterdir() if p.suffix in (".yaml", ".md"))
    return _render(request, "control.html", operations=operations, contracts=contracts,
                   header=doc["components"]["parameters"]["SkeSandboxScenario"])


async def journal_clear(request: Request) -> Response:
    sandbox_of(request).journal.clear()
    return RedirectResponse("/journal", status_code=303)


async def data_calendar(request: Request) -> Response:
    """The data calendar's date and what follows; a POST (guarded) moves it, then shows it again."""
    sandbox, error = sandbox_of(request), ""
    if request.method == "POST":
        error = calendar.move(sandbox, await _form(request))
        if not error:
            return RedirectResponse("/datakalender", status_code=303)
    return _render(request, "calendar.html", status=400 if error else 200, error=error,
                   facts=calendar.facts(sandbox), steps=calendar.STEPS, earliest=EARLIEST_TODAY,
                   latest=LATEST_TODAY)


async def new_person(request: Request) -> Response:
    """A form for a presenter; a POST (guarded) adds the person with a minted number and shows their page."""
    form: dict[str, str] = {}
    error = ""
    if request.method == "POST":
        form = await _form(request)
        fnr, error = newperson.add(sandbox_of(request), form)
        if fnr is not None:
            return RedirectResponse(f"/person/{fnr}", status_code=303)
    return _render(request, "newperson.html", status=422 if error else 200, error=error, form=form,
                   archetypes=newperson.archetypes())


SIGN_IN_TARGETS = ("/journal", "/token", "/prov", "/datakalender", "/ny-person")


async def sign_in(request: Request) -> Response:
    """The admin token for a browser: checked once, then an HttpOnly, SameSite=Strict cookie derived from it."""
    token = sandbox_of(request).settings.admin_token
    form = await _form(request) if request.method == "POST" else {}
    neste = form.get("neste") or request.query_params.get("neste", "")
    neste = neste if neste in SIGN_IN_TARGETS else SIGN_IN_TARGETS[0]  # never a redirect elsewhere
    if not token:
        return RedirectResponse(neste, status_code=303)
    if request.method == "POST":
        if hmac.compare_digest(form.get("token", "").encode(), token.encode()):
            answer = RedirectResponse(neste, status_code=303)
            answer.headers.append("set-cookie", guard.cookie_header(token, request.url.scheme == "https"))
            return answer
        return _render(request, "login.html", status=401, neste=neste, signed_in=False,
                       error="Feil adgangsnøkkel.")
    return _render(request, "login.html", neste=neste, error="",
                   signed_in=guard.has_token(request.scope, token))


async def sign_out(request: Request) -> Response:
    answer = RedirectResponse("/", status_code=303)
    answer.headers.append("set-cookie", guard.clear_cookie_header(request.url.scheme == "https"))
    return answer


routes = [
    Route("/", home),
    Route("/person/{fnr}", person),
    Route("/person/{fnr}/raa/{api}", raw),
    Route("/prov", tryit, methods=["GET", "POST"]),
    Route("/token", token_page, methods=["GET", "POST"]),
    Route("/journal", journal),
    Route("/journal/tom", journal_clear, methods=["POST"]),
    Route("/kontroll-api", control_api),
    Route("/datakalender", data_calendar, methods=["GET", "POST"]),
    Route("/ny-person", new_person, methods=["GET", "POST"]),
    Route(guard.LOGIN, sign_in, methods=["GET", "POST"]),
    Route(guard.LOGOUT, sign_out, methods=["POST"]),
    Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
]
