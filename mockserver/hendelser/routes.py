"""GET {feed}/v1/hendelser?fraSekvensnummer=N&antall=M and GET {feed}/v1/hendelser/start?dato=YYYY-MM-DD,
through the same gateway as the data APIs (token, scope, Accept, scenarios, faults, journal)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..dataapi import ApiSpec, Caller, serve, unknown_url
from ..population.world import Population
from ..representation import JSON, NotAcceptable, choose_media_type
from ..sandbox import sandbox_of
from ..skatteetaten_errors import error_response
from .feed import MAX_ANTALL, MAX_SEKVENSNUMMER, Schedule, first_slot, page, sekvensnummer

_NUMBER = re.compile(r"[0-9]{1,19}", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]


@dataclass(frozen=True)
class PageQuery:
    fra: int
    antall: int


def _number(api: ApiSpec, request: Request, name: str, low: int, high: int) -> int:
    value = request.query_params.get(name)
    if value is None:
        raise api.errors("invalid", f"Mangler påkrevd parameter {name}")
    if not _NUMBER.fullmatch(value) or not low <= int(value) <= high:
        raise api.errors("invalid", f"Ugyldig {name} {value[:40]!r}; et heltall fra {low} til {high}")
    return int(value)


def feed_routes(api: ApiSpec, schedule_of: Callable[[Population], Schedule]) -> list[Route]:
    """The routes of one feed; `schedule_of` gives its schedule over a population."""

    def check_page(request: Request, caller: Caller) -> PageQuery:
        return PageQuery(_number(api, request, "fraSekvensnummer", 0, MAX_SEKVENSNUMMER),
                         _number(api, request, "antall", 1, MAX_ANTALL))

    def produce_page(request: Request, q: PageQuery, media: str) -> dict[str, Any]:
        population = sandbox_of(request).population
        return {"hendelser": page(schedule_of(population), q.fra, q.antall, population.calendar.today)}

    def check_start(request: Request, caller: Caller) -> dt.date | None:
        value = request.query_params.get("dato")
        if value is None:
            return None
        try:
            if not _DATE.fullmatch(value):
                raise ValueError(value)
            return dt.date.fromisoformat(value)
        except ValueError:
            raise api.errors("invalid", f"Ugyldig dato {value[:40]!r}; bruk formatet YYYY-MM-DD") from None

    def produce_start(request: Request, day: dt.date | None, media: str) -> dict[str, Any]:
        population = sandbox_of(request).population
        today = population.calendar.today
        if day is None:  # no date: where the feed begins
            return {"sekvensnummer": sekvensnummer(first_slot(1))}
        if day > today:
            raise api.errors("no_events", f"Ingen hendelser er registrert {day.isoformat()} eller senere ennå "
                             f"(dagens dato er {today.isoformat()})")
        return {"sekvensnummer": sekvensnummer(schedule_of(population).first_slot_on(day))}

    async def hendelser(request: Request) -> Response:
        return await serve(request, api, check_page, produce_page)

    async def start(request: Request) -> Response:
        return await serve(request, api, check_start, produce_start)

    other = [m for m in ALL_METHODS if m != "GET"]
    return [
        Route("/v1/hendelser", hendelser, methods=["GET"]),
        Route("/v1/hendelser/start", start, methods=["GET"]),
        Route("/v1/hendelser", wrong_method(api), methods=other),
        Route("/v1/hendelser/start", wrong_method(api), methods=other),
        Route("/{rest:path}", unknown_url(api), methods=ALL_METHODS),
    ]


def wrong_method(api: ApiSpec) -> Callable[[Request], Awaitable[Response]]:
    """405 with `Allow: GET` on the feeds' own paths (no FA code is about methods: FA-002 goes with it)."""
    async def endpoint(request: Request) -> Response:
        try:
            media = choose_media_type(request.headers.get("accept"))
        except NotAcceptable:
            media = JSON
        return error_response(api.errors("unknown_url", f"{request.method} støttes ikke for {request.url.path}; "
                                         "bruk GET", status="405", Allow="GET"), media)

    return endpoint
