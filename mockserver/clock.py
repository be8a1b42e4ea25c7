"""Two clocks, kept apart on purpose.

The *wall clock* checks grants and tokens (Maskinporten compares iat/exp to real time). The *data
calendar* (`--today`) decides which years have a settlement and which months are reported, so the
same seed and today give byte-identical data on any machine, any day.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeGuard


@dataclass
class Clock:
    """Wall clock in epoch seconds; tests replace `now` (or call `advance`)."""

    source: Callable[[], float] = time.time
    offset: float = 0.0

    def now(self) -> float:
        return self.source() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass(frozen=True)
class DataCalendar:
    today: dt.date = field(default_factory=dt.date.today)

    def month_available(self, year: int, month: int) -> bool:
        """a-ordningen data for a month are complete on the 10th of the next month."""
        nxt_year, nxt_month = (year + 1, 1) if month == 12 else (year, month + 1)
        return self.today >= dt.date(nxt_year, nxt_month, 10)

    def last_available_month(self) -> tuple[int, int]:
        y, m = self.today.year, self.today.month
        for _ in range(3):
            m -= 1
            if m == 0:
                y, m = y - 1, 12
            if self.month_available(y, m):
                return y, m
        raise AssertionError("unreachable: a month two back is always complete")


MAX_TIME = 253402300799  # 9999-12-31T23:59:59Z; JWT times beyond it are refused, not converted


def is_time(value: Any) -> TypeGuard[int | float]:
    """A JWT NumericDate we can compare: a number (not bool, NaN or infinite) within year 1..9999.
    Compared as given, so a huge integer such as 10**400 never overflows a float."""
    return not isinstance(value, bool) and isinstance(value, int | float) and -MAX_TIME <= value <= MAX_TIME
