"""GET /summertskattegrunnlag/v2/{stadie}/{rettighetspakke}/{inntektsaar}/{personidentifikator}"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..dataapi import ApiSpec, Caller, check_person_number, check_rettighetspakke, serve, unknown_url
from ..maskinporten.registry import SCOPE_SSG, SCOPE_SSG_LEGACY
from .errors import SSG
from .model import skjerm

STADIER = ("oppgjoer", "utkast", "fastsatt")
FIRST_YEAR = 2017  # V2 does not serve 2016 or earlier

API = ApiSpec(
    name="summertskattegrunnlag",
    errors=SSG,
    scopes=frozenset({SCOPE_SSG, SCOPE_SSG_LEGACY}),
    xml_root="summertSkattegrunnlag",
    xml_namespace="urn:no:skatteetaten:datasamarbeid:summertskattegrunnlag:v2",
)


async def hent(request: Request) -> Response:
    p = request.path_params

    def produce(caller: Caller, media: str) -> bytes:
        stadie, aar, fnr = p["stadie"], p["inntektsaar"], p["personidentifikator"]
        if stadie not in STADIER:
            raise SSG("invalid", f"Ugyldig stadie {stadie!r}; gyldige verdier er {', '.join(STADIER)}")
        population = request.app.state.sandbox.population
        today = population.calendar.today
        if not (len(aar) == 4 and aar.isascii() and aar.isdigit()):
            raise SSG("invalid", f"Ugyldig inntektsår {aar!r}; oppgi fire siffer, for eksempel 2024")
        year = int(aar)
        if year < FIRST_YEAR or year > today.year:
            raise SSG("invalid", f"Inntektsår {year} støttes ikke; gyldige år er {FIRST_YEAR}–{today.year}")
        check_person_number(API, fnr)
        pakke = check_rettighetspakke(request, API, caller, p["rettighetspakke"])
        if stadie not in pakke.stadier:
            raise SSG("forbidden", f"Rettighetspakken {pakke.name} gir ikke tilgang til stadie {stadie}; "
                      f"tillatt: {', '.join(sorted(pakke.stadier))}")

        def build() -> dict[str, Any]:  # its answer, or its error, is the same on every call: cached
            life = population.lookup(fnr)
            if life is None:
                raise SSG("unknown_person")
            if year in life.deleted:
                raise SSG("gone")
            if not population.has_settlement(life, year):
                raise SSG("no_data")
            body = population.skattegrunnlag(life, year)
            body["grunnlag"] = pakke.filter_grunnlag(body["grunnlag"])
            if "svalbardGrunnlag" in body:
                body["svalbardGrunnlag"] = pakke.filter_grunnlag(body["svalbardGrunnlag"])
            return skjerm(body) if life.skjermet else body

        return request.app.state.sandbox.caches.encoded(
            (API.name, pakke, stadie, fnr, year, media, today), build, media,
            xml_root=API.xml_root, xml_namespace=API.xml_namespace)

    return await serve(request, API, produce)


routes = [
    Route("/v2/{stadie}/{rettighetspakke}/{inntektsaar}/{personidentifikator}", hent, methods=["GET"]),
    Route("/{rest:path}", unknown_url(API), methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]),
]
