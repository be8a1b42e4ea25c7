"""Prometheus metrics of one sandbox, served at `GET /metrics` (`serve --metrics`, `SKE_SANDBOX_METRICS=1`).

Each app has a registry of its own, not prometheus_client's global one, so several sandboxes in one process
(the pytest kit's, a test's own) count apart. Labels are bounded: the API (the registry of services), the
outcome code (the services' own codes, statuses and fault names; a fault's duration is dropped) and the
verdict. No label names a consumer, client or person: the page needs no admin token (docs/observability.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import verdict

if TYPE_CHECKING:
    from starlette.types import Scope

    from ..maskinporten.grant import ValidGrant

PATH = "/metrics"  # where Prometheus scrapes by default; no service is mounted there
# From a cached answer (~0.2 ms) to a trickled one (up to 30 s): --latency and scenarios hold calls back.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MAX_OUTCOMES = 200  # distinct outcome labels; past that, `other` (a defence: the codes are far fewer)
REPLAYED = "MP-012"  # Maskinporten: "Grant is used before"


class Metrics:
    """The counters and the latency histogram of one app, and the page that exposes them."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=registry)
        self.calls = Counter("ske_sandbox_calls", "Calls to the faked services, by API, outcome code and "
                             "contract verdict", ("api", "outcome", "verdict"), registry=registry)
        self.duration = Histogram("ske_sandbox_call_duration_seconds", "Time from a call's arrival to the end "
                                  "of its answer, by API", ("api",), buckets=BUCKETS, registry=registry)
        self.tokens = Counter("ske_sandbox_tokens_issued", "Access tokens issued by the Maskinporten fake",
                              registry=registry)
        self.replays = Counter("ske_sandbox_grant_replays_refused", "Grants refused as used before "
                               f"({REPLAYED})", registry=registry)
        self._outcomes: set[str] = set()
        # each label set's child, looked up once: labels() checks and locks, about 2 µs a call
        self._counted: dict[tuple[str, str, str], Any] = {}
        self._timed: dict[str, Any] = {}

    def call(self, scope: Scope, entry: dict[str, Any], seconds: float) -> None:
        api = entry["service"]
        key = (api, self._outcome(entry.get("outcome")), verdict(entry))
        counted = self._counted.get(key)
        if counted is None:
            counted = self._counted[key] = self.calls.labels(*key)
        counted.inc()
        timed = self._timed.get(api)
        if timed is None:
            timed = self._timed[api] = self.duration.labels(api)
        timed.observe(seconds)

    def grant(self, outcome: str, grant: ValidGrant | None) -> None:
        if grant is not None:
            self.tokens.inc()
        elif outcome == REPLAYED:
            self.replays.inc()

    def _outcome(self, outcome: Any) -> str:
        # `trickle:250ms` counts as `trickle`: a duration the client chose is no label value
        label = "none" if outcome is None else str(outcome).split(":", 1)[0][:40]
        if label not in self._outcomes:
            if len(self._outcomes) >= MAX_OUTCOMES:
                return "other"
            self._outcomes.add(label)
        return label

    def route(self) -> Route:
        return Route(PATH, self.page, methods=["GET"])

    async def page(self, request: Request) -> Response:
        """Prometheus' text format, or OpenMetrics when the scraper's Accept asks for it."""
        try:
            encode, media_type = choose_encoder(request.headers.get("accept", ""))
        except (TypeError, ValueError):  # an unreadable version in Accept: the format every scraper reads
            encode, media_type = generate_latest, CONTENT_TYPE_PLAIN_0_0_4
        return Response(encode(self.registry), headers={"Content-Type": media_type, "Cache-Control": "no-store"})
