"""What Summert skattegrunnlag answers for a person and year: the population's yearly body, cut to the
rettighetspakke and screened where the person is skjermet."""

from __future__ import annotations

from typing import Any

from ..population.world import Population
from ..rettighetspakker import Pakke
from .errors import SSG

LISTS = ("grunnlag", "svalbardGrunnlag", "kildeskattPaaLoennGrunnlag")
# Spesifisering types that point at where a person lives or works.
GEOLOCATING = {"Eiendom", "LoennOgTilsvarendeYtelser", "Kjoeretoey"}


def skjerm_helt(body: dict[str, Any]) -> dict[str, Any]:
    """A package without rights to screened data gets only the call's parameters and `skjermet: true`
    (Skatteetaten, docs/om/skjerming.md); `grunnlag` is left out, not sent empty."""
    return {"personidentifikator": body["personidentifikator"], "inntektsaar": body["inntektsaar"],
            "stadie": body["stadie"], "skjermet": True}


def skjerm(body: dict[str, Any]) -> dict[str, Any]:
    """Remove geolocating detail from a screened person's answer; the sums stay as they were."""
    out = dict(body)
    for key in LISTS:
        if key not in out:
            continue
        items = []
        for item in out[key]:
            item = dict(item)
            spes = [s for s in item.get("spesifisering", []) if s.get("type") not in GEOLOCATING]
            if spes:
                item["spesifisering"] = spes
            else:
                item.pop("spesifisering", None)
            items.append(item)
        out[key] = items
    out["skjermet"] = True
    return out


def skattegrunnlag(population: Population, pakke: Pakke, stadie: str, year: int, fnr: str) -> dict[str, Any]:
    """The body for one call, or the documented error (SSG-007 unknown, SSG-011 deleted, SSG-008 none)."""
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
