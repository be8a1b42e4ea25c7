"""All state of one sandbox instance, and the typed way a handler reaches it from a request."""

from __future__ import annotations

import datetime as dt
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
from .population.personas import Persona, parse_persona
from .population.world import Population
from .rettighetspakker import load_pakker
from .services import SERVICES
from .settings import Settings

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
        self.grants = GrantValidator(self.issuer, self.registry, self.clock)
        self.tokens = TokenIssuer(self.issuer, self.keys, self.clock)
        self.start_today = settings.today or dt.date.today()  # where the data calendar returns on reset
        self._moving = threading.Lock()  # an advance reads and then sets the calendar
        self.population = Population(
            settings.seed, settings.population, DataCalendar(self.start_today),
            settings.personas_file, load_choices(settings.choices_file),
        )
        self.faults = Faults(settings.seed, settings.latency, settings.fault_rate, settings.enforce_concurrency,
                             network_rate=settings.network_fault_rate, network_faults=settings.network_faults)
        self.journal = Journal()
        self.caches = Caches()  # verified tokens and encoded bodies, bounded
        self.scenarios: dict[str, str] = {}  # api name -> forced scenario value (set by the pytest kit)
        # (api name, request) -> CannedAnswer | None: answers instead of the personas (see canned.py)
        self.responder: Responder | None = None
        self.requirements = _requirements(settings)  # what GET /__sandbox/report holds the journal to
        self.observer: Observer | None = None  # metrics and traces, when turned on (observability/)

    def base_urls(self) -> dict[str, str]:
        return {s.name: s.sandbox_url(self.settings.base_url) for s in SERVICES}

    # -- the data calendar ---------------------------------------------------------------------------
    def set_today(self, today: object) -> DataCalendar:
        """Move the data calendar to a date (or 'YYYY-MM-DD'); CalendarError names what is wrong with it."""
        with self._moving:
            return self.population.move_to(checked_today(today))

    def advance_today(self, days: object) -> DataCalendar:
        """Move the data calendar by whole days (negative: back); CalendarError when out of range."""
        with self._moving:
            return self.population.move_to(checked_step(self.population.calendar.today, days))

    def restore_today(self) -> DataCalendar:
        """Back to the start date, which `--today` may have set outside the range a move accepts."""
        with self._moving:
            return self.population.move_to(self.start_today)

    def add_persona(self, body: dict[str, Any]) -> tuple[Persona, bool, bool]:
        """Add (or replace) a persona at runtime from the fields of a personas-file entry: (persona, replaced,
        minted). Without `fnr`, a number nobody has is minted. PersonaError (or PersonaLimitError) when the
        entry, its household or the limits refuse it."""
        population = self.population
        minted = "fnr" not in body
        if minted:  # a presenter adding someone during a demo needs no number of their own
            key = f"{population.runtime_personas()}:{sorted(body.items())!r}"
            body = {**body, "fnr": population.unused_number(key)}
        persona = parse_persona(body, "persona")
        replaced = persona.fnr in population.personas
        population.add_persona(persona)
        self.caches.clear()  # cached answers were made from the people as they were
        return persona, replaced, minted

    def reset(self) -> None:
        """Forget per-process state: used jtis, the journal, forced scenarios, fault sequence, in-flight counts
        and runtime personas; the data calendar returns to the date the sandbox started with."""
        self.grants.jti.clear()
        self.journal.clear()
        self.caches.clear()
        self.scenarios.clear()
        self.faults.reset()
        self.population.forget_runtime_personas()
        self.restore_today()


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
        population = request.scope[_DATED] = sandbox_of(request).population.dated()
    return population
