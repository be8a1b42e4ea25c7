"""All state of one sandbox instance, and the typed way a handler reaches it from a request."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import TYPE_CHECKING, Any

from .caching import Caches
from .canned import Responder
from .choices import load_choices
from .clock import DataCalendar, checked_step, checked_today
from .environments import sandbox_environment
from .faults import Faults
from .journal import Journal
from .maskinporten.grant import GrantValidator
from .maskinporten.keys import KeySet
from .maskinporten.registry import Registry
from .maskinporten.tokens import TokenIssuer
from .population.personas import Persona, PersonaError, parse_persona
from .population.world import Population
from .rettighetspakker import load_pakker
from .services import SERVICES
from .settings import Settings
from .state import open_store

log = logging.getLogger("ske_sandbox")

if TYPE_CHECKING:
    from .observability import Observer


class Sandbox:
    """All state of one sandbox instance; reachable from handlers as request.app.state.sandbox."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock = settings.clock
        self.own = sandbox_environment(settings.base_url)
        self.issuer = self.own.issuer
        self.keys = KeySet.from_seed(settings.seed, rotate=settings.rotate_keys, key_file=settings.key_file)
        self.pakker = load_pakker(settings.rettighetspakker_file)
        self.registry = Registry.build(settings.seed, settings.clients_file, frozenset(self.pakker))
        self.store = open_store(settings.state)  # used grants, journal, draws, slots, world (state/)
        self.grants = GrantValidator(self.issuer, self.registry, self.clock, self.store)
        self.tokens = TokenIssuer(self.issuer, self.keys, self.clock)
        self.start_today = settings.today or dt.date.today()  # where the data calendar returns on reset
        self._moving = threading.Lock()  # an advance reads and then sets the calendar
        self.population = Population(
            settings.seed, settings.population, DataCalendar(self.start_today),
            settings.personas_file, load_choices(settings.choices_file),
        )
        self.faults = Faults(settings.seed, settings.latency, settings.fault_rate, settings.enforce_concurrency,
                             network_rate=settings.network_fault_rate, network_faults=settings.network_faults,
                             store=self.store)
        self.journal = Journal(self.store)
        self.background = self.journal.background  # None on the default store: nothing is shared
        self.faults.background = self.background
        self._runtime: dict[str, dict[str, Any]] = {}  # fnr -> the body of a persona added at run time
        self._world_version = self.store.world_version()
        self.caches = Caches()  # verified tokens and encoded bodies, bounded
        self.scenarios: dict[str, str] = {}  # api name -> forced scenario value (set by the pytest kit)
        # (api name, request) -> CannedAnswer | None: answers instead of the personas (see canned.py)
        self.responder: Responder | None = None
        self.requirements = _requirements(settings)  # what GET /__sandbox/report holds the journal to
        self.observer: Observer | None = None  # metrics and traces, when turned on (observability/)

    def base_urls(self) -> dict[str, str]:
        return {s.name: s.sandbox_url(self.settings.base_url) for s in SERVICES}

    # -- the world every tenant shares: the data calendar and the personas added at run time ----------
    def sync_world(self) -> None:
        """Catch up with a world another worker or replica moved (a no-op on the default, one-process store;
        one read of a version number otherwise)."""
        if self.background is None or self.background.world_version() == self._world_version:
            return
        with self._moving:
            version, world = self.store.world()
            if version == self._world_version:
                return
            world = world or {}
            self.population.forget_runtime_personas()
            self._runtime = {}
            for body in world.get("personas", ()):
                try:
                    self.population.add_persona(parse_persona(body, "persona"))
                    self._runtime[body["fnr"]] = body
                except (PersonaError, KeyError) as exc:  # refused where it was added: never reaches here
                    log.error("a runtime persona from the shared state was not taken: %s", exc)
            today = world.get("today")
            self.population.move_to(dt.date.fromisoformat(today) if today else self.start_today)
            self.caches.clear()
            self._world_version = version

    def _publish_world(self) -> None:
        """Called with `_moving` held, after a change here: the other processes pick it up; the answer waits
        until they have, so a client that moves the calendar and then calls any replica sees the move."""
        self._world_version = self.store.set_world({
            "today": self.population.calendar.today.isoformat(), "personas": list(self._runtime.values())})
        if self.background is not None:
            self.background.settle()

    def set_today(self, today: object) -> DataCalendar:
        """Move the data calendar to a date (or 'YYYY-MM-DD'); CalendarError names what is wrong with it."""
        self.sync_world()
        with self._moving:
            calendar = self.population.move_to(checked_today(today))
            self._publish_world()
            return calendar

    def advance_today(self, days: object) -> DataCalendar:
        """Move the data calendar by whole days (negative: back); CalendarError when out of range."""
        self.sync_world()
        with self._moving:
            calendar = self.population.move_to(checked_step(self.population.calendar.today, days))
            self._publish_world()
            return calendar

    def restore_today(self) -> DataCalendar:
        """Back to the start date, which `--today` may have set outside the range a move accepts."""
        self.sync_world()
        with self._moving:
            calendar = self.population.move_to(self.start_today)
            self._publish_world()
            return calendar

    def add_persona(self, body: dict[str, Any]) -> tuple[Persona, bool, bool]:
        """Add (or replace) a persona at runtime from the fields of a personas-file entry: (persona, replaced,
        minted). Without `fnr`, a number nobody has is minted. PersonaError (or PersonaLimitError) when the
        entry, its household or the limits refuse it."""
        self.sync_world()
        with self._moving:
            population = self.population
            minted = "fnr" not in body
            if minted:  # a presenter adding someone during a demo needs no number of their own
                key = f"{population.runtime_personas()}:{sorted(body.items())!r}"
                body = {**body, "fnr": population.unused_number(key)}
            persona = parse_persona(body, "persona")
            replaced = persona.fnr in population.personas
            population.add_persona(persona)
            self._runtime[persona.fnr] = body
            self.caches.clear()  # cached answers were made from the people as they were
            self._publish_world()
        return persona, replaced, minted

    def reset(self, tenant: str | None = None) -> None:
        """Forget a tenant's used grant ids, journal, fault sequence and in-flight counts. Without a tenant,
        everyone's, and the world too: forced scenarios and runtime personas go, and the data calendar
        returns to the date the sandbox started with."""
        self.journal.settle()  # every process's entries so far are in the store, and go with the reset
        self.store.reset(tenant)
        if tenant is not None:
            return
        self.caches.clear()
        self.scenarios.clear()
        self.faults.reset()
        with self._moving:
            self.population.forget_runtime_personas()
            self._runtime = {}
            self.population.move_to(self.start_today)
            self._publish_world()


def _requirements(settings: Settings) -> Any:
    if settings.require_file is None:
        return None
    from .conformance.coverage import load_requirements  # reads every contract: only when asked for

    return load_requirements(settings.require_file)


def sandbox_of(request: Any) -> Sandbox:
    """The sandbox serving `request` (a Starlette Request, or anything with `.app`). A plain attribute of the
    app (`SandboxApp`), not `app.state`: handlers ask several times per call, and State's look-up is slower."""
    sandbox: Sandbox = request.app.sandbox
    return sandbox


_DATED = "ske_sandbox.population"  # scope key of a request's dated population


def population_of(request: Any) -> Population:
    """The population as of the data calendar's date when this request first asked: its checks, its answer
    and the key its answer is cached under all read one date, even if the calendar moves meanwhile."""
    population: Population | None = request.scope.get(_DATED)
    if population is None:
        sandbox = sandbox_of(request)
        sandbox.sync_world()
        population = request.scope[_DATED] = sandbox.population.dated()
    return population
