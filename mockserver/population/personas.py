"""Curated personas: fixed numbers with a readable story, one for every scenario a client must handle.

The file format (fixtures/personas.yaml, or your own with `--personas FILE`)::

    personas:
      - fnr: "15859012345"          # synthetic: month + 80, valid check digits
        scenario: ordinary          # error code or short slug; shown by `people --scenario`
        story: Fast ansatt med jevn lønn.
        first_name: Kari            # optional, else from Faker no_NO
        last_name: Nordmann
        archetype: employee         # employee | two-employers | part-time | unemployed | disability |
                                    # aap | pensioner | self-employed | student | kvalifisering | no-income
        monthly: 45000              # optional monthly pay of the main income
        naering: 600000             # optional yearly business income (self-employed)
        wealth: high                # optional: high | heavy-debt | homeowner
        skjermet: true              # optional: adressegradert; geolocating detail removed
        svalbard: true              # optional: the wage is earned on Svalbard
        no_settlement: [last]       # optional: years without oppgjør; `last` = the year before today
        deleted: [2023]             # optional: years whose tax basis is gone (410)
        exists: false               # optional: the number is valid but nobody has it (404)
        spouse: "..."               # optional: household
        children: ["...", "..."]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..identifiers import InvalidIdentifier, parse_person_number
from ..resources import SAFE_LOADER, fixtures_dir
from .life import ARCHETYPES

KNOWN_ARCHETYPES = {name for name, _ in ARCHETYPES} | {"pensioner", "student"}
KNOWN_KEYS = {
    "fnr", "scenario", "story", "first_name", "last_name", "archetype", "monthly", "naering", "wealth",
    "skjermet", "svalbard", "no_settlement", "deleted", "exists", "spouse", "children",
}


class PersonaError(ValueError):
    """A personas file entry that cannot be used; says which and why."""


@dataclass(frozen=True)
class Persona:
    fnr: str
    scenario: str | None
    story: str
    spec: dict[str, Any] = field(hash=False, compare=False)

    @property
    def exists(self) -> bool:
        return bool(self.spec.get("exists", True))


def _years(value: Any, last_year: int, where: str) -> frozenset[int]:
    years = set()
    for item in value or []:
        if item == "last":
            years.add(last_year)
        elif isinstance(item, int) and 2000 <= item <= 2100:
            years.add(item)
        else:
            raise PersonaError(f"{where}: year {item!r} must be a number or 'last'")
    return frozenset(years)


def load_personas(path: Path | None = None) -> list[Persona]:
    path = path or fixtures_dir() / "personas.yaml"
    try:
        doc = yaml.load(path.read_text(), Loader=SAFE_LOADER) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PersonaError(f"{path}: cannot read personas: {exc}") from exc
    out = []
    for i, entry in enumerate(doc.get("personas") or []):
        where = f"{path}: personas[{i}]"
        if not isinstance(entry, dict) or "fnr" not in entry:
            raise PersonaError(f"{where}: needs fnr")
        unknown = set(entry) - KNOWN_KEYS
        if unknown:
            raise PersonaError(f"{where}: unknown field(s) {sorted(unknown)}")
        fnr = str(entry["fnr"])
        try:
            pn = parse_person_number(fnr)
        except InvalidIdentifier as exc:
            raise PersonaError(f"{where}: {fnr}: {exc}") from exc
        if not pn.synthetic:
            raise PersonaError(f"{where}: {fnr} is not synthetic (month + 80 required)")
        if entry.get("archetype", "employee") not in KNOWN_ARCHETYPES:
            raise PersonaError(f"{where}: unknown archetype {entry['archetype']!r}")
        out.append(Persona(fnr, entry.get("scenario"), str(entry.get("story", "")), dict(entry)))
    return out


def persona_years(persona: Persona, key: str, last_year: int) -> frozenset[int]:
    return _years(persona.spec.get(key), last_year, f"persona {persona.fnr}")
