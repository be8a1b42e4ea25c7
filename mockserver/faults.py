"""Server-wide realism: latency, seeded error and network-fault rates, and Skatteetaten's limit of 5
concurrent calls."""

from __future__ import annotations

import math
import os
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .netfaults import DEFAULT_DRAWN, parse_list
from .state import Store
from .state.background import FLUSH_EVERY, Background
from .state.memory import MemoryStore
from .tenants import ANONYMOUS

CONCURRENCY_LIMIT = 5  # Skatteetaten: at most 5 concurrent calls per API per organisation
SERVICE_TIME = 0.1  # seconds: a call holds its concurrency slot at least this long (see contracts/README.md)


@dataclass
class Slot:
    """One call's claim on its consumer org's concurrency budget for one API."""

    key: tuple[str, str]
    connection: Any
    started: float
    until: float = math.inf  # while the call runs
    id: str = ""
    store_key: str = ""


UNCOUNTED = Slot(("", ""), None, 0.0)  # every call's slot when the limit is not enforced: nothing to count

REMEMBERED_CONNECTIONS = 4096  # a connection's last slot, so its next call frees it at once


@dataclass
class Faults:
    """Server-wide realism: latency, a seeded error rate, and the 5-concurrent-calls limit, per tenant.

    The draws are seeded sequences per tenant, counted in the sandbox's store: one tenant's calls never shift
    another's sequence, and workers sharing a store draw one sequence between them.

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
    store: Store = field(default_factory=MemoryStore)
    background: Background | None = None  # a shared store's batches (state/background.py)
    _last: OrderedDict[Any, Slot] = field(default_factory=OrderedDict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.fault_rate <= 1.0 or not 0.0 <= self.network_rate <= 1.0:
            raise ValueError("fault rate must be between 0 and 1")
        self.network_faults = parse_list(",".join(self.network_faults))
        if self.store.shared and self.now is time.monotonic:
            self.now = time.time  # slots are compared across processes (and machines): one time for all

    def reset(self) -> None:
        with self._lock:
            self._last.clear()

    def _rng(self, tenant: str, stream: str) -> random.Random:
        """The generator of the tenant's next draw in `stream`: one seeded Random per draw, so a draw depends
        on (seed, stream, tenant, its index) only, whichever process makes it."""
        return random.Random(f"{self.seed}:{stream}:{tenant}:{self.store.draw(tenant, stream)}")

    def delay(self, tenant: str = ANONYMOUS) -> float:
        if self.latency is None:
            return 0.0
        return self._rng(tenant, "latency").uniform(*self.latency)

    def roll(self, tenant: str = ANONYMOUS) -> bool:
        if self.fault_rate <= 0:
            return False
        return self._rng(tenant, "faults").random() < self.fault_rate

    def network(self, tenant: str = ANONYMOUS) -> str | None:
        """The network fault this call meets (a scenario value), or None; drawn in a seeded sequence."""
        if self.network_rate <= 0:
            return None
        rng = self._rng(tenant, "network")
        if rng.random() >= self.network_rate:
            return None
        return rng.choice(self.network_faults)

    def acquire(self, api: str, org: str, connection: Any = None, tenant: str = ANONYMOUS) -> Slot | None:
        """A slot for one call, or None when `org` already has 5 calls to `api` in flight."""
        if not self.enforce_concurrency:
            return UNCOUNTED
        slot = Slot((api, org), connection, self.now())
        slot.store_key, slot.id = f"{tenant}|{api}|{org}", os.urandom(16).hex()
        with self._lock:
            previous = self._last.get(connection) if connection is not None else None
        drop = previous.id if (previous is not None and previous.store_key == slot.store_key
                               and previous.until != math.inf) else None
        if not self.store.slot_take(slot.store_key, slot.id, slot.started, CONCURRENCY_LIMIT, drop):
            return None
        if connection is not None:
            with self._lock:
                self._last[connection] = slot
                self._last.move_to_end(connection)
                while len(self._last) > REMEMBERED_CONNECTIONS:
                    self._last.popitem(last=False)
        return slot

    def release(self, slot: Slot) -> None:
        if not slot.id:
            return  # not counted (UNCOUNTED)
        now = self.now()
        slot.until = max(now, slot.started + self.service_time)
        if self.background is not None and slot.until - now > 4 * FLUSH_EVERY:
            self.background.slot_end(slot.store_key, slot.id, slot.until)  # ends long after the next batch
        else:
            self.store.slot_free(slot.store_key, slot.id, slot.until)
