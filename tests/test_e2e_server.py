"""The sandbox as a vendor uses it: a real server process, a real HTTP client, the example script."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import subprocess
import sys
import zipfile

import httpx
import pytest
from support import ROOT, TODAY, running_server

pytestmark = pytest.mark.subprocess


def _example_module():
    spec = importlib.util.spec_from_file_location("municipal_client", ROOT / "examples" / "municipal_client.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _demo_client(seed: int = 1) -> dict:
    out = subprocess.run([sys.executable, "-m", "mockserver.cli", "demo-client", "--json", "--seed", str(seed)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _listed_person() -> str:
    out = subprocess.run([sys.executable, "-m", "mockserver.cli", "people", "--json", "--limit", "40",
                          "--today", TODAY, "--population", "300"], capture_output=True, text=True, check=True)
    people = json.loads(out.stdout)
    crowd = [p for p in people if p["scenario"] is None and p["years"] and p["months"]]
    assert crowd, "the generated crowd lists people with years and months"
    return crowd[0]["fnr"]


def test_example_client_reads_both_apis_for_a_listed_person():
    fnr = _listed_person()
    client = _demo_client()
    with running_server("--today", TODAY, "--population", "300") as base:
        result = _example_module().run(base, client, fnr, dt.date.fromisoformat(TODAY))
    assert result["sisteTilgjengeligeSkatteoppgjoer"]["sisteTilgjengeligePeriode"] == "2025"
    ssg = result["summertSkattegrunnlag"]
    assert ssg["status"] == 200
    assert ssg["body"]["personidentifikator"] == fnr and ssg["body"]["grunnlag"]
    inntekt = result["inntekt"]
    assert inntekt["status"] == 200
    months = {o["kalendermaaned"] for o in inntekt["body"]["oppgaveInntektsmottaker"]}
    assert months and max(months) == "2026-10"  # October is complete on 10 November


def _fetch_all(base: str, client: dict, fnrs: list[str]) -> list[bytes]:
    token = _example_module().maskinporten_token(httpx.Client(), f"{base}/maskinporten/", client,
                                                 ["skatteetaten:summertskattegrunnlag", "skatteetaten:inntekt"])
    h = {"Authorization": f"Bearer {token}"}
    bodies = []
    with httpx.Client(base_url=base, headers=h) as http:
        for fnr in fnrs:
            for year in (2023, 2024, 2025):
                bodies.append(http.get(f"/summertskattegrunnlag/v2/oppgjoer/kommuneboligsosialeformaal/{year}/{fnr}")
                              .content)
            bodies.append(http.get(f"/inntekt/v1/kommuneboligsosialeformaal/{fnr}/inntekter",
                                   params={"fraOgMed": "2025-11", "tilOgMed": "2026-10"}).content)
            bodies.append(http.get(f"/summertskattegrunnlag/v2/oppgjoer/kommuneboligsosialeformaal/2024/{fnr}",
                                   headers={"Accept": "application/xml"}).content)
    return bodies


def test_same_seed_and_today_give_byte_identical_answers_across_server_runs():
    client = _demo_client()
    fnrs = ["15838512671", "08888412566", "52859312381", _listed_person()]
    runs = []
    for _ in range(2):
        with running_server("--today", TODAY, "--population", "300", "--seed", "1") as base:
            runs.append(_fetch_all(base, client, fnrs))
    assert runs[0] == runs[1]
    assert all(b.startswith(b"{") or b.startswith(b"<?xml") for b in runs[0])


def test_serve_prints_the_base_urls():
    import os
    import time

    from support import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mockserver.cli", "serve", "--port", str(port),
                             "--population", "100"], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines = [proc.stdout.readline() for _ in range(6)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        time.sleep(0)
    text = "".join(lines)
    assert f"http://127.0.0.1:{port}/maskinporten/" in text
    assert f"http://127.0.0.1:{port}/summertskattegrunnlag/v2" in text
    assert f"http://127.0.0.1:{port}/inntekt/v1" in text


def test_wheel_ships_contracts_and_fixtures(tmp_path):
    """A non-editable install must carry contracts/ and fixtures/ inside the package."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("ske_sandbox-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("mockserver/_data/contracts/summertskattegrunnlag.yaml",
                   "mockserver/_data/contracts/inntekt.yaml",
                   "mockserver/_data/fixtures/personas.yaml",
                   "mockserver/_data/fixtures/summertskattegrunnlag-tekniskenavn.json",
                   "mockserver/control/openapi.yaml",
                   "mockserver/page/templates/base.html",
                   "mockserver/page/templates/person.html",
                   "mockserver/page/static/page.js",
                   "mockserver/page/static/designsystemet/designsystemet.css",
                   "mockserver/page/static/designsystemet/LICENSE-designsystemet-css"):
        assert needed in names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    probe = ("import mockserver.resources as r, mockserver.app as a;"
             "from starlette.testclient import TestClient;"
             "print(r.contracts_dir()); app = a.create_app(population=10);"
             "print(len(app.state.sandbox.population.personas));"
             "c = TestClient(app, base_url='http://127.0.0.1:8080');"
             "print(c.get('/').status_code, c.get('/static/page.css').status_code,"
             " c.get('/__sandbox/openapi.yaml').status_code)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=tmp_path, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    contracts_path, personas, *statuses = out.stdout.split()
    assert contracts_path.startswith(str(target))
    assert int(personas) >= 20
    assert statuses == ["200", "200", "200"]  # the page and the control document answer from the wheel
