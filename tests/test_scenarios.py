"""Scenario control for clients that cannot pick personas, and server-wide latency, faults and the
5-concurrent-calls limit."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from mockserver.app import create_app
from mockserver.dataapi import parse_latency
from mockserver.settings import Settings
from mockserver.testkit.kit import SandboxKit
from mockserver.testkit.plugin import DEFAULT_TODAY

SSG_PATH = "/summertskattegrunnlag/v2/oppgjoer/kommuneboligsosialeformaal/2024/15838512671"
IM_PATH = "/inntekt/v1/kommuneboligsosialeformaal/15838512671/inntekter?fraOgMed=2026-01"


def _get(box, path, scenario=None):
    h = {"Authorization": f"Bearer {box.token()}"}
    if scenario is not None:
        h["Ske-Sandbox-Scenario"] = scenario
    return box.client.get(path, headers=h)


@pytest.mark.parametrize("path,scenario,status,kode", [
    (SSG_PATH, "SSG-011", 410, "SSG-011"),
    (SSG_PATH, "SSG-008", 404, "SSG-008"),
    (SSG_PATH, "SSG-007", 404, "SSG-007"),
    (IM_PATH, "IM-008", 404, "IM-008"),
    (IM_PATH, "IM-002", 500, "IM-002"),
    (SSG_PATH, "503", 503, "SSG-002"),
    (IM_PATH, "503", 503, "IM-002"),
    (SSG_PATH, "429", 429, "SSG-001"),
])
def test_scenario_header_forces_the_answer(ske_sandbox, path, scenario, status, kode):
    r = _get(ske_sandbox, path, scenario)
    assert r.status_code == status
    assert r.json()["kode"] == kode
    if status in (429, 503):
        assert r.headers["retry-after"] == "1"


@pytest.mark.parametrize("scenario", ["SSG-099", "IM-008", "slow:forever", "slow:31s", "teapot", ""])
def test_unknown_scenario_is_rejected_clearly(ske_sandbox, scenario):
    r = _get(ske_sandbox, SSG_PATH, scenario)
    assert r.status_code == 400
    body = r.json()
    assert body["kode"] == "SSG-006"
    assert "Ske-Sandbox-Scenario" in body["melding"]


def test_scenario_still_needs_a_token(ske_sandbox):
    r = ske_sandbox.client.get(SSG_PATH, headers={"Ske-Sandbox-Scenario": "SSG-011"})
    assert r.status_code == 401


def test_slow_scenario_delays(ske_sandbox):
    started = time.monotonic()
    r = _get(ske_sandbox, SSG_PATH, "slow:300ms")
    assert r.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_latency_option_parses_and_delays():
    assert parse_latency("50ms..400ms") == (0.05, 0.4)
    assert parse_latency("2s") == (2.0, 2.0)
    with pytest.raises(ValueError):
        parse_latency("400ms..50ms")
    box = SandboxKit(Settings(today=DEFAULT_TODAY, population=20, latency=(0.2, 0.25)))
    token = box.token()
    started = time.monotonic()
    assert box.client.get(SSG_PATH, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert 0.2 <= time.monotonic() - started < 5


def test_fault_rate_is_seeded_and_answers_the_backend_code():
    def outcomes(seed):
        box = SandboxKit(Settings(seed=seed, today=DEFAULT_TODAY, population=20, fault_rate=0.3))
        h = {"Authorization": f"Bearer {box.token()}"}
        return [box.client.get(SSG_PATH, headers=h).status_code for _ in range(40)]

    first, again = outcomes(1), outcomes(1)
    assert first == again
    assert set(first) == {200, 500}
    assert 4 <= first.count(500) <= 24


def test_fault_rate_bounds():
    with pytest.raises(ValueError):
        create_app(Settings(population=10, fault_rate=1.5))


async def _burst(app, token, n):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ske-sandbox.test") as client:
        calls = [client.get(SSG_PATH, headers={"Authorization": f"Bearer {token}",
                                               "Ske-Sandbox-Scenario": "slow:300ms"}) for _ in range(n)]
        return await asyncio.gather(*calls)


def test_concurrency_limit_answers_429_past_five():
    box = SandboxKit(Settings(today=DEFAULT_TODAY, population=20, enforce_concurrency=True))
    responses = asyncio.run(_burst(box.app, box.token(), 8))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [429] * 3
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.headers["retry-after"] == "1"
    # the slots are released afterwards: a new call goes through
    later = asyncio.run(_burst(box.app, box.token(), 1))
    assert later[0].status_code == 200


def test_without_enforcement_eight_concurrent_calls_pass():
    box = SandboxKit(Settings(today=DEFAULT_TODAY, population=20))
    responses = asyncio.run(_burst(box.app, box.token(), 8))
    assert [r.status_code for r in responses] == [200] * 8


def test_control_api_reset_forgets_jtis_and_journal(ske_sandbox):
    grant = ske_sandbox.grant()
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": grant}
    assert ske_sandbox.client.post("/maskinporten/token", data=form).status_code == 200
    assert ske_sandbox.client.post("/maskinporten/token", data=form).json()["error_uri"].endswith("MP-012")
    journal = ske_sandbox.client.get("/__sandbox/journal").json()
    assert [e["outcome"] for e in journal][-2:] == ["token", "MP-012"]
    assert ske_sandbox.client.post("/__sandbox/reset").status_code == 200
    assert ske_sandbox.client.get("/__sandbox/journal").json() == []
    assert ske_sandbox.client.post("/maskinporten/token", data=form).status_code == 200
