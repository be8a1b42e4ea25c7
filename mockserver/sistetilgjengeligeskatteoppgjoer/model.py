"""What Siste tilgjengelige skatteoppgjør answers: the newest settled year a person's data can be had for."""

from __future__ import annotations

from typing import Any

from ..population.world import Population
from .errors import TD


def siste_tilgjengelige(population: Population, fnr: str) -> dict[str, Any]:
    """The body for one call, or TD-004 when no settled year is left (unknown person, or all deleted)."""
    life = population.lookup(fnr)
    years = [y for y in population.settled_years(life) if y not in life.deleted] if life else []
    if not years:
        raise TD("no_data")
    return {"personidentifikator": fnr, "ressursId": "skattegrunnlag", "sisteTilgjengeligePeriode": str(years[-1])}
