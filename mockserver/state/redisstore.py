"""Redis (≥ 7) or Valkey: the state replicas share behind a load balancer.

Keys live under one prefix (`ske-sandbox:` unless the URL says `?prefix=`). Used grant ids are keys set with
NX that expire at the grant's `exp`; each tenant's journal is a capped stream that expires a week after its
last entry; draws are counters; slots are a sorted set per key. Each change is one command or one Lua script,
so it is atomic across replicas.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from . import JOURNAL_ENTRIES, Store, StoreError

JOURNAL_TTL = 7 * 24 * 3600  # seconds an abandoned tenant's journal is kept
CONNECT_TIMEOUT = 2.0  # seconds: a store that does not answer is reported, not waited for
COMMAND_TIMEOUT = 5.0

# KEYS: grant key; ARGV: until, now, tenant, ttl ms. 1 if taken now, 0 if used before and still live.
USE_GRANT = """
local held = redis.call('GET', KEYS[1])
if held then
  local ends = tonumber(string.match(held, '^[^|]*'))
  if ends and ends >= tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[3], 'PX', ARGV[4])
return 1
"""
# KEYS: seq counter, example counter, stream, tenants set, everyone's example counter;
# ARGV: entry json, size, maxlen, ttl, tenant
ADD_ENTRY = """
local seq = redis.call('INCR', KEYS[1])
local n = tonumber(redis.call('GET', KEYS[2]) or '0') + tonumber(redis.call('GET', KEYS[5]) or '0')
local example = ''
if n > 0 then example = n end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'seq', seq, 'example', example, 'size', ARGV[2],
           'entry', ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('SADD', KEYS[4], ARGV[5])
