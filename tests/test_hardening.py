"""Limits for hostile input, in process: body and head sizes, body time, the control API guard, huge times,
the concurrency model and the serve command's start-up checks."""

from __future__ import annotations

import asyncio
import time

import httpx
import jwt
import pytest

from mockserver import cli
from mockserver.bodylimit import MAX_BODY
from mockserver.dataapi import Faults
from mockserver.front import FrontDoor
from mockserver.hardening import uvicorn_options
from mockserver.settings import Settings
from mockserver.testkit.kit import SandboxKit
from mockserver.testkit.plugin import DEFAULT_TODAY

PAKKE = "kommuneboligsosialeformaal"
SSG = f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/2024/15838512671"
IM = f"/inntekt/v1/{PAKKE}/15838512671/inntekter"
FORM = "application/x-www-form-urlencoded"
BASE = "http://ske-sandbox.test"


@pytest.fixture(scope="module")
def box():
    kit = SandboxKit(Settings(today=DEFAULT_TODAY, population=20, base_url=BASE))
    kit.begin()
    yield kit
    kit.end()


@pytest.fixture(scope="module")
def guarded():
    kit = SandboxKit(Settings(today=DEFAULT_TODAY, population=20, base_url=BASE, admin_token="s3cret"))
    kit.begin()
    yield kit
    kit.end()


