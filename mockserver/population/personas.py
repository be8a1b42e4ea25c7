"""Curated personas: fixed numbers with a readable story, one for every scenario a client must handle.

The file format (fixtures/personas.yaml, or your own with `--personas-file FILE`)::

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
        wealth: high                # optional: high | heavy-debt | homeowner | diverse
        skjermet: true              # optional: adressegradert; geolocating detail removed
                                    # (full: only the call's parameters and skjermet, for every package)
        kildeskatt_paa_loenn: true  # optional: PAYE; wages in kildeskattPaaLoennGrunnlag
        inntekt: aarsrevisjon2025   # optional: from 2025 lines without fordel, utloeserArbeidsgiveravgift,
                                    # inngaarIGrunnlagForTrekk; oppgaver without kalendermaaned; one with
                                    # only mottaksinformasjon; opptak2025: the recorded test-environment
                                    # answer's shape (docs/shapes.md)
        utkast_differs: true        # optional: the utkast lacks a deduction added before submission
        skatteoppgjoersdato: false  # optional: the oppgjoer carries no skatteoppgjoersdato
        pensjonspremie: 0.02        # optional: share of wages withheld as fradrag premieTilPensjonsordninger
        wealth: diverse             # (wealth) one of each spesifisering type
        svalbard: true              # optional: the wage is earned on Svalbard
        no_settlement: [last]       # optional: years without oppgjør; `last` = the year before today
        deleted: [2023]             # optional: years whose tax basis is gone (410)
        exists: false               # optional: the number is valid but nobody has it (404)
        spouse: "..."               # optional: household
        children: ["...", "..."]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..configfiles import ConfigError, Location, check_item, load, where
from ..identifiers import InvalidIdentifier, parse_person_number
from ..resources import SAFE_LOADER, fixtures_dir
from .life import ARCHETYPES

KNOWN_ARCHETYPES = {name for name, _ in ARCHETYPES} | {"pensioner", "student"}


SHAPES: dict[str, tuple[Any, ...]] = {
    "skjermet": (True, False, "full"),
    "inntekt": ("aarsrevisjon2025", "opptak2025"),
    "utkast_differs": (True, False),
    "skatteoppgjoersdato": (False,),
    "kildeskatt_paa_loenn": (True, False),
    "wealth": ("high", "heavy-debt", "homeowner", "diverse"),
}


MAX_CHILDREN = 20  # also the schema's maxItems; a household of more is no scenario, only cost


class PersonaError(ConfigError):
    """A personas file entry that cannot be used; says which and why."""


class PersonaLimitError(PersonaError):
    """The sandbox holds as many runtime personas as it takes (`limit`); a reset forgets them."""

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


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


def household_problem(persona: Persona, personas: Mapping[str, Persona],
                      exists: Callable[[str], bool]) -> str | None:
    """What is wrong with a runtime persona's household, or None. Spouse and children must be people the
    sandbox has (add them first), nobody is their own spouse or child, and children do not loop back (the
    page and the test kit follow these links)."""
    spouse, children = persona.spec.get("spouse"), list(persona.spec.get("children") or [])
    if spouse == persona.fnr:
        return "spouse is the persona itself"
    if persona.fnr in children:
        return "children include the persona itself"
    if spouse is not None and spouse in children:
        return "the spouse is also listed as a child"
    if len(set(children)) != len(children):
        return "children lists a number twice"
    if len(children) > MAX_CHILDREN:
        return f"at most {MAX_CHILDREN} children"
    for other in ([spouse] if spouse else []) + children:
        if other != persona.fnr and not exists(other):
            return f"{other} is nobody in this sandbox; add that persona first"

    def children_of(fnr: str) -> list[str]:
        who = persona if fnr == persona.fnr else personas.get(fnr)
        return list(who.spec.get("children") or []) if who else []

    descendants = _descendants(persona.fnr, children_of)
    if persona.fnr in descendants:
        return "children loop back to the persona (a child is its own ancestor)"
    if spouse is not None and spouse in descendants:
        return "the spouse is also a descendant"
    if spouse is not None and spouse in personas and persona.fnr in _descendants(spouse, children_of):
        return "the persona is a descendant of its spouse"
    return None


def _descendants(fnr: str, children_of: Callable[[str], list[str]]) -> set[str]:
    """Everyone below `fnr` through children links; a plain walk, as runtime personas are bounded."""
    seen: set[str] = set()
    todo = children_of(fnr)
    while todo:
        child = todo.pop()
        if child not in seen:
            seen.add(child)
            todo += children_of(child)
    return seen


def parse_persona(entry: Any, where: str, checked: bool = False) -> Persona:
    """One entry of a personas file (or a control API body): its types by the published schema (unless the
    whole file was `checked` already), then what a schema cannot say."""
    if not checked:
        try:
            check_item("personas", "personas", entry, where)
        except ConfigError as exc:
            raise PersonaError(str(exc)) from exc
    fnr = str(entry["fnr"])
    try:
        pn = parse_person_number(fnr)
    except InvalidIdentifier as exc:
        raise PersonaError(f"{where}: {fnr[:20]}: {exc}") from exc
    if not pn.synthetic:
        raise PersonaError(f"{where}: {fnr} is not synthetic (month + 80 required)")
    if entry.get("archetype", "employee") not in KNOWN_ARCHETYPES:
        raise PersonaError(f"{where}: unknown archetype {str(entry['archetype'])[:40]!r}; use one of "
                           f"{', '.join(sorted(KNOWN_ARCHETYPES))}")
    for key, allowed in SHAPES.items():
        if key in entry and entry[key] not in allowed:
            raise PersonaError(f"{where}: {key} must be one of {allowed}")
    return Persona(fnr, entry.get("scenario"), str(entry.get("story", "")), dict(entry))


def load_personas(path: Path | None = None) -> list[Persona]:
    """A personas file, checked against its schema; the built-in one is read as it is (the tests check it
    against the schema), so a start does not pay for the schema check."""
    try:
        if path is None:
            path = fixtures_dir() / "personas.yaml"
            doc, lines = yaml.load(path.read_text(), Loader=SAFE_LOADER), dict[Location, int]()
        else:
            doc, lines = load(path, "personas", "personas")
    except ConfigError as exc:
        raise PersonaError(str(exc)) from exc
    return [parse_persona(entry, where(path, lines, ("personas", i)), checked=True)
            for i, entry in enumerate(doc.get("personas") or [])]


def persona_years(persona: Persona, key: str, last_year: int) -> frozenset[int]:
    return _years(persona.spec.get(key), last_year, f"persona {persona.fnr}")
