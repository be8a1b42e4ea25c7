"""The sandbox's own control API under /__sandbox/: JSON only, described by control/openapi.yaml.

Never part of a service contract; clients and CI use it to see who lives here, read or clear the journal,
add personas at runtime, read and move the data calendar, and fetch the contracts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from .. import __version__
from ..clock import CalendarError, DataCalendar
from ..disconnect import run_while_connected
from ..jsonbody import BodyError, read_json
from ..maskinporten.registry import demo_client
from ..population.personas import PersonaError, PersonaLimitError
from ..population.timeline import what_follows
from ..resources import contracts_dir
from ..sandbox import population_of, sandbox_of
from ..tenants import SESSION_HEADER, TenantError, parse_tenant, session_of, tenant

OPENAPI = Path(__file__).resolve().parent / "openapi.yaml"
MAX_CLOCK_BODY = 1024  # {"today": "YYYY-MM-DD"} or {"days": N}
SEARCH_SCAN_LIMIT = 20_000


def problem(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "version": __version__})


async def info(request: Request) -> Response:
    sb, population = sandbox_of(request), population_of(request)
    return JSONResponse({
        "version": __version__,
        "seed": sb.settings.seed,
        "today": population.calendar.today.isoformat(),
        "population": population.size,
        "issuer": sb.issuer,
        "base_urls": sb.base_urls(),
        "state": sb.store.url,
        "worker": os.getpid(),  # which process answered: workers share one socket (serve --workers)
    })


def tenant_asked(request: Request) -> str | None:
    """The tenant a control call reads or resets: its Ske-Sandbox-Session, else `?tenant=` (the admin's
    choice), else None (every tenant). TenantError for a header or value the sandbox cannot take."""
    session = session_of(request.scope)
    if session is not None:
        return tenant(session, None)
    named = request.query_params.get("tenant")
    return parse_tenant(named) if named is not None else None


def tenant_problem(exc: TenantError) -> JSONResponse:
    return problem(400, str(exc), header=SESSION_HEADER)


async def journal(request: Request) -> Response:
    """Verdicts for a full journal take a while: worked out in a thread, and given up if the caller leaves."""
    sb = sandbox_of(request)
    try:
        who = tenant_asked(request)
    except TenantError as exc:
        return tenant_problem(exc)
    if request.method == "DELETE":
        await anyio.to_thread.run_sync(sb.journal.clear, who)
        return JSONResponse({"cleared": True, "tenant": who})
    answer = await run_while_connected(request, lambda checkpoint: JSONResponse(sb.journal.entries(checkpoint,
                                                                                                   who)))
    return answer or Response(status_code=499)


async def tenants(request: Request) -> Response:
    """The tenants with a journal (admin only: each is a consumer org or a CI job's session)."""
    return JSONResponse({"tenants": sandbox_of(request).store.tenants()})


REPORT_FORMATS = {"json": "application/json", "junit": "application/xml; charset=utf-8",
                  "markdown": "text/markdown; charset=utf-8"}


async def report(request: Request) -> Response:
    """Conformance and coverage together (conformance/verdict.py), for a CI job that has only curl. The
    journal is bounded, and the work runs in a thread that gives up when the caller leaves."""
    fmt = request.query_params.get("format", "json")
    if fmt not in REPORT_FORMATS:
        return problem(400, f"format must be one of {', '.join(REPORT_FORMATS)}", formats=list(REPORT_FORMATS))
    sb = sandbox_of(request)
    try:
        who = tenant_asked(request)
    except TenantError as exc:
        return tenant_problem(exc)

    def build(checkpoint: Callable[[], None]) -> Response:
        from ..conformance import coverage, verdict

        entries = sb.journal.entries(checkpoint, who)
        cov = coverage.of_entries(entries, sb.requirements)
        if fmt == "json":
            return JSONResponse(verdict.as_json(entries, cov))
        body = verdict.as_junit(entries, cov) if fmt == "junit" else verdict.as_markdown(entries, cov)
        return Response(body, media_type=REPORT_FORMATS[fmt])

    return await run_while_connected(request, build) or Response(status_code=499)


async def reset(request: Request) -> Response:
    """One tenant's state (its session's, or `?tenant=`), or without either everything, the world too."""
    try:
        who = tenant_asked(request)
    except TenantError as exc:
        return tenant_problem(exc)
    await anyio.to_thread.run_sync(sandbox_of(request).reset, who)  # with workers it waits for their entries
    return JSONResponse({"reset": True, "tenant": who})


async def demo(request: Request) -> Response:
    return JSONResponse(demo_client(sandbox_of(request).settings.seed).as_dict())


async def people(request: Request) -> Response:
    """A long search runs in a thread, so it never blocks other calls, and stops if the caller leaves."""
    population = population_of(request)  # one date for the whole list, even if the calendar moves meanwhile
    try:
        limit = max(1, min(500, int(request.query_params.get("limit", "50"))))
    except ValueError:
        return problem(400, "limit must be a whole number")
    scenario = request.query_params.get("scenario")
    search = request.query_params.get("search")

    def listing(checkpoint: Callable[[], None]) -> Response:
        out = []
        for life in population.people(scenario=scenario, search=search, scan=SEARCH_SCAN_LIMIT,
                                      checkpoint=checkpoint):
            out.append(population.summary(life))
            if len(out) >= limit:
                break
        return JSONResponse(out)

    return await run_while_connected(request, listing) or Response(status_code=499)


async def add_persona(request: Request) -> Response:
    try:
        body = await read_json(request)  # 16 KiB and 32 levels: a persona is a few hundred bytes
    except BodyError as exc:
        return problem(exc.status, exc.message)
    if not isinstance(body, dict):
        return problem(422, "body must be a JSON object with the fields of a personas file entry")
    try:
        persona, replaced, minted = await anyio.to_thread.run_sync(sandbox_of(request).add_persona, body)
    except PersonaLimitError as exc:
        return problem(409, str(exc), limit=exc.limit)
    except PersonaError as exc:
        return problem(422, str(exc))
    return JSONResponse({"fnr": persona.fnr, "replaced": replaced, "minted": minted,
                         "person": f"/person/{persona.fnr}"}, status_code=201)


def _clock_facts(request: Request, calendar: DataCalendar) -> JSONResponse:
    sb = sandbox_of(request)
    return JSONResponse({**what_follows(calendar, sb.population.choices), "start": sb.start_today.isoformat()})


async def _clock_field(request: Request, name: str) -> Any:
    """The one field of a small JSON object body; ValueError(status, message) for anything else."""
    try:
        body = await read_json(request, limit=MAX_CLOCK_BODY)
    except BodyError as exc:
        raise ValueError(exc.status, exc.message) from exc
    if not isinstance(body, dict) or set(body) != {name}:
        example = '{"today": "2027-03-21"}' if name == "today" else '{"days": 7}'
        raise ValueError(422, f"body must be a JSON object with the one field {name!r}, e.g. {example}")
    return body[name]


async def clock(request: Request) -> Response:
    """GET: the data calendar's date and what follows from it; PUT {"today": "YYYY-MM-DD"}: set it."""
    if request.method == "GET":
        return _clock_facts(request, population_of(request).calendar)
    try:
        calendar = await anyio.to_thread.run_sync(sandbox_of(request).set_today,
                                                  await _clock_field(request, "today"))
    except CalendarError as exc:
        return problem(422, str(exc))
    except ValueError as exc:
        return problem(*exc.args)
    return _clock_facts(request, calendar)


async def advance_clock(request: Request) -> Response:
    """POST {"days": N}: move the data calendar N days (negative: back)."""
    try:
        calendar = await anyio.to_thread.run_sync(sandbox_of(request).advance_today,
                                                  await _clock_field(request, "days"))
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
    Route("/tenants", tenants),
    Route("/report", report),
    Route("/reset", reset, methods=["POST"]),
    Route("/demo-client", demo),
    Route("/people", people),
    Route("/personas", add_persona, methods=["POST"]),
    Route("/clock", clock, methods=["GET", "PUT"]),
    Route("/clock/advance", advance_clock, methods=["POST"]),
    Route("/contracts/{name}", contract),
    Route("/openapi.yaml", openapi),
]
