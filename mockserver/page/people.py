"""People search and a person's page, read off the same population the services answer from."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..identifiers import InvalidIdentifier, parse_person_number
from ..maskinporten.registry import KOMMUNE_PAKKE
from ..months import last_months
from ..population.life import FIRST_MONTH, Life, Month
from ..population.reports import month_reports
from .chart import Chart, income_chart
from .labels import INNTEKT_TYPER, KATEGORI_ORDER, kategori, teknisk_navn

SEARCH_SCAN = 5000  # crowd members a filtered search looks at before it gives up
MAX_RESULTS = 50
CHART_MONTHS = 12


class SearchError(ValueError):
    """A filter the search cannot use; shown beside the form."""


@dataclass
class Filters:
    q: str = ""
    scenario: str = ""
    month: Month | None = None
    year: int | None = None
    household: bool = False

    @classmethod
    def parse(cls, params: Any) -> Filters:
        f = cls(q=params.get("q", "").strip()[:100], scenario=params.get("scenario", "").strip()[:40],
                household=params.get("husholdning") == "ja")
        month = params.get("maaned", "").strip()
        if month:
            m = re.fullmatch(r"([0-9]{4})-(0[1-9]|1[0-2])", month, re.ASCII)
            if not m:
                raise SearchError(f"Måned må skrives ÅÅÅÅ-MM, for eksempel 2026-09 (fikk {month[:20]!r}).")
            f.month = (int(m.group(1)), int(m.group(2)))
        year = params.get("aar", "").strip()
        if year:
            if not re.fullmatch(r"[0-9]{4}", year, re.ASCII):
                raise SearchError(f"År må være fire siffer, for eksempel 2025 (fikk {year[:20]!r}).")
            f.year = int(year)
        return f

    @property
    def active(self) -> bool:
        return bool(self.q or self.scenario or self.month or self.year or self.household)


def search(population: Any, f: Filters) -> list[dict[str, Any]]:
    """Personas first, then the crowd; at most MAX_RESULTS."""
    out = []
    for life in population.people(scenario=f.scenario or None, search=f.q or None, scan=SEARCH_SCAN):
        if f.household and not (life.spouse or life.children):
            continue
        if f.year is not None and (not population.has_settlement(life, f.year) or f.year in life.deleted):
            continue
        if f.month is not None and not (life.exists and population.month_available(f.month)
                                        and month_reports(life, f.month)):
            continue
        persona = life.fnr in population.personas
        out.append({"fnr": life.fnr, "name": life.name, "scenario": life.scenario,
                    "story": life.story if persona else readable(life.story),
                    "born": life.born.isoformat(), "persona": persona, "exists": life.exists})
        if len(out) >= MAX_RESULTS:
            break
    return out


def readable(story: str) -> str:
    """A crowd story lists income codes (`fastloenn`, `ufoeretrygd`); show them as words."""
    return re.sub(r"(?<![\w-])[a-z]+(?:[A-Z][a-z]*)*(?![\w-])",
                  lambda m: teknisk_navn(m.group(0)).lower() if _is_code(m.group(0)) else m.group(0), story)


def _is_code(word: str) -> bool:
    return word != word.lower() or any(pair in word for pair in ("oe", "aa", "ae"))


def scenarios(population: Any) -> list[str]:
    return sorted({p.scenario for p in population.personas.values() if p.scenario})


@dataclass
class Post:
    navn: str
    label: str
    beloep: int
    delivered: bool
    spes_kept: list[str] = field(default_factory=list)
    spes_removed: list[str] = field(default_factory=list)


@dataclass
class YearView:
    year: int
    deleted: bool
    groups: list[tuple[str, list[Post]]] = field(default_factory=list)
    svalbard: bool = False

    @property
    def delivered(self) -> list[Post]:
        return [p for _, posts in self.groups for p in posts if p.delivered]

    @property
    def removed(self) -> list[Post]:
        return [p for _, posts in self.groups for p in posts if not p.delivered or p.spes_removed]


def year_view(population: Any, pakke: Any, life: Life, year: int) -> YearView:
    view = YearView(year, year in life.deleted)
    if view.deleted:
        return view
    body = population.skattegrunnlag(life, year)
    items = body["grunnlag"] + body.get("svalbardGrunnlag", [])
    view.svalbard = "svalbardGrunnlag" in body
    kept = {i["tekniskNavn"]: i for i in pakke.filter_grunnlag(items)}
    by_kategori: dict[str, list[Post]] = {}
    for item in items:
        navn = item["tekniskNavn"]
        all_types = [s.get("type", "") for s in item.get("spesifisering", [])]
        kept_types = [s.get("type", "") for s in kept.get(navn, {}).get("spesifisering", [])]
        post = Post(navn, teknisk_navn(navn), int(item.get("beloep", 0)), navn in kept,
                    sorted(set(kept_types)), sorted(set(all_types) - set(kept_types)))
        by_kategori.setdefault(item.get("kategori") or "-", []).append(post)
    order = KATEGORI_ORDER + sorted(set(by_kategori) - set(KATEGORI_ORDER))
    view.groups = [(kategori(k), by_kategori[k]) for k in order if k in by_kategori]
    return view


def chart_months(population: Any) -> list[Month]:
    last = population.calendar.last_available_month()
    return [month for month in last_months(last, CHART_MONTHS) if month >= FIRST_MONTH]


@dataclass
class PersonView:
    fnr: str
    life: Life | None
    persona: Any
    years: list[int] = field(default_factory=list)
    year: YearView | None = None
    chart: Chart | None = None
    household: list[tuple[str, str, str]] = field(default_factory=list)  # (relation, fnr, name)
    pakke_typer: list[tuple[str, bool]] = field(default_factory=list)
    pakke: str = KOMMUNE_PAKKE
    period: tuple[str, str] = ("", "")


def valid_fnr(fnr: str) -> str | None:
    """None when the number is usable, else why not."""
    try:
        parse_person_number(fnr)
    except InvalidIdentifier as exc:
        return str(exc)
    return None


def person_view(sandbox: Any, population: Any, fnr: str, wanted_year: str | None) -> PersonView:
    """`population` as of the request's date (see `population_of`)."""
    life = population.lookup(fnr)
    view = PersonView(fnr, life, population.personas.get(fnr))
    if life is None:
        return view
    pakke = sandbox.pakker[KOMMUNE_PAKKE]
    view.years = population.settled_years(life)
    available = [y for y in view.years if y not in life.deleted]
    year = int(wanted_year) if wanted_year and wanted_year.isdigit() and int(wanted_year) in view.years else (
        available[-1] if available else (view.years[-1] if view.years else None))
    if year is not None:
        view.year = year_view(population, pakke, life, year)
    months = chart_months(population)
    view.chart = income_chart(life, months)
    if months:
        view.period = (f"{months[0][0]:04d}-{months[0][1]:02d}", f"{months[-1][0]:04d}-{months[-1][1]:02d}")
    kinds = {k for s in life.streams for k in [s.kind]}
    view.pakke_typer = [(INNTEKT_TYPER.get(k, k), k in pakke.inntekt_typer) for k in sorted(kinds)]
    relations = [("Ektefelle", life.spouse)] if life.spouse else []
    relations += [("Barn", c) for c in life.children]
    for relation, other in relations:
        other_life = population.lookup(other) if valid_fnr(other) is None else None
        view.household.append((relation, other, other_life.name if other_life else "(ukjent)"))
    return view
