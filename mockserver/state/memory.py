"""The default store: dicts in the one process, bounded in tenants, entries and bytes."""

from __future__ import annotations

import heapq
import itertools
import math
import threading
from collections import OrderedDict, deque
from typing import Any

from . import JOURNAL_BYTES, JOURNAL_ENTRIES, Store

MAX_TENANTS = 256  # journals kept; the one written to longest ago goes first


class _Journal:
    def __init__(self) -> None:
        self.entries: deque[tuple[dict[str, Any], int]] = deque()
        self.bytes = 0
        self.example = 0


class MemoryStore(Store):
    url = "memory:"
    shared = False

    def __init__(self, entries: int = JOURNAL_ENTRIES, max_bytes: int = JOURNAL_BYTES) -> None:
        self._lock = threading.Lock()
        self._entries, self._max_bytes = entries, max_bytes
        self._grants: dict[str, tuple[float, str]] = {}
        self._expiries: list[tuple[float, str]] = []  # a heap: expired ids go in O(log n) per grant
        self._journals: OrderedDict[str, _Journal] = OrderedDict()
        self._seq = itertools.count(1)
        self._draws: dict[tuple[str, str], int] = {}
        self._slots: dict[str, dict[str, float]] = {}
        self._world: dict[str, Any] | None = None
        self._example_all = 0
        self._version = 0

    # -- used grant ids ----------------------------------------------------------------------------
    def grant_seen(self, key: str, now: float) -> bool:
        return self._grants.get(key, (-1.0, ""))[0] >= now

    def grant_use(self, key: str, tenant: str, until: float, now: float) -> bool:
        with self._lock:
            expiries, grants = self._expiries, self._grants
            while expiries and expiries[0][0] < now:
                was, old = heapq.heappop(expiries)
                if grants.get(old, (None,))[0] == was:  # not used again since with a later expiry
                    del grants[old]
            if grants.get(key, (-1.0, ""))[0] >= now:
                return False
            grants[key] = (until, tenant)
            heapq.heappush(expiries, (until, key))
            return True

    def live_grants(self) -> int:
        return len(self._grants)

    # -- the journal -------------------------------------------------------------------------------
    def _journal_of(self, tenant: str) -> _Journal:
        journal = self._journals.get(tenant)
        if journal is None:
            journal = self._journals[tenant] = _Journal()
            while len(self._journals) > MAX_TENANTS:
                self._journals.popitem(last=False)
        else:
            self._journals.move_to_end(tenant)
        return journal

    def journal_add(self, tenant: str, entry: dict[str, Any], size: int) -> None:
        with self._lock:
            journal = self._journal_of(tenant)
            entry["seq"] = next(self._seq)
            if journal.example or self._example_all:
                entry["example"] = journal.example + self._example_all
            journal.entries.append((entry, size))
            journal.bytes += size
            kept = journal.entries
            while len(kept) > self._entries or (journal.bytes > self._max_bytes and len(kept) > 1):
                journal.bytes -= kept.popleft()[1]

    def journal(self, tenant: str | None) -> list[dict[str, Any]]:
        with self._lock:
            if tenant is not None:
                journal = self._journals.get(tenant)
                return [entry for entry, _ in journal.entries] if journal else []
            everyone = [entry for journal in self._journals.values() for entry, _ in journal.entries]
        return sorted(everyone, key=lambda e: e["seq"])

    def journal_bytes(self, tenant: str | None) -> int:
        with self._lock:
            if tenant is not None:
                journal = self._journals.get(tenant)
                return journal.bytes if journal else 0
            return sum(journal.bytes for journal in self._journals.values())

    def journal_clear(self, tenant: str | None) -> None:
        with self._lock:
            if tenant is None:
                self._journals.clear()
            else:
                self._journals.pop(tenant, None)

    def new_example(self, tenant: str | None) -> None:
        with self._lock:
            if tenant is None:
                self._example_all += 1
            else:
                self._journal_of(tenant).example += 1

    # -- draws and slots ---------------------------------------------------------------------------
    def draw(self, tenant: str, stream: str) -> int:
        with self._lock:
            n = self._draws.get((tenant, stream), 0)
            self._draws[(tenant, stream)] = n + 1
            return n

    def slot_take(self, key: str, slot: str, now: float, limit: int, drop: str | None = None) -> bool:
        with self._lock:
            held = {s: until for s, until in self._slots.get(key, {}).items() if until > now and s != drop}
            self._slots[key] = held
            if len(held) >= limit:
                return False
            held[slot] = math.inf
            return True

    def slot_free(self, key: str, slot: str, until: float) -> None:
        with self._lock:
            held = self._slots.get(key)
            if held is not None and slot in held:
                held[slot] = until

    # -- the world ---------------------------------------------------------------------------------
    def world_version(self) -> int:
        return self._version

    def world(self) -> tuple[int, dict[str, Any] | None]:
        return self._version, self._world

    def set_world(self, world: dict[str, Any] | None) -> int:
        with self._lock:
            self._world = world
            self._version += 1
            return self._version

    # -- tenants -----------------------------------------------------------------------------------
    def tenants(self) -> list[str]:
        with self._lock:
            return list(self._journals)

    def reset(self, tenant: str | None) -> None:
        with self._lock:
            if tenant is None:
                self._grants.clear()
                self._expiries.clear()
                self._journals.clear()
                self._draws.clear()
                self._slots.clear()
                self._world, self._version = None, self._version + 1
                self._example_all = 0
                return
            self._grants = {k: v for k, v in self._grants.items() if v[1] != tenant}
            self._expiries = [(u, k) for u, k in self._expiries if k in self._grants]
            heapq.heapify(self._expiries)
            self._journals.pop(tenant, None)
            self._draws = {k: n for k, n in self._draws.items() if k[0] != tenant}
            prefix = f"{tenant}|"
            self._slots = {k: v for k, v in self._slots.items() if not k.startswith(prefix)}
