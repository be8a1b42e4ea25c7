"""What Skatteoppgjør hendelser answers: one event per person and income year, on the day the year's oppgjør
was ready (the same day Summert skattegrunnlag starts to answer it).

Block b holds income year 2021 + b, its slots ordered by settlement day and then by position, so sequence
numbers and registreringstidspunkt rise together. `NY` for a settled year; `SLETTET` for a year whose basis is
gone (Summert skattegrunnlag answers 410 SSG-011 for it); a year without an oppgjør is a gap. `ENDRET` is
documented but never sent: the world has no changed oppgjør.
"""

from __future__ import annotations

import datetime as dt
from array import array
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass

from ..hendelser.feed import BlockCache, Hendelse, People, schedule_of
from ..population.settlement import ajourhold_at, settlement_day
from ..population.world import Population

FIRST_YEAR = 2021  # the world's first income year
FIRST_DAY = (3, 21)  # oppgjør days run from 21 March to 31 October the year after (settlement.py)
DAYS = (dt.date(2001, 10, 31) - dt.date(2001, 3, 21)).days + 1
# registered in the evening of the settlement day, after every ajourholdstidspunkt of that day (06–20 h)
EVENING = dt.timedelta(hours=20)
EVENING_SPAN_US = 4 * 3600 * 10**6 - 1


def first_day(year: int) -> dt.date:
    return dt.date(year + 1, *FIRST_DAY)


@dataclass(frozen=True)
class YearIndex:
    order: array  # positions, by settlement day and then position
    starts: list[int]  # starts[d]: the first rank on day d of the year's span; starts[DAYS] = len(order)

    def day_of(self, rank: int) -> int:
        return bisect_right(self.starts, rank) - 1


class OppgjoerSchedule:
    def __init__(self, people: People) -> None:
        self.people = people
        self.years = BlockCache()

    def index(self, year: int) -> YearIndex:
        return self.years.get(year, lambda: self._build(year))

    def _build(self, year: int) -> YearIndex:
        """Counting sort of everyone by settlement day: O(n), about 17 µs a person."""
        people, start = self.people, first_day(year)
        days: list[list[int]] = [[] for _ in range(DAYS)]
        for position in range(people.occupied):
            fnr = people.fnr(position)
            if fnr is not None:
                days[(settlement_day(people.settlement_seed(fnr), year) - start).days].append(position)
        starts, order = [0], array("I")
        for positions in days:
            order.extend(positions)
            starts.append(len(order))
        return YearIndex(order, starts)

    def events_from(self, slot: int, today: dt.date) -> Iterator[tuple[int, Hendelse]]:
        stride = self.people.stride
        block, rank = divmod(slot, stride)
        while FIRST_YEAR + block < today.year and first_day(FIRST_YEAR + block) <= today:
            year = FIRST_YEAR + block
            index, start = self.index(year), first_day(year)
            while rank < len(index.order):
                d = index.day_of(rank)
                day = start + dt.timedelta(days=d)
                if day > today:
                    return
                event = self._event(year, index.order[rank], day, rank - index.starts[d],
                                    index.starts[d + 1] - index.starts[d])
                if event is not None:
                    yield block * stride + rank, event
                rank += 1
            block, rank = block + 1, 0

    def _event(self, year: int, position: int, day: dt.date, nth: int, of: int) -> Hendelse | None:
        population = self.people.population
        fnr = self.people.fnr(position)
        if fnr is None:
            return None
        kind = "NY"
        if fnr in population.personas:  # only personas have deleted years or years without an oppgjør
            life = population.lookup(fnr)
            if life is None:
                return None
            if year in life.deleted:
                kind = "SLETTET"
            elif year in life.no_settlement:
                return None
        moment = dt.datetime.combine(day, dt.time()) + EVENING + dt.timedelta(microseconds=EVENING_SPAN_US * nth // of)
        return Hendelse(fnr, str(year), moment, kind, ajourhold_at(self.people.settlement_seed(fnr), year, day, day))

    def first_slot_on(self, day: dt.date) -> int:
        year = day.year - 1 if day <= dt.date(day.year, 10, 31) else day.year
        if year < FIRST_YEAR:
            return 0
        block = year - FIRST_YEAR
        offset = (day - first_day(year)).days
        rank = 0 if offset <= 0 else self.index(year).starts[offset]
        return block * self.people.stride + rank


def schedule(population: Population) -> OppgjoerSchedule:
    return schedule_of(population, OppgjoerSchedule, OppgjoerSchedule)
