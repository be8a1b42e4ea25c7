"""Verdicts that blame only the client: an answer the sandbox was told to give (the kit's scenario() and
answer(), the scenario header, --fault-rate, network faults) is journaled as `forced` and never held
against the request; the request itself still is. The Retry-After check pairs calls of one example only."""

from __future__ import annotations

import httpx
import pytest
from kit_helpers import PATHS, client, kit
from test_kit_routing import GRANT_TYPE, IM_URL, SISTE_URL, SSG_URL, vendor_grant  # noqa: I001

from mockserver.canned import CannedAnswer
from mockserver.conformance.report import NonConformingRequests
from mockserver.testkit import ERROR_CODES

GOOD = {"fraOgMed": "2026-08", "tilOgMed": "2026-10"}
URLS = {"summertskattegrunnlag": SSG_URL, "inntekt": f"{IM_URL}?fraOgMed=2026-08&tilOgMed=2026-10",
        "sistetilgjengeligeskatteoppgjoer": SISTE_URL,
        **{feed: f"https://{feed}.api.skatteetaten-test.no/v1/hendelser?fraSekvensnummer=1&antall=10"
           for feed in ("skatteoppgjoerhendelser", "inntekthendelser")}}


@pytest.fixture
def ske_sandbox(ske_sandbox_shared):
    return ske_sandbox_shared


@pytest.fixture
def http(ske_sandbox):
    with httpx.Client() as c:
        token = c.post("https://test.maskinporten.no/token", data={
            "grant_type": GRANT_TYPE, "assertion": vendor_grant(ske_sandbox)}).json()["access_token"]
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


def data_entries(kit_) -> list[dict]:
    return [e for e in kit_.journal if e["service"] != "maskinporten"]


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_every_documented_code_forced_by_scenario_conforms_when_the_request_was_fine(ske_sandbox, http, code):
    with ske_sandbox.scenario(code):
        r = http.get(URLS[ERROR_CODES[code].api])
    assert (r.status_code, r.json()["kode"]) == (ERROR_CODES[code].status, code)
    ske_sandbox.assert_requests_conform()
    (entry,) = data_entries(ske_sandbox)
    assert (entry["forced"], entry["forced_by"], entry["outcome"]) == (True, "scenario", code)


def test_a_broken_request_under_a_forced_scenario_still_fails(ske_sandbox, http):
    with ske_sandbox.scenario("IM-006"):
        assert http.get(IM_URL, params={"fraOgMed": "2026-8", "tilOgMed": "2026-10"}).status_code == 400
    with pytest.raises(NonConformingRequests, match="query parameter fraOgMed is '2026-8'"):
        ske_sandbox.assert_requests_conform()


def test_no_token_under_a_forced_scenario_still_fails(ske_sandbox):
    with ske_sandbox.scenario("SSG-006"):
        assert httpx.get(SSG_URL).status_code == 401  # refused before any scenario: not forced
    (entry,) = ske_sandbox.journal
    assert "forced" not in entry
    with pytest.raises(NonConformingRequests, match="the Authorization header is missing"):
        ske_sandbox.assert_requests_conform()


def test_an_unforced_refusal_is_still_held_against_the_client(ske_sandbox, http):
    """The static checks find nothing wrong with a 2100 year, but the service refused it: the client's fault."""
    r = http.get(SSG_URL.replace("/2025/", "/2100/"))
    assert r.status_code == 400
    with pytest.raises(NonConformingRequests, match="the service refused the request"):
        ske_sandbox.assert_requests_conform()


def test_a_canned_refusal_from_answer_is_not_held_against_the_client(ske_sandbox, http):
    with ske_sandbox.answer("inntekt", CannedAnswer(400, {"kode": "IM-006", "melding": "drawn"})):
        assert http.get(IM_URL, params=GOOD).status_code == 400
    ske_sandbox.assert_requests_conform()
    (entry,) = data_entries(ske_sandbox)
    assert entry["forced_by"] == "answer"


def test_the_header_forced_ssg_006_conforms_in_the_server_journal():
    """The server's journal (GET /__sandbox/journal), as `ske-sandbox conformance` reads it."""
    k = kit()
    http = client(k.app)
    r = http.get(PATHS["summertskattegrunnlag"], headers={"Ske-Sandbox-Scenario": "SSG-006"})
    assert (r.status_code, r.json()["kode"]) == (400, "SSG-006")
    (entry,) = http.get("/__sandbox/journal").json()
    assert (entry["conforms"], entry["problems"]) == (True, [])
    assert (entry["forced"], entry["forced_by"], entry["status"]) == (True, "scenario", 400)


def test_fault_rate_and_network_faults_are_marked_with_what_forced_them():
    k = kit(fault_rate=1.0)
    http = client(k.app)
    assert http.get(PATHS["inntekt"]).status_code == 500
    entry = http.get("/__sandbox/journal").json()[-1]
    assert (entry["forced_by"], entry["conforms"]) == ("fault-rate", True)


def test_a_delay_is_noted_but_the_status_stays_the_calls(ske_sandbox, http):
    with ske_sandbox.scenario("slow:1ms"):
        assert http.get(SSG_URL.replace("/2025/", "/2100/")).status_code == 400
    (entry,) = data_entries(ske_sandbox)
    assert entry["delayed"] == {"by": "scenario", "seconds": 0.001}
    assert "forced" not in entry
    with pytest.raises(NonConformingRequests, match="the service refused the request"):
        ske_sandbox.assert_requests_conform()


RETRY = CannedAnswer(429, {"kode": "IM-001", "melding": "drawn"}, {"Retry-After": "5"})


def test_retry_after_binds_within_one_example(ske_sandbox, http):
    with ske_sandbox.answer("inntekt", RETRY):
        http.get(IM_URL, params=GOOD)
        http.get(IM_URL, params=GOOD)
    with pytest.raises(NonConformingRequests, match="Retry-After: 5"):
        ske_sandbox.assert_requests_conform()


def test_a_new_answer_block_is_a_new_example_for_retry_after(ske_sandbox, http):
    """As in a Hypothesis test: each example enters answer() afresh, and one example's 429 says nothing
    about when the next example may call."""
    for _ in range(3):
        with ske_sandbox.answer("inntekt", RETRY):
            http.get(IM_URL, params=GOOD)
    ske_sandbox.assert_requests_conform()


def test_new_example_starts_afresh_without_a_block(ske_sandbox, http):
    with ske_sandbox.scenario("429", api="inntekt"):
        http.get(IM_URL, params=GOOD)
    ske_sandbox.new_example()
    assert http.get(IM_URL, params=GOOD).status_code == 200
    ske_sandbox.assert_requests_conform()
