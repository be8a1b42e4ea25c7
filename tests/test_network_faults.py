"""Network faults (`reset`, `empty`, `truncated`, `malformed-chunk`, `trickle:<duration>`): each seen from
the client as the fault it names — a real httpx client against `ske-sandbox serve`, and the same errors
in-process through the pytest kit — plus the seeded rate, the journal's mark and the refused values."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest
import requests
from support import running_server

from mockserver import cli
from mockserver.faults import Faults
from mockserver.netfaults import parse

KARI = "15838512671"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# (sandbox path, real URL) of one call per data API that answers 200 for Kari
CALLS = {
    "summertskattegrunnlag": f"/v2/oppgjoer/kommuneboligsosialeformaal/2025/{KARI}",
    "inntekt": f"/v1/kommuneboligsosialeformaal/{KARI}/inntekter?fraOgMed=2026-08&tilOgMed=2026-10",
    "sistetilgjengeligeskatteoppgjoer": f"/v1/{KARI}",
}
REAL_HOST = {
    "summertskattegrunnlag": "https://summertskattegrunnlag.api.skatteetaten-test.no",
    "inntekt": "https://inntekt.api.skatteetaten-test.no",
    "sistetilgjengeligeskatteoppgjoer": "https://sistetilgjengeligeskatteoppgjoer.api.skatteetaten-test.no",
}
INVALID_CODE = {"summertskattegrunnlag": "SSG-006", "inntekt": "IM-006", "sistetilgjengeligeskatteoppgjoer": "TD-003"}


def expect(fault: str, error: BaseException) -> None:
    """`error` is what httpx raises for `fault` on a real socket."""
    if fault == "reset":
        assert type(error) is httpx.ReadError and "reset by peer" in str(error)
    elif fault == "empty":
        assert type(error) is httpx.RemoteProtocolError
        assert str(error) == "Server disconnected without sending a response."
    elif fault == "truncated":
        assert type(error) is httpx.RemoteProtocolError
        assert "peer closed connection without sending complete message body" in str(error)
    else:
        assert type(error) is httpx.RemoteProtocolError and "illegal chunk header" in str(error)


# --- a real client against a real server ---------------------------------------------------------------

class Server:
    def __init__(self, base: str) -> None:
        self.base = base
        info = httpx.get(f"{base}/__sandbox/info").json()
        demo = httpx.get(f"{base}/__sandbox/demo-client").json()
        now = int(time.time())
        grant = jwt.encode({"aud": info["issuer"], "iss": demo["client_id"], "scope": " ".join(demo["scopes"]),
                            "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())},
                           demo["private_key_pem"], algorithm="RS256", headers={"kid": demo["kid"]})
        r = httpx.post(f"{info['issuer']}token", data={"grant_type": GRANT_TYPE, "assertion": grant})
        self.auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        self.urls = {api: f"{base}/{api}{path}" for api, path in CALLS.items()}

    def journal(self) -> list[dict]:
        return httpx.get(f"{self.base}/__sandbox/journal").json()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with running_server("--population", "20", "--today", "2026-11-27") as base:
        yield Server(base)


@pytest.mark.subprocess
@pytest.mark.parametrize("api", list(CALLS))
@pytest.mark.parametrize("fault", ["reset", "empty", "truncated", "malformed-chunk"])
def test_a_real_client_meets_the_fault_it_names(server, api, fault):
    with httpx.Client(timeout=10) as http:
        with pytest.raises(httpx.TransportError) as caught:
            http.get(server.urls[api], headers={**server.auth, "Ske-Sandbox-Scenario": fault})
        expect(fault, caught.value)
        # the pooled client's next call gets a fresh connection and a whole answer
        assert http.get(server.urls[api], headers=server.auth).status_code == 200
    entry = [e for e in server.journal() if e["service"] == api and e.get("forced")][-1]
    assert entry["outcome"] == fault
    assert entry["status"] == (None if fault in ("reset", "empty") else 200)


@pytest.mark.subprocess
def test_a_cut_body_comes_after_a_whole_head(server):
    url, headers = server.urls["inntekt"], {**server.auth, "Ske-Sandbox-Scenario": "truncated"}
    with httpx.Client(timeout=10) as http, http.stream("GET", url, headers=headers) as r:
        assert r.status_code == 200
        promised = int(r.headers["content-length"])
        received = bytearray()
        with pytest.raises(httpx.RemoteProtocolError, match=f"expected {promised}"):
            for piece in r.iter_raw():
                received += piece
    assert 0 < len(received) < promised
    headers["Ske-Sandbox-Scenario"] = "malformed-chunk"
    with httpx.Client(timeout=10) as http, http.stream("GET", url, headers=headers) as r:
        assert r.status_code == 200 and r.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in r.headers
        with pytest.raises(httpx.RemoteProtocolError, match="illegal chunk header"):
            r.read()


@pytest.mark.subprocess
def test_trickle_spreads_the_body_over_its_duration_within_a_read_timeout(server):
    """Each piece comes well within a 1 s read timeout, so only a deadline on the whole call catches it."""
    url = server.urls["summertskattegrunnlag"]
    arrivals = []
    started = time.monotonic()
    with httpx.Client(timeout=httpx.Timeout(10, read=1)) as http, \
            http.stream("GET", url, headers={**server.auth, "Ske-Sandbox-Scenario": "trickle:2s"}) as r:
        body = bytearray()
        for piece in r.iter_raw():
            arrivals.append(time.monotonic() - started)
            body += piece
    assert r.status_code == 200 and len(body) == int(r.headers["content-length"])
    assert len(arrivals) >= 4 and arrivals[0] < 1.0 and arrivals[-1] >= 1.9
    assert max(b - a for a, b in zip(arrivals, arrivals[1:], strict=False)) < 1.0
    assert [e for e in server.journal() if e.get("forced")][-1]["outcome"] == "trickle:2s"


@pytest.mark.subprocess
@pytest.mark.parametrize("value", ["trickle:999s", "trickle:abc", "trickle:31s", "trickle:", "RESET"])
def test_a_bad_value_gets_the_apis_400_with_the_valid_ones(server, value):
    for api, url in server.urls.items():
        r = httpx.get(url, headers={**server.auth, "Ske-Sandbox-Scenario": value})
        assert r.status_code == 400
        body = r.json()
        assert body["kode"] == INVALID_CODE[api]
        assert "reset, empty, truncated, malformed-chunk, trickle:<n>ms" in body["melding"]


@pytest.mark.subprocess
def test_the_token_endpoint_breaks_its_answer_and_spends_the_grant(server):
    info = httpx.get(f"{server.base}/__sandbox/info").json()
    demo = httpx.get(f"{server.base}/__sandbox/demo-client").json()
    now = int(time.time())
    grant = jwt.encode({"aud": info["issuer"], "iss": demo["client_id"], "scope": " ".join(demo["scopes"]),
                        "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())},
                       demo["private_key_pem"], algorithm="RS256", headers={"kid": demo["kid"]})
    form = {"grant_type": GRANT_TYPE, "assertion": grant}
    for fault in ("reset", "truncated"):
        with pytest.raises(httpx.TransportError) as caught:
            httpx.post(f"{info['issuer']}token", data=form, headers={"Ske-Sandbox-Scenario": fault})
        expect(fault, caught.value)
    # the token was issued before the answer was lost: the same grant is a replay now
    r = httpx.post(f"{info['issuer']}token", data=form)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = httpx.post(f"{info['issuer']}token", data=form, headers={"Ske-Sandbox-Scenario": "SSG-008"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert "malformed-chunk" in r.json()["error_description"]
    forced = [e for e in server.journal() if e.get("forced") and e["service"] == "maskinporten"]
    assert [e["outcome"] for e in forced[-2:]] == ["reset", "truncated"]


@pytest.mark.subprocess
def test_the_httptools_server_breaks_connections_alike():
    with running_server("--population", "20", "--today", "2026-11-27", "--http", "httptools") as base:
        server = Server(base)
        for fault in ("reset", "empty", "truncated", "malformed-chunk"):
            with pytest.raises(httpx.TransportError) as caught:
                httpx.get(server.urls["inntekt"], headers={**server.auth, "Ske-Sandbox-Scenario": fault})
            expect(fault, caught.value)
        assert httpx.get(server.urls["inntekt"], headers=server.auth).status_code == 200


@pytest.mark.subprocess
def test_a_seeded_rate_breaks_data_calls_and_spares_the_token_endpoint():
    with running_server("--population", "20", "--today", "2026-11-27", "--network-fault-rate", "1",
                        "--network-faults", "empty,reset") as base:
        server = Server(base)  # its token call is answered: the rate is for the data APIs
        seen = set()
        for _ in range(8):
            with pytest.raises(httpx.TransportError) as caught:
                httpx.get(server.urls["sistetilgjengeligeskatteoppgjoer"], headers=server.auth)
            seen.add(type(caught.value))
        assert seen == {httpx.ReadError, httpx.RemoteProtocolError}
        forced = [e for e in server.journal() if e.get("forced")]
        assert len(forced) == 8 and {e["outcome"] for e in forced} == {"empty", "reset"}


# --- in-process, through the kit ---------------------------------------------------------------------

@pytest.mark.parametrize("fault", ["reset", "empty", "truncated", "malformed-chunk"])
def test_the_kit_gives_an_httpx_client_the_same_errors(ske_sandbox, fault):
    auth = {"Authorization": f"Bearer {ske_sandbox.token(real_hosts=True)}"}
    url = REAL_HOST["inntekt"] + CALLS["inntekt"]
    with ske_sandbox.scenario(fault), httpx.Client() as http:
        with pytest.raises(httpx.TransportError) as caught:
            http.get(url, headers=auth)
    expect(fault, caught.value)
    with httpx.Client() as http:  # the header does the same
        with pytest.raises(httpx.TransportError) as caught:
            http.get(url, headers={**auth, "Ske-Sandbox-Scenario": fault})
        expect(fault, caught.value)
        assert http.get(url, headers=auth).status_code == 200
    forced = [e for e in ske_sandbox.journal if e.get("forced")]
    assert [e["outcome"] for e in forced] == [fault, fault]
    assert forced[0]["status"] == (None if fault in ("reset", "empty") else 200)


def test_the_kit_hands_a_streaming_client_the_head_then_the_cut(ske_sandbox):
    auth = {"Authorization": f"Bearer {ske_sandbox.token(real_hosts=True)}"}
    url = REAL_HOST["summertskattegrunnlag"] + CALLS["summertskattegrunnlag"]
    with ske_sandbox.scenario("truncated"), httpx.Client() as http, http.stream("GET", url, headers=auth) as r:
        assert r.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError, match=f"expected {r.headers['content-length']}"):
            r.read()


def test_the_kit_gives_an_async_client_the_same_errors(ske_sandbox):
    auth = {"Authorization": f"Bearer {ske_sandbox.token(real_hosts=True)}"}
    url = REAL_HOST["sistetilgjengeligeskatteoppgjoer"] + CALLS["sistetilgjengeligeskatteoppgjoer"]

    async def call(fault: str) -> BaseException:
        async with httpx.AsyncClient() as http:
            with pytest.raises(httpx.TransportError) as caught:
                await http.get(url, headers={**auth, "Ske-Sandbox-Scenario": fault})
        return caught.value

    for fault in ("reset", "empty", "truncated", "malformed-chunk"):
        expect(fault, asyncio.run(call(fault)))


@pytest.mark.parametrize("fault,error", [
    ("reset", requests.exceptions.ConnectionError), ("empty", requests.exceptions.ConnectionError),
    ("truncated", requests.exceptions.ChunkedEncodingError),
    ("malformed-chunk", requests.exceptions.ChunkedEncodingError),
])
def test_the_kit_gives_a_requests_client_its_errors(ske_sandbox, fault, error):
    auth = {"Authorization": f"Bearer {ske_sandbox.token(real_hosts=True)}"}
    with ske_sandbox.scenario(fault, api="summertskattegrunnlag"), pytest.raises(error):
        requests.get(REAL_HOST["summertskattegrunnlag"] + CALLS["summertskattegrunnlag"], headers=auth)


def test_the_kit_trickles_the_whole_body_after_the_duration(ske_sandbox):
    auth = {"Authorization": f"Bearer {ske_sandbox.token(real_hosts=True)}"}
    started = time.monotonic()
    with ske_sandbox.scenario("trickle:400ms"), httpx.Client() as http:
        r = http.get(REAL_HOST["inntekt"] + CALLS["inntekt"], headers=auth)
    assert r.status_code == 200 and len(r.content) == int(r.headers["content-length"]) and r.json()
    assert time.monotonic() - started >= 0.4


def test_a_fault_needing_a_connection_is_refused_where_there_is_none(ske_sandbox):
    """The kit's own test client (the sandbox's address) has no wire to break; it says so."""
    r = ske_sandbox.client.get(f"/inntekt{CALLS['inntekt']}", headers={
        "Authorization": f"Bearer {ske_sandbox.token()}", "Ske-Sandbox-Scenario": "reset"})
    assert r.status_code == 400 and r.json()["kode"] == "IM-006"
    assert "ekte forbindelse" in r.json()["melding"]


def test_the_kit_refuses_an_unknown_fault_value(ske_sandbox):
    with pytest.raises(ValueError, match="malformed-chunk"), ske_sandbox.scenario("trickle:forever"):
        pass
    with pytest.raises(ValueError, match="only network faults"), ske_sandbox.scenario("429", api="maskinporten"):
        pass


def test_the_kit_breaks_the_token_endpoint_when_asked(ske_sandbox):
    auth = {"Authorization": f"Bearer {ske_sandbox.token(real_hosts=True)}"}
    grant = ske_sandbox.grant(real_hosts=True)
    with ske_sandbox.scenario("empty", api="maskinporten"), httpx.Client() as http:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            http.post(f"{ske_sandbox.issuer}token", data={"grant_type": GRANT_TYPE, "assertion": grant})
        # the data APIs are untouched: a scenario goes where it is sent
        assert http.get(REAL_HOST["inntekt"] + CALLS["inntekt"], headers=auth).status_code == 200
    assert [e["outcome"] for e in ske_sandbox.journal if e.get("forced")] == ["empty"]


# --- the seeded rate and its options ---------------------------------------------------------------

def test_the_seeded_rate_draws_the_same_faults_for_the_same_seed():
    def draws(faults: Faults) -> list[str | None]:
        return [faults.network() for _ in range(200)]

    a = Faults(seed=7, network_rate=0.25, network_faults=("reset", "trickle:1s"))
    first = draws(a)
    assert draws(Faults(seed=7, network_rate=0.25, network_faults=("reset", "trickle:1s"))) == first
    a.store.reset(None)  # a reset of the sandbox's state starts the sequences again
    assert draws(a) == first
    assert draws(a) != first  # ... which go on where they were, unless reset
    a.store.reset("org:910000001")  # another tenant's reset does not restart this one
    assert draws(a) != first
    assert set(first) == {None, "reset", "trickle:1s"} and 25 <= sum(v is not None for v in first) <= 75
    assert draws(Faults(seed=7)) == [None] * 200
    # the error rate's sequence is its own: turning the network rate on does not shift it
    plain, both = Faults(seed=7, fault_rate=0.3), Faults(seed=7, fault_rate=0.3, network_rate=0.5)
    assert [plain.roll() for _ in range(50)] == [(both.network(), both.roll())[1] for _ in range(50)]


def test_bad_network_fault_options_are_refused(capsys):
    for argv in (["--network-faults", "reset,teapot"], ["--network-faults", "trickle:99s"],
                 ["--network-faults", ","], ["--network-fault-rate", "1.5"]):
        with pytest.raises(SystemExit) as exited:
            cli.build_parser().parse_args(["serve", *argv])
        assert exited.value.code == 2
    assert "unknown network fault 'teapot'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown network fault"):
        Faults(network_faults=("slow:1s",))
    args = cli.build_parser().parse_args(["serve", "--network-fault-rate", "0.05", "--network-faults", "empty"])
    assert (args.network_fault_rate, args.network_faults) == (0.05, ("empty",))


def test_values_parse_with_the_bounds_of_slow():
    assert parse("trickle:9999ms").duration == 9.999 and parse("trickle:30s").duration == 30.0
    assert parse("reset").needs_wire and not parse("trickle:1s").needs_wire
    for bad in ("trickle:31s", "trickle:10000ms", "trickle:abc", "trickle:", "slow:1s", "reset "):
        assert parse(bad) is None
