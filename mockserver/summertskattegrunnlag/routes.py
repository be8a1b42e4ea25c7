"""GET /summertskattegrunnlag/v2/{stadie}/{rettighetspakke}/{inntektsaar}/{personidentifikator}"""

from __future__ import annotations

from typing import NamedTuple

from starlette.requests import Request
from starlette.routing import Route

from ..dataapi import ApiSpec, Caller, Endpoint, check_person_number, check_rettighetspakke, unknown_url
from ..rettighetspakker import Pakke
from ..sandbox import population_of, sandbox_of
from ..services import SUMMERTSKATTEGRUNNLAG
from .errors import SSG
from .model import skattegrunnlag

STADIER = ("oppgjoer", "utkast", "fastsatt")
FIRST_YEAR = 2017  # V2 does not serve 2016 or earlier
# Skatteetaten's own text for a year it does not serve (yet), from recorded answers; consumers match on it.
YEAR_NOT_SUPPORTED = "Oppgitt inntektsår er ikke støttet."

API = ApiSpec.of(SUMMERTSKATTEGRUNNLAG)


class Query(NamedTuple):  # made on every call: a tuple is the cheapest record
    stadie: str
    year: int
    fnr: str
    pakke: Pakke


def check(request: Request, caller: Caller) -> Query:
    p = request.path_params
    stadie, aar, fnr = p["stadie"], p["inntektsaar"], p["personidentifikator"]
    if stadie not in STADIER:
        raise SSG("invalid", f"Ugyldig stadie {stadie!r}; gyldige verdier er {', '.join(STADIER)}")
    population = population_of(request)
    today = population.calendar.today
    if not (len(aar) == 4 and aar.isascii() and aar.isdigit()):
        raise SSG("invalid", f"Ugyldig inntektsår {aar!r}; oppgi fire siffer, for eksempel 2024")
    year = int(aar)
    # the current year, and the previous one until its code list is out in February, are not served
    if year < FIRST_YEAR or not population.choices.year_supported(year, today):
        raise SSG("invalid", YEAR_NOT_SUPPORTED)
    check_person_number(API, fnr)
    pakke = check_rettighetspakke(request, API, caller, p["rettighetspakke"], fnr)
    if stadie not in pakke.stadier:
        raise SSG("forbidden", f"Rettighetspakken {pakke.name} gir ikke tilgang til stadie {stadie}; "
                  f"tillatt: {', '.join(sorted(pakke.stadier))}")
    return Query(stadie, year, fnr, pakke)


def produce(request: Request, q: Query, media: str) -> bytes:
    population = population_of(request)
    # its answer, or its error, is the same on every call: cached
    return sandbox_of(request).caches.encoded(
        (API.name, q.pakke, q.stadie, q.fnr, q.year, media, population.calendar.today),
        lambda: skattegrunnlag(population, q.pakke, q.stadie, q.year, q.fnr), media,
        xml_root=API.xml_root, xml_namespace=API.xml_namespace)


routes = [
    Route("/v2/{stadie}/{rettighetspakke}/{inntektsaar}/{personidentifikator}", Endpoint(API, check, produce),
          methods=["GET"]),
    Route("/{rest:path}", unknown_url(API), methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]),
]