def _chunks(total: int, size: int = 8192):
    for _ in range(total // size):
        yield b"a" * size


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_token_endpoint_refuses_a_big_body_in_maskinporten_format(box, chunked):
    body = _chunks(MAX_BODY * 2) if chunked else b"a" * (MAX_BODY * 2)
    r = box.client.post("/maskinporten/token", content=body, headers={"Content-Type": FORM})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    assert r.json()["error_uri"].endswith("/MP-011")
    assert "too large" in r.json()["error_description"]
    assert r.headers["connection"] == "close"


def test_a_body_at_the_limit_still_reaches_the_token_endpoint(box):
    r = box.client.post("/maskinporten/token", content=b"a" * MAX_BODY, headers={"Content-Type": FORM})
    assert r.json()["error_uri"].endswith("/MP-011")
    assert "too large" not in r.json()["error_description"]


@pytest.mark.parametrize("path,kode", [(SSG, "SSG-006"), (IM, "IM-006"),
                                       ("/sistetilgjengeligeskatteoppgjoer/v1/15838512671", "TD-003")])
def test_data_apis_answer_413_in_their_own_format(box, path, kode):
    r = box.client.request("GET", path, content=b"x" * (MAX_BODY + 1),
                           headers={"Authorization": f"Bearer {box.token()}"})
    assert r.status_code == 413
    assert r.json()["kode"] == kode


def test_control_api_refuses_a_big_body_and_keeps_its_state(box):
    box.client.get(SSG)
    assert box.client.get("/__sandbox/journal").json()
    r = box.client.post("/__sandbox/reset", content=_chunks(MAX_BODY * 4))
    assert r.status_code == 413
    assert r.json()["error"] == "request_refused"
    assert box.client.get("/__sandbox/journal").json(), "a refused reset must not reset"


def test_an_oversized_head_gets_431(box):
    r = box.client.get("/__sandbox/info", headers={"X-Pad": "a" * (70 * 1024)})
    assert r.status_code == 431


def _run_asgi(middleware, scope, messages, limit_reads=10_000):
    """Call `middleware` with `messages` (an iterator of receive messages); returns (sent, receive calls)."""
    sent, reads = [], 0

    async def receive():
        nonlocal reads
        reads += 1
        assert reads < limit_reads
        return await messages.__anext__()

    async def send(message):
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    return sent, reads


def _scope(headers):
    app = SandboxKit(Settings(today=DEFAULT_TODAY, population=20)).app
    return {"type": "http", "method": "POST", "path": "/__sandbox/reset", "raw_path": b"/__sandbox/reset",
            "query_string": b"", "headers": headers, "app": app, "state": {}}


def test_an_endless_stream_is_read_only_up_to_the_limit():
    async def endless():
        while True:
            yield {"type": "http.request", "body": b"a" * 4096, "more_body": True}

    def app(scope, receive, send):
        raise AssertionError("the app must not see a refused request")

    sent, reads = _run_asgi(FrontDoor(app), _scope([(b"transfer-encoding", b"chunked")]), endless())
    assert sent[0]["status"] == 413
    assert reads == MAX_BODY // 4096 + 1


def test_a_body_too_slow_to_arrive_gets_408():
    async def slow():
        yield {"type": "http.request", "body": b"a", "more_body": True}
        await asyncio.Event().wait()  # the rest never arrives

    sent, _ = _run_asgi(FrontDoor(None, body_timeout=0.2), _scope([(b"content-length", b"10")]), slow())
    assert sent[0]["status"] == 408


# --- the control API guard -----------------------------------------------------------------------------
def test_admin_token_is_required_on_the_control_api(guarded):
    assert guarded.client.get("/__sandbox/journal").status_code == 401
    assert guarded.client.get("/__sandbox/demo-client").status_code == 401
    assert guarded.client.get("/__sandbox/journal", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.client.get("/__sandbox/journal", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert guarded.client.get("/__sandbox/info", headers={"X-Ske-Sandbox-Admin": "s3cret"}).status_code == 200
    assert guarded.client.get("/__sandbox/health").status_code == 200


@pytest.mark.parametrize("origin,status", [
    ("http://evil.example", 403), ("null", 403), (BASE, 200), (None, 200),
])
def test_state_changing_calls_from_another_origin_are_refused(box, origin, status):
    headers = {"Origin": origin} if origin else {}
    assert box.client.post("/__sandbox/reset", headers=headers).status_code == status


def test_a_cross_origin_reset_cannot_make_a_used_grant_replayable(box):
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": box.grant()}
    assert box.client.post("/maskinporten/token", data=form).status_code == 200
    assert box.client.post("/__sandbox/reset", headers={"Origin": "http://evil.example"}).status_code == 403
    assert box.client.post("/maskinporten/token", data=form).json()["error_uri"].endswith("/MP-012")


def test_loopback_origins_of_the_same_port_count_as_own():
    kit = SandboxKit(Settings(today=DEFAULT_TODAY, population=20, base_url="http://127.0.0.1:8080"))
    with kit.client:
        for origin, status in [("http://localhost:8080", 200), ("http://localhost:9999", 403),
                               ("http://[::1]:8080", 200)]:
            r = kit.client.post("/__sandbox/reset", headers={"Origin": origin})
            assert r.status_code == status, origin


def test_without_a_token_the_control_api_answers_only_to_its_own_host_names(box):
    assert box.client.get("/__sandbox/journal", headers={"Host": "rebound.example"}).status_code == 403
    assert box.client.get("/__sandbox/journal", headers={"Host": "localhost:8080"}).status_code == 200
    assert box.client.get("/__sandbox/health", headers={"Host": "rebound.example"}).status_code == 200


def test_the_journal_is_served_off_the_event_loop(box, monkeypatch):
    def on_loop() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    seen = []
    real = box.sandbox.journal.entries
    monkeypatch.setattr(box.sandbox.journal, "entries", lambda *a: seen.append(on_loop()) or real(*a))
    assert box.client.get("/__sandbox/journal").status_code == 200
    assert seen == [False]


# --- times no float can hold -----------------------------------------------------------------------------
def _access_token(box, **claims):
    key = box.sandbox.keys.active
    now = int(time.time())
    body = {"iss": box.sandbox.issuer, "scope": "skatteetaten:summertskattegrunnlag skatteetaten:inntekt",
            "consumer": {"authority": "iso6523-actorid-upis", "ID": f"0192:{box.demo_client.orgnr}"},
            "iat": now, "exp": now + 60, "aud": "unspecified", **claims}
    return jwt.encode(body, key.private, algorithm="RS256", headers={"kid": key.kid})


@pytest.mark.parametrize("claim", ["exp", "iat"])
@pytest.mark.parametrize("path,kode", [(SSG, "SSG-004"), (f"{IM}?fraOgMed=2026-01", "IM-004")])
def test_an_access_token_with_a_huge_time_gets_401(box, claim, path, kode):
    token = _access_token(box, **{claim: 10**400})
    r = box.client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.json()["kode"] == kode


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_a_grant_with_a_huge_time_gets_mp_130(box, claim, caplog):
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": box.grant(**{claim: 10**400})}
    r = box.client.post("/maskinporten/token", data=form)
    assert r.status_code == 400
    assert r.json()["error_uri"].endswith("/MP-130")
    assert "Traceback" not in caplog.text and not caplog.records


# --- concurrency as the gateway counts it ----------------------------------------------------------------
class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_quick_calls_from_parallel_connections_hold_their_slot_for_the_service_time():
    now = FakeTime()
    faults = Faults(enforce_concurrency=True, service_time=0.1, now=now)
    for port in range(5):
        faults.release(faults.acquire("ssg", "910000001", ("127.0.0.1", port)))
    assert faults.acquire("ssg", "910000001", ("127.0.0.1", 99)) is None
    assert faults.acquire("inntekt", "910000001", ("127.0.0.1", 99)) is not None  # per API
    assert faults.acquire("ssg", "910000002", ("127.0.0.1", 99)) is not None  # per org
    now.t += 0.1
    assert faults.acquire("ssg", "910000001", ("127.0.0.1", 99)) is not None


def test_a_serial_client_on_one_connection_never_counts_twice():
    faults = Faults(enforce_concurrency=True, service_time=10.0, now=FakeTime())
    for _ in range(20):
        slot = faults.acquire("ssg", "910000001", ("127.0.0.1", 5000))
        assert slot is not None
        faults.release(slot)


def test_enforce_concurrency_answers_429_without_a_delay():
    kit = SandboxKit(Settings(today=DEFAULT_TODAY, population=20, enforce_concurrency=True))
    kit.sandbox.faults.service_time = 30.0  # a slow machine must not let the slots run out mid-test
    token = kit.token()

    async def calls():
        statuses = []
        for port in range(8):  # eight clients, one connection each
            transport = httpx.ASGITransport(app=kit.app, client=("127.0.0.1", 40000 + port))
            async with httpx.AsyncClient(transport=transport, base_url=kit.settings.base_url) as client:
                r = await client.get(SSG, headers={"Authorization": f"Bearer {token}"})
                statuses.append(r.status_code)
        return statuses

    assert asyncio.run(calls()) == [200] * 5 + [429] * 3


# --- serve -------------------------------------------------------------------------------------------------
def test_serve_refuses_a_non_loopback_bind_without_an_admin_token(capsys, monkeypatch):
    monkeypatch.delenv("SKE_SANDBOX_ADMIN_TOKEN", raising=False)
    assert cli.main(["serve", "--host", "0.0.0.0", "--population", "20"]) == 2
    assert "--admin-token" in capsys.readouterr().err


def test_serve_passes_the_limits_to_uvicorn_and_says_the_control_api_is_guarded(capsys, monkeypatch):
    import uvicorn

    seen = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: seen.update(config=self.config))
    monkeypatch.setenv("SKE_SANDBOX_ADMIN_TOKEN", "from-env")
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "0", "--population", "20",
                     "--today", "2026-11-27"]) == 0
    config = seen["config"]
    assert config.app.state.sandbox.settings.admin_token == "from-env"
    assert config.h11_max_incomplete_event_size == uvicorn_options()["h11_max_incomplete_event_size"]
    assert config.http.max_head == 64 * 1024 and config.timeout_keep_alive == 5
    assert "control API, journal and token pages want the admin token" in capsys.readouterr().out


