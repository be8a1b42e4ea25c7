"""The control API under /__sandbox/: its own OpenAPI document, runtime personas, the journal, and hostile
input answered with a clear 4xx while the server keeps serving."""

from __future__ import annotations

import re

import pytest
import yaml
from openapi_spec_validator import validate
from starlette.routing import Route

from mockserver.control import routes as control
from mockserver.inntekt.errors import IM
from mockserver.sistetilgjengeligeskatteoppgjoer.errors import TD
from mockserver.summertskattegrunnlag.errors import SSG

NEW_FNR = "01928840057"  # synthetic (month + 80), valid check digits, no persona has it
KARI = "15838512671"


@pytest.fixture
def doc(ske_sandbox):
    r = ske_sandbox.client.get("/__sandbox/openapi.yaml")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/yaml")
    return yaml.safe_load(r.text)


def test_control_document_is_valid_openapi(doc):
    validate(doc)
    assert doc["openapi"].startswith("3.1")


def test_every_control_route_is_documented_and_nothing_else(doc):
    served = set()
    for route in control.routes:
        if isinstance(route, Route) and "{rest" not in route.path:
            for method in route.methods - {"HEAD"}:
                served.add((f"/__sandbox{route.path}", method.lower()))
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert served == documented


def test_control_document_is_not_among_the_service_contracts(ske_sandbox):
    r = ske_sandbox.client.get("/__sandbox/contracts/openapi.yaml")
    assert r.status_code == 404
    assert "control" not in " ".join(r.json()["available"])


def test_scenario_header_pattern_accepts_every_documented_code_and_nothing_more(doc):
    pattern = re.compile(doc["components"]["parameters"]["SkeSandboxScenario"]["schema"]["pattern"])
    codes = {code for catalogue in (SSG, IM, TD) for code, _, _ in catalogue.table()}
    network = {"reset", "empty", "truncated", "malformed-chunk", "trickle:250ms", "trickle:9999ms", "trickle:30s"}
    for value in codes | network | {"503", "429", "slow:250ms", "slow:9999ms", "slow:30s"}:
        assert pattern.fullmatch(value), value
    for value in ("SSG-012", "IM-011", "TD-007", "slow:31s", "slow:10000ms", "500", "", "trickle:31s",
                  "trickle:abc", "reset:1s"):
        assert not pattern.fullmatch(value), value


