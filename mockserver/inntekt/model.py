"""What the Inntekt API answers for a person and months: a-ordningen's reports, cut to the rettighetspakke."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..months import Month
from ..population.corrections import corrected_reports, correction_day, is_corrected
from ..population.reports import month_reports
from ..population.world import Population
from ..rettighetspakker import Pakke
from .errors import IM


def inntekter(population: Population, pakke: Pakke, fnr: str, months: Iterable[Month]) -> dict[str, Any]:
    """The body for one call, or the documented error (IM-007 unknown person, IM-008 nothing reported)."""
    life = population.lookup(fnr)
    if life is None:
        raise IM("unknown_person")
    oppgaver = []
    today = population.calendar.today
    for month in months:
        reports = month_reports(life, month, population.choices)
        if reports and is_corrected(population.seed, fnr, month) and today >= correction_day(month):
            reports = corrected_reports(reports, population.seed, fnr, month)
        for oppgave in reports:
            kept = pakke.filter_oppgave(oppgave)
            if kept is not None:
                oppgaver.append(kept)
    if not oppgaver:
        raise IM("no_data")
    return {"oppgaveInntektsmottaker": oppgaver}
