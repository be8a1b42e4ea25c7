"""Nothing a hostile caller sends is expensive: keys are parsed once, JSON bodies are bounded in size and
depth, runtime personas in count and shape, the journal in bytes, and long control-API work stops when the
caller leaves."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl

import anyio
import jwt
import pytest
from jwt import algorithms

from mockserver import journal as journal_module
from mockserver.conformance import report
from mockserver.journal import Journal
from mockserver.journal_limits import KNOWN_CLAIMS, size_of
from mockserver.population import world
from mockserver.population.personas import MAX_CHILDREN

KARI = "15838512671"
HANNE = "03828612491"  # household persona: spouse and two children are personas too
NEW = ["01928840057", "01928812312"]  # synthetic numbers; the second is a persona (ERIK)
CROWD_SIZE = 200


@pytest.fixture
def counted_pem_loads(monkeypatch):
    calls = []
    real = algorithms.load_pem_private_key

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(algorithms, "load_pem_private_key", counting)
    return calls


# -- keys parsed once ----------------------------------------------------------------------------------

def test_token_page_signs_its_sample_grants_without_parsing_a_key(ske_sandbox, counted_pem_loads):
    r = ske_sandbox.client.get("/token")
    assert r.status_code == 200 and "Gyldig grant" in r.text
    assert counted_pem_loads == []


def test_tryit_flow_signs_its_grant_without_parsing_a_key(ske_sandbox, counted_pem_loads):
    r = ske_sandbox.client.post("/prov", data={"fnr": KARI, "format": "json"})
    assert r.status_code == 200
    assert counted_pem_loads == []


# -- JSON bodies bounded -------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    pytest.param(b'{"fnr": ' + b"[" * 7000 + b"]" * 7000 + b"}", id="7000-deep-list"),
    pytest.param(b'{"a":' * 2500 + b"1" + b"}" * 2500, id="2500-deep-object"),
    pytest.param(b"[" * 40 + b"]" * 40, id="just-over-the-limit"),
])
def test_deeply_nested_json_gets_a_400_with_a_json_error(ske_sandbox, body):
    r = ske_sandbox.client.post("/__sandbox/personas", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert "nests deeper than" in r.json()["error"]
    assert ske_sandbox.client.get("/__sandbox/health").status_code == 200


def test_brackets_inside_strings_do_not_count_as_nesting(ske_sandbox):
    story = '[{"\\"' * 200
    r = ske_sandbox.client.post("/__sandbox/personas", json={"fnr": NEW[0], "story": story[:1900]})
    assert r.status_code == 201, r.text


# -- runtime personas bounded --------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "says"), [
    pytest.param({"fnr": NEW[0], "spouse": NEW[0]}, "spouse is the persona itself", id="own-spouse"),
    pytest.param({"fnr": NEW[0], "children": [NEW[0]]}, "children include the persona itself", id="own-child"),
    pytest.param({"fnr": NEW[0], "children": [KARI, KARI]}, "twice", id="same-child-twice"),
    pytest.param({"fnr": NEW[0], "spouse": KARI, "children": [KARI]}, "also listed as a child", id="spouse-child"),
    pytest.param({"fnr": NEW[0], "spouse": "01928840138"}, "nobody in this sandbox", id="unknown-spouse"),
    pytest.param({"fnr": NEW[0], "children": [KARI] * (MAX_CHILDREN + 1)}, "children", id="too-many-children"),
    pytest.param({"fnr": NEW[0], "story": "x" * 2001}, "story", id="long-story"),
])
def test_bad_households_and_sizes_get_422(ske_sandbox, body, says):
    r = ske_sandbox.client.post("/__sandbox/personas", json=body)
    assert r.status_code == 422, r.text
    assert says in r.json()["error"]
    assert NEW[0] not in ske_sandbox.sandbox.population.personas


def test_children_that_loop_back_are_refused(ske_sandbox):
    c = ske_sandbox.client
    assert c.post("/__sandbox/personas", json={"fnr": NEW[0], "children": [KARI]}).status_code == 201
    r = c.post("/__sandbox/personas", json={"fnr": KARI, "children": [NEW[0]]})
    assert r.status_code == 422 and "loop back" in r.json()["error"]
    r = c.post("/__sandbox/personas", json={"fnr": KARI, "spouse": NEW[0]})
    assert r.status_code == 422 and "descendant of its spouse" in r.json()["error"]


def test_a_household_of_known_people_is_accepted(ske_sandbox):
    population = ske_sandbox.sandbox.population
    crowd = population.numbers.number(0)
    r = ske_sandbox.client.post("/__sandbox/personas", json={"fnr": NEW[0], "spouse": HANNE, "children": [crowd]})
    assert r.status_code == 201, r.text
    assert population.lookup(NEW[0]).children == [crowd]


def test_runtime_personas_are_limited_in_number(ske_sandbox, monkeypatch):
    monkeypatch.setattr(world, "MAX_RUNTIME_PERSONAS", 2)
    c = ske_sandbox.client
    population = ske_sandbox.sandbox.population
    crowd = [population.numbers.number(i) for i in range(3)]
    assert c.post("/__sandbox/personas", json={"fnr": crowd[0]}).status_code == 201
    assert c.post("/__sandbox/personas", json={"fnr": crowd[1]}).status_code == 201
    r = c.post("/__sandbox/personas", json={"fnr": crowd[2]})
    assert r.status_code == 409 and r.json()["limit"] == 2 and "reset" in r.json()["error"]
    assert crowd[2] not in population.personas
    # replacing one of them is still possible, and a reset frees the places
    assert c.post("/__sandbox/personas", json={"fnr": crowd[1], "story": "igjen"}).status_code == 201
    assert c.post("/__sandbox/reset").status_code == 200
    assert c.post("/__sandbox/personas", json={"fnr": crowd[2]}).status_code == 201


# -- the journal bounded, and without secrets ----------------------------------------------------------

SSG_PATH = f"/summertskattegrunnlag/v2/oppgjoer/kommuneboligsosialeformaal/2025/{KARI}"


def _fat_token(i: int) -> str:
    """A bearer of ~45 KB of claims (40 of just under 1 KB each) and a long kid, under the 64 KiB head limit:
    what an unauthenticated caller can make the journal keep."""
    claims = {"iss": "x" * 900, "scope": "s " * 450, **{f"c{n}": "x" * 900 for n in range(38)}, "n": i}
    return jwt.encode(claims, "k" * 32, algorithm="HS256", headers={"kid": "k" * 900, "junk": "j" * 900})


def test_journal_keeps_fat_unverified_claims_small(ske_sandbox):
    c = ske_sandbox.client
    for i in range(100):
        assert c.get(SSG_PATH, headers={"Authorization": f"Bearer {_fat_token(i)}"}).status_code == 401
    r = c.get("/__sandbox/journal")
    assert len(r.content) < 100 * 3000  # ~45 KB an entry before
    assert ske_sandbox.sandbox.journal.bytes < 100 * 3000
    auth = r.json()[-1]["headers"]["authorization"]
    assert set(auth["claims"]) <= set(KNOWN_CLAIMS) and "pad" not in auth["claims"]
    assert len(auth["claims"]["iss"]) < 300


def test_an_ordinary_entry_is_sized_as_its_json_and_reads_like_any_other(ske_sandbox):
    """Ordinary calls are kept as their values and filled in when read: the size the byte bound counts must
    still be the entry's size as JSON, and the entry the same fields in the same order."""
    c = ske_sandbox.client
    auth = {"Authorization": f"Bearer {ske_sandbox.token()}"}
    for query in ({}, {"navn": "ola", "client_secret": "hemmelig"}):
        assert c.get(SSG_PATH, headers=auth, params=query).status_code == 200
    store = ske_sandbox.sandbox.journal.store
    kept = [(entry, size) for journal in store._journals.values() for entry, size in journal.entries]
    ordinary = [(entry, size) for entry, size in kept if type(entry) is journal_module.Recorded]
    assert len(ordinary) == 2
    for entry, size in ordinary:
        exact = size_of(journal_module.filled(entry))
        assert abs(size - exact) <= 0.05 * exact, (size, exact)
    assert c.get(SSG_PATH, headers={**auth, "Accept": "text/plain"}).status_code == 406  # an entry built at once
    entries = ske_sandbox.journal
    assert [list(e)[:3] for e in entries[-3:]] == [["at", "t", "method"]] * 3
    plain, built = entries[-3], entries[-1]
    assert [k for k in plain if k in built] == [k for k in built if k in plain]  # one order of fields
    assert "hemmelig" not in entries[-2]["url"] and entries[-2]["status"] == 200


