"""Server-wide realism: latency, seeded error and network-fault rates, and Skatteetaten's limit of 5
concurrent calls."""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .netfaults import DEFAULT_DRAWN, parse_list

CONCURRENCY_LIMIT = 5  # Skatteetaten: at most 5 concurrent calls per API per organisation
SERVICE_TIME = 0.1  # seconds: a call holds its concurrency slot at least this long (see contracts/README.md)


@dataclass
class Slot:
    """One call's claim on its consumer org's concurrency budget for one API."""

    key: tuple[str, str]
    connection: Any
    started: float
    until: float = math.inf  # while the call runs


@dataclass
class Faults:
    """Server-wide realism: latency, a seeded error rate, and the 5-concurrent-calls limit.

    The limit counts calls the way the gateway sees them: a call holds its slot while it runs and, after
    the sandbox's quick answer, until `service_time` has passed since it began, as it would behind the real
    service. A connection's next call frees its previous slot at once: an HTTP/1.1 connection carries one
    call at a time, so a client calling in series never counts twice.
    """

    seed: int = 1
    latency: tuple[float, float] | None = None
    fault_rate: float = 0.0
    enforce_concurrency: bool = False
    service_time: float = SERVICE_TIME
    now: Callable[[], float] = time.monotonic
    network_rate: float = 0.0  # share of data-API calls broken by a network fault (netfaults.py)
    network_faults: tuple[str, ...] = DEFAULT_DRAWN  # the faults drawn from, as scenario values
    _rng: random.Random = field(init=False)
    _net_rng: random.Random = field(init=False)
    _slots: dict[tuple[str, str], list[Slot]] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.fault_rate <= 1.0 or not 0.0 <= self.network_rate <= 1.0:
            raise ValueError("fault rate must be between 0 and 1")
        self.network_faults = parse_list(",".join(self.network_faults))
        self.reset()

    def reset(self) -> None:
        self._rng = random.Random(f"{self.seed}:faults")
        self._net_rng = random.Random(f"{self.seed}:network")  # its own sequence: one rate never shifts the other
        with self._lock:
            self._slots.clear()

    def delay(self) -> float:
        if self.latency is None:
            return 0.0
        with self._lock:
            return self._rng.uniform(*self.latency)

    def roll(self) -> bool:
        if self.fault_rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < self.fault_rate

    def network(self) -> str | None:
        """The network fault this call meets (a scenario value), or None; drawn in a seeded sequence."""
        if self.network_rate <= 0:
            return None
        with self._lock:
            if self._net_rng.random() >= self.network_rate:
                return None
            return self._net_rng.choice(self.network_faults)

    def acquire(self, api: str, org: str, connection: Any = None) -> Slot | None:
        """A slot for one call, or None when `org` already has 5 calls to `api` in flight."""
        slot = Slot((api, org), connection, self.now())
        if not self.enforce_concurrency:
            return slot
        with self._lock:
            held = [s for s in self._slots.get(slot.key, ()) if s.until > slot.started
                    and not (connection is not None and s.connection == connection and s.until != math.inf)]
            self._slots[slot.key] = held
            if len(held) >= CONCURRENCY_LIMIT:
                return None
            held.append(slot)
            return slot

    def release(self, slot: Slot) -> None:
        with self._lock:
            slot.until = max(self.now(), slot.started + self.service_time)
