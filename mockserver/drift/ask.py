"""The sandbox's answer to the same kind of call: in-process (a sandbox built for the comparison) or from a
running server (`--url`).

How the person is chosen -- a recorded fnr never exists in the sandbox (and a masked one names nobody):
the real answer's class picks one of the sandbox's curated personas.

- found (200 with data)             → the `ordinary` persona (or `--person`: an fnr or a scenario)
- skjermet (200, `skjermet: true`)  → the `skjermet` persona
- an error code a persona stands for (SSG-007, SSG-008, SSG-011, IM-008) → that persona
- any other documented code of the API → `ordinary`, with `Ske-Sandbox-Scenario: <code>` (the sandbox's
  own rendering of that code)
- other answers (no code)           → `ordinary`

Everything else of the call is kept: rettighetspakke, stadie, year, period, query, `Accept`.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from ..dataapi import SCENARIO_HEADER
from ..maskinporten.grant import GRANT_TYPE
from ..maskinporten.keys import load_private_key
from ..maskinporten.registry import DemoClient, demo_client
from ..services import MASKINPORTEN
from .classify import FOUND, PERSON, SCREENED, Call

SCENARIO_OF_CLASS = {FOUND: "ordinary", SCREENED: "skjermet"}
DEFAULT_SCENARIO = "ordinary"


@dataclass(frozen=True)
class Answer:
    url: str  # what the sandbox was asked (its own address; the person is a synthetic persona)
    status: int
    body: str
    media: str
    person: str | None  # the persona's scenario, or the fnr given with --person
    forced: str | None  # the code asked for with the scenario header


class Http(Protocol):
    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response: ...


class SandboxSide:
    """One sandbox to ask, with a token per scope set and a person per class."""

    def __init__(self, http: Http, issuer: str, demo: DemoClient, people: dict[str, str],
                 now: Any = time.time, person: str | None = None) -> None:
        self.http, self.issuer, self.demo, self.now = http, issuer, demo, now
        self.people = people  # scenario -> fnr
        self.person = person
        self._tokens: dict[str, str] = {}

    # --- the sandbox's own Maskinporten ---------------------------------------------------------------
    def token(self, scopes: list[str]) -> str:
        key = " ".join(sorted(scopes))
        if key not in self._tokens:
            r = self._token_call(self.demo.grant(self.issuer, self.now(), scopes))
            if r.status_code != 200:
                raise httpx.HTTPError(f"the sandbox refused its own demo client a token: {r.status_code} {r.text}")
            self._tokens[key] = r.json()["access_token"]
        return self._tokens[key]

    def _token_call(self, assertion: str) -> httpx.Response:
        return self.http.request("POST", f"{MASKINPORTEN.prefix}/token",
                                 data={"grant_type": GRANT_TYPE, "assertion": assertion})

    # --- the same kind of call ------------------------------------------------------------------------
    def choose(self, call: Call, klass: str) -> tuple[str | None, str | None]:
        """(scenario or fnr of the person to ask for, code to force) for a real answer of class `klass`."""
        if PERSON not in call.params:
            return None, None
        if self.person is not None and klass == FOUND:
            return self.person, None
        if klass in SCENARIO_OF_CLASS:
            return SCENARIO_OF_CLASS[klass], None
        if klass in self.people:
            return klass, None
        errors = call.service.errors
        if errors is not None and klass in {code for code, _, _ in errors.table()}:
            return DEFAULT_SCENARIO, klass
        return DEFAULT_SCENARIO, None

    def ask(self, call: Call, klass: str, accept: str | None, consent: bool, real_body: Any) -> Answer:
        if call.service is MASKINPORTEN:
            return self._ask_maskinporten(call, klass, real_body)
        who, forced = self.choose(call, klass)
        params = dict(call.params)
        if who is not None:
            params[PERSON] = self.people.get(who, who)
        path = call.service.mount_path + _fill(call.operation.template, params)
        url = path + (f"?{call.query}" if call.query else "")
        scopes = [s for s in self.demo.scopes if s in call.service.scopes] or list(self.demo.scopes)
        headers = {"Authorization": f"Bearer {self.token(scopes)}",
                   "Accept": accept or "application/json"}
        if consent:
            headers["AltinnSamtykke"] = "ske-sandbox-drift"  # presence is what the sandbox checks
        if forced:
            headers[SCENARIO_HEADER] = forced
        r = self.http.request(call.operation.method, url, headers=headers)
        return Answer(url, r.status_code, r.text, r.headers.get("content-type", ""), who, forced)

    def _ask_maskinporten(self, call: Call, klass: str, real_body: Any) -> Answer:
        url = MASKINPORTEN.prefix + call.path
        if call.operation.operation_id != "token":
            r = self.http.request(call.operation.method, url + (f"?{call.query}" if call.query else ""))
            return Answer(url, r.status_code, r.text, r.headers.get("content-type", ""), None, None)
        scope = real_body.get("scope") if isinstance(real_body, dict) else None
        # the real client's scopes, as far as the demo client holds them (not the legacy SSG name, say)
        scopes = [s for s in str(scope or "").split() if s in self.demo.scopes] or list(self.demo.scopes)
        # A refused grant is redacted in the recording: send one the sandbox refuses with the same `error`.
        if klass == "invalid_scope":
            assertion = self.demo.grant(self.issuer, self.now(), ["ske-sandbox:ukjent"])
        elif klass == "invalid_grant":
            assertion = self.demo.grant(self.issuer, self.now() - 3600, scopes)  # expired (MP-130)
        elif klass != FOUND:
            assertion = "ikke.en.jwt"  # invalid_request (MP-011)
        else:
            assertion = self.demo.grant(self.issuer, self.now(), scopes)
        r = self._token_call(assertion)
        return Answer(url, r.status_code, r.text, r.headers.get("content-type", ""), None, None)


def _fill(template: str, params: dict[str, str]) -> str:
    out = template
    for name, value in params.items():
        out = out.replace("{" + name + "}", value)
    return out


def in_process(seed: int, today: dt.date, person: str | None = None,
               personas_file: Path | None = None) -> SandboxSide:
    """A sandbox of `seed` on `today`, built here; its demo client's organisation holds every known
    rettighetspakke, so a recorded call under any package is answered rather than refused."""
    from ..app import create_app
    from ..rettighetspakker import load_pakker
    from ..settings import Settings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    demo = demo_client(seed)
    with tempfile.TemporaryDirectory(prefix="ske-sandbox-drift-") as tmp:
        clients = Path(tmp) / "clients.yaml"
        pakker = "\n".join(f"      - {name}" for name in sorted(load_pakker()))
        clients.write_text(f"consumers:\n  - orgnr: \"{demo.orgnr}\"\n    rettighetspakker:\n{pakker}\n")
        app = create_app(Settings(seed=seed, today=today, clients_file=clients, personas_file=personas_file))
    sandbox = app.sandbox
    people: dict[str, str] = {}
    for p in sandbox.population.personas.values():
        if p.scenario:
            people.setdefault(str(p.scenario), p.fnr)
    client = TestClient(app, base_url=sandbox.settings.base_url)
    return SandboxSide(client, sandbox.issuer, demo, people, sandbox.clock.now, person)


def remote(url: str, admin_token: str | None = None, person: str | None = None,
           http: Any = None) -> SandboxSide:
    """A running sandbox: its issuer from discovery, its demo client and personas from the control API.
    `http` stands in for the HTTP client to `url` (a test's in-process client)."""
    admin = {"X-Ske-Sandbox-Admin": admin_token} if admin_token else {}
    http = http if http is not None else httpx.Client(base_url=url.rstrip("/"), timeout=30)
    try:
        r = http.get(f"{MASKINPORTEN.prefix}/.well-known/oauth-authorization-server")
        r.raise_for_status()
        issuer = r.json()["issuer"]
        r = http.get("/__sandbox/demo-client", headers=admin)
        r.raise_for_status()
        d = r.json()
        demo = DemoClient(d["client_id"], d["orgnr"], d["kid"], d["private_key_pem"], list(d["scopes"]),
                          load_private_key(d["private_key_pem"].encode()))
        r = http.get("/__sandbox/people", params={"limit": 500}, headers=admin)
        r.raise_for_status()
        people: dict[str, str] = {}
        for row in r.json():
            if row.get("scenario"):
                people.setdefault(str(row["scenario"]), str(row["fnr"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise httpx.HTTPError(f"{url} does not answer as a ske-sandbox ({exc.__class__.__name__}: {exc})") from exc
    return SandboxSide(http, issuer, demo, people, time.time, person)

