"""The kit lists its personas (`personas()`, all or one scenario's), and a hand-built `answer()` is held to
the contract unless the test says it is off the contract on purpose; drawn answers pass as they are."""

from __future__ import annotations

import httpx
import pytest
import yaml
from test_kit_routing import GRANT_TYPE, IM_URL, SSG_URL, vendor_grant  # noqa: I001

from mockserver.canned import CannedAnswer
from mockserver.resources import fixtures_dir
from mockserver.testkit import OffContractAnswer
from mockserver.testkit.kit import Person

GOOD = {"fraOgMed": "2026-08", "tilOgMed": "2026-10"}
SSG_BODY = {"personidentifikator": "15838512671", "inntektsaar": "2025", "skjermet": False, "grunnlag": []}


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


# --- personas() ---------------------------------------------------------------------------------------

def test_personas_lists_every_curated_persona_as_the_kits_person(ske_sandbox):
    curated = yaml.safe_load((fixtures_dir() / "personas.yaml").read_text())
    everyone = ske_sandbox.personas()
    assert all(isinstance(p, Person) for p in everyone)
    assert [p.fnr for p in everyone] == [str(e["fnr"]) for e in curated["personas"]]
    assert ske_sandbox.persona("ordinary") in everyone
    assert all(p.name for p in everyone if p.scenario != "SSG-007")  # SSG-007's number belongs to nobody


def test_personas_of_one_scenario(ske_sandbox):
    household = ske_sandbox.personas("household")
    assert len(household) == 4 and {p.scenario for p in household} == {"household"}
    head = ske_sandbox.persona("household")
    assert head == household[0] and set(head.household) == {p.fnr for p in household[1:]}
    assert ske_sandbox.personas("SSG-008") == [ske_sandbox.persona("SSG-008")]


def test_personas_of_an_unknown_scenario_names_the_known_ones(ske_sandbox):
    with pytest.raises(LookupError, match=r"no persona for scenario 'SSG-999'; scenarios: .*SSG-008"):
        ske_sandbox.personas("SSG-999")


def test_a_persona_added_while_running_is_listed(ske_sandbox):
    fnr = "01928840057"
    r = ske_sandbox.client.post("/__sandbox/personas", json={"fnr": fnr, "scenario": "my-case", "story": "Ny."})
    assert r.status_code in (200, 201), r.text
    (added,) = ske_sandbox.personas("my-case")
    assert (added.fnr, added.story) == (fnr, "Ny.")
    assert added in ske_sandbox.personas()


# --- answer(): hand-built bodies are checked ------------------------------------------------------------

def test_a_hand_built_answer_that_keeps_the_contract_is_served(ske_sandbox, http):
    with ske_sandbox.answer("summertskattegrunnlag", SSG_BODY):  # a dict is a 200 body
        r = http.get(SSG_URL)
    assert r.status_code == 200 and r.json() == SSG_BODY
    with ske_sandbox.answer("inntekt", CannedAnswer(429, {"kode": "IM-001", "melding": "Vent"}, {"Retry-After": "2"})):
        assert http.get(IM_URL, params=GOOD).status_code == 429


@pytest.mark.parametrize("api, canned, says", [
    ("summertskattegrunnlag", CannedAnswer(200, {**SSG_BODY, "skjermet": "nei"}),
     "body.skjermet: 'nei' is not of type 'boolean'"),
    ("summertskattegrunnlag", CannedAnswer(200, {"inntektsaar": "2025"}),
     "'personidentifikator' is a required property"),
    ("inntekt", CannedAnswer(200, {"oppgaveInntektsmottaker": {"kalendermaaned": "2026-01"}}),
     "body.oppgaveInntektsmottaker: {'kalendermaaned': '2026-01'} is not of type 'array'"),
    ("inntekt", CannedAnswer(400, {"kode": "IM-004", "melding": "x"}),
     "body.kode: 'IM-004' is not documented for 400; inntekt documents IM-006 for it"),
    ("inntekt", CannedAnswer(404, {"kode": "not a code", "melding": "x"}), "body.kode: 'not a code' does not match"),
    ("inntekt", CannedAnswer(404, {"melding": "x"}), "'kode' is a required property"),
    ("inntekt", CannedAnswer(429, {"kode": "IM-001", "melding": "x"}), "header Retry-After: required at 429, missing"),
    ("inntekt", CannedAnswer(503, {"kode": "IM-002", "melding": "x"}, {"Retry-After": "soon"}),
     "header Retry-After: 'soon' is not a whole number of seconds"),
    ("sistetilgjengeligeskatteoppgjoer", CannedAnswer(403, {"kode": "TD-002", "melding": "x"}),
     "sistetilgjengeligeskatteoppgjoer documents no status 403"),
])
def test_a_hand_built_answer_that_breaks_the_contract_says_what_is_wrong(ske_sandbox, http, api, canned, says):
    with pytest.raises(OffContractAnswer) as caught, ske_sandbox.answer(api, canned):
        pass
    assert says in str(caught.value) and "off_contract=True" in str(caught.value)
    assert ske_sandbox.sandbox.responder is None  # nothing was installed


def test_off_contract_sends_a_broken_body_on_purpose(ske_sandbox, http):
    broken = CannedAnswer(200, {**SSG_BODY, "skjermet": "nei"})
    with ske_sandbox.answer("summertskattegrunnlag", broken, off_contract=True):
        r = http.get(SSG_URL)
    assert r.status_code == 200 and r.json()["skjermet"] == "nei"
    ske_sandbox.assert_requests_conform()  # the request was fine; the answer was forced


def test_drawn_answers_are_accepted_as_they_are(ske_sandbox, http):
    from hypothesis import HealthCheck, given, settings

    from mockserver.testkit.strategies import responses

    # drawing whole contract bodies is slow by Hypothesis' measure, and that is what this test is about
    @settings(max_examples=15, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(drawn=responses("inntekt", status="any"))
    def served(drawn):
        with ske_sandbox.answer("inntekt", drawn):
            assert http.get(IM_URL, params=GOOD).status_code == drawn.status

    served()
