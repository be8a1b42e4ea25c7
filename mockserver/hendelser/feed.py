"""Sequence numbers, paging and the start number of a feed, over its schedule of slots.

A feed is laid out in blocks (an income year, a month), each with a fixed number of slots: one per person
the population can hold (the crowd, the personas of the files, and room for every runtime persona). A slot
holds at most one event, so a slot's sequence number never depends on what comes after it: moving the data
calendar on only adds events behind the ones already shown, and their numbers stay. Empty slots are the
gaps the documentation warns of (its example counts 1, 12, 23, …), so clients must continue from the last
number + 1 and never count entries.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol, TypeVar

from ..caching import Bounded
from ..population.world import MAX_RUNTIME_PERSONAS, Population

STEP = 11  # the documented example's distance between two sequence numbers
MAX_ANTALL = 1000  # the largest page; Skatteetaten's limit is not public, consumers ask for 1000
MAX_SEKVENSNUMMER = 2**63 - 1  # a Java long, as consumers bind it


def sekvensnummer(slot: int) -> int:
    return 1 + STEP * slot


def first_slot(fra_sekvensnummer: int) -> int:
    """The first slot whose sequence number is at least `fra_sekvensnummer`."""
    return max(0, -(-(fra_sekvensnummer - 1) // STEP))


def timestamp(moment: dt.datetime) -> str:
    """UTC with six fraction digits, as the published item has it ("2021-03-10T09:29:16.000000Z")."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Hendelse:
    identifikator: str
    gjelder_periode: str
    registrert: dt.datetime
    hendelsetype: str | None  # None: the feed leaves the field out (Inntekt's does)
    ajourholdstidspunkt: str

    def body(self, slot: int) -> dict[str, Any]:
        item: dict[str, Any] = {"sekvensnummer": sekvensnummer(slot), "identifikator": self.identifikator,
                                "gjelderPeriode": self.gjelder_periode,
                                "registreringstidspunkt": timestamp(self.registrert)}
        if self.hendelsetype is not None:
            item["hendelsetype"] = self.hendelsetype
        item["ajourholdstidspunkt"] = self.ajourholdstidspunkt
        return item


class Schedule(Protocol):
    """One feed's events over the world, in slot order."""

    def events_from(self, slot: int, today: dt.date) -> Iterator[tuple[int, Hendelse]]:
        """Every event registered on or before `today` in slots from `slot` on, with its slot."""
        ...

    def first_slot_on(self, day: dt.date) -> int:
        """The first slot whose event (if any) is registered on or after `day`; every event before it is
        registered before `day`."""
        ...


def page(schedule: Schedule, fra_sekvensnummer: int, antall: int, today: dt.date) -> list[dict[str, Any]]:
    """At most `antall` events from `fra_sekvensnummer` on, as the feed's items."""
    events = islice(schedule.events_from(first_slot(fra_sekvensnummer), today), antall)
    return [event.body(slot) for slot, event in events]


class People:
    """The feed's view of who is who: position → person number, stable while runtime personas come and go.

    Positions 0 … size-1 are the crowd by index (a persona with a crowd number takes that person's place);
    after them the personas whose numbers the crowd does not have, in the order they were added."""

    def __init__(self, population: Population) -> None:
        self.population = population
        self.size = population.size
        self.extras = tuple(fnr for fnr in population.personas if population.index_of(fnr) is None)
        # fixed for the world, so a runtime persona never moves another block's numbers
        self.stride = population.size + population.loaded_personas + MAX_RUNTIME_PERSONAS

    @property
    def occupied(self) -> int:
        """Positions from here on hold nobody."""
        return self.size + len(self.extras)

    def fnr(self, position: int) -> str | None:
        if position < self.size:
            return self.population.numbers.number(position)
        extra = position - self.size
        return self.extras[extra] if extra < len(self.extras) else None

    def settlement_seed(self, fnr: str) -> str:
        return f"{self.population.seed}:{fnr}"  # as the world keys every life


S = TypeVar("S")
_SCHEDULES: weakref.WeakKeyDictionary[Population, dict[Any, Any]] = weakref.WeakKeyDictionary()


def schedule_of(population: Population, kind: type[S], build: Callable[[People], S]) -> S:
    """The population's schedule of a kind, made again only when the set of personas changes (the data
    calendar's date is never part of it: the schedule holds every day, and each call cuts it at today)."""
    people = People(population)
    held = _SCHEDULES.setdefault(population, {})
    extras, schedule = held.get(kind, ((), None))
    if schedule is None or extras != people.extras:  # what was built for another set of personas is no use
        schedule = build(people)
        held[kind] = (people.extras, schedule)
    return schedule


class BlockCache:
    """A feed's per-block indexes, bounded so a large population keeps only a few in memory."""

    def __init__(self, size: int = 8) -> None:
        self.held = Bounded(size)

    def get(self, key: Any, build: Callable[[], S]) -> S:
        value = self.held.get(key)
        if value is None:
            value = build()
            self.held.put(key, value)
        return value
