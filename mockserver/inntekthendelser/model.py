"""What Inntekt hendelser answers: one event per person and month with a-ordningen reports, on the day the
month is complete (the 10th of the next month, when the Inntekt API starts to answer it), and now and then a
second, later event for the same month (a correction).

Block b is registered on the 10th after month b: first a slot per position for that month's reports, then a
slot per position for corrections of the month before. The type field is left out, as Skatteetaten says the
Inntekt feed "does not yet deliver anything in the type field".
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Iterator

from ..caching import Bounded
from ..hendelser.feed import BlockCache, Hendelse, People, schedule_of, timestamp
from ..months import Month, add_months, month_text
from ..population.corrections import is_corrected
from ..population.life import FIRST_MONTH
from ..population.reports import has_reports
from ..population.world import Population

COMPLETE_DAY = 10  # a month's reports are complete on the 10th of the next month (clock.DataCalendar)
DAY_START = dt.timedelta(hours=6)
DAY_SPAN_US = 12 * 3600 * 10**6  # a block's events spread over 06:00–18:00 UTC
# (position, year) → months with reports, so reading month after month builds each life once a year; bounded
# (about 200 bytes an entry: 20 MB at most)
YEAR_MASKS = 100_000


def month_of(block: int) -> Month:
    return add_months(FIRST_MONTH, block)


def registered_on(block: int) -> dt.date:
    year, month = add_months(month_of(block), 1)
    return dt.date(year, month, COMPLETE_DAY)


def block_on(day: dt.date) -> int:
    """The first block registered on or after `day`."""
    month = (day.year, day.month) if day.day > COMPLETE_DAY else add_months((day.year, day.month), -1)
    return max(0, (month[0] - FIRST_MONTH[0]) * 12 + month[1] - FIRST_MONTH[1])


class InntektSchedule:
    def __init__(self, people: People) -> None:
        self.people = people
        self.corrections = BlockCache(24)
        self.masks = Bounded(YEAR_MASKS)

    @property
    def block_size(self) -> int:
        return 2 * self.people.stride

    def corrected(self, block: int) -> list[int]:
        """Positions whose month before `block`'s month gets a correction in `block`, ascending (the world's
        draw, population/corrections.py, which the Inntekt API answers by too)."""
        def draw() -> list[int]:
            month, seed, people = month_of(block - 1), self.people.population.seed, self.people
            return [p for p in range(people.occupied)
                    if (fnr := people.fnr(p)) is not None and is_corrected(seed, fnr, month)]
        return self.corrections.get(block, draw)

    def events_from(self, slot: int, today: dt.date) -> Iterator[tuple[int, Hendelse]]:
        stride, size = self.people.stride, self.block_size
        block, pos = divmod(slot, size)
        last = block_on(today + dt.timedelta(days=1)) - 1  # the last block registered on or before today
        while block <= last:
            month, base = month_of(block), block * size
            while pos < min(stride, self.people.occupied):
                event = self._event(block, pos, month)
                if event is not None:
                    yield base + pos, event
                pos += 1
            if block > 0:
                corrected = self.corrected(block)
                for position in corrected[bisect_left(corrected, max(0, pos - stride)):]:
                    event = self._event(block, stride + position, add_months(month, -1))
                    if event is not None:
                        yield base + stride + position, event
            block, pos = block + 1, 0

    def _event(self, block: int, pos: int, month: Month) -> Hendelse | None:
        position = pos % self.people.stride
        fnr = self.people.fnr(position)
        if fnr is None or not self._reported(position, fnr, month):
            return None
        moment = dt.datetime.combine(registered_on(block), dt.time()) + DAY_START + dt.timedelta(
            microseconds=DAY_SPAN_US * pos // self.block_size)
        return Hendelse(fnr, month_text(month), moment, None, timestamp(moment))

    def _reported(self, position: int, fnr: str, month: Month) -> bool:
        population = self.people.population
        if fnr in population.personas:  # a persona can be replaced at runtime: never remembered
            life = population.lookup(fnr)
            return life is not None and has_reports(life, month)
        key = (position, month[0])
        mask = self.masks.get(key)
        if mask is None:
            life = population.lookup(fnr)
            mask = 0 if life is None else sum(1 << m for m in range(12) if has_reports(life, (month[0], m + 1)))
            self.masks.put(key, mask)
        return bool(mask >> (month[1] - 1) & 1)

    def first_slot_on(self, day: dt.date) -> int:
        return block_on(day) * self.block_size


def schedule(population: Population) -> InntektSchedule:
    return schedule_of(population, InntektSchedule, InntektSchedule)
