"""Sandbox.responder: a canned answer replaces persona data, after the same auth and validation."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import pytest
from kit_helpers import FNR, PAKKE, PATHS, app, client

from mockserver.canned import CannedAnswer
from mockserver.testkit.strategies import DrawnResponse

APP = app()
HTTP = client(APP)
SANDBOX = APP.state.sandbox
BODY = {"personidentifikator": FNR, "inntektsaar": "2024", "skjermet": False, "grunnlag": []}


@pytest.fixture(autouse=True)
def clean():
    SANDBOX.reset()
    yield
    SANDBOX.responder = None


def answer(canned: CannedAnswer | None, seen: list | None = None):
    def responder(api, request):
        if seen is not None:
            seen.append((api, request.url.path))
        return canned
    SANDBOX.responder = responder


def test_a_canned_body_is_answered_with_a_correlation_id_and_journaled():
    seen = []
    answer(CannedAnswer(200, BODY), seen)
    r = HTTP.get(PATHS["summertskattegrunnlag"])
    assert r.status_code == 200 and r.json() == BODY
    assert uuid.UUID(r.headers["Korrelasjonsid"])
    assert seen == [("summertskattegrunnlag", PATHS["summertskattegrunnlag"])]
    assert SANDBOX.journal.entries()[-1]["outcome"] == "200"


def test_xml_has_the_apis_own_root_and_namespace():
    answer(CannedAnswer(200, {"oppgaveInntektsmottaker": [{"kalendermaaned": "2026-01"}]}))
    r = HTTP.get(PATHS["inntekt"], headers={"Accept": "application/xml"})
    root = ET.fromstring(r.content)
    assert root.tag == "{urn:no:skatteetaten:datasamarbeid:inntekt:v1}inntekter"
    assert root.find("{*}oppgaveInntektsmottaker/{*}kalendermaaned").text == "2026-01"


@pytest.mark.parametrize("accept", ["application/json", "application/xml"])
def test_an_error_is_the_documented_error_body(accept):
    answer(CannedAnswer(429, {"kode": "TD-001", "melding": "For mange kall"}, {"Retry-After": "3"}))
    r = HTTP.get(PATHS["sistetilgjengeligeskatteoppgjoer"], headers={"Accept": accept})
    assert r.status_code == 429 and r.headers["Retry-After"] == "3"
    if accept == "application/json":
        kid = r.headers["Korrelasjonsid"]
        assert r.json() == {"kode": "TD-001", "melding": "For mange kall", "korrelasjonsid": kid}
    else:
        root = ET.fromstring(r.content)
        assert root.tag == "{urn:no:skatteetaten:datasamarbeid:feil:v1}feil"
        assert root.find("{*}korrelasjonsid").text == r.headers["Korrelasjonsid"]
    assert SANDBOX.journal.entries()[-1]["outcome"] == "TD-001"


def test_a_token_is_still_required_and_input_still_validated():
    seen = []
    answer(CannedAnswer(200, BODY), seen)
    anonymous = HTTP.get(PATHS["summertskattegrunnlag"], headers={"Authorization": ""})
    assert anonymous.status_code == 401 and anonymous.json()["kode"] == "SSG-004"
    bad_fnr = HTTP.get(f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/2024/15838512672")
    assert bad_fnr.status_code == 400 and bad_fnr.json()["kode"] == "SSG-006"
    bad_period = HTTP.get(f"/inntekt/v1/{PAKKE}/{FNR}/inntekter?fraOgMed=2026-13")
    assert bad_period.status_code == 400 and bad_period.json()["kode"] == "IM-006"
    assert seen == []


def test_no_canned_answer_falls_through_to_the_personas():
    answer(None)
    r = HTTP.get(PATHS["summertskattegrunnlag"])
    assert r.status_code == 200 and r.json()["grunnlag"]


def test_from_drawn_keeps_only_headers_the_server_does_not_set():
    drawn = DrawnResponse(503, {"kode": "IM-002", "melding": "m", "korrelasjonsid": str(uuid.uuid4())},
                          headers={"Content-Type": "application/json", "Korrelasjonsid": "x", "Retry-After": "5"},
                          api="inntekt")
    canned = CannedAnswer.from_drawn(drawn)
    assert canned == CannedAnswer(503, drawn.body, {"Retry-After": "5"})
