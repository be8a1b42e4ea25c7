"""What Skatteetaten's data-sharing APIs have in common: the gateway (`serve`), shared input checks,
faults and the concurrency limit, and the duration syntax of the scenario header and the CLI."""

from ..faults import CONCURRENCY_LIMIT, SERVICE_TIME, Faults, Slot
from .durations import parse_duration, parse_latency
from .gateway import SCENARIO_HEADER, ApiSpec, Caller, Endpoint, authenticate, serve, too_many, unknown_url
from .inputs import check_person_number, check_rettighetspakke

__all__ = [
    "CONCURRENCY_LIMIT", "SCENARIO_HEADER", "SERVICE_TIME", "ApiSpec", "Caller", "Endpoint", "Faults", "Slot",
    "authenticate", "check_person_number", "check_rettighetspakke", "parse_duration", "parse_latency", "serve",
    "too_many", "unknown_url",
]
