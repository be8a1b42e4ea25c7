"""A SQLite file in WAL mode: the state `serve --workers N` shares between its processes on one machine.

Each process (and each forked worker) opens its own connection; every change is one short transaction,
so workers never see half of another's change. Readers do not block the writer in WAL mode.

The journal is kept in runs: the consecutive entries of one tenant in a batch are one row (a JSON list),
numbered by a counter, so a busy worker writes a row per batch and not one per call; `seq` is the same as
if each entry had a row of its own.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from . import JOURNAL_ENTRIES, Store, StoreError

SCHEMA = """
CREATE TABLE IF NOT EXISTS grants (key TEXT PRIMARY KEY, tenant TEXT NOT NULL, until REAL NOT NULL);
CREATE INDEX IF NOT EXISTS grants_until ON grants (until);
CREATE TABLE IF NOT EXISTS journal_runs (last INTEGER PRIMARY KEY, tenant TEXT NOT NULL, n INTEGER NOT NULL,
                                         entries TEXT NOT NULL, size INTEGER NOT NULL, example INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS journal_runs_tenant ON journal_runs (tenant, last);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS examples (tenant TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS draws (tenant TEXT NOT NULL, stream TEXT NOT NULL, n INTEGER NOT NULL,
                                  PRIMARY KEY (tenant, stream));
CREATE TABLE IF NOT EXISTS slots (key TEXT NOT NULL, slot TEXT NOT NULL, until REAL NOT NULL,
                                  PRIMARY KEY (key, slot));
CREATE TABLE IF NOT EXISTS world (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, doc TEXT);
"""
SWEEP_EVERY = 512  # grants between dropping the expired ids
PRUNE_EVERY = 64  # journal entries written between trimming a tenant to its last JOURNAL_ENTRIES
EVERYONE = "*"  # the examples row counting everyone's new examples (no tenant is named so)
INF = 1e300  # SQLite has no infinity literal that survives a REAL column round trip everywhere


def path_of(url: str) -> Path:
    """sqlite:///abs/path or sqlite:relative/path → the file."""
    parts = urlsplit(url)
    path = unquote(parts.path if parts.netloc in ("", "localhost") else "")
    if not path:
        raise StoreError(f"--state {url!r}: name the file, e.g. sqlite:///tmp/ske-sandbox.db")
    return Path(path)


class SqliteStore(Store):
    shared = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = path_of(url)
        self._forked = False
        os.register_at_fork(after_in_child=self._after_fork)
        self._conn: sqlite3.Connection | None = None
        self._lockfile = -1
        self._lock = threading.Lock()
        self._inserts = 0
        self._grants = 0
        self.check()

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction; a read takes no write lock (WAL readers see the last commit). Writers queue on
        an flock first: the kernel hands the lock over the moment it is free, where SQLite's own busy
        handler would sleep a millisecond or more, and that sleep would stall a worker's event loop."""
        with self._lock:
            if self._conn is None or self._forked:  # a forked worker opens its own
                self._conn = self._open()
                self._forked = False
            conn = self._conn
            if write:
                fcntl.flock(self._lockfile, fcntl.LOCK_EX)
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StoreError(f"state file {self.path}: {exc}") from exc
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                if write:
                    fcntl.flock(self._lockfile, fcntl.LOCK_UN)

    def _open(self) -> sqlite3.Connection:
        """The connection, made under the flock: processes that open a new file at the same moment would
        otherwise race to switch it to WAL, and the loser is told the database is locked."""
        try:
            lockfile = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(f"state file {self.path}: {exc.strerror or exc}") from exc
        fcntl.flock(lockfile, fcntl.LOCK_EX)
        try:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable enough for a sandbox, no fsync per call
            conn.executescript(SCHEMA)
        except BaseException as exc:
            os.close(lockfile)  # which lets go of the flock
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"state file {self.path}: {exc}") from exc
            raise
        fcntl.flock(lockfile, fcntl.LOCK_UN)
        self._lockfile = lockfile
        return conn

    def check(self) -> None:
        with self._tx() as conn:
            conn.execute("SELECT 1")

    def _after_fork(self) -> None:
        self._forked = True  # the parent's connection is not ours to use (nor to close)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and not self._forked:
                self._conn.close()
                os.close(self._lockfile)
            self._conn = None

    # -- used grant ids ----------------------------------------------------------------------------
    def grant_seen(self, key: str, now: float) -> bool:
        with self._tx(write=False) as conn:
            row = conn.execute("SELECT until FROM grants WHERE key = ?", (key,)).fetchone()
        return row is not None and row[0] >= now

    def grant_use(self, key: str, tenant: str, until: float, now: float) -> bool:
        """One statement: taken when new, or when its earlier use has expired; expired ids are swept now and
        then, not on every grant."""
        with self._tx() as conn:
            cur = conn.execute("INSERT INTO grants (key, tenant, until) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE "
                               "SET tenant = excluded.tenant, until = excluded.until WHERE grants.until < ?",
                               (key, tenant, until, now))
            self._grants += 1
            if self._grants % SWEEP_EVERY == 0:
                conn.execute("DELETE FROM grants WHERE until < ?", (now,))
            return cur.rowcount == 1

    # -- the journal -------------------------------------------------------------------------------
    def journal_add(self, tenant: str, entry: dict[str, Any], size: int) -> None:
        self._add_runs([(tenant, entry, size)], set_on=entry)

    def journal_add_many(self, batch: list[tuple[str, dict[str, Any], int]]) -> None:
        self._add_runs(batch)

    def _add_runs(self, batch: list[tuple[str, dict[str, Any], int]], set_on: dict[str, Any] | None = None) -> None:
        """One row per run of one tenant's consecutive entries, in the batch's order."""
        runs: list[tuple[str, list[dict[str, Any]], list[int]]] = []
        for tenant, entry, size in batch:
            if not runs or runs[-1][0] != tenant:
                runs.append((tenant, [], []))
            runs[-1][1].append(entry)
            runs[-1][2].append(size)
        texts = [json.dumps(entries) for _, entries, _ in runs]  # before the lock: other workers may write
        with self._tx() as conn:
            examples = dict(conn.execute("SELECT tenant, n FROM examples").fetchall())
            everyone = examples.get(EVERYONE, 0)
            (top,) = conn.execute("INSERT INTO counters (name, n) VALUES ('seq', ?) ON CONFLICT (name) DO UPDATE "
                                  "SET n = n + excluded.n RETURNING n", (len(batch),)).fetchone()
            last = top - len(batch)
            rows = []
            for (tenant, entries, sizes), text in zip(runs, texts, strict=True):
                last += len(entries)
                rows.append((last, tenant, len(entries), text, sum(sizes), examples.get(tenant, 0) + everyone))
            conn.executemany("INSERT INTO journal_runs (last, tenant, n, entries, size, example) "
                             "VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._inserts += len(batch)
            if self._inserts >= PRUNE_EVERY:
                self._inserts = 0
                for tenant in {t for t, _, _ in batch}:
                    conn.execute("DELETE FROM journal_runs WHERE tenant = ?1 AND last < (SELECT last FROM (SELECT "
                                 "last, SUM(n) OVER (ORDER BY last DESC) AS upto FROM journal_runs WHERE "
                                 "tenant = ?1) WHERE upto >= ?2 ORDER BY last DESC LIMIT 1)",
                                 (tenant, JOURNAL_ENTRIES))
        if set_on is not None:
            set_on["seq"] = top
            if rows[0][5]:
                set_on["example"] = rows[0][5]

    def journal(self, tenant: str | None) -> list[dict[str, Any]]:
        limit = JOURNAL_ENTRIES if tenant is not None else JOURNAL_ENTRIES * 4
        runs = []  # (last, its entries as JSON, example, how many of its last entries are kept)
        with self._tx(write=False) as conn:
            if tenant is None:
                cursor = conn.execute("SELECT last, tenant, n, entries, example FROM journal_runs "
                                      "ORDER BY last DESC")
            else:
                cursor = conn.execute("SELECT last, tenant, n, entries, example FROM journal_runs WHERE tenant = ? "
                                      "ORDER BY last DESC", (tenant,))
            kept: dict[str, int] = {}  # per tenant: a run past its last JOURNAL_ENTRIES waits to be pruned
            total = 0
            for last, owner, n, text, example in cursor:
                take = min(n, JOURNAL_ENTRIES - kept.get(owner, 0), limit - total)
                if take > 0:
                    runs.append((last, text, example, take))
                    kept[owner] = kept.get(owner, 0) + take
                    total += take
                if total >= limit:
                    break
        out: list[dict[str, Any]] = []
        for last, text, example, take in reversed(runs):
            entries = json.loads(text)
            first = last - len(entries) + 1
            for seq, entry in enumerate(entries[len(entries) - take:], start=first + len(entries) - take):
                entry.pop("seq", None)
                if example:
                    entry["example"] = example
                entry["seq"] = seq
                out.append(entry)
        return out

    def journal_bytes(self, tenant: str | None) -> int:
        with self._tx(write=False) as conn:
            if tenant is None:
                row = conn.execute("SELECT COALESCE(SUM(size), 0) FROM journal_runs").fetchone()
            else:
                row = conn.execute("SELECT COALESCE(SUM(size), 0) FROM journal_runs WHERE tenant = ?",
                                   (tenant,)).fetchone()
        return int(row[0])

    def journal_clear(self, tenant: str | None) -> None:
        with self._tx() as conn:
            if tenant is None:
                conn.execute("DELETE FROM journal_runs")
            else:
                conn.execute("DELETE FROM journal_runs WHERE tenant = ?", (tenant,))

    def new_example(self, tenant: str | None) -> None:
        with self._tx() as conn:
            conn.execute("INSERT INTO examples (tenant, n) VALUES (?, 1) "
                         "ON CONFLICT (tenant) DO UPDATE SET n = n + 1", (EVERYONE if tenant is None else tenant,))

    # -- draws and slots ---------------------------------------------------------------------------
    def draw(self, tenant: str, stream: str) -> int:
        with self._tx() as conn:
            row = conn.execute("INSERT INTO draws (tenant, stream, n) VALUES (?, ?, 1) ON CONFLICT (tenant, stream) "
                               "DO UPDATE SET n = n + 1 RETURNING n", (tenant, stream)).fetchone()
        return int(row[0]) - 1

    def slot_take(self, key: str, slot: str, now: float, limit: int, drop: str | None = None) -> bool:
        with self._tx() as conn:
            conn.execute("DELETE FROM slots WHERE key = ? AND (until <= ? OR slot = ?)", (key, now, drop or ""))
            (held,) = conn.execute("SELECT COUNT(*) FROM slots WHERE key = ?", (key,)).fetchone()
            if held >= limit:
                return False
            conn.execute("INSERT OR REPLACE INTO slots (key, slot, until) VALUES (?, ?, ?)", (key, slot, INF))
            return True

    def slot_free(self, key: str, slot: str, until: float) -> None:
        with self._tx() as conn:
            conn.execute("UPDATE slots SET until = ? WHERE key = ? AND slot = ?", (until, key, slot))

    def slot_free_many(self, ends: list[tuple[str, str, float]]) -> None:
        with self._tx() as conn:
            conn.executemany("UPDATE slots SET until = ? WHERE key = ? AND slot = ?",
                             [(until, key, slot) for key, slot, until in ends])

    # -- the world ---------------------------------------------------------------------------------
    def world_version(self) -> int:
        with self._tx(write=False) as conn:
            row = conn.execute("SELECT version FROM world WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def world(self) -> tuple[int, dict[str, Any] | None]:
        with self._tx(write=False) as conn:
            row = conn.execute("SELECT version, doc FROM world WHERE id = 1").fetchone()
        if row is None:
            return 0, None
        return int(row[0]), json.loads(row[1]) if row[1] else None

    def set_world(self, world: dict[str, Any] | None) -> int:
        doc = json.dumps(world) if world is not None else None
        with self._tx() as conn:
            row = conn.execute("INSERT INTO world (id, version, doc) VALUES (1, 1, ?) ON CONFLICT (id) "
                               "DO UPDATE SET version = version + 1, doc = excluded.doc RETURNING version",
                               (doc,)).fetchone()
        return int(row[0])

    # -- tenants -----------------------------------------------------------------------------------
    def tenants(self) -> list[str]:
        with self._tx(write=False) as conn:
            return [row[0] for row in conn.execute("SELECT DISTINCT tenant FROM journal_runs ORDER BY tenant")]

    def reset(self, tenant: str | None) -> None:
        with self._tx() as conn:
            if tenant is None:
                for table in ("grants", "journal_runs", "examples", "draws", "slots"):
                    conn.execute(f"DELETE FROM {table}")  # noqa: S608 - table names are the constants above
                conn.execute("INSERT INTO world (id, version, doc) VALUES (1, 1, NULL) ON CONFLICT (id) "
                             "DO UPDATE SET version = version + 1, doc = NULL")
                return
            for table in ("grants", "journal_runs", "examples", "draws"):
                conn.execute(f"DELETE FROM {table} WHERE tenant = ?", (tenant,))  # noqa: S608
            conn.execute("DELETE FROM slots WHERE key LIKE ? ESCAPE '\\'", (_like_prefix(tenant),))


def _like_prefix(tenant: str) -> str:
    escaped = tenant.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}|%"
