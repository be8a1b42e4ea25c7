"""Where Skatteetaten's public record is silent, the sandbox chooses; every such choice is here, with a
default, and can be changed with `ske-sandbox serve --choices-file FILE` (YAML, the same keys). contracts/README.md
says what each default rests on."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml


class ChoicesError(ValueError):
    """A choices file that cannot be used."""


@dataclass(frozen=True)
class Choices:
    # The previous income year becomes supported ("medio februar") on this day; before it, and for the
    # current year, Summert skattegrunnlag answers 400 SSG-006.
    year_supported_from: str = "02-15"
    # First utkast per income year (Skatteetaten's årsrevisjon pages); other years use utkast_default.
    utkast_dates: dict[int, str] = field(default_factory=lambda: {2023: "2024-03-13", 2024: "2025-03-12",
                                                                  2025: "2026-03-12"})
    utkast_default: str = "03-12"
    # A person submits (fastsatt) between the first utkast and this day of the following year.
    submission_deadline: str = "04-30"
    # Share of people whose utkast differs from what they submitted (they added a deduction).
    utkast_differs_share: float = 0.3
    # From this month on, each oppgave carries mottaksinformasjon; this share of them has it empty ({}).
    mottaksinformasjon_from: str = "2025-01"
    mottaksinformasjon_empty_share: float = 0.1
    # Crowd-wide optional shapes (docs/shapes.md says why each default): a share of the crowd's oppgaver
    # from 2025 (årsrevisjon 2025 made the fields optional), drawn per (seed, person, month, payer).
    kalendermaaned_absent_share: float = 0.04
    fordel_absent_share: float = 0.04
    utloeser_arbeidsgiveravgift_absent_share: float = 0.04
    inngaar_i_grunnlag_for_trekk_absent_share: float = 0.04
    # Per (seed, person, month) from 2025: every line with only beloep and its kind, as the recorded answer.
    recorded_shape_share: float = 0.04
    # Per (seed, person, month) from 2025: one more oppgave, from a payer who paid nothing that month.
    bare_oppgave_share: float = 0.03
    # Per wage stream of the crowd: a company car (fordel naturalytelse) and a taxable part of a mileage
    # allowance (fordel utgiftsgodtgjoerelse) beside the cash wage.
    naturalytelse_share: float = 0.08
    utgiftsgodtgjoerelse_share: float = 0.08
    # Per crowd person: adressegradert, and of those, fully screened for every package.
    skjermet_share: float = 0.07
    skjermet_helt_share: float = 0.6

    def year_supported(self, year: int, today: dt.date) -> bool:
        """Whether Summert skattegrunnlag answers for an income year at all (else SSG-006)."""
        if year >= today.year:
            return False
        if year == today.year - 1:
            return today >= _day(today.year, self.year_supported_from)
        return True

    def first_utkast(self, year: int) -> dt.date:
        text = self.utkast_dates.get(year)
        return dt.date.fromisoformat(text) if text else _day(year + 1, self.utkast_default)


def _day(year: int, month_day: str) -> dt.date:
    month, day = (int(x) for x in month_day.split("-"))
    return dt.date(year, month, day)


def load_choices(path: Path | None = None) -> Choices:
    if path is None:
        return Choices()
    try:
        doc: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
        known = {f.name for f in fields(Choices)}
        unknown = set(doc) - known
        if unknown:
            raise ChoicesError(f"{path}: unknown choice(s) {sorted(unknown)}")
        if "utkast_dates" in doc:
            doc["utkast_dates"] = {int(k): str(v) for k, v in doc["utkast_dates"].items()}
        choices = Choices(**doc)
        for year in choices.utkast_dates:  # every date must parse now, not at the first request
            choices.first_utkast(year)
        for month_day in (choices.year_supported_from, choices.utkast_default, choices.submission_deadline):
            _day(2025, month_day)
        dt.date.fromisoformat(f"{choices.mottaksinformasjon_from}-01")
        for f in fields(Choices):
            if f.name.endswith("_share"):
                value = getattr(choices, f.name)
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                    raise ChoicesError(f"{path}: {f.name} must be a number between 0 and 1, not {value!r}")
    except (OSError, yaml.YAMLError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, ChoicesError):
            raise
        raise ChoicesError(f"{path}: cannot read choices: {exc}") from exc
    return choices
