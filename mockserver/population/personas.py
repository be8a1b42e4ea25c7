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
from ..resources import fixtures_dir
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


# The type each field must have; a persona added at runtime (control API) is checked like a file entry.
FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "fnr": str, "scenario": str, "story": str, "first_name": str, "last_name": str, "archetype": str,
    "monthly": int, "naering": int, "wealth": str, "skjermet": bool, "svalbard": bool,
    "no_settlement": list, "deleted": list, "exists": bool, "spouse": str, "children": list,
}
WEALTH = ("high", "heavy-debt", "homeowner")
MAX_AMOUNT = 100_000_000


def parse_persona(entry: Any, where: str) -> Persona:
    """One entry of a personas file (or a control API body), checked field by field."""
    if not isinstance(entry, dict) or "fnr" not in entry:
        raise PersonaError(f"{where}: needs fnr")
    unknown = set(entry) - KNOWN_KEYS
    if unknown:
        raise PersonaError(f"{where}: unknown field(s) {sorted(map(str, unknown))}")
    fnr = str(entry["fnr"])
    try:
        pn = parse_person_number(fnr)
    except InvalidIdentifier as exc:
        raise PersonaError(f"{where}: {fnr[:20]}: {exc}") from exc
    if not pn.synthetic:
        raise PersonaError(f"{where}: {fnr} is not synthetic (month + 80 required)")
    for key, value in entry.items():
        expected = FIELD_TYPES.get(key)
        if expected is None or key == "fnr" or value is None:
            continue
        # bool is an int in Python; amounts must be real numbers, flags real booleans
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise PersonaError(f"{where}: {key} must be {_type_name(expected)}")
    if entry.get("archetype", "employee") not in KNOWN_ARCHETYPES:
        raise PersonaError(f"{where}: unknown archetype {str(entry['archetype'])[:40]!r}; use one of "
                           f"{', '.join(sorted(KNOWN_ARCHETYPES))}")
    if entry.get("wealth") is not None and entry["wealth"] not in WEALTH:
        raise PersonaError(f"{where}: wealth must be one of {', '.join(WEALTH)}")
    for key in ("monthly", "naering"):
        if entry.get(key) is not None and not 0 <= entry[key] <= MAX_AMOUNT:
            raise PersonaError(f"{where}: {key} must be between 0 and {MAX_AMOUNT}")
    for key in ("no_settlement", "deleted"):
        _years(entry.get(key), 2000, f"{where}: {key}")
    for key in ("spouse", "children"):
        for other in entry.get(key) if isinstance(entry.get(key), list) else [entry.get(key)]:
            if other is None:
                continue
            try:
                parse_person_number(str(other))
            except InvalidIdentifier as exc:
                raise PersonaError(f"{where}: {key} {str(other)[:20]!r}: {exc}") from exc
    return Persona(fnr, entry.get("scenario"), str(entry.get("story", "")), dict(entry))


def _type_name(expected: type | tuple[type, ...]) -> str:
    return {str: "a string", int: "a whole number", bool: "true or false", list: "a list"}[expected]


def load_personas(path: Path | None = None) -> list[Persona]:
    path = path or fixtures_dir() / "personas.yaml"
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PersonaError(f"{path}: cannot read personas: {exc}") from exc
    return [parse_persona(entry, f"{path}: personas[{i}]") for i, entry in enumerate(doc.get("personas") or [])]


def persona_years(persona: Persona, key: str, last_year: int) -> frozenset[int]:
    return _years(persona.spec.get(key), last_year, f"persona {persona.fnr}")