# --- the journal keeps bounded entries -------------------------------------------------------------------
def test_journal_drops_huge_unknown_claims_and_reads_after_a_huge_time(box):
    box.sandbox.reset()
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": box.grant(exp=10**400, pad="a" * 30_000)}
    assert box.client.post("/maskinporten/token", data=form).status_code == 400
    r = box.client.get("/__sandbox/journal")
    assert r.status_code == 200
    entry = r.json()[-1]
    assert "pad" not in entry["grant"]["claims"]  # only known claims are kept (journal_limits.py)
    assert len(r.content) < 8 * 1024
    assert any("iat and exp" in p for p in entry["problems"])


@pytest.mark.subprocess
def test_conformance_reads_a_guarded_journal_with_the_token(capsys, monkeypatch):
    from support import running_server

    monkeypatch.delenv("SKE_SANDBOX_ADMIN_TOKEN", raising=False)
    with running_server("--admin-token", "t0ken", "--population", "20", "--today", "2026-11-27") as base:
        assert httpx.get(f"{base}/__sandbox/journal").status_code == 401
        assert cli.main(["conformance", "--url", base]) == 2
        assert cli.main(["conformance", "--url", base, "--admin-token", "t0ken"]) == 0
        monkeypatch.setenv("SKE_SANDBOX_ADMIN_TOKEN", "t0ken")
        assert cli.main(["conformance", "--url", base]) == 0


def test_both_parsers_keep_the_limits_and_the_fast_one_is_the_default(monkeypatch):
    import uvicorn
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from mockserver.hardening import GuardedH11, WiredHttpTools

    seen = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: seen.update(config=self.config))
    assert cli.main(["serve", "--port", "0", "--population", "20"]) == 0
    default = seen["config"].http
    assert issubclass(default, WiredHttpTools) and issubclass(default, HttpToolsProtocol)
    assert cli.main(["serve", "--port", "0", "--population", "20", "--http", "h11"]) == 0
    assert issubclass(seen["config"].http, GuardedH11)
    for protocol in (default, seen["config"].http):
        assert protocol.max_head == 64 * 1024 and protocol.head_timeout == 10 and protocol.max_connections <= 1000
    assert seen["config"].timeout_keep_alive == 5
