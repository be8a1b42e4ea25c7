"""`serve --responses generated`: seeded, contract-valid, domain-aware variants; errors still documented."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import json
import subprocess
import sys
from functools import cache

import httpx
import jsonschema
import pytest
from kit_helpers import PAKKE, app, client
from support import ROOT, running_server

from mockserver import contractschema
from mockserver.generated import GeneratedResponder
from mockserver.identifiers import make_person_number

APP = app()
APP.state.sandbox.responder = GeneratedResponder(5)
HTTP = client(APP)
PEOPLE = [n for i in range(120) if (n := make_person_number(dt.date(1960 + i % 40, 1 + i % 12, 1 + i % 28), 100 + i))]


def paths(api: str) -> list[str]:
    if api == "summertskattegrunnlag":
        return [f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/{2017 + i % 9}/{fnr}" for i, fnr in enumerate(PEOPLE)]
    if api == "inntekt":
        return [f"/inntekt/v1/{PAKKE}/{fnr}/inntekter?fraOgMed=2025-{1 + i % 12:02d}&tilOgMed=2025-12"
                for i, fnr in enumerate(PEOPLE)]
    if api.endswith("hendelser"):
        return [f"/{api}/v1/hendelser?fraSekvensnummer={1 + 997 * i}&antall={1 + i % 40}" if i % 4 else
                f"/{api}/v1/hendelser/start?dato={dt.date(2022, 1, 1) + dt.timedelta(days=i)}"
                for i in range(len(PEOPLE))]
    return [f"/sistetilgjengeligeskatteoppgjoer/v1/{fnr}" for fnr in PEOPLE]


@cache
def validator(api: str, template: str | None = None) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(contractschema.response_schema(api, template=template),
                                           format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("api", contractschema.DATA_APIS)
def test_generated_answers_are_contract_valid_and_carry_the_request(api):
    bodies = set()
    for path in paths(api):
        r = HTTP.get(path)
        assert r.status_code == 200, r.text
        body = r.json()
        bodies.add(r.content)
        if api.endswith("hendelser"):
            check_feed_answer(api, path, body)
            continue
        validator(api).validate(body)
        fnr = path.split("/")[-1] if api != "inntekt" else path.split("/")[4]
        if api == "inntekt":
            fra = path.split("fraOgMed=")[1][:7]
            for oppgave in body["oppgaveInntektsmottaker"]:
                assert fra <= oppgave.get("kalendermaaned", fra) <= "2025-12"
                assert oppgave.get("inntektsmottaker", {}).get("personidentifikator", fnr) == fnr
        else:
            assert body["personidentifikator"] == fnr
        if api == "summertskattegrunnlag":
            assert body["inntektsaar"] == path.split("/")[-2] and body.get("stadie", "oppgjoer") == "oppgjoer"
    # a start number is one integer, often an edge value (0, 2**31 - 1, …), so those repeat
    assert len(bodies) >= (0.7 if api.endswith("hendelser") else 0.95) * len(PEOPLE), "paths get their own variants"


def check_feed_answer(api: str, path: str, body: dict) -> None:
    """A page's numbers start at fraSekvensnummer and rise; start answers carry only a number."""
    if "/start?" in path:
        validator(api, "/hendelser/start").validate(body)
        return
    validator(api).validate(body)
    fra, antall = (int(v.split("=")[1]) for v in path.split("?")[1].split("&"))
    numbers = [h["sekvensnummer"] for h in body["hendelser"]]
    assert len(numbers) <= antall and numbers == sorted(set(numbers)) and all(n >= fra for n in numbers)


def test_xml_is_rendered_from_the_same_variant():
    path = paths("inntekt")[3]
    as_json, as_xml = HTTP.get(path), HTTP.get(path, headers={"Accept": "application/xml"})
    assert as_xml.headers["content-type"].startswith("application/xml")
    assert b"<inntekter xmlns=\"urn:no:skatteetaten:datasamarbeid:inntekt:v1\"" in as_xml.content
    for oppgave in as_json.json()["oppgaveInntektsmottaker"]:
        if "kalendermaaned" in oppgave:
            assert f"<kalendermaaned>{oppgave['kalendermaaned']}</kalendermaaned>".encode() in as_xml.content


def test_errors_are_still_answered_as_documented():
    path = paths("summertskattegrunnlag")[0]
    assert HTTP.get(path, headers={"Authorization": "Bearer nope"}).json()["kode"] == "SSG-004"
    assert HTTP.get(path, headers={"Accept": "text/csv"}).json()["kode"] == "SSG-009"
    assert HTTP.get(path.replace("/2017/", "/2016/")).json()["kode"] == "SSG-006"
    assert HTTP.get(path.replace("/oppgjoer/", "/utkast/")).json()["kode"] == "SSG-005"
    r = HTTP.get(path, headers={"Ske-Sandbox-Scenario": "SSG-008"})
    assert r.status_code == 404 and r.json()["kode"] == "SSG-008"
    assert HTTP.get(f"/inntekt/v1/{PAKKE}/{PEOPLE[0]}/inntekter?fraOgMed=2025-01&tilOgMed=2026-06").status_code == 400
    assert HTTP.get(f"/sistetilgjengeligeskatteoppgjoer/v1/{PEOPLE[0][:10]}").json()["kode"] == "TD-003"


def _token(base: str, seed: int) -> str:
    spec = importlib.util.spec_from_file_location("municipal_client", ROOT / "examples" / "municipal_client.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    command = [sys.executable, "-m", "mockserver.cli", "demo-client", "--json", "--seed", str(seed)]
    demo = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    with httpx.Client() as http:
        return module.maskinporten_token(http, f"{base}/maskinporten/", demo,
                                         ["skatteetaten:summertskattegrunnlag", "skatteetaten:inntekt"])


def _digests(http) -> list[str]:
    calls = [p for api in contractschema.DATA_APIS for p in paths(api)[:20]]
    return [hashlib.sha256(http.get(p).content).hexdigest() for p in calls]


def _in_process(seed: int) -> list[str]:
    """The answers of this process's app; only the responder's seed shapes a generated body."""
    APP.state.sandbox.responder = GeneratedResponder(seed)
    try:
        return _digests(HTTP)
    finally:
        APP.state.sandbox.responder = GeneratedResponder(5)


@pytest.mark.subprocess
def test_same_seed_same_bytes_across_processes():
    """The server process and this test process load different modules; the bodies must still match."""
    with running_server("--responses", "generated", "--seed", "11", "--population", "20",
                        "--today", "2026-11-27") as base:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {_token(base, 11)}"}) as http:
            served = _digests(http)
    assert served == _in_process(11)
    assert len(set(served)) == len(served)
    assert sum(a != b for a, b in zip(served, _in_process(12), strict=True)) > 50
