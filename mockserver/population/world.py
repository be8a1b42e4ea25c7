"""The population: curated personas first, then a crowd of N people derived from (seed, index)."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import random
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..choices import Choices
from ..clock import DataCalendar
from ..identifiers import individual_range, make_person_number, parse_person_number
from ..months import iter_months
from . import DEFAULT_SIZE
from .life import FIRST_MONTH, Life, Month, build_life
from .personas import Persona, PersonaError, PersonaLimitError, household_problem, load_personas, persona_years
from .reports import month_reports
from .settlement import ajourhold, grunnlag, settlement_date, submission_date
from .shapes import screening
from .slots import NumberIndex

MAX_RUNTIME_PERSONAS = 1000  # added through the control API; each is at most the body limit (16 KiB)
MARRIED_SHARE = 0.45
# Archetypes (student, pensioner, ...) follow the age in this fixed year, not the data calendar's: moving
# --today only decides which years and months are out; it never rewrites anyone's earlier income.
AGE_REFERENCE_YEAR = 2026
OPPTAK_WAGE_FROM = (2025, 2)


class Population:
    def __init__(
        self, seed: int = 1, size: int = DEFAULT_SIZE, calendar: DataCalendar | None = None,
        personas_file: Path | None = None, choices: Choices | None = None,
    ) -> None:
        if not 0 <= size <= NumberIndex.capacity():
            raise ValueError(f"population must be between 0 and {NumberIndex.capacity()}")
        self.seed = seed
        self.size = size
        self._calendar = calendar or DataCalendar()
        self.choices = choices or Choices()
        self.numbers = NumberIndex(seed)
        personas = load_personas()
        if personas_file is not None:
            personas += load_personas(personas_file)
        self.personas: dict[str, Persona] = {p.fnr: p for p in personas}
        self._loaded = dict(self.personas)
        # keyed by (fnr, the year before today): a persona's `last` follows the data calendar
        self._life = lru_cache(maxsize=4096)(self._build)
        self._dated: Population | None = None

    # -- the data calendar ----------------------------------------------------------------------
    @property
    def calendar(self) -> DataCalendar:
        return self._calendar

    def move_to(self, today: dt.date) -> DataCalendar:
        """Set the data calendar. One reference is replaced, so a reader on another thread sees the old
        calendar or the new one, never a mix; lives are cached per year, so nothing needs clearing."""
        calendar = DataCalendar(today)
        self._calendar = calendar
        return calendar

    def dated(self) -> Population:
        """This population with its calendar fixed as it is now (lives and personas shared): what one
        request reads from start to end, even if the calendar is moved meanwhile. One copy per calendar:
        a copy differs from its original in nothing else."""
        calendar = self._calendar
        dated = self._dated
        if dated is None or dated._calendar is not calendar:
            dated = copy.copy(self)
            dated._dated = None
            self._dated = dated
        return dated

    def add_persona(self, persona: Persona) -> None:
        """Add or override a persona at runtime; cached lives are dropped, as a spouse's may point here.
        A persona whose life cannot be built is refused and the previous one kept."""
        previous = self.personas.get(persona.fnr)
        if previous is None and self.runtime_personas() >= MAX_RUNTIME_PERSONAS:
            raise PersonaLimitError(f"this sandbox already holds {MAX_RUNTIME_PERSONAS} runtime personas; "
                                    "replace one, or POST /__sandbox/reset to forget them", MAX_RUNTIME_PERSONAS)
        problem = household_problem(persona, self.personas, self._has)
        if problem:
            raise PersonaError(f"persona {persona.fnr}: {problem}")
        self.personas[persona.fnr] = persona
        self._life.cache_clear()
        try:
            self.lookup(persona.fnr)
        except Exception as exc:  # any combination the life builder rejects is the caller's error
            if previous is None:
                del self.personas[persona.fnr]
            else:
                self.personas[persona.fnr] = previous
            self._life.cache_clear()
            raise PersonaError(f"persona {persona.fnr} cannot be built: {exc}") from exc

    def unused_number(self, key: str) -> str:
        """A valid synthetic fødselsnummer nobody in this sandbox has, drawn from `key` (and the seed), so the
        same posts in the same order mint the same numbers."""
        rng = random.Random(f"{self.seed}:minted:{key}")
        while True:
            born = dt.date(1945, 1, 1) + dt.timedelta(days=rng.randrange(365 * 60))
            low, high = individual_range(born.year)
            fnr = make_person_number(born, rng.randint(low, high))
            if fnr is not None and fnr not in self.personas and self.index_of(fnr) is None:
                return fnr

    @property
    def loaded_personas(self) -> int:
        """How many personas the files gave; runtime ones come on top (at most MAX_RUNTIME_PERSONAS)."""
        return len(self._loaded)

    def runtime_personas(self) -> int:
        """How many personas were added or replaced since the start."""
        return sum(1 for fnr, p in self.personas.items() if self._loaded.get(fnr) is not p)

    def _has(self, fnr: str) -> bool:
        """Someone lives at this number (a persona that exists, or the crowd); nothing is built."""
        persona = self.personas.get(fnr)
        return persona.exists if persona is not None else self.index_of(fnr) is not None

    def forget_runtime_personas(self) -> None:
        self.personas = dict(self._loaded)
        self._life.cache_clear()

    # -- identity -------------------------------------------------------------------------------
    def index_of(self, fnr: str) -> int | None:
        index = self.numbers.index(fnr)
        return index if index is not None and index < self.size else None

    def lookup(self, fnr: str) -> Life | None:
        """The person with this number, or None (unknown → SSG-007 / IM-007)."""
        persona = self.personas.get(fnr)
        if persona is not None:
            return self._life_of(fnr) if persona.exists else None
        return self._life_of(fnr) if self.index_of(fnr) is not None else None

    def _life_of(self, fnr: str) -> Life:
        return self._life(fnr, self._calendar.today.year - 1)

    def _build(self, fnr: str, last: int | None = None) -> Life:
        """The life of `fnr`, with `last` (a persona's "last" year) the year before the data calendar's."""
        if last is None:
            last = self._calendar.today.year - 1
        pn = parse_person_number(fnr)
        persona = self.personas.get(fnr)
        spec = persona.spec if persona else {}
        perks = None if persona else (self.choices.naturalytelse_share, self.choices.utgiftsgodtgjoerelse_share)
        life = build_life(
            fnr=fnr, born=pn.born, gender=pn.gender, d_number=pn.d_number,
            key=f"{self.seed}:{fnr}", archetype=spec.get("archetype"), overrides=spec,
            calendar_year=AGE_REFERENCE_YEAR, perks=perks,
        )
        if persona is not None:
            life.scenario = persona.scenario
            life.story = persona.story
            life.first_name = spec.get("first_name", life.first_name)
            life.last_name = spec.get("last_name", life.last_name)
            life.skjermet = bool(spec.get("skjermet"))
            life.skjermet_helt = spec.get("skjermet") == "full"
            life.kildeskatt_paa_loenn = bool(spec.get("kildeskatt_paa_loenn"))
            life.inntekt_sparse = spec.get("inntekt") == "aarsrevisjon2025"
            life.inntekt_opptak = spec.get("inntekt") == "opptak2025"
            if life.inntekt_opptak:  # as recorded: the wage begins in February 2025
                life.streams = [dataclasses.replace(s, start=max(s.start, OPPTAK_WAGE_FROM)) for s in life.streams]
            life.utkast_differs = spec.get("utkast_differs")
            life.uten_skatteoppgjoersdato = spec.get("skatteoppgjoersdato") is False
            life.pensjonspremie = float(spec.get("pensjonspremie") or 0)
            life.no_settlement = persona_years(persona, "no_settlement", last)
            life.deleted = persona_years(persona, "deleted", last)
            life.spouse = spec.get("spouse")
            life.children = list(spec.get("children") or [])
        else:
            life.spouse = self.spouse_of(fnr)
            life.crowd_shapes = True
            life.skjermet, life.skjermet_helt = screening(life.settlement_seed, self.choices)
            life.story = _crowd_story(life)
        return life

    def spouse_of(self, fnr: str) -> str | None:
        """Crowd households: neighbours 2k and 2k+1 are married when their pair's draw says so and both
        are adults. Symmetric, derived, nothing stored."""
        index = self.index_of(fnr)
        if index is None:
            return None
        partner = index ^ 1
        if partner >= self.size or random.Random(f"{self.seed}:pair:{index // 2}").random() >= MARRIED_SHARE:
            return None
        other = self.numbers.number(partner)
        if other in self.personas:
            return None
        adult = dt.date(AGE_REFERENCE_YEAR - 20, 12, 31)
        if parse_person_number(fnr).born > adult or parse_person_number(other).born > adult:
            return None
        return other

    # -- listing --------------------------------------------------------------------------------
    def __len__(self) -> int:
        """How many people `people()` lists: a crowd number taken by a persona is counted once."""
        shadowed = sum(1 for fnr in self.personas if self.index_of(fnr) is not None)
        return len(self.personas) + self.size - shadowed

    def people(
        self, *, scenario: str | None = None, search: str | None = None, scan: int | None = None,
        checkpoint: Callable[[], None] | None = None,
    ) -> Iterator[Life]:
        """Personas in file order, then the crowd by index (shadowed numbers skipped); `scan` bounds
        how many of the crowd a search looks at. `checkpoint` is called before each person is looked at
        (it raises to give the search up, e.g. when the caller has gone)."""
        needle = search.lower() if search else None
        for persona in list(self.personas.values()):  # the control API may add one meanwhile
            if checkpoint is not None:
                checkpoint()
            if not persona.exists:
                life = self.stub(persona)
            else:
                life = self._life_of(persona.fnr)
            if _matches(life, scenario, needle):
                yield life
        if scenario is not None:
            return
        for index in range(self.size if scan is None else min(self.size, scan)):
            if checkpoint is not None:
                checkpoint()
            fnr = self.numbers.number(index)
            if fnr in self.personas:
                continue
            life = self._life_of(fnr)
            if _matches(life, None, needle):
                yield life

    def stub(self, persona: Persona) -> Life:
        """A listing entry for a persona whose number nobody has."""
        pn = parse_person_number(persona.fnr)
        return Life(fnr=persona.fnr, first_name=persona.spec.get("first_name", "(ingen)"),
                    last_name=persona.spec.get("last_name", "(ukjent person)"), born=pn.born,
                    gender=pn.gender, d_number=pn.d_number, story=persona.story,
                    scenario=persona.scenario, exists=False)

    # -- calendars ------------------------------------------------------------------------------
    def settled_years(self, life: Life) -> list[int]:
        """Years with an oppgjør by the data calendar's today (deleted years included)."""
        if not life.exists:
            return []
        return [y for y in range(2021, self.calendar.today.year) if self.has_settlement(life, y)]

    def has_settlement(self, life: Life, year: int) -> bool:
        if year < 2021 or year >= self.calendar.today.year or year in life.no_settlement:
            return False
        return settlement_date(life, year) <= self.calendar.today

    def reported_months(self, life: Life) -> list[Month]:
        if not life.exists:
            return []
        last = self.calendar.last_available_month()
        return [m for m in iter_months(FIRST_MONTH, last) if month_reports(life, m, self.choices)]

    def month_available(self, month: Month) -> bool:
        return FIRST_MONTH <= month and self.calendar.month_available(*month)

    # -- payloads -------------------------------------------------------------------------------
    def has_document(self, life: Life, year: int, stadie: str) -> bool:
        """Whether the year's utkast / fastsatt / oppgjoer exists by the data calendar's today."""
        if stadie == "oppgjoer":
            return self.has_settlement(life, year)
        if year < 2021 or year >= self.calendar.today.year or not life.exists:
            return False
        day = self.choices.first_utkast(year) if stadie == "utkast" else submission_date(life, year, self.choices)
        return day <= self.calendar.today

    def skattegrunnlag(self, life: Life, year: int, stadie: str = "oppgjoer") -> dict[str, Any]:
        """The year's document of a stadie. Only the oppgjoer has a skatteoppgjoersdato; the utkast is the
        draft before the person's corrections; the fastsatt is what the person submitted."""
        lists = grunnlag(life, year, corrected=stadie != "utkast", choices=self.choices)
        body: dict[str, Any] = {"personidentifikator": life.fnr, "inntektsaar": str(year), **lists}
        body["skjermet"] = life.skjermet
        if stadie == "oppgjoer":
            if not life.uten_skatteoppgjoersdato:
                body["skatteoppgjoersdato"] = settlement_date(life, year).isoformat()
            day = settlement_date(life, year)
        elif stadie == "utkast":
            day = self.choices.first_utkast(year)
        else:
            day = submission_date(life, year, self.choices)
        body["stadie"] = stadie
        body["ajourholdstidspunkt"] = ajourhold(life, year, day)
        return body

    def summary(self, life: Life) -> dict[str, Any]:
        return {
            "fnr": life.fnr,
            "name": life.name,
            "scenario": life.scenario,
            "story": life.story,
            "born": life.born.isoformat(),
            "d_number": life.d_number,
            "years": self.settled_years(life),
            "months": [f"{y:04d}-{m:02d}" for y, m in self.reported_months(life)],
        }


def _matches(life: Life, scenario: str | None, needle: str | None) -> bool:
    if scenario is not None and (life.scenario or "").lower() != scenario.lower():
        return False
    if needle is None:
        return True
    hay = " ".join([life.fnr, life.name, life.story, life.scenario or ""]).lower()
    return needle in hay


def _crowd_story(life: Life) -> str:
    kinds = sorted({s.beskrivelse for s in life.streams})
    parts = [", ".join(kinds) if kinds else ("næringsdrivende" if life.naering else "ingen løpende inntekt")]
    if life.home:
        parts.append("eier bolig")
    if life.debts:
        parts.append("har gjeld")
    if life.spouse:
        parts.append(f"gift med {life.spouse}")
    return "; ".join(parts)