def test_a_persona_added_at_runtime_is_served_by_the_apis_and_forgotten_on_reset(ske_sandbox):
    c = ske_sandbox.client
    r = c.post("/__sandbox/personas", json={
        "fnr": NEW_FNR, "scenario": "demo-ny", "first_name": "Nora", "last_name": "Nyhus",
        "archetype": "employee", "monthly": 61000, "story": "Lagt til under demoen.",
    })
    assert r.status_code == 201, r.text
    assert r.json() == {"fnr": NEW_FNR, "replaced": False, "minted": False, "person": f"/person/{NEW_FNR}"}
    listed = c.get("/__sandbox/people", params={"scenario": "demo-ny"}).json()
    assert [p["name"] for p in listed] == ["Nora Nyhus"]
    token = ske_sandbox.token()
    answer = c.get(f"/sistetilgjengeligeskatteoppgjoer/v1/{NEW_FNR}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    c.post("/__sandbox/reset")
    assert c.get("/__sandbox/people", params={"scenario": "demo-ny"}).json() == []


def test_a_persona_can_be_overridden(ske_sandbox):
    c = ske_sandbox.client
    r = c.post("/__sandbox/personas", json={"fnr": KARI, "first_name": "Karianne", "scenario": "ordinary"})
    assert r.status_code == 201
    assert r.json()["replaced"] is True
    assert c.get("/__sandbox/people", params={"search": KARI}).json()[0]["name"].startswith("Karianne")


def test_delete_journal_clears_it(ske_sandbox):
    c = ske_sandbox.client
    ske_sandbox.token()
    assert c.get("/__sandbox/journal").json()
    assert c.delete("/__sandbox/journal").json() == {"cleared": True, "tenant": None}
    assert c.get("/__sandbox/journal").json() == []


HOSTILE_PERSONAS = [
    pytest.param({"fnr": "01928840058"}, "kontrollsiffer", id="bad-check-digit"),
    pytest.param({"fnr": "15058540088"}, "is not a synthetic fødselsnummer", id="not-synthetic-or-invalid"),
    pytest.param({"fnr": "abc"}, "11 siffer", id="letters"),
    pytest.param({"fnr": 1928812347}, "is not a string (quote numbers", id="number-not-string"),
    pytest.param({"first_name": "Ola", "fnr": None}, "persona.fnr: None is not a string", id="null-fnr"),
    pytest.param({"fnr": NEW_FNR, "salary": 1}, "unknown key 'salary'", id="unknown-field"),
    pytest.param({"fnr": NEW_FNR, "monthly": "lots"}, "persona.monthly: 'lots' is not an integer", id="wrong-type"),
    pytest.param({"fnr": NEW_FNR, "monthly": True}, "persona.monthly: True is not an integer", id="bool-as-number"),
    pytest.param({"fnr": NEW_FNR, "monthly": -5}, "between", id="negative"),
    pytest.param({"fnr": NEW_FNR, "monthly": 10**30}, "between", id="huge-number"),
    pytest.param({"fnr": NEW_FNR, "skjermet": "yes"}, "persona.skjermet: 'yes' is not one of", id="string-as-bool"),
    pytest.param({"fnr": NEW_FNR, "archetype": "astronaut"}, "unknown archetype", id="archetype"),
    pytest.param({"fnr": NEW_FNR, "wealth": "billions"}, "wealth", id="wealth"),
    pytest.param({"fnr": NEW_FNR, "deleted": ["yesterday"]}, "year", id="bad-year"),
    pytest.param({"fnr": NEW_FNR, "children": ["123"]}, "children", id="bad-child"),
    pytest.param({"fnr": NEW_FNR, "story": ["a"]}, "persona.story: ['a'] is not a string", id="list-as-string"),
]


@pytest.mark.parametrize(("body", "says"), HOSTILE_PERSONAS)
def test_hostile_persona_bodies_get_422_with_a_clear_message(ske_sandbox, body, says):
    c = ske_sandbox.client
    r = c.post("/__sandbox/personas", json=body)
    assert r.status_code == 422, r.text
    assert says.lower() in r.json()["error"].lower()
    assert c.get("/__sandbox/health").status_code == 200
    assert NEW_FNR not in {p["fnr"] for p in c.get("/__sandbox/people", params={"search": NEW_FNR}).json()}


@pytest.mark.parametrize(("content", "ctype", "status"), [
    pytest.param(b"x" * (2 * 1024 * 1024), "application/json", 413, id="huge-body"),
    pytest.param(b"[1, 2, 3]", "application/json", 422, id="array"),
    pytest.param(b'"text"', "application/json", 422, id="string"),
    pytest.param(b"{not json", "application/json", 400, id="broken-json"),
    pytest.param(b"\xff\xfe{}", "application/json", 400, id="not-utf8"),
    pytest.param(b"", "application/json", 400, id="empty"),
    pytest.param(b"fnr=01928840057", "application/x-www-form-urlencoded", 415, id="form"),
    pytest.param(b"{}", "text/plain", 415, id="text"),
])
def test_hostile_persona_requests_get_4xx_and_the_server_keeps_serving(ske_sandbox, content, ctype, status):
    c = ske_sandbox.client
    r = c.post("/__sandbox/personas", content=content, headers={"Content-Type": ctype})
    assert r.status_code == status, r.text
    assert r.json()["error"]
    assert c.get("/__sandbox/health").json()["status"] == "ok"


def test_a_huge_declared_length_is_refused_before_reading(ske_sandbox):
    r = ske_sandbox.client.post("/__sandbox/personas", content=b"{}",
                                headers={"Content-Type": "application/json", "Content-Length": "999999999"})
    assert r.status_code == 413


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/__sandbox/nothing-here", 404),
    ("GET", "/__sandbox/personas", 405),
    ("PUT", "/__sandbox/journal", 405),
    ("GET", "/__sandbox/people?limit=many", 400),
    ("GET", "/__sandbox/contracts/..%2F..%2Fetc%2Fpasswd", 404),
])
def test_wrong_methods_paths_and_parameters_get_4xx(ske_sandbox, method, path, status):
    r = ske_sandbox.client.request(method, path)
    assert r.status_code == status
    assert ske_sandbox.client.get("/__sandbox/health").status_code == 200


def test_personas_files_are_checked_by_the_same_rules(tmp_path):
    from mockserver.population.personas import PersonaError, load_personas

    path = tmp_path / "personas.yaml"
    path.write_text(f'personas:\n  - fnr: "{NEW_FNR}"\n    monthly: lots\n')
    with pytest.raises(PersonaError, match=r"personas\[0\]\.monthly: 'lots' is not an integer"):
        load_personas(path)
