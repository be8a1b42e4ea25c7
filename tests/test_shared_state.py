"""The state workers, replicas and tenants share: the store's contract on each engine (a real redis-server,
a real SQLite file), two sandboxes on one store acting as one, tenants kept apart over HTTP, and the
documented answers when the store is gone."""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kit_helpers import kit
from support import redis_server

from mockserver.state import JOURNAL_ENTRIES, Store, StoreError, open_store
from mockserver.tenants import ANONYMOUS
from mockserver.testkit.kit import SandboxKit

SSG_PATH = "/summertskattegrunnlag/v2/oppgjoer/kommuneboligsosialeformaal/2024/{fnr}"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield open_store(None)
    elif request.param == "sqlite":
        yield open_store(f"sqlite://{tmp_path}/state.db")
    else:
        url = request.getfixturevalue("redis_url")
        prefix = uuid.uuid4().hex  # each test its own keys in the one server
        s = open_store(f"{url}?prefix={prefix}")
        s.check()
        yield s
        s.close()


# --- the store's contract, on every engine ---------------------------------------------------------------

def test_a_grant_id_is_used_once_until_it_expires(store: Store) -> None:
    assert not store.grant_seen("c|1", now=100)
    assert store.grant_use("c|1", "org:1", until=200, now=100)
    assert store.grant_seen("c|1", now=150)
    assert not store.grant_use("c|1", "org:2", until=300, now=150)  # a replay, whoever sends it
    assert not store.grant_seen("c|1", now=201)
    assert store.grant_use("c|1", "org:1", until=400, now=201)  # expired ids may come again


def test_a_tenants_reset_frees_its_own_grant_ids_only(store: Store) -> None:
    store.grant_use("c|a", "session:a", until=500, now=100)
    store.grant_use("c|b", "session:b", until=500, now=100)
    store.reset("session:a")
    assert not store.grant_seen("c|a", now=101) and store.grant_seen("c|b", now=101)
    store.reset(None)
    assert not store.grant_seen("c|b", now=101)


def test_journals_are_per_tenant_and_read_together_in_order(store: Store) -> None:
    for i in range(3):
        store.journal_add("session:a", {"n": f"a{i}"}, 10)
        store.journal_add("session:b", {"n": f"b{i}"}, 10)
    mine = store.journal("session:a")
    assert [e["n"] for e in mine] == ["a0", "a1", "a2"]
    everyone = store.journal(None)
    assert [e["n"] for e in everyone] == ["a0", "b0", "a1", "b1", "a2", "b2"]
    assert [e["seq"] for e in everyone] == sorted(e["seq"] for e in everyone)
    assert set(store.tenants()) == {"session:a", "session:b"}
    assert store.journal_bytes("session:a") == 30
    store.new_example("session:a")
    store.journal_add("session:a", {"n": "a3"}, 10)
    assert store.journal("session:a")[-1]["example"] == 1
    assert "example" not in store.journal("session:b")[-1]
    store.new_example(None)  # everyone's calls start a new example (the kit's new_example())
    store.journal_add("session:b", {"n": "b3"}, 10)
    store.journal_add("session:a", {"n": "a4"}, 10)
    assert store.journal("session:b")[-1]["example"] == 1 and store.journal("session:a")[-1]["example"] == 2
    store.journal_clear("session:b")
    store.journal_clear("session:a")
    assert store.journal("session:a") == [] and store.journal("session:b") == []


def test_a_journal_keeps_each_tenants_last_entries_in_order(store: Store) -> None:
    """Batches that mix tenants (a busy worker's): each tenant keeps its last JOURNAL_ENTRIES, numbered in the
    order they were added, and everyone's view is the kept entries of all, in that order."""
    total = 2 * JOURNAL_ENTRIES + 200
    batch = [("session:a" if i % 3 else "session:b", {"n": i}, 10) for i in range(total)]
    for start in range(0, total, 70):
        store.journal_add_many(batch[start:start + 70])
    a, b = store.journal("session:a"), store.journal("session:b")
    assert [e["n"] for e in a] == [i for i in range(total) if i % 3][-JOURNAL_ENTRIES:]
    assert [e["n"] for e in b] == [i for i in range(total) if not i % 3][-JOURNAL_ENTRIES:]
    everyone = store.journal(None)
    assert [e["n"] for e in everyone] == sorted(e["n"] for e in a + b)
    seqs = [e["seq"] for e in everyone]
    assert seqs == sorted(set(seqs))
    store.journal_add("session:b", {"n": total}, 10)
    assert store.journal("session:b")[-1]["seq"] > seqs[-1]


