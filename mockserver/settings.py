"""Everything a sandbox instance is configured with; the CLI and the pytest kit both build one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .clock import Clock
from .netfaults import DEFAULT_DRAWN
from .population import DEFAULT_SIZE


@dataclass
class Settings:
    seed: int = 1
    today: dt.date | None = None  # the data calendar; None = the real date
    population: int = DEFAULT_SIZE
    base_url: str = "http://127.0.0.1:8080"  # public address; the issuer is <base_url>/maskinporten/
    clients_file: Path | None = None
    personas_file: Path | None = None
    rettighetspakker_file: Path | None = None
    choices_file: Path | None = None
    key_file: Path | None = None
    rotate_keys: bool = False
    latency: tuple[float, float] | None = None
    fault_rate: float = 0.0
    network_fault_rate: float = 0.0  # share of data-API calls broken below HTTP (netfaults.py)
    network_faults: tuple[str, ...] = DEFAULT_DRAWN  # what that rate draws from, as scenario values
    enforce_concurrency: bool = False
    admin_token: str | None = None  # when set, the control API (/__sandbox/*) wants it
    require_file: Path | None = None  # outcomes GET /__sandbox/report holds the journal to (coverage.py)
    state: str | None = None  # where shared state lives (state/): memory: (default), sqlite:///PATH, redis://…
    metrics: bool = False  # GET /metrics in Prometheus' format (observability/metrics.py)
    tracer_provider: Any = None  # an OpenTelemetry TracerProvider: each call is traced through it (tracing.py)
    clock: Clock = field(default_factory=Clock)

    @property
    def issuer(self) -> str:
        return f"{self.base_url.rstrip('/')}/maskinporten/"
