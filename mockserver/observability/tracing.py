"""OpenTelemetry traces: one server span per call, through the maintained Starlette instrumentation
(opentelemetry-instrumentation-starlette), with the sandbox's own attributes added to it.

A span of a faked service is named `METHOD route` after the route that answered it (e.g. `GET
/summertskattegrunnlag/v2/oppgjoer/{rettighetspakke}/{inntektsaar}/{personidentifikator}`; a path no route
matched: the service's prefix) and carries

- `ske.api`: the service (`summertskattegrunnlag`, `maskinporten`, ...);
- `ske.outcome`: the outcome code the journal records (`200`, `SSG-004`, `MP-012`, `token`, a fault name);
- `ske.verdict`: `conforms` or `nonconforming`, with `ske.problems` (the contract check's findings) when not;
- `ske.consumer_org`: the organisation number the data is for, when the call named one (a data call's token,
  a grant the token endpoint honoured).

`serve` builds the provider from the standard variables (`provider_from_env`); the pytest kit and tests pass
their own (`Settings.tracer_provider`), e.g. with an in-memory exporter.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.instrumentation.starlette import StarletteInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from starlette.routing import Route

from .. import __version__
from ..services import BY_NAME
from . import TracingError, verdict

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.types import Scope

    from ..maskinporten.grant import ValidGrant

EXPORTERS = "opentelemetry_traces_exporter"  # the entry-point group the SDK's exporters register under
OTLP_BY_PROTOCOL = {"http/protobuf": "otlp_proto_http", "grpc": "otlp_proto_grpc"}
OTLP_PACKAGES = {"otlp_proto_http": "opentelemetry-exporter-otlp-proto-http",
                 "otlp_proto_grpc": "opentelemetry-exporter-otlp-proto-grpc"}


def _exporter_name(environ: Mapping[str, str]) -> str:
    name = (environ.get("OTEL_TRACES_EXPORTER") or "otlp").split(",")[0].strip().lower()
    if name != "otlp":
        return name
    protocol = (environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                or "").strip()
    if not protocol:  # whichever OTLP exporter is installed, HTTP first (port 4318, the spec's default)
        installed = {ep.name for ep in entry_points(group=EXPORTERS)}
        return next((n for n in OTLP_BY_PROTOCOL.values() if n in installed), "otlp_proto_http")
    if protocol not in OTLP_BY_PROTOCOL:
        raise TracingError(f"OTEL_EXPORTER_OTLP_PROTOCOL is {protocol!r}; the sandbox sends traces over "
                           "http/protobuf or grpc")
    return OTLP_BY_PROTOCOL[protocol]


def exporter_from_env(environ: Mapping[str, str]) -> SpanExporter:
    """The span exporter the OTEL_* variables name, found as the SDK finds it (by entry point); the OTLP
    exporter reads its endpoint, headers and timeout from the same variables itself."""
    name = _exporter_name(environ)
    found = [ep for ep in entry_points(group=EXPORTERS) if ep.name == name]
    if not found:
        package = OTLP_PACKAGES.get(name)
        hint = f"install {package} beside ske-sandbox" if package else "no installed package provides it"
        raise TracingError(f"traces were asked for (OTEL_* variables) with the span exporter {name!r}, but {hint}; "
                           "OTEL_TRACES_EXPORTER=console prints spans instead")
    exporter: SpanExporter = found[0].load()()
    return exporter


def provider_from_env(environ: Mapping[str, str] | None = None) -> TracerProvider:
    """A tracer provider that batches spans to the exporter the environment names, as service `ske-sandbox`
    (or OTEL_SERVICE_NAME); sampling follows OTEL_TRACES_SAMPLER as the SDK reads it."""
    environ = os.environ if environ is None else environ
    exporter = exporter_from_env(environ)
    resource = Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME") or "ske-sandbox",
                                "service.version": __version__})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


class Tracing:
    """Adds the sandbox's attributes to the server span the instrumentation opened for the call."""

    @classmethod
    def instrument(cls, app: Starlette, provider: Any) -> Tracing:
        StarletteInstrumentor.instrument_app(app, tracer_provider=provider)
        return cls()

    def call(self, scope: Scope, entry: dict[str, Any], seconds: float) -> None:
        span = trace.get_current_span()
        if not span.is_recording():
            return
        service = entry["service"]
        route = scope.get("route")
        template = BY_NAME[service].prefix + (route.path if isinstance(route, Route) else "")
        span.update_name(f"{scope['method']} {template}")
        span.set_attribute("http.route", template)
        span.set_attribute("ske.api", service)
        if entry.get("outcome") is not None:
            span.set_attribute("ske.outcome", str(entry["outcome"]))
        span.set_attribute("ske.verdict", verdict(entry))
        if entry.get("problems"):
            span.set_attribute("ske.problems", entry["problems"])
        if entry.get("consumer"):
            span.set_attribute("ske.consumer_org", entry["consumer"])

    def grant(self, outcome: str, grant: ValidGrant | None) -> None:
        if grant is not None:
            trace.get_current_span().set_attribute("ske.consumer_org", grant.consumer)
