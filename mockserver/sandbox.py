"""All state of one sandbox instance, and the typed way a handler reaches it from a request."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .caching import Caches
from .canned import Responder
from .choices import load_choices
from .clock import DataCalendar
from .environments import sandbox_environment
from .faults import Faults
from .journal import Journal
from .maskinporten.grant import GrantValidator
from .maskinporten.keys import KeySet
from .maskinporten.registry import Registry
from .maskinporten.tokens import TokenIssuer
from .population.world import Population
from .rettighetspakker import load_pakker
from .services import SERVICES
from .settings import Settings


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
        self.population = Population(
            settings.seed, settings.population, DataCalendar(settings.today or dt.date.today()),
            settings.personas_file, load_choices(settings.choices_file),
        )
        self.faults = Faults(settings.seed, settings.latency, settings.fault_rate, settings.enforce_concurrency,
                             network_rate=settings.network_fault_rate, network_faults=settings.network_faults)
        self.journal = Journal()
        self.caches = Caches()  # verified tokens and encoded bodies, bounded
        self.scenarios: dict[str, str] = {}  # api name -> forced scenario value (set by the pytest kit)
        # (api name, request) -> CannedAnswer | None: answers instead of the personas (see canned.py)
        self.responder: Responder | None = None

    def base_urls(self) -> dict[str, str]:
        return {s.name: s.sandbox_url(self.settings.base_url) for s in SERVICES}

    def reset(self) -> None:
        """Forget per-process state: used jtis, the journal, forced scenarios, fault sequence, in-flight counts
        and runtime personas."""
        self.grants.jti.clear()
        self.journal.clear()
        self.caches.clear()
        self.scenarios.clear()
        self.faults.reset()
        self.population.forget_runtime_personas()


def sandbox_of(request: Any) -> Sandbox:
    """The sandbox serving `request` (a Starlette Request, or anything with `.app`)."""
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox
