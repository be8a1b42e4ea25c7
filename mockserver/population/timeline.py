"""What follows from the data calendar's date, in the words a client test thinks in: the last complete month,
the newest year Summert skattegrunnlag serves, whose drafts are out and whose oppgjør are being published."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from ..choices import Choices
from ..clock import DataCalendar
from ..months import add_months, month_text
from .life import FIRST_MONTH
from .settlement import settlement_window

FIRST_YEAR = FIRST_MONTH[0]  # the synthetic people's data begin here


def what_follows(calendar: DataCalendar, choices: Choices) -> dict[str, Any]:
    """The facts of one date; every person's own days (oppgjør, fastsatt) fall inside these bounds."""
    today = calendar.today
    last_month = calendar.last_available_month()
    coming = add_months(last_month, 1)
    completes = add_months(coming, 1)
    previous = today.year - 1
    start, end = settlement_window(previous)
    return {
        "today": today.isoformat(),
        "last_complete_month": month_text(last_month),
        "next_complete_month": {"month": month_text(coming),
                                "on": dt.date(completes[0], completes[1], 10).isoformat()},
        "latest_supported_year": previous if choices.year_supported(previous, today) else previous - 1,
        "latest_utkast_year": _newest(lambda y: choices.first_utkast(y) <= today, previous),
        "settling_year": previous if start <= today < end and previous >= FIRST_YEAR else None,
        "latest_settled_year": _newest(lambda y: settlement_window(y)[1] <= today, previous),
    }


def _newest(out_by_today: Callable[[int], bool], year: int) -> int | None:
    """`year` or the one before (whatever is published in the year after an income year is out for the year
    before it), whichever is newest with `out_by_today`; None before FIRST_YEAR."""
    for candidate in (year, year - 1):
        if candidate >= FIRST_YEAR and out_by_today(candidate):
            return candidate
    return None
