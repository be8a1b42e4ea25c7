"""Observability, off by default: Prometheus metrics at `GET /metrics` (`serve --metrics`, metrics.py) and
OpenTelemetry traces through the Starlette instrumentation (when `OTEL_EXPORTER_OTLP_ENDPOINT` is set,
tracing.py).

The sandbox tells an `Observer` two things: every journaled call (from the front door, with the entry
it wrote and the seconds the call took) and every answer of the token endpoint (a token, or the grant error's
code). When both are off, `Sandbox.observer` is None, the call sites skip a single `is None` test, and neither
prometheus_client nor OpenTelemetry is imported: start-up and import time stay as they were.

The contract verdict of a call is worked out when the call is observed (about 20 µs of CPU; measured in
docs/observability.md) and kept on the journal entry, so a later journal read does not judge it again. What
that verdict leaves out is the Retry-After pairing (a call judged by an earlier 429/503 answer), which only
a journal read adds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..conformance.checks import check

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.types import Scope

    from ..maskinporten.grant import ValidGrant

CONFORMS, NONCONFORMING = "conforms", "nonconforming"
# The standard OpenTelemetry variables that turn tracing on (an endpoint, or OTEL_TRACES_EXPORTER=console).
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


class TracingError(Exception):
    """The environment asks for traces the installed packages cannot send; the message says what to install."""


class Observer(Protocol):
    def call(self, scope: Scope, entry: dict[str, Any], seconds: float) -> None:
        """A call to a faked service, as journaled (`entry`), that took `seconds` to answer."""

    def grant(self, outcome: str, grant: ValidGrant | None) -> None:
        """The token endpoint's answer: `token` with the grant it honoured, or the refusal's code (MP-012, ...)."""


def verdict(entry: dict[str, Any]) -> str:
    """The call's contract verdict, worked out once and kept on the entry as the journal keeps it."""
    if "conforms" not in entry:
        problems = check(entry)
        entry["problems"], entry["conforms"] = problems, not problems
    return CONFORMS if entry["conforms"] else NONCONFORMING


class Observers:
    """Several observers as one (metrics and traces both on)."""

    def __init__(self, observers: list[Observer]) -> None:
        self.observers = observers

    def call(self, scope: Scope, entry: dict[str, Any], seconds: float) -> None:
        for observer in self.observers:
            observer.call(scope, entry, seconds)

    def grant(self, outcome: str, grant: ValidGrant | None) -> None:
        for observer in self.observers:
            observer.grant(outcome, grant)


def tracing_wanted(environ: Mapping[str, str]) -> bool:
    """Whether the process environment asks for traces: an OTLP endpoint, or an exporter named outright
    (`OTEL_TRACES_EXPORTER=console`). `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` wins."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return bool(exporter) or any(environ.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def attach(app: Starlette, metrics: bool, tracer_provider: Any = None) -> Observer | None:
    """Turn on what is asked for: the `/metrics` route and its counters, the Starlette instrumentation.
    Called by create_app before the app serves its first call (middleware cannot be added after)."""
    observers: list[Observer] = []
    if metrics:
        from .metrics import Metrics

        exported = Metrics()
        app.router.routes.append(exported.route())
        observers.append(exported)
    if tracer_provider is not None:
        from .tracing import Tracing

        observers.append(Tracing.instrument(app, tracer_provider))
    if not observers:
        return None
    return observers[0] if len(observers) == 1 else Observers(observers)
