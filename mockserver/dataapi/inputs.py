"""Checks of the path segments the data APIs share: the person number and the rettighetspakke."""

from __future__ import annotations

import re

from starlette.requests import Request

from ..caching import person_number
from ..identifiers import InvalidIdentifier
from ..maskinporten.authdetails import consent_covers
from ..rettighetspakker import Pakke
from ..sandbox import sandbox_of
from .gateway import ApiSpec, Caller, header

_PAKKE_NAME = re.compile(r"[A-Za-z]{2,60}")


def check_person_number(api: ApiSpec, value: str) -> None:
    try:
        person_number(value)
    except InvalidIdentifier as exc:
        raise api.errors("invalid", f"Ugyldig personidentifikator {value!r}: {exc}") from exc


def check_rettighetspakke(request: Request, api: ApiSpec, caller: Caller, name: str, fnr: str | None = None) -> Pakke:
    """The package must be published for this API, be granted to the consumer org, and carry consent where
    it needs it: the `AltinnSamtykke` header (Altinn 2), or an Altinn 3 consent in the Maskinporten token
    given by the person `fnr` to the consumer."""
    sandbox = sandbox_of(request)
    if not _PAKKE_NAME.fullmatch(name):
        raise api.errors("invalid", f"Ugyldig rettighetspakke {name!r}: 2–60 bokstaver")
    pakke = sandbox.pakker.get(name.lower())
    if pakke is None or api.name not in pakke.apis:
        # only names nobody publishes for this API are unknown; a published one not held is 403 below
        raise api.errors("unknown_url", f"Ukjent rettighetspakke {name!r}")
    if not sandbox.registry.granted(caller.consumer, pakke.name):
        raise api.errors("forbidden", f"Virksomheten {caller.consumer} har ikke tilgang til rettighetspakken "
                         f"{pakke.name}")
    if pakke.samtykke and not header(request, b"altinnsamtykke"):
        why = consent_covers(caller.claims, fnr or "", caller.consumer, sandbox.clock.now())
        if why == "none":
            raise api.errors("consent", f"Rettighetspakken {pakke.name} krever samtykke fra personen")
        if why is not None:
            raise api.errors("consent", f"Rettighetspakken {pakke.name} krever samtykke fra personen: {why}")
    return pakke
