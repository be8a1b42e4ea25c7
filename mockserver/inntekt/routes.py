"""GET /inntekt/v1/{rettighetspakke}/{personidentifikator}/inntekter?fraOgMed=YYYY-MM&tilOgMed=YYYY-MM"""

from __future__ import annotations

import re
from typing import NamedTuple

from starlette.requests import Request
from starlette.routing import Route

from ..dataapi import ApiSpec, Caller, Endpoint, check_person_number, check_rettighetspakke, unknown_url
from ..months import Month, months_between
from ..rettighetspakker import Pakke
from ..sandbox import population_of, sandbox_of
from ..services import INNTEKT
from .errors import IM
from .model import inntekter

MAX_SPAN_MONTHS = 12
FIRST_PERIOD = (2015, 1)  # a-ordningen began in January 2015
_PERIOD = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])", re.ASCII)
LAST_YEAR = 2999

API = ApiSpec.of(INNTEKT)


def parse_period(name: str, value: str | None) -> tuple[int, int]:
    if value is None:
        raise IM("invalid", f"Mangler påkrevd parameter {name} (YYYY-MM)")
    m = _PERIOD.fullmatch(value)
    if not m:
        raise IM("invalid", f"Ugyldig {name} {value!r}; bruk formatet YYYY-MM, for eksempel 2026-01")
    period = (int(m.group(1)), int(m.group(2)))
    if period < FIRST_PERIOD:
        raise IM("invalid", f"{name} {value} er før a-ordningen startet (2015-01)")
    if period[0] > LAST_YEAR:
        raise IM("invalid", f"{name} {value} ligger for langt fram i tid")
    return period


class Query(NamedTuple):  # made on every call: a tuple is the cheapest record
    months: list[Month]
    fnr: str
    pakke: Pakke


def check(request: Request, caller: Caller) -> Query:
    p, q = request.path_params, request.query_params
    fra = parse_period("fraOgMed", q.get("fraOgMed"))
    til = parse_period("tilOgMed", q.get("tilOgMed")) if "tilOgMed" in q else fra
    if til < fra:
        raise IM("invalid", f"tilOgMed ({q.get('tilOgMed')}) er før fraOgMed ({q.get('fraOgMed')})")
    months = months_between(fra, til)
    if len(months) > MAX_SPAN_MONTHS:
        raise IM("invalid", f"Perioden er {len(months)} måneder; høyst {MAX_SPAN_MONTHS} måneder per kall")
    fnr = p["personidentifikator"]
    check_person_number(API, fnr)
    return Query(months, fnr, check_rettighetspakke(request, API, caller, p["rettighetspakke"], fnr))


def produce(request: Request, q: Query, media: str) -> bytes:
    population = population_of(request)
    available = tuple(month for month in q.months if population.month_available(month))
    # its answer, or its error, is the same on every call: cached
    return sandbox_of(request).caches.encoded(
        (API.name, q.pakke, q.fnr, available, media, population.calendar.today),
        lambda: inntekter(population, q.pakke, q.fnr, available), media,
        xml_root=API.xml_root, xml_namespace=API.xml_namespace)


routes = [
    Route("/v1/{rettighetspakke}/{personidentifikator}/inntekter", Endpoint(API, check, produce), methods=["GET"]),
    Route("/{rest:path}", unknown_url(API), methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]),
]
