"""GET /sistetilgjengeligeskatteoppgjoer/v1/{personidentifikator}"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from ..dataapi import ApiSpec, Caller, Endpoint, check_person_number, unknown_url
from ..sandbox import population_of
from ..services import SISTETILGJENGELIGESKATTEOPPGJOER
from .model import siste_tilgjengelige

API = ApiSpec.of(SISTETILGJENGELIGESKATTEOPPGJOER, forbidden="unauthenticated")  # it documents no 403 code


def check(request: Request, caller: Caller) -> str:
    fnr: str = request.path_params["personidentifikator"]
    check_person_number(API, fnr)
    return fnr


def produce(request: Request, fnr: str, media: str) -> dict[str, Any]:
    return siste_tilgjengelige(population_of(request), fnr)


routes = [
    Route("/v1/{personidentifikator}", Endpoint(API, check, produce), methods=["GET"]),
    Route("/{rest:path}", unknown_url(API), methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]),
]
