"""The object behind the `ske_sandbox` fixture: the sandbox in-process, the real hostnames routed to it,
and the helpers a client test reads like a sentence with."""

from __future__ import annotations

import datetime as dt
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..app import create_app
from ..conformance.report import NonConformingRequests, paragraphs
from ..environments import TEST, Environment
from ..maskinporten.grant import GRANT_TYPE
from ..maskinporten.registry import DemoClient, demo_client
from ..netfaults import parse as parse_network_fault
from ..services import DATA_API_NAMES
from ..settings import Settings
from .errors import API_OF_PREFIX, ERROR_CODES

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

DATA_APIS = DATA_API_NAMES


@dataclass(frozen=True)
class Person:
    fnr: str
    name: str
    scenario: str | None
    story: str
    household: tuple[str, ...] = ()  # spouse and children, when the persona has them


class SandboxKit:
    """One sandbox, built once; `begin()`/`end()` bracket each test (routing on, state fresh)."""

    def __init__(self, settings: Settings, environment: Environment = TEST) -> None:
        started = time.monotonic()
        self.settings = settings
        self.app = create_app(settings)
        self.environment = environment
        self.client = TestClient(self.app, base_url=settings.base_url)
        self.demo_client: DemoClient = demo_client(settings.seed)
        self.started_in = time.monotonic() - started
        self._routing: Any = None

    # --- life cycle ---------------------------------------------------------------------------------
    def begin(self) -> SandboxKit:
        from .routing import HostRouting

        self.sandbox.reset()
        self.client.__enter__()
        self._routing = HostRouting(self.app)
        self._routing.start()
        return self

    def end(self) -> None:
        self.sandbox.restore_today()  # a test's travel_to ends with the test
        if self._routing is not None:
            self._routing.stop()
            self._routing = None
        self.client.__exit__(None, None, None)

    @property
    def sandbox(self) -> Any:
        return self.app.state.sandbox

    # --- addresses ------------------------------------------------------------------------------------
    @property
    def base_urls(self) -> dict[str, str]:
        """The real base URLs of the kit's environment (test by default), as a client configures them."""
        return {service: self.environment.base_url(service) for service in self.environment.hosts}

    @property
    def issuer(self) -> str:
        return self.environment.issuer

    @property
    def today(self) -> dt.date:
        """The data calendar's date: which years are settled and which months complete."""
        return self.sandbox.population.calendar.today

    def travel_to(self, day: dt.date | str) -> dt.date:
        """Move the data calendar to `day` (a date or 'YYYY-MM-DD') until the test ends; every answer follows,
        exactly as if the sandbox had started on that day. The wall clock (token times) does not move."""
        return self.sandbox.set_today(day).today

    def advance(self, days: int = 0, *, weeks: int = 0) -> dt.date:
        """Move the data calendar forward (negative: back) until the test ends; returns the new date."""
        return self.sandbox.advance_today(days + 7 * weeks).today

    # --- Maskinporten ---------------------------------------------------------------------------------
    def grant(self, scopes: list[str] | None = None, *, real_hosts: bool = False, **claims: Any) -> str:
        """A JWT grant signed by the demo client's key. Its aud is the sandbox's own issuer (for `client`),
        or with `real_hosts=True` the kit environment's (https://test.maskinporten.no/)."""
        aud = self.issuer if real_hosts else self.sandbox.issuer
        return self.demo_client.grant(aud, self.sandbox.clock.now(), scopes, **claims)

    def token(self, scopes: list[str] | None = None, *, real_hosts: bool = False, **claims: Any) -> str:
        """An access token for calls through `client` (the sandbox's own address), or with `real_hosts=True`
        for calls to the real hostnames; `claims` go into the grant (e.g. `authorization_details=[...]`)."""
        issuer = self.issuer if real_hosts else self.sandbox.issuer
        assertion = self.grant(scopes, real_hosts=real_hosts, **claims)
        r = self.client.post(f"{issuer}token", data={"grant_type": GRANT_TYPE, "assertion": assertion})
        r.raise_for_status()
        return r.json()["access_token"]

    # --- people and scenarios -------------------------------------------------------------------------
    def persona(self, scenario: str) -> Person:
        """The persona of a scenario (`SSG-008`, `ordinary`, `household`, …), or the one with that fnr."""
        population = self.sandbox.population
        for p in population.personas.values():
            if p.scenario == scenario or p.fnr == scenario:
                return self._person(p)
        raise LookupError(f"no persona for {scenario!r}; scenarios: {', '.join(self._scenarios())}")

    def personas(self, scenario: str | None = None) -> list[Person]:
        """Every persona (curated, from the personas file, added while running), or those of one scenario
        (`household` gives the whole household), in the order they were loaded."""
        found = [self._person(p) for p in self.sandbox.population.personas.values()
                 if scenario is None or p.scenario == scenario]
        if scenario is not None and not found:
            raise LookupError(f"no persona for scenario {scenario!r}; scenarios: {', '.join(self._scenarios())}")
        return found

    def _person(self, p: Any) -> Person:
        life = self.sandbox.population.lookup(p.fnr)
        if life is None:
            return Person(p.fnr, "", p.scenario, p.story)
        others = tuple(f for f in (life.spouse, *life.children) if f)
        return Person(p.fnr, life.name, p.scenario, p.story, others)

    def _scenarios(self) -> list[str]:
        return sorted({str(p.scenario) for p in self.sandbox.population.personas.values() if p.scenario})

    @contextmanager
    def scenario(self, value: str, api: str | None = None) -> Iterator[None]:
        """Calls made inside the block answer `value` — a documented code (`SSG-008`, `IM-007`, `TD-004`, …),
        `429`, `503`, `slow:<n>ms|<n>s`, or a network fault (`reset`, `empty`, `truncated`,
        `malformed-chunk`, `trickle:<n>ms|<n>s`) — exactly as if the scenario header had been sent. A code
        goes to its own API (an FA code to both feeds); the others to `api`, or to every data API. A network
        fault reaches a client calling the real hostnames as the httpx (or requests) error a socket would give
        it; `api="maskinporten"` breaks the token endpoint's answers instead."""
        prefix = value.split("-")[0]
        if api == "maskinporten" and parse_network_fault(value) is None:
            raise ValueError(f"the token endpoint takes only network faults (reset, truncated, …), not {value!r}")
        if value in ERROR_CODES:
            apis: tuple[str, ...] = API_OF_PREFIX[prefix]
        elif value in ("429", "503") or value.startswith("slow:") or parse_network_fault(value) is not None:
            apis = (api,) if api else DATA_APIS
        else:
            raise ValueError(f"unknown scenario {value!r}: use a documented code (e.g. SSG-008), 429, 503, "
                             "slow:<n>ms / slow:<n>s, reset, empty, truncated, malformed-chunk or "
                             "trickle:<n>ms / trickle:<n>s")
        previous = dict(self.sandbox.scenarios)
        self.new_example()
        self.sandbox.scenarios.update({a: value for a in apis})
        try:
            yield
        finally:
            self.sandbox.scenarios.clear()
            self.sandbox.scenarios.update(previous)

    @contextmanager
    def answer(self, api: str, drawn: Any, *, off_contract: bool = False) -> Iterator[None]:
        """Calls to `api` inside the block get `drawn` — a body drawn from `responses(api, ...)`, a
        `CannedAnswer`, or a dict (a 200 body) — after authentication and input validation, as the service
        would answer it:

            @given(drawn=responses("inntekt"))
            def test_any_valid_answer(ske_sandbox_shared, drawn):
                with ske_sandbox_shared.answer("inntekt", drawn):
                    my_client.inntekter(fnr)

        A hand-built answer (`CannedAnswer` or dict) must be one the contract documents — status, body,
        `kode`, required headers — or `OffContractAnswer` says what is wrong; `off_contract=True` sends it
        anyway, for a test of how the client copes with an answer the real service should never give."""
        from .. import contractschema
        from ..canned import CannedAnswer
        from ..generated import GeneratedResponder
        from .answers import check

        if api not in DATA_APIS:
            raise ValueError(f"answer() serves the data APIs {', '.join(DATA_APIS)}, not {api!r}")
        if isinstance(drawn, dict):
            drawn = CannedAnswer(200, drawn)
        if isinstance(drawn, CannedAnswer):
            canned = drawn
            if not off_contract:
                check(api, canned)
        else:  # drawn from the contract by responses(): valid by construction
            canned = CannedAnswer.from_drawn(drawn)
        previous = self.sandbox.responder

        main = contractschema.templates(api)[0]  # a feed's page of events, not its start number

        def responder(name: str, request: Any) -> CannedAnswer | None:
            if name == api and GeneratedResponder.template(api, request) == main:
                return canned
            return previous(name, request) if previous else None

        self.new_example()
        self.sandbox.responder = responder
        try:
            yield
        finally:
            self.sandbox.responder = previous

    # --- what the client did --------------------------------------------------------------------------
    def new_example(self) -> None:
        """Start a new example within one test (a Hypothesis example, a loop over cases): a Retry-After
        answered before no longer binds the calls after. Entering `scenario()` or `answer()` does this
        too, since the sandbox is then told to answer something else; each test starts fresh anyway."""
        self.sandbox.journal.new_example()

    @property
    def journal(self) -> list[dict[str, Any]]:
        """Every call the client made to the faked services this test, oldest first, with its verdict."""
        return self.sandbox.journal.entries()

    def assert_requests_conform(self) -> None:
        """Fail, one readable paragraph per request, if any request broke its contract. An answer the test
        forced (`scenario()`, `answer()`, the scenario header, a fault) is never held against the request;
        the request itself (path, query, headers, grant) still is."""
        bad = [e for e in self.journal if not e["conforms"]]
        if bad:
            raise NonConformingRequests(paragraphs(bad))

    def reset(self) -> None:
        self.sandbox.reset()
