"""GET /sistetilgjengeligeskatteoppgjoer/v1/{personidentifikator}"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..dataapi import ApiSpec, Caller, check_person_number, serve, unknown_url
from ..services import SISTETILGJENGELIGESKATTEOPPGJOER
from .errors import TD

API = ApiSpec.of(SISTETILGJENGELIGESKATTEOPPGJOER, forbidden="unauthenticated")  # it documents no 403 code


async def hent(request: Request) -> Response:
    fnr = request.path_params["personidentifikator"]

    def check(caller: Caller) -> None:
        check_person_number(API, fnr)

    def produce(caller: Caller, media: str) -> dict[str, Any]:
        check(caller)
        population = request.app.state.sandbox.population
        life = population.lookup(fnr)
        years = [y for y in population.settled_years(life) if y not in life.deleted] if life else []
        if not years:
            raise TD("no_data")
        return {"personidentifikator": fnr, "ressursId": "skattegrunnlag", "sisteTilgjengeligePeriode": str(years[-1])}

    return await serve(request, API, produce, check)


routes = [
    Route("/v1/{personidentifikator}", hent, methods=["GET"]),
    Route("/{rest:path}", unknown_url(API), methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]),
]