def test_draws_count_per_tenant_and_stream(store: Store) -> None:
    assert [store.draw("t", "faults") for _ in range(3)] == [0, 1, 2]
    assert store.draw("t", "network") == 0 and store.draw("u", "faults") == 0
    store.reset("t")
    assert store.draw("t", "faults") == 0 and store.draw("u", "faults") == 1


def test_slots_hold_a_limit_and_run_out(store: Store) -> None:
    key = "t|ssg|910000001"
    assert all(store.slot_take(key, f"s{i}", now=10, limit=2) for i in range(2))
    assert not store.slot_take(key, "s2", now=10, limit=2)
    store.slot_free(key, "s0", until=11)
    assert not store.slot_take(key, "s2", now=10.5, limit=2)  # s0 still counts until 11
    assert store.slot_take(key, "s2", now=11.5, limit=2)
    assert store.slot_take("t|ssg|910000002", "x", now=11.5, limit=2)  # per key
    store.slot_free(key, "s1", until=math.inf)
    assert store.slot_take(key, "s3", now=12, limit=2, drop="s1")  # a connection's finished call frees its slot


def test_a_slots_end_written_in_the_batch_counts_as_if_written_at_once(store: Store) -> None:
    """On a shared store a finished call's slot end goes out with the next batch (one round trip fewer per
    call): the slot counts until its end just the same, and a slot ending sooner is written at once."""
    from mockserver.faults import Faults
    from mockserver.state.background import Background

    clock = [100.0]
    faults = Faults(enforce_concurrency=True, store=store, now=lambda: clock[0],
                    background=Background(store) if store.shared else None)
    slots = [faults.acquire("summertskattegrunnlag", "910000001", f"conn{i}") for i in range(5)]
    assert all(slots) and faults.acquire("summertskattegrunnlag", "910000001", "conn5") is None
    for slot in slots:
        faults.release(slot)  # each holds its slot 0.1 s from its start
    if faults.background is not None:
        faults.background.flush()
    assert faults.acquire("summertskattegrunnlag", "910000001", "conn5") is None  # still inside 0.1 s
    clock[0] += 0.2
    assert faults.acquire("summertskattegrunnlag", "910000001", "conn5") is not None
    # the store itself holds the ends: four more fit beside the one just taken (with no end, none would)
    assert all(store.slot_take(slots[0].store_key, f"late{i}", now=clock[0], limit=5) for i in range(4))


def test_a_batch_numbers_its_entries_in_order_and_a_new_tenants_stream_expires(redis_url: str) -> None:
    from mockserver.state.redisstore import JOURNAL_TTL

    s = open_store(f"{redis_url}?prefix={uuid.uuid4().hex}")
    s.journal_add(ANONYMOUS, {"n": 0}, 10)
    s.journal_add_many([("session:a", {"n": 1}, 10), (ANONYMOUS, {"n": 2}, 10), ("session:a", {"n": 3}, 10)])
    assert [(e["n"], e["seq"]) for e in s.journal(None)] == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert 0 < s.r.ttl(s._k("journal", "session:a")) <= JOURNAL_TTL  # type: ignore[attr-defined]
    s.close()


def test_the_world_has_a_version(store: Store) -> None:
    start = store.world_version()
    version = store.set_world({"today": "2027-01-01", "personas": []})
    assert version > start and store.world() == (version, {"today": "2027-01-01", "personas": []})
    store.reset(None)
    assert store.world_version() > version and store.world()[1] is None


def _open_at_once(url: str, barrier: Any, results: Any) -> None:
    barrier.wait()
    try:
        store = open_store(url)
        store.journal_add(ANONYMOUS, {"n": 1}, 10)
        results.put("ok")
    except StoreError as exc:
        results.put(str(exc))


def test_processes_opening_a_new_state_file_at_once_all_start(tmp_path: Path) -> None:
    """Replicas or workers started together on a file nobody has made yet: one makes it, the others wait for
    it (none is refused with "database is locked")."""
    ctx = multiprocessing.get_context("fork")
    for attempt in range(3):
        url = f"sqlite://{tmp_path}/fresh{attempt}.db"
        barrier, results = ctx.Barrier(6), ctx.Queue()
        procs = [ctx.Process(target=_open_at_once, args=(url, barrier, results)) for _ in range(6)]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=30) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        assert outcomes == ["ok"] * 6
        assert len(open_store(url).journal(ANONYMOUS)) == 6


