"""The sandbox's own control API under /__sandbox/: JSON only, described by control/openapi.yaml.

Never part of a service contract; clients and CI use it to see who lives here, read or clear the journal,
add personas at runtime, read and move the data calendar, and fetch the contracts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from .. import __version__
from ..clock import CalendarError, DataCalendar
from ..maskinporten.registry import demo_client
from ..population.personas import PersonaError, parse_persona
from ..population.timeline import what_follows
from ..resources import contracts_dir
from ..sandbox import population_of

OPENAPI = Path(__file__).resolve().parent / "openapi.yaml"
MAX_BODY = 16 * 1024  # a persona is a few hundred bytes
MAX_CLOCK_BODY = 1024  # {"today": "YYYY-MM-DD"} or {"days": N}
SEARCH_SCAN_LIMIT = 20_000


def _sandbox(request: Request):
    return request.app.state.sandbox


def problem(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


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


def journal(request: Request) -> Response:
    """A plain function (run in a thread): verdicts for a full journal take a while and must not stall calls."""
    sb = _sandbox(request)
    if request.method == "DELETE":
        sb.journal.clear()
        return JSONResponse({"cleared": True})
    return JSONResponse(sb.journal.entries())


async def reset(request: Request) -> Response:
    _sandbox(request).reset()
    return JSONResponse({"reset": True})


async def demo(request: Request) -> Response:
    return JSONResponse(demo_client(_sandbox(request).settings.seed).as_dict())


def people(request: Request) -> Response:
    """A plain function: Starlette runs it in a thread, so a long search never blocks other calls."""
    try:
        limit = max(1, min(500, int(request.query_params.get("limit", "50"))))
    except ValueError:
        return problem(400, "limit must be a whole number")
    scenario = request.query_params.get("scenario")
    search = request.query_params.get("search")
    out = []
    population = population_of(request)  # one date for the whole list, even if the calendar moves meanwhile
    for life in population.people(scenario=scenario, search=search, scan=SEARCH_SCAN_LIMIT):
        out.append(population.summary(life))
        if len(out) >= limit:
            break
    return JSONResponse(out)


async def _json_body(request: Request, limit: int = MAX_BODY) -> Any:
    """The JSON body, read no further than `limit` bytes so a huge upload costs nothing."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise ValueError(415, "Content-Type must be application/json")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ValueError(413, f"body larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ValueError(413, f"body larger than {limit} bytes")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(400, f"body is not valid UTF-8 JSON: {str(exc)[:120]}") from exc


async def add_persona(request: Request) -> Response:
    try:
        body = await _json_body(request)
    except ValueError as exc:
        status, message = exc.args
        return problem(status, message)
    if not isinstance(body, dict):
        return problem(422, "body must be a JSON object with the fields of a personas file entry")
    population = _sandbox(request).population
    try:
        persona = parse_persona(body, "persona")
        replaced = persona.fnr in population.personas
        population.add_persona(persona)
        _sandbox(request).caches.clear()  # cached answers were made from the people as they were
    except PersonaError as exc:
        return problem(422, str(exc))
    return JSONResponse({"fnr": persona.fnr, "replaced": replaced, "person": f"/person/{persona.fnr}"},
                        status_code=201)


def _clock_facts(request: Request, calendar: DataCalendar) -> JSONResponse:
    sb = _sandbox(request)
    return JSONResponse({**what_follows(calendar, sb.population.choices), "start": sb.start_today.isoformat()})


async def _clock_field(request: Request, name: str) -> Any:
    """The one field of a small JSON object body; ValueError(status, message) for anything else."""
    body = await _json_body(request, MAX_CLOCK_BODY)
    if not isinstance(body, dict) or set(body) != {name}:
        example = '{"today": "2027-03-21"}' if name == "today" else '{"days": 7}'
        raise ValueError(422, f"body must be a JSON object with the one field {name!r}, e.g. {example}")
    return body[name]


async def clock(request: Request) -> Response:
    """GET: the data calendar's date and what follows from it; PUT {"today": "YYYY-MM-DD"}: set it."""
    if request.method == "GET":
        return _clock_facts(request, _sandbox(request).population.calendar)
    try:
        calendar = _sandbox(request).set_today(await _clock_field(request, "today"))
    except CalendarError as exc:
        return problem(422, str(exc))
    except ValueError as exc:
        return problem(*exc.args)
    return _clock_facts(request, calendar)


async def advance_clock(request: Request) -> Response:
    """POST {"days": N}: move the data calendar N days (negative: back)."""
    try:
        calendar = _sandbox(request).advance_today(await _clock_field(request, "days"))
    except CalendarError as exc:
        return problem(422, str(exc))
    except ValueError as exc:
        return problem(*exc.args)
    return _clock_facts(request, calendar)


async def contract(request: Request) -> Response:
    name = request.path_params["name"]
    available = {p.name: p for p in contracts_dir().iterdir() if p.suffix in (".yaml", ".md")}
    path = available.get(name)
    if path is None:
        return problem(404, f"no contract {name[:80]!r}", available=sorted(available))
    return FileResponse(path, media_type="application/yaml" if path.suffix == ".yaml" else "text/markdown")


async def openapi(request: Request) -> Response:
    return FileResponse(OPENAPI, media_type="application/yaml")


routes = [
    Route("/health", health),
    Route("/info", info),
    Route("/journal", journal, methods=["GET", "DELETE"]),
    Route("/reset", reset, methods=["POST"]),
    Route("/demo-client", demo),
    Route("/people", people),
    Route("/personas", add_persona, methods=["POST"]),
    Route("/clock", clock, methods=["GET", "PUT"]),
    Route("/clock/advance", advance_clock, methods=["POST"]),
    Route("/contracts/{name}", contract),
    Route("/openapi.yaml", openapi),
]