def test_journal_evicts_the_oldest_by_bytes_as_well_as_by_count():
    journal = Journal(size=1000, max_bytes=20_000)
    for i in range(200):
        journal.add({"n": i, "text": "x" * 900})
    kept = journal.entries()
    assert journal.bytes <= 20_000 and 15 <= len(kept) < 25
    assert kept[-1]["n"] == 199 and kept[0]["n"] == 200 - len(kept)
    by_count = Journal(size=10)
    for i in range(30):
        by_count.add({"n": i})
    assert [e["n"] for e in by_count.entries()] == list(range(20, 30))
    by_count.clear()
    assert by_count.bytes == 0


def test_secrets_in_a_query_are_redacted_wherever_the_journal_is_shown(ske_sandbox):
    c = ske_sandbox.client
    token = ske_sandbox.token()
    c.get(SSG_PATH, params={"access_token": token, "client_secret": "hemmelig"})
    c.get(SSG_PATH + "?access%5Ftoken=" + token)  # an encoded name is still the same parameter
    c.post("/maskinporten/token?assertion=" + token, data={"grant_type": "x", "client_secret": "hemmelig"})
    entries = ske_sandbox.sandbox.journal.entries()
    shown = {
        "control API": c.get("/__sandbox/journal").text,
        "journal page": c.get("/journal").text,
        "conformance": report.paragraphs([e for e in entries if not e["conforms"]]),
    }
    for where, text in shown.items():
        assert token not in text and token[-40:] not in text, where
        assert "hemmelig" not in text, where
    journaled = dict(parse_qsl(next(e["query"] for e in entries if e["service"] == "summertskattegrunnlag")))
    assert journaled["access_token"] == "<redacted>"
    # the journal's copy of the token is no longer a token
    r = c.get(SSG_PATH, headers={"Authorization": f"Bearer {journaled['access_token']}"})
    assert r.status_code == 401
    assert c.get(SSG_PATH, headers={"Authorization": f"Bearer {token}"}).status_code == 200


