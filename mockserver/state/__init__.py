"""Where the sandbox keeps what changes while it runs: used grant ids, the journal, the fault draws, the
concurrency slots and the shared world (data calendar and runtime personas).

One interface, three engines, chosen by `serve --state URL`:

- `memory:` (the default) — plain dicts in the one process;
- `sqlite:///PATH` — a SQLite file in WAL mode, for `serve --workers N` on one machine (the default there,
  in a fresh temporary file);
- `redis://HOST:PORT/DB` — Redis ≥ 7 or Valkey, for replicas behind a load balancer.

Everything but the world is kept per tenant (tenants.py): one CI job's reset or fault sequence never
reaches another's. A store that cannot be reached raises StoreError; the server answers that with a
documented 503 (never a replay silently accepted).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

JOURNAL_ENTRIES = 1000  # per tenant
JOURNAL_BYTES = 2 * 1024 * 1024  # per tenant, as JSON (the memory store; the others bound entries only)


class StoreError(RuntimeError):
    """The shared state cannot be reached or used; the message says which store and why."""


class Store(ABC):
    """The operations the sandbox needs, each atomic across every process that shares the store."""

    url: str = "memory:"
    shared: bool = False  # True when other processes may change it (the world must then be re-read)

    # -- used grant ids (Maskinporten's replay check) -------------------------------------------
    @abstractmethod
    def grant_seen(self, key: str, now: float) -> bool:
        """Whether the grant id `key` was used and is still live at `now`."""

    @abstractmethod
    def grant_use(self, key: str, tenant: str, until: float, now: float) -> bool:
        """Mark `key` used until `until`; False if it already was (and still is) used."""

    # -- the journal -----------------------------------------------------------------------------
    @abstractmethod
    def journal_add(self, tenant: str, entry: dict[str, Any], size: int) -> None:
        """Append an entry (sets its `seq`, and `example` once the tenant has started one)."""

    def journal_add_many(self, batch: list[tuple[str, dict[str, Any], int]]) -> None:
        """Append several (tenant, entry, size) at once (one round trip where the engine allows)."""
        for tenant, entry, size in batch:
            self.journal_add(tenant, entry, size)

    @abstractmethod
    def journal(self, tenant: str | None) -> list[dict[str, Any]]:
        """One tenant's entries (None: every tenant's), oldest first."""

    @abstractmethod
    def journal_bytes(self, tenant: str | None) -> int:
        """About how many bytes those entries take."""

    @abstractmethod
    def journal_clear(self, tenant: str | None) -> None:
        """Empty one tenant's journal (None: every tenant's)."""

    @abstractmethod
    def new_example(self, tenant: str | None) -> None:
        """The tenant's calls (None: everyone's) from here on belong to a new example (journal.py's Retry-After
        check): an entry's `example` is the sum of the tenant's count and everyone's."""

    # -- seeded draws and concurrency slots ------------------------------------------------------
    @abstractmethod
    def draw(self, tenant: str, stream: str) -> int:
        """The next index (0, 1, 2, …) of the tenant's sequence `stream`."""

    @abstractmethod
    def slot_take(self, key: str, slot: str, now: float, limit: int, drop: str | None = None) -> bool:
        """Hold `slot` in `key` if fewer than `limit` slots are live at `now` (first dropping `drop`)."""

    @abstractmethod
    def slot_free(self, key: str, slot: str, until: float) -> None:
        """The call is over; its slot counts until `until`."""

    def slot_free_many(self, ends: list[tuple[str, str, float]]) -> None:
        """Several (key, slot, until) at once (one round trip where the engine allows)."""
        for key, slot, until in ends:
            self.slot_free(key, slot, until)

    # -- the world every tenant shares ----------------------------------------------------------
    @abstractmethod
    def world_version(self) -> int:
        """Bumped by every set_world: a process re-reads the world when it changed."""

    @abstractmethod
    def world(self) -> tuple[int, dict[str, Any] | None]:
        """(version, the world as set last), or (0, None) while nobody has moved it."""

    @abstractmethod
    def set_world(self, world: dict[str, Any] | None) -> int:
        """Store the world (None: back to the start); returns the new version."""

    # -- tenants -----------------------------------------------------------------------------------
    @abstractmethod
    def tenants(self) -> list[str]:
        """The tenants with a journal."""

    @abstractmethod
    def reset(self, tenant: str | None) -> None:
        """Forget one tenant's used grants, journal, draws and slots (None: everything, the world too)."""

    def check(self) -> None:
        """Raise StoreError unless the store answers (called at start)."""
        return None

    def close(self) -> None:
        """Let go of connections (a forked worker opens its own)."""
        return None


def open_store(url: str | None) -> Store:
    """The store a `--state` URL names; StoreError for a URL no engine takes."""
    if url is None or url in ("memory", "memory:", "memory://"):
        from .memory import MemoryStore

        return MemoryStore()
    if url.startswith("sqlite:"):
        from .sqlite import SqliteStore

        return SqliteStore(url)
    if url.startswith(("redis://", "rediss://", "valkey://", "unix://")):
        from .redisstore import RedisStore

        return RedisStore(url)
    raise StoreError(f"--state {url[:80]!r}: use memory:, sqlite:///PATH or redis://HOST:PORT/DB")
