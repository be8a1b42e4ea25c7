"""Two clocks, kept apart on purpose.

The *wall clock* checks grants and tokens (Maskinporten compares iat/exp to real time). The *data
calendar* (`--today`) decides which years have a settlement and which months are reported, so the
same seed and today give byte-identical data on any machine, any day. The control API, the kit and the
page may move the data calendar at run time; the wall clock never follows it.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from .months import Month, add_months, next_month


@dataclass
class Clock:
    """Wall clock in epoch seconds; tests replace `now` (or call `advance`)."""

    source: Callable[[], float] = time.time
    offset: float = 0.0

    def now(self) -> float:
        return self.source() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


# The data calendar may be set from a-ordningen's first month to the end of the century: every date in
# between gives a world the services can answer from.
EARLIEST_TODAY = dt.date(2015, 1, 1)
LATEST_TODAY = dt.date(2099, 12, 31)
MAX_STEP_DAYS = (LATEST_TODAY - EARLIEST_TODAY).days
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


class CalendarError(ValueError):
    """A date the data calendar cannot be set to; the message says why."""


def checked_today(value: object) -> dt.date:
    """A date (or 'YYYY-MM-DD') the data calendar may show, or CalendarError."""
    if isinstance(value, str):
        if not _ISO_DAY.fullmatch(value):
            raise CalendarError(f"today must be a date written YYYY-MM-DD, not {value[:40]!r}")
        try:
            value = dt.date.fromisoformat(value)
        except ValueError as exc:
            raise CalendarError(f"today {value!r} is not a calendar date: {exc}") from exc
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise CalendarError("today must be a date written YYYY-MM-DD")
    if not EARLIEST_TODAY <= value <= LATEST_TODAY:
        raise CalendarError(f"today must be between {EARLIEST_TODAY} and {LATEST_TODAY}, not {value}")
    return value


def checked_step(today: dt.date, days: object) -> dt.date:
    """`today` moved by a whole number of `days` (negative: back), or CalendarError."""
    if isinstance(days, bool) or not isinstance(days, int):
        raise CalendarError("days must be a whole number (negative moves back)")
    if abs(days) > MAX_STEP_DAYS:
        raise CalendarError(f"days must be between -{MAX_STEP_DAYS} and {MAX_STEP_DAYS}")
    try:
        moved = today + dt.timedelta(days=days)
    except OverflowError as exc:  # only from a --today near year 9999
        raise CalendarError(f"{today} moved {days} days is not a date") from exc
    return checked_today(moved)


@dataclass(frozen=True)
class DataCalendar:
    """Immutable: moving the calendar replaces the object, so a reader never sees half a change."""

    today: dt.date = field(default_factory=dt.date.today)

    def month_available(self, year: int, month: int) -> bool:
        """a-ordningen data for a month are complete on the 10th of the next month."""
        nxt_year, nxt_month = next_month((year, month))
        return self.today >= dt.date(nxt_year, nxt_month, 10)

    def last_available_month(self) -> Month:
        """Last month if today is the 10th or later, else the month before it."""
        last = add_months((self.today.year, self.today.month), -1)
        return last if self.month_available(*last) else add_months(last, -1)


MAX_TIME = 253402300799  # 9999-12-31T23:59:59Z; JWT times beyond it are refused, not converted


def is_time(value: Any) -> TypeGuard[int | float]:
    """A JWT NumericDate we can compare: a number (not bool, NaN or infinite) within year 1..9999.
    Compared as given, so a huge integer such as 10**400 never overflows a float."""
    return not isinstance(value, bool) and isinstance(value, int | float) and -MAX_TIME <= value <= MAX_TIME
