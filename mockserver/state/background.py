"""What a process sharing a store does off its calls' path: it writes its journal entries in batches and
watches the world's version, so a data call pays neither a write nor a read of the store.

The price is a short lag, bounded and documented: an entry reaches the store within FLUSH_EVERY, and a
world moved by another worker or replica is seen within FLUSH_EVERY. Whatever must see everything
(reading the journal, a reset, moving the world) first waits SETTLE, longer than both.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from . import Store, StoreError

log = logging.getLogger("ske_sandbox.state")
FLUSH_EVERY = 0.005  # seconds between batches
SETTLE = 0.025  # seconds a reader or a reset waits for every process's last batch
MAX_BUFFER = 10_000  # entries kept while the store does not answer; the oldest are dropped past this


class Background:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._buffer: list[tuple[str, dict[str, Any], int]] = []
        self._ends: list[tuple[str, str, float]] = []  # concurrency slots' ends: (key, slot, until)
        self._lock = threading.Lock()
        self._version = store.world_version()
        self._pid = -1
        self._thread: threading.Thread | None = None
        self._failing = False

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():  # a forked worker starts its own (threads do not survive a fork)
                self._buffer, self._ends, self._thread, self._pid = [], [], None, os.getpid()
            if self._thread is None:
                self._version = self.store.world_version()  # as it is now, not as when this was made
                self._thread = threading.Thread(target=self._run, name="ske-sandbox-state", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_EVERY)
            try:
                self.flush()
                self._version = self.store.world_version()
                if self._failing:
                    log.warning("the shared state answers again")
                    self._failing = False
            except StoreError as exc:
                if not self._failing:
                    log.error("%s", exc)
                    self._failing = True

    def add(self, tenant: str, entry: dict[str, Any], size: int) -> None:
        self._ensure_thread()
        with self._lock:
            self._buffer.append((tenant, entry, size))
            if len(self._buffer) > MAX_BUFFER:
                del self._buffer[: len(self._buffer) - MAX_BUFFER]

    def slot_end(self, key: str, slot: str, until: float) -> None:
        """When a finished call's concurrency slot ends, written with the next batch. A slot is held for
        SERVICE_TIME (0.1 s) at least, far longer than a batch waits, so the count is the same as if it were
        written at once; it saves each call a round trip."""
        self._ensure_thread()
        with self._lock:
            self._ends.append((key, slot, until))
            if len(self._ends) > MAX_BUFFER:
                del self._ends[: len(self._ends) - MAX_BUFFER]

    def flush(self) -> None:
        """Write what is buffered now (StoreError when the store does not take it; it is kept for later)."""
        with self._lock:
            batch, self._buffer = self._buffer, []
            ends, self._ends = self._ends, []
        try:
            if ends:
                self.store.slot_free_many(ends)
        except StoreError:
            with self._lock:
                self._ends[:0] = ends[-MAX_BUFFER:]
                self._buffer[:0] = batch[-MAX_BUFFER:]
            raise
        if not batch:
            return
        try:
            self.store.journal_add_many(batch)
        except StoreError:
            with self._lock:
                self._buffer[:0] = batch[-MAX_BUFFER:]
            raise

    def world_version(self) -> int:
        """The world's version as last seen (at most FLUSH_EVERY old); StoreError while the store does not
        answer, so calls get the documented 503 instead of answers from a world that may have moved."""
        self._ensure_thread()
        if self._failing:
            raise StoreError(f"shared state {self.store.url} does not answer")
        return self._version

    def settle(self) -> None:
        """Before reading or changing what every process writes: this process's entries now, the others'
        by waiting out their next batch."""
        self.flush()
        time.sleep(SETTLE)
