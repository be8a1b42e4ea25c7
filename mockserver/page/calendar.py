"""The page's view of the data calendar: its date, what follows from it, and the form a presenter moves it with."""

from __future__ import annotations

import re
from typing import Any

from ..clock import CalendarError
from ..population.timeline import what_follows

STEPS = (("-1", "−1 dag"), ("1", "+1 dag"), ("7", "+1 uke"), ("30", "+30 dager"), ("365", "+365 dager"))
_DAYS = re.compile(r"-?[0-9]{1,6}", re.ASCII)


def facts(sandbox: Any) -> dict[str, Any]:
    sandbox.sync_world()  # another worker may have moved it
    return {**what_follows(sandbox.population.calendar, sandbox.population.choices),
            "start": sandbox.start_today.isoformat()}


def move(sandbox: Any, form: dict[str, str]) -> str:
    """Apply the form (`dato`, `dager` or `start`); '' when the calendar moved, else the reason in Norwegian."""
    try:
        if "start" in form:
            sandbox.restore_today()
        elif "dager" in form:
            if not _DAYS.fullmatch(form["dager"]):
                return f"Antall dager må være et heltall (fikk {form['dager'][:20]!r})."
            sandbox.advance_today(int(form["dager"]))
        elif form.get("dato", "").strip():
            sandbox.set_today(form["dato"].strip())
        else:
            return "Oppgi en dato (ÅÅÅÅ-MM-DD) eller velg et steg."
    except CalendarError as exc:
        return f"Datakalenderen ble ikke flyttet: {exc}."
    return ""
