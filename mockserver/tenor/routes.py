"""GET /tenor/api/testnorge/v2/soek/{kilde}?kql=…&antall=…&side=…&seed=…&vis=…&skjul=…

The answer is Tenor's envelope (`treff`, `rader`, `offset`, `nesteSide`, `seed`, `dokumentListe`,
`fasetter`); each document carries the sandbox's `_links` to the person's answers from the data APIs. No
token is required (docs/tenor.md says why); a refused query is 400 with a Spring Boot style error body.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..disconnect import run_while_connected
from ..environments import environment_of
from ..maskinporten.registry import KOMMUNE_PAKKE
from ..months import add_months
from ..population.world import Population
from ..sandbox import population_of, sandbox_of
from ..services import INNTEKT, SISTETILGJENGELIGESKATTEOPPGJOER, SUMMERTSKATTEGRUNNLAG, TENOR, Service
from . import kql
from .search import Person, SearchError, document, paths, project, run

KILDER = ("freg",)  # Tenor's other sources (brreg-er-fr, inntekt, …) are not modelled
DEFAULT_ANTALL, MAX_ANTALL = 10, 100
MAX_SIDE = 100_000
MAX_SEED = 2**31 - 1
# what nokkelinformasjon=true shows besides the id
KEY_FIELDS = ("id", "visningnavn", "fornavn", "etternavn", "foedselsdato", "kjoenn", "personstatus")
REASONS = {400: "Bad Request", 404: "Not Found"}


def error(request: Request, status: int, message: str) -> JSONResponse:
    """Spring Boot's error attributes, with the message (which Spring hides by default) kept for clients."""
    moment = dt.datetime.fromtimestamp(sandbox_of(request).clock.now(), dt.UTC)
    return JSONResponse({"timestamp": moment.isoformat(timespec="milliseconds"), "status": status,
                         "error": REASONS[status], "message": message,
                         "path": request.url.path.removeprefix(TENOR.prefix) or "/"}, status_code=status)


class BadParameter(ValueError):
    pass


def _number(request: Request, name: str, default: int, low: int, high: int) -> int:
    values = request.query_params.getlist(name)
    if not values:
        return default
    text = values[-1].strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12 or not low <= int(text) <= high:
        raise BadParameter(f"Parameteren {name} må være et heltall fra {low} til {high}, ikke {values[-1]!r}")
    return int(text)


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false").strip().lower()
    if value not in ("true", "false", ""):
        raise BadParameter(f"Parameteren {name} må være true eller false, ikke {value!r}")
    return value == "true"


def _url(request: Request, service: Service) -> str:
    """The service's base URL as this request's environment names it: the real test hosts when Tenor was
    called by its real name, else the sandbox's own address."""
    env = environment_of(request)
    if service.name in env.hosts:
        return env.base_url(service.name)
    return service.sandbox_url(sandbox_of(request).settings.base_url)


def links(request: Request, person: Person) -> dict[str, Any]:
    """Where the person's answers are: the latest oppgjør, each settled year, the last twelve months of income,
    and the sandbox page about them."""
    fnr, population = person.life.fnr, person.population
    last = population.calendar.last_available_month()
    first = add_months(last, -11)
    ssg = _url(request, SUMMERTSKATTEGRUNNLAG)
    inntekt = _url(request, INNTEKT)
    return {
        "sistetilgjengeligeskatteoppgjoer": {"href": f"{_url(request, SISTETILGJENGELIGESKATTEOPPGJOER)}/{fnr}"},
        "summertskattegrunnlag": [{"inntektsaar": year, "href": f"{ssg}/oppgjoer/{KOMMUNE_PAKKE}/{year}/{fnr}"}
                                  for year in person.settled_years],
        "inntekt": {"href": f"{inntekt}/{KOMMUNE_PAKKE}/{fnr}/inntekter?fraOgMed={first[0]:04d}-{first[1]:02d}"
                            f"&tilOgMed={last[0]:04d}-{last[1]:02d}"},
        "person": {"href": f"{sandbox_of(request).settings.base_url.rstrip('/')}/person/{fnr}"},
    }


def answer(request: Request, population: Population, checkpoint: Callable[[], None]) -> dict[str, Any]:
    """The envelope for this request, or BadParameter / KqlError / SearchError; `checkpoint` raises once the
    caller has gone."""
    antall = _number(request, "antall", DEFAULT_ANTALL, 1, MAX_ANTALL)
    side = _number(request, "side", 0, 0, MAX_SIDE)
    seed = _number(request, "seed", 0, 0, MAX_SEED)
    key_info = _flag(request, "nokkelinformasjon")
    shown = paths(request.query_params.getlist("vis"))
    hidden = paths(request.query_params.getlist("skjul"))
    if not shown:
        shown = [["tenorMetadata", "id"]]
    if key_info:
        shown += [[name] for name in KEY_FIELDS]
    text = request.query_params.get("kql", "")
    query = kql.parse(text)
    # the hits of a query, remembered for paging: the next page is a slice, not another scan of everyone (a
    # refused query raises before anything is remembered)
    key = ("tenor", population.calendar.today, seed, text)
    found: tuple[str, ...] | None = sandbox_of(request).caches.searches.get(key)
    if found is None:
        found = tuple(person.life.fnr for person in run(population, query, seed, checkpoint))
        sandbox_of(request).caches.searches.put(key, found)
    offset = side * antall
    page = [Person(life, population) for fnr in found[offset:offset + antall]
            for life in (population.lookup(fnr),) if life is not None]
    with_relations = any(p[0] in ("*", "tenorRelasjoner") for p in shown)
    rows = []
    for person in page:
        row = project(document(person, with_relations), shown, hidden)
        row["_links"] = links(request, person)
        rows.append(row)
    body: dict[str, Any] = {"treff": len(found), "rader": len(rows), "offset": offset}
    if offset + len(rows) < len(found):
        body["nesteSide"] = side + 1
    body.update({"seed": seed, "dokumentListe": rows, "fasetter": {}})
    return body


async def soek(request: Request) -> Response:
    kilde = request.path_params["kilde"]
    if kilde not in KILDER:
        return error(request, 404, f"Fant ikke kilden {kilde!r}; sandkassen søker i {', '.join(KILDER)}")
    population = population_of(request)

    def work(checkpoint: Callable[[], None]) -> dict[str, Any] | ValueError:
        try:
            return answer(request, population, checkpoint)
        except (BadParameter, kql.KqlError, SearchError) as exc:  # returned: the task group would wrap it
            return exc

    # in a worker thread, a few searches at a time, given up when the caller leaves (a scan takes a second)
    body = await run_while_connected(request, work)
    if isinstance(body, ValueError):
        return error(request, 400, str(body))
    return JSONResponse(body) if body is not None else Response(status_code=499)  # nobody reads it


async def unknown(request: Request) -> Response:
    return error(request, 404, f"Fant ikke {request.url.path.removeprefix(TENOR.prefix)}; søket er "
                               f"GET {TENOR.base_path}/soek/freg?kql=…")


routes = [
    Route(TENOR.base_path + "/soek/{kilde}", soek, methods=["GET"]),
    Route("/{rest:path}", unknown, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]),
]