return {seq, example}
"""
# KEYS: seq counter, tenants set; ARGV: maxlen, ttl, prefix, then (tenant, entry json, size) per entry.
# A script runs alone, so the batch takes its sequence numbers with one INCRBY, and reads each tenant's
# example counter once.
ADD_ENTRIES = """
local n = (#ARGV - 3) / 3
local examples = {}
local everyone = tonumber(redis.call('GET', ARGV[3] .. 'example-all') or '0')
local first = redis.call('INCRBY', KEYS[1], n) - n
for i = 0, n - 1 do
  local tenant, entry, size = ARGV[4 + 3 * i], ARGV[5 + 3 * i], ARGV[6 + 3 * i]
  local stream = ARGV[3] .. 'journal:' .. tenant
  local example = examples[tenant]
  local fresh = example == nil
  if fresh then
    local k = tonumber(redis.call('GET', ARGV[3] .. 'example:' .. tenant) or '0') + everyone
    example = ''
    if k > 0 then example = k end
    examples[tenant] = example
  end
  redis.call('XADD', stream, 'MAXLEN', '~', ARGV[1], '*', 'seq', first + 1 + i, 'example', example, 'size', size,
             'entry', entry)
  if fresh then
    redis.call('EXPIRE', stream, ARGV[2])
    redis.call('SADD', KEYS[2], tenant)
  end
end
return n
"""
# KEYS: slot set; ARGV: slot, now, limit, drop. 1 if held now.
TAKE_SLOT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if ARGV[4] ~= '' then redis.call('ZREM', KEYS[1], ARGV[4]) end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], '+inf', ARGV[1])
redis.call('EXPIRE', KEYS[1], 3600)
return 1
"""
# KEYS: slot set; ARGV: slot, until. Only a slot still held is given its end.
FREE_SLOT = "if redis.call('ZSCORE', KEYS[1], ARGV[1]) then redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) end"


def _parsed(url: str) -> tuple[str, str]:
    """(the URL redis-py reads, the key prefix); valkey:// is Redis's protocol."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    prefix = query.pop("prefix", ["ske-sandbox"])[0]
    scheme = "redis" if parts.scheme == "valkey" else parts.scheme
    rest = "&".join(f"{k}={v}" for k, values in query.items() for v in values)
    return urlunsplit((scheme, parts.netloc, parts.path, rest, "")), prefix + ":"


def _shown(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class RedisStore(Store):
    shared = True

    def __init__(self, url: str) -> None:
        import redis

        self._redis_errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self.url = _shown(url)
        target, self.prefix = _parsed(url)
        try:
            self.r = redis.Redis.from_url(target, socket_connect_timeout=CONNECT_TIMEOUT,
                                          socket_timeout=COMMAND_TIMEOUT, health_check_interval=30)
        except ValueError as exc:
            raise StoreError(f"--state {self.url}: {exc}") from exc
        self._use_grant = self.r.register_script(USE_GRANT)
        self._add_entry = self.r.register_script(ADD_ENTRY)
        self._add_entries = self.r.register_script(ADD_ENTRIES)
        self._take_slot = self.r.register_script(TAKE_SLOT)
        self._free_slot = self.r.register_script(FREE_SLOT)

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except self._redis_errors as exc:
            raise StoreError(f"shared state {self.url} ({what}): {exc}") from exc

    def check(self) -> None:
        info = self._call("PING", self.r.info, "server")
        major = int(str(info.get("redis_version", "0")).split(".")[0] or 0)
        if major < 7 and "valkey_version" not in info:
            raise StoreError(f"shared state {self.url}: Redis {info.get('redis_version')} is too old; "
                             "7 or newer (or Valkey) is needed")

    def close(self) -> None:
        self.r.connection_pool.disconnect()

    # -- used grant ids ----------------------------------------------------------------------------
    def grant_seen(self, key: str, now: float) -> bool:
        held = self._call("GET", self.r.get, self._k("grant", key))
        if held is None:
            return False
        until = float(held.split(b"|", 1)[0])
        return until >= now

    def grant_use(self, key: str, tenant: str, until: float, now: float) -> bool:
        ttl_ms = max(1000, math.ceil((until - now) * 1000) + 1000)
        taken = self._call("grant", self._use_grant, keys=[self._k("grant", key)],
                           args=[repr(until), repr(now), tenant, ttl_ms])
        return bool(taken)

    # -- the journal -------------------------------------------------------------------------------
    def journal_add(self, tenant: str, entry: dict[str, Any], size: int) -> None:
        seq, example = self._call("journal", self._add_entry, keys=[
            self._k("seq"), self._k("example", tenant), self._k("journal", tenant), self._k("tenants"),
            self._k("example-all")],
            args=[json.dumps(entry), size, JOURNAL_ENTRIES, JOURNAL_TTL, tenant])
        entry["seq"] = int(seq)
        if example:
            entry["example"] = int(example)

    def journal_add_many(self, batch: list[tuple[str, dict[str, Any], int]]) -> None:
        """One script call for the whole batch: one round trip, and the stream's expiry set once per tenant.
        (The keys it writes are named in ARGV: this is for one Redis, not a cluster.)"""
        args: list[Any] = [JOURNAL_ENTRIES, JOURNAL_TTL, self.prefix]
        for tenant, entry, size in batch:
            args += [tenant, json.dumps(entry), size]
        self._call("journal", self._add_entries, keys=[self._k("seq"), self._k("tenants")], args=args)

    def _entries(self, tenant: str) -> list[tuple[int, dict[str, Any], int]]:
        rows = self._call("journal", self.r.xrevrange, self._k("journal", tenant), count=JOURNAL_ENTRIES)
        out = []
        for _id, fields in reversed(rows):
            entry = json.loads(fields[b"entry"])
            entry["seq"] = int(fields[b"seq"])
            if fields.get(b"example"):
                entry["example"] = int(fields[b"example"])
            out.append((entry["seq"], entry, int(fields.get(b"size", 0))))
        return out

    def _all(self, tenant: str | None) -> list[tuple[int, dict[str, Any], int]]:
        if tenant is not None:
            return self._entries(tenant)
        return sorted((row for t in self.tenants() for row in self._entries(t)), key=lambda row: row[0])

    def journal(self, tenant: str | None) -> list[dict[str, Any]]:
        return [entry for _, entry, _ in self._all(tenant)]

    def journal_bytes(self, tenant: str | None) -> int:
        return sum(size for _, _, size in self._all(tenant))

    def journal_clear(self, tenant: str | None) -> None:
        for t in self.tenants() if tenant is None else [tenant]:
            self._call("journal", self.r.delete, self._k("journal", t))
            self._call("journal", self.r.srem, self._k("tenants"), t)

    def new_example(self, tenant: str | None) -> None:
        self._call("example", self.r.incr, self._k("example-all") if tenant is None else self._k("example", tenant))

    # -- draws and slots ---------------------------------------------------------------------------
    def draw(self, tenant: str, stream: str) -> int:
        return int(self._call("draw", self.r.incr, self._k("draw", tenant, stream))) - 1

    def slot_take(self, key: str, slot: str, now: float, limit: int, drop: str | None = None) -> bool:
        return bool(self._call("slot", self._take_slot, keys=[self._k("slots", key)],
                               args=[slot, repr(now), limit, drop or ""]))

    def slot_free(self, key: str, slot: str, until: float) -> None:
        self._call("slot", self._free_slot, keys=[self._k("slots", key)], args=[slot, repr(until)])

    def slot_free_many(self, ends: list[tuple[str, str, float]]) -> None:
        pipe = self.r.pipeline(transaction=False)
        for key, slot, until in ends:
            self._free_slot(keys=[self._k("slots", key)], args=[slot, repr(until)], client=pipe)
        self._call("slot", pipe.execute)

    # -- the world ---------------------------------------------------------------------------------
    def world_version(self) -> int:
        return int(self._call("world", self.r.get, self._k("world", "version")) or 0)

    def world(self) -> tuple[int, dict[str, Any] | None]:
        version, doc = self._call("world", self.r.mget, self._k("world", "version"), self._k("world"))
        return int(version or 0), json.loads(doc) if doc else None

    def set_world(self, world: dict[str, Any] | None) -> int:
        pipe = self.r.pipeline(transaction=True)
        if world is None:
            pipe.delete(self._k("world"))
        else:
            pipe.set(self._k("world"), json.dumps(world))
        pipe.incr(self._k("world", "version"))
        return int(self._call("world", pipe.execute)[-1])

    # -- tenants -----------------------------------------------------------------------------------
    def tenants(self) -> list[str]:
        members = self._call("tenants", self.r.smembers, self._k("tenants"))
        return sorted(m.decode() for m in members)

    def _delete_matching(self, pattern: str, keep: Any = None) -> None:
        batch = []
        for key in self._call("scan", self.r.scan_iter, match=pattern, count=500):
            if keep is None or keep(key):
                batch.append(key)
            if len(batch) >= 500:
                self._call("reset", self.r.delete, *batch)
                batch = []
        if batch:
            self._call("reset", self.r.delete, *batch)

    def reset(self, tenant: str | None) -> None:
        glob = self._glob_escape
        if tenant is None:
            self._delete_matching(glob(self.prefix) + "*", keep=lambda key: not key.endswith(b"world:version"))
            self._call("world", self.r.incr, self._k("world", "version"))
            return
        marker = f"|{tenant}".encode()

        def tenants_grant(key: bytes) -> bool:
            held: bytes | None = self.r.get(key)  # type: ignore[assignment]
            return held is not None and held.endswith(marker) and held.split(b"|", 1)[1] == tenant.encode()

        self._delete_matching(glob(self._k("grant")) + ":*", keep=tenants_grant)
        self._call("reset", self.r.delete, self._k("journal", tenant), self._k("example", tenant))
        self._call("reset", self.r.srem, self._k("tenants"), tenant)
        self._delete_matching(glob(self._k("draw", tenant)) + ":*")
        self._delete_matching(glob(self._k("slots", tenant)) + "|*")

    @staticmethod
    def _glob_escape(text: str) -> str:
        return "".join("\\" + c if c in "*?[]\\" else c for c in text)