def test_a_state_file_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="state file .*missing"):
        open_store(f"sqlite://{tmp_path}/missing/state.db")


def test_a_state_url_no_engine_takes_is_refused() -> None:
    with pytest.raises(StoreError, match="memory:, sqlite"):
        open_store("postgres://db/1")
    with pytest.raises(StoreError, match="name the file"):
        open_store("sqlite://")


# --- two sandboxes on one store answer as one --------------------------------------------------------------

@pytest.fixture(params=["sqlite", "redis"])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[SandboxKit, SandboxKit]:
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path}/state.db"
    else:
        url = f"{request.getfixturevalue('redis_url')}?prefix={uuid.uuid4().hex}"
    return kit(state=url), kit(state=url)


def _post_grant(k: SandboxKit, grant: str, **headers: str):
    return k.client.post(f"{k.sandbox.issuer}token", headers=headers,
                         data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": grant})


def test_a_grant_replayed_to_another_worker_is_refused(pair: tuple[SandboxKit, SandboxKit]) -> None:
    a, b = pair
    grant = a.grant()
    assert _post_grant(a, grant).status_code == 200
    replay = _post_grant(b, grant)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert "MP-012" in replay.json()["error_uri"]


def test_one_journal_and_one_reset_across_workers(pair: tuple[SandboxKit, SandboxKit]) -> None:
    a, b = pair
    token = a.token()
    fnr = a.persona("ordinary").fnr
    assert b.client.get(SSG_PATH.format(fnr=fnr), headers={"Authorization": f"Bearer {token}"}).status_code == 200
    seen = a.client.get("/__sandbox/journal").json()
    assert [e["service"] for e in seen] == ["maskinporten", "summertskattegrunnlag"]
    assert seen[0]["tenant"] == seen[1]["tenant"] == f"org:{a.demo_client.orgnr}"
    assert b.client.post("/__sandbox/reset").json() == {"reset": True, "tenant": None}
    assert a.client.get("/__sandbox/journal").json() == []


def test_an_ordinary_entry_reads_the_same_from_a_shared_store(pair: tuple[SandboxKit, SandboxKit]) -> None:
    """A shared store keeps an ordinary call's values compactly; read back, the entry is the one a sandbox on
    its own memory shows: the same fields, in the same order, and nothing of the compact form."""
    a, b = pair
    alone = kit()
    for k in (b, alone):
        auth = {"Authorization": f"Bearer {k.token()}", "Accept": "application/json"}
        fnr = k.persona("ordinary").fnr
        assert k.client.get(SSG_PATH.format(fnr=fnr), headers=auth, params={"x": "1"}).status_code == 200
    shared, own = a.client.get("/__sandbox/journal").json()[-1], alone.client.get("/__sandbox/journal").json()[-1]
    varying = {"at", "t", "server_time", "seq", "headers"}
    assert list(shared) == list(own) and "_values" not in shared
    assert {k: v for k, v in shared.items() if k not in varying} == {k: v for k, v in own.items() if k not in varying}
    assert shared["headers"]["accept"] == "application/json" and shared["headers"]["authorization"]["claims"]


def test_a_moved_calendar_and_a_runtime_persona_reach_every_worker(pair: tuple[SandboxKit, SandboxKit]) -> None:
    a, b = pair
    assert a.client.put("/__sandbox/clock", json={"today": "2027-06-01"}).status_code == 200
    assert b.client.get("/__sandbox/clock").json()["today"] == "2027-06-01"
    added = a.client.post("/__sandbox/personas", json={"archetype": "employee", "first_name": "Delt"})
    assert added.status_code == 201, added.text
    fnr = added.json()["fnr"]
    token = b.token()
    r = b.client.get(SSG_PATH.format(fnr=fnr), headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    a.client.post("/__sandbox/reset")
    assert b.client.get("/__sandbox/clock").json()["today"] == "2026-11-27"
    r = b.client.get(SSG_PATH.format(fnr=fnr), headers={"Authorization": f"Bearer {b.token()}"})
    assert r.status_code == 404 and r.json()["kode"] == "SSG-007"


# --- tenants over HTTP -------------------------------------------------------------------------------------

def test_two_sessions_neither_see_nor_disturb_each_other() -> None:
    k = kit(admin_token="s3cret")
    fnr = k.persona("ordinary").fnr
    used = {}
    for job in ("job-a", "job-b"):
        grant = k.grant()
        used[job] = grant
        r = _post_grant(k, grant, **{"Ske-Sandbox-Session": job})
        assert r.status_code == 200
        token = r.json()["access_token"]
        ok = k.client.get(SSG_PATH.format(fnr=fnr), headers={"Authorization": f"Bearer {token}",
                                                             "Ske-Sandbox-Session": job})
        assert ok.status_code == 200
    # each job reads its own journal with its session alone: no admin token
    a = k.client.get("/__sandbox/journal", headers={"Ske-Sandbox-Session": "job-a"})
    assert a.status_code == 200 and [e["tenant"] for e in a.json()] == ["session:job-a"] * 2
    # job-a's reset leaves job-b's journal, and job-b's used grant stays used
    assert k.client.post("/__sandbox/reset", headers={"Ske-Sandbox-Session": "job-a"}).json() == {
        "reset": True, "tenant": "session:job-a"}
    assert k.client.get("/__sandbox/journal", headers={"Ske-Sandbox-Session": "job-a"}).json() == []
    b = k.client.get("/__sandbox/journal", headers={"Ske-Sandbox-Session": "job-b"}).json()
    assert len(b) == 2
    replay = _post_grant(k, used["job-b"], **{"Ske-Sandbox-Session": "job-b"})
    assert replay.status_code == 400 and "MP-012" in replay.json()["error_uri"]
    # reading everyone, or another tenant, wants the admin token
    assert k.client.get("/__sandbox/journal").status_code == 401
    assert k.client.get("/__sandbox/journal?tenant=session:job-b").status_code == 401
    admin = {"Authorization": "Bearer s3cret"}
    assert len(k.client.get("/__sandbox/journal?tenant=session:job-b", headers=admin).json()) == 3
    assert "session:job-b" in k.client.get("/__sandbox/tenants", headers=admin).json()["tenants"]
    assert k.client.get("/__sandbox/tenants", headers={"Ske-Sandbox-Session": "job-b"}).status_code == 401


def test_the_report_holds_one_session_to_its_own_calls() -> None:
    k = kit()
    fnr = k.persona("ordinary").fnr
    token = k.token()
    k.client.get(SSG_PATH.format(fnr=fnr), headers={"Authorization": f"Bearer {token}",
                                                    "Ske-Sandbox-Session": "clean"})
    k.client.get(SSG_PATH.format(fnr=fnr), headers={"Authorization": f"Bearer {token}", "Accept": "text/csv",
                                                    "Ske-Sandbox-Session": "sloppy"})
    clean = k.client.get("/__sandbox/report", headers={"Ske-Sandbox-Session": "clean"}).json()
    sloppy = k.client.get("/__sandbox/report", headers={"Ske-Sandbox-Session": "sloppy"}).json()
    assert clean["conformance"]["requests"] == 1 and clean["conformance"]["nonconforming"] == []
    assert sloppy["conformance"]["requests"] == 1 and len(sloppy["conformance"]["nonconforming"]) == 1


def test_a_session_header_the_sandbox_cannot_take_gets_each_services_own_error() -> None:
    k = kit()
    bad = {"Ske-Sandbox-Session": "no spaces/or slashes"}
    r = k.client.get("/__sandbox/journal", headers=bad)
    assert r.status_code == 400 and "Ske-Sandbox-Session" in r.json()["error"]
    assert k.client.get("/__sandbox/journal?tenant=nobody").status_code == 400
    r = _post_grant(k, k.grant(), **bad)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request" and "MP-011" in r.json()["error_uri"]
    r = k.client.get(SSG_PATH.format(fnr=k.persona("ordinary").fnr),
                     headers={"Authorization": f"Bearer {k.token()}", **bad})
    assert r.status_code == 400 and r.json()["kode"] == "SSG-006", r.text


def test_fault_sequences_are_per_tenant() -> None:
    def statuses(k: SandboxKit, session: str, token: str, n: int = 12) -> list[int]:
        return [k.client.get(SSG_PATH.format(fnr=k.persona("ordinary").fnr), headers={
            "Authorization": f"Bearer {token}", "Ske-Sandbox-Session": session}).status_code for _ in range(n)]

    alone = kit(fault_rate=0.5)
    first = statuses(alone, "one", alone.token())
    assert set(first) == {200, 500}
    shared = kit(fault_rate=0.5)
    token = shared.token()
    interleaved = []
    for _ in range(12):  # another job's calls in between do not shift this job's sequence
        interleaved += statuses(shared, "one", token, 1)
        statuses(shared, "two", token, 1)
    assert interleaved == first
    shared.client.post("/__sandbox/reset", headers={"Ske-Sandbox-Session": "one"})
    assert statuses(shared, "one", token) == first  # its own reset starts it again


# --- when the store is gone --------------------------------------------------------------------------------

def test_a_store_that_goes_away_gets_documented_answers(tmp_path: Path) -> None:
    with redis_server(tmp_path) as url:
        k = kit(state=url)
        token = k.token()
        grant = k.grant()
    # redis-server has stopped; a worker notices within a few milliseconds (state/background.py)
    import time

    time.sleep(0.2)
    r = _post_grant(k, grant)
    assert r.status_code == 503 and r.json()["error"] == "temporarily_unavailable" and r.headers["Retry-After"]
    r = k.client.get(SSG_PATH.format(fnr=k.persona("ordinary").fnr), headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 503 and r.json()["kode"] == "SSG-002", r.text
    r = k.client.get("/__sandbox/journal")
    assert r.status_code == 503 and r.json()["error"] == "state_unavailable"
    r = k.client.put("/__sandbox/clock", json={"today": "2027-01-01"})
    assert r.status_code == 503


def test_the_data_calendar_is_kept_apart_from_tenants() -> None:
    k = kit()
    k.client.put("/__sandbox/clock", json={"today": "2027-02-01"})
    k.client.post("/__sandbox/reset", headers={"Ske-Sandbox-Session": "job"})
    assert k.client.get("/__sandbox/clock").json()["today"] == "2027-02-01"  # a tenant's reset keeps the world
    k.client.post("/__sandbox/reset")
    assert k.client.get("/__sandbox/clock").json()["today"] == dt.date(2026, 11, 27).isoformat()


# --- real processes: serve --workers and serve --state ------------------------------------------------------

def _grant_for(base: str) -> str:
    import time

    import jwt

    from mockserver.maskinporten.registry import demo_client

    demo = demo_client(1)
    now = int(time.time())
    return jwt.encode({"aud": f"{base}/maskinporten/", "iss": demo.client_id, "scope": " ".join(demo.scopes),
                       "iat": now, "exp": now + 120, "jti": uuid.uuid4().hex},
                      demo.private_key_pem, algorithm="RS256", headers={"kid": demo.kid})


def _token_call(base: str, grant: str) -> int:
    import httpx

    with httpx.Client(timeout=10) as fresh:  # a new connection each time: the kernel picks the worker
        r = fresh.post(f"{base}/maskinporten/token", data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": grant})
    return r.status_code


def _workers_agree(base: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    with ThreadPoolExecutor(8) as pool:
        pids = set(pool.map(lambda _: httpx.get(f"{base}/__sandbox/info", timeout=10).json()["worker"], range(64)))
        assert len(pids) >= 2, "every call was answered by one worker"
        grants = [_grant_for(base) for _ in range(24)]
        assert list(pool.map(lambda g: _token_call(base, g), grants)) == [200] * 24
        assert list(pool.map(lambda g: _token_call(base, g), grants)) == [400] * 24  # replays, on any worker
    journal = httpx.get(f"{base}/__sandbox/journal", timeout=30).json()
    assert [e["outcome"] for e in journal].count("MP-012") == 24 and len(journal) == 48
    assert httpx.post(f"{base}/__sandbox/reset", timeout=10).status_code == 200
    assert all(httpx.get(f"{base}/__sandbox/journal", timeout=10).json() == [] for _ in range(8))


@pytest.mark.subprocess
def test_serve_workers_share_one_maskinporten_and_one_journal() -> None:
    from support import running_server

    with running_server("--workers", "2", "--population", "50") as base:
        _workers_agree(base)


@pytest.mark.subprocess
def test_serve_workers_on_redis(redis_url: str) -> None:
    from support import running_server

    with running_server("--workers", "2", "--population", "50", "--state", f"{redis_url}?prefix=w") as base:
        _workers_agree(base)


@pytest.mark.subprocess
def test_serve_refuses_to_start_on_a_store_it_cannot_reach() -> None:
    import subprocess
    import sys

    from support import free_port

    for state, says in ((f"redis://127.0.0.1:{free_port()}/0", "cannot use the shared state"),
                        ("postgres://db/1", "use memory:, sqlite"),
                        ("sqlite:///nonexistent-folder/x/state.db", "cannot use the shared state")):
        done = subprocess.run([sys.executable, "-m", "mockserver.cli", "serve", "--port", "0", "--state", state],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and says in done.stderr, (state, done.stderr)
    done = subprocess.run([sys.executable, "-m", "mockserver.cli", "serve", "--port", "0", "--workers", "2",
                           "--state", "memory:"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "cannot share memory" in done.stderr
