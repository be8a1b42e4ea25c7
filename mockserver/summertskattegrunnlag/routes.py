"""GET /summertskattegrunnlag/v2/{stadie}/{rettighetspakke}/{inntektsaar}/{personidentifikator}"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..dataapi import ApiSpec, Caller, check_person_number, check_rettighetspakke, serve, unknown_url
from ..services import SUMMERTSKATTEGRUNNLAG
from .errors import SSG
from .model import skjerm, skjerm_helt

STADIER = ("oppgjoer", "utkast", "fastsatt")
FIRST_YEAR = 2017  # V2 does not serve 2016 or earlier
# Skatteetaten's own text for a year it does not serve (yet), from recorded answers; consumers match on it.
YEAR_NOT_SUPPORTED = "Oppgitt inntektsår er ikke støttet."
LISTS = ("grunnlag", "svalbardGrunnlag", "kildeskattPaaLoennGrunnlag")

API = ApiSpec.of(SUMMERTSKATTEGRUNNLAG)


async def hent(request: Request) -> Response:
    p = request.path_params

    def check(caller: Caller):
        stadie, aar, fnr = p["stadie"], p["inntektsaar"], p["personidentifikator"]
        if stadie not in STADIER:
            raise SSG("invalid", f"Ugyldig stadie {stadie!r}; gyldige verdier er {', '.join(STADIER)}")
        population = request.app.state.sandbox.population
        today = population.calendar.today
        if not (len(aar) == 4 and aar.isascii() and aar.isdigit()):
            raise SSG("invalid", f"Ugyldig inntektsår {aar!r}; oppgi fire siffer, for eksempel 2024")
        year = int(aar)
        # the current year, and the previous one until its code list is out in February, are not served
        if year < FIRST_YEAR or not population.choices.year_supported(year, today):
            raise SSG("invalid", YEAR_NOT_SUPPORTED)
        check_person_number(API, fnr)
        pakke = check_rettighetspakke(request, API, caller, p["rettighetspakke"])
        if stadie not in pakke.stadier:
            raise SSG("forbidden", f"Rettighetspakken {pakke.name} gir ikke tilgang til stadie {stadie}; "
                      f"tillatt: {', '.join(sorted(pakke.stadier))}")
        return pakke

    def produce(caller: Caller, media: str) -> bytes:
        pakke = check(caller)
        stadie, year, fnr = p["stadie"], int(p["inntektsaar"]), p["personidentifikator"]
        population = request.app.state.sandbox.population

        def build() -> dict[str, Any]:  # its answer, or its error, is the same on every call: cached
            life = population.lookup(fnr)
            if life is None:
                raise SSG("unknown_person")
            if year in life.deleted:
                raise SSG("gone")
            if not population.has_document(life, year, stadie):
                raise SSG("no_data")
            body = population.skattegrunnlag(life, year, stadie)
            if life.skjermet_helt or (life.skjermet and pakke.skjerming == "full"):
                return skjerm_helt(body)
            for key in LISTS:
                if key in body:
                    body[key] = pakke.filter_grunnlag(body[key])
            return skjerm(body) if life.skjermet else body

        return request.app.state.sandbox.caches.encoded(
            (API.name, pakke, stadie, fnr, year, media, population.calendar.today), build, media,
            xml_root=API.xml_root, xml_namespace=API.xml_namespace)

    return await serve(request, API, produce, check)


routes = [
    Route("/v2/{stadie}/{rettighetspakke}/{inntektsaar}/{personidentifikator}", hent, methods=["GET"]),
    Route("/{rest:path}", unknown_url(API), methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]),
]