# -- control-API work stops when the caller leaves -----------------------------------------------------

def _leave_after(app, path: str, query: bytes, seconds: float) -> list[dict]:
    """Call `app` as a client that disconnects after `seconds`; the messages it was sent."""
    sent: list[dict] = []

    async def main() -> None:
        gone = anyio.Event()
        started = []

        async def receive() -> dict:
            if not started:
                started.append(1)
                return {"type": "http.request", "body": b"", "more_body": False}
            if not gone.is_set():  # as uvicorn: no await once the client has gone
                await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
                 "root_path": "", "headers": [(b"host", b"127.0.0.1:8080")], "client": ("127.0.0.1", 50000),
                 "server": ("127.0.0.1", 8080)}
        async with anyio.create_task_group() as group:
            group.start_soon(app, scope, receive, send)
            await anyio.sleep(seconds)
            gone.set()

    anyio.run(main)
    return sent


def _slow_counting(real, calls: list):
    def slow(*args, **kwargs):
        calls.append(1)
        time.sleep(0.005)
        return real(*args, **kwargs)
    return slow


def test_a_people_listing_stops_when_the_caller_leaves(ske_sandbox, monkeypatch):
    population = ske_sandbox.sandbox.population
    made: list = []
    monkeypatch.setattr(population, "summary", _slow_counting(population.summary, made))
    _leave_after(ske_sandbox.app, "/__sandbox/people", b"limit=500", 0.3)
    stopped_at = len(made)
    time.sleep(0.3)
    assert len(made) == stopped_at and 0 < stopped_at < 250  # 500 (2.5 s of work) before


def test_a_journal_read_stops_when_the_caller_leaves(ske_sandbox, monkeypatch):
    from mockserver import journal as journal_module

    journal = ske_sandbox.sandbox.journal
    for i in range(500):
        journal.add({"service": "inntekt", "t": float(i), "status": 200})
    checked: list = []
    monkeypatch.setattr(journal_module, "check", _slow_counting(lambda entry: [], checked))
    _leave_after(ske_sandbox.app, "/__sandbox/journal", b"", 0.3)
    stopped_at = len(checked)
    time.sleep(0.3)
    assert len(checked) == stopped_at and 0 < stopped_at < 250


def test_huge_tokens_are_parsed_but_not_kept_in_the_token_caches(ske_sandbox):
    from mockserver import fastjwt, journal

    fastjwt._cached_unverified.cache_clear()
    journal._decoded_bearer.cache_clear()
    for i in range(5):
        ske_sandbox.client.get(SSG_PATH, headers={"Authorization": f"Bearer {_fat_token(i)}"})
    assert fastjwt._cached_unverified.cache_info().currsize == 0
    assert journal._decoded_bearer.cache_info().currsize == 0
    token = ske_sandbox.token()
    assert ske_sandbox.client.get(SSG_PATH, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert journal._decoded_bearer.cache_info().currsize == 1


def test_the_test_kit_signs_grants_without_parsing_a_key(ske_sandbox, counted_pem_loads):
    assert ske_sandbox.token()
    assert counted_pem_loads == []


def test_a_people_search_that_matches_nobody_stops_when_the_caller_leaves(ske_sandbox, monkeypatch):
    from mockserver.control import routes

    population = ske_sandbox.sandbox.population
    looked_at: list = []
    monkeypatch.setattr(population, "_life", _slow_counting(population._life, looked_at))
    monkeypatch.setattr(routes, "SEARCH_SCAN_LIMIT", 400)  # 2 s of work, without a match to yield
    _leave_after(ske_sandbox.app, "/__sandbox/people", b"search=nobody-is-called-this", 0.3)
    stopped_at = len(looked_at)
    time.sleep(0.3)
    assert len(looked_at) == stopped_at and 0 < stopped_at < 200
