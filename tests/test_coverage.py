"""Outcome coverage: the documented outcomes of each contract operation, what a client's calls met, a
requirement file held against them — through `ske-sandbox coverage`, `GET /__sandbox/report` and the
pytest plugin — and GitHub annotations from `conformance` and `coverage`."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest
from kit_helpers import FNR, PATHS, client, kit, served_token
from support import ROOT, TODAY, running_server

from mockserver.configfiles import ConfigError
from mockserver.conformance import coverage
from mockserver.services import DATA_APIS, SERVICES
from mockserver.testkit import ERROR_CODES

DEFAULT = ROOT / "fixtures" / "requirements-kommuneboligsosialeformaal.yaml"
XML = {"Accept": "application/xml"}


def scenario(value: str) -> dict[str, str]:
    return {"Ske-Sandbox-Scenario": value}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mockserver.cli", *args], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)


# --- the catalogue ---------------------------------------------------------------------------------------

def test_the_catalogue_is_every_registered_operation_with_its_documented_codes():
    ops = coverage.catalogue()
    assert {o.service for o in ops} == {s.name for s in SERVICES}
    for service in DATA_APIS:
        ids = set().union(*(o.ids for o in ops if o.service == service.name))
        assert {c for c, e in ERROR_CODES.items() if e.api == service.name} <= ids
        assert {"200", "json", "xml", "401", "404", "429", "503"} <= ids
    (token,) = [o for o in ops if o.service == "maskinporten" and o.template == "/token"]
    assert {"200", "refused", "MP-110", "MP-200"} <= token.ids and "xml" not in token.ids


def test_the_default_requirement_file_loads_and_says_why_for_each():
    reqs = coverage.load_requirements(DEFAULT)
    names = {r.name for r in reqs.items}
    assert {"summertskattegrunnlag SSG-008", "summertskattegrunnlag 410", "summertskattegrunnlag SSG-007",
            "inntekt IM-008", "inntekt 429", "inntekt 503", "summertskattegrunnlag 401", "maskinporten token 200",
            "summertskattegrunnlag json", "summertskattegrunnlag xml"} <= names
    assert all(r.why for r in reqs.items)


# --- GET /__sandbox/report, in-process ---------------------------------------------------------------------

MET_IN_PROCESS = {"summertskattegrunnlag 200", "summertskattegrunnlag json", "summertskattegrunnlag xml",
                  "summertskattegrunnlag SSG-008", "inntekt IM-008", "sistetilgjengeligeskatteoppgjoer 200"}


@pytest.fixture(scope="module")
def partial_run():
    """A run that met some of the default requirements: the data APIs' 200 (JSON and XML), SSG-008 and
    IM-008 forced by the header, and one request that broke its contract (tokens are issued without a call)."""
    k = kit(require_file=DEFAULT)
    http = client(k.app)
    assert http.get(PATHS["summertskattegrunnlag"]).status_code == 200
    assert http.get(PATHS["summertskattegrunnlag"], headers=XML).status_code == 200
    assert http.get(PATHS["summertskattegrunnlag"], headers=scenario("SSG-008")).status_code == 404
    assert http.get(PATHS["inntekt"], headers=scenario("IM-008")).status_code == 404
    assert http.get(PATHS["sistetilgjengeligeskatteoppgjoer"]).status_code == 200
    assert http.get(PATHS["summertskattegrunnlag"].replace("/2024/", "/24/")).status_code == 400
    return http


def test_report_json_names_what_was_met_and_what_never_was(partial_run):
    r = partial_run.get("/__sandbox/report", params={"format": "json"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    report = r.json()
    required = {q["api"] + (f" {q['operation']}" if q["operation"] else "") + f" {q['outcome']}": q["met"]
                for q in report["coverage"]["required"]}
    assert {name for name, met in required.items() if met} == MET_IN_PROCESS
    assert set(report["coverage"]["missing"]) == set(required) - MET_IN_PROCESS
    assert report["ok"] is False
    assert report["conformance"]["requests"] == 6
    (bad,) = report["conformance"]["nonconforming"]
    assert "path parameter inntektsaar is '24'" in bad["problems"][0]


def test_report_junit_has_one_case_per_request_and_per_required_outcome(partial_run):
    r = partial_run.get("/__sandbox/report", params={"format": "junit"})
    assert r.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(r.content)
    assert root.tag == "testsuites"
    requests_suite, coverage_suite = root.findall("testsuite")
    assert len(requests_suite.findall("testcase")) == 6
    assert [c.get("name") for c in requests_suite.iter("testcase") if c.find("failure") is not None] == [
        "GET http://ske-sandbox.test/summertskattegrunnlag/v2/oppgjoer/kommuneboligsosialeformaal/24/"
        f"{FNR} (answered 400 SSG-006)"]
    cases = coverage_suite.findall("testcase")
    assert len(cases) == len(coverage.load_requirements(DEFAULT).items)
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == {c.get("name") for c in cases} - MET_IN_PROCESS
    assert coverage_suite.get("failures") == str(len(failed))
    assert "inntekt 503 was never met" in next(c for c in cases if c.get("name") == "inntekt 503")[1].get("message")


def test_report_markdown_for_the_step_summary(partial_run):
    r = partial_run.get("/__sandbox/report", params={"format": "markdown"})
    assert r.headers["content-type"].startswith("text/markdown")
    text = r.text
    assert text.startswith("## ske-sandbox verdict\n")
    assert "❌ 6 request(s) journaled, 1 did not conform; 6 of 13 required outcomes met" in text
    assert "| ❌ | inntekt | 503 | 0 | a service that is down answers 503; the client retries later or reports it |" \
        in text
    assert "| ✅ | summertskattegrunnlag | SSG-008 | 1 |" in text
    assert "path parameter inntektsaar is '24'" in text


def test_report_refuses_an_unknown_format_and_is_guarded(partial_run):
    r = partial_run.get("/__sandbox/report", params={"format": "html"})
    assert r.status_code == 400 and r.json()["error"] == "format must be one of json, junit, markdown"
    r = partial_run.get("/__sandbox/report", headers={"Host": "evil.example"})
    assert r.status_code == 403


def test_report_without_a_requirement_file_lists_the_outcomes_met():
    http = client(kit().app)
    http.get(PATHS["inntekt"], headers=scenario("503"))
    root = ET.fromstring(http.get("/__sandbox/report?format=junit").content)
    names = {c.get("name") for c in root.findall("testsuite")[1].iter("testcase")}
    assert names == {"inntekt hentInntekter 503", "inntekt hentInntekter IM-002"}
    assert http.get("/__sandbox/report").json()["ok"] is True


# --- bad requirement files -------------------------------------------------------------------------------

BAD_FILES = [
    ("unknown API", "require:\n  inntek:\n    - {outcome: 200, why: x}\n",
     ":2: require.inntek: unknown API 'inntek' (known: maskinporten, summertskattegrunnlag"),
    ("outcome of another API", "require:\n  inntekt:\n    - outcome: SSG-008\n      why: x\n",
     ":3: require.inntekt[0].outcome: 'SSG-008' is not a documented outcome of inntekt (its outcomes: "),
    ("unknown operation", "require:\n  maskinporten:\n    - {outcome: 200, operation: tokens, why: x}\n",
     ":3: require.maskinporten[0].operation: maskinporten has no operation 'tokens' (its operations: token, "),
    ("no why", "require:\n  inntekt:\n    - outcome: IM-008\n", ":3: require.inntekt[0]: 'why' is a required property"),
    ("unknown key", "require:\n  inntekt:\n    - {outcome: 503, why: x, because: y}\n",
     ":3: require.inntekt[0]: unknown key 'because' (allowed: operation, outcome, why)"),
    ("required twice", "require:\n  inntekt:\n    - {outcome: 503, why: x}\n    - {outcome: 503, why: y}\n",
     ":4: require.inntekt[1].outcome: '503' is required twice for inntekt"),
    ("not YAML", "require: [\n", "cannot read the requirement file"),
    ("empty", "", ":1: 'require' is a required property"),
]


@pytest.mark.parametrize("text,expected", [(t, e) for _, t, e in BAD_FILES], ids=[n for n, _, _ in BAD_FILES])
def test_a_bad_requirement_file_is_named_with_line_and_problem(tmp_path, text, expected):
    path = tmp_path / "req.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        coverage.load_requirements(path)
    assert (f"{path}{expected}" if expected.startswith(":") else expected) in str(err.value)
    assert str(err.value).startswith(str(path))


@pytest.mark.subprocess
def test_coverage_command_exits_2_on_a_bad_requirement_file(tmp_path):
    path = tmp_path / "req.yaml"
    path.write_text(BAD_FILES[1][1])
    run = cli("coverage", "--url", "http://127.0.0.1:9", "--require-file", str(path))
    assert run.returncode == 2
    assert run.stderr.startswith(f"ske-sandbox: {path}:3: require.inntekt[0].outcome: 'SSG-008' is not")
    assert "Traceback" not in run.stderr


@pytest.mark.subprocess
def test_serve_stops_on_a_bad_requirement_file(tmp_path):
    path = tmp_path / "req.yaml"
    path.write_text(BAD_FILES[1][1])
    run = cli("serve", "--port", "0", "--population", "50", "--require-file", str(path))
    assert run.returncode == 2
    assert f"{path}:3: require.inntekt[0].outcome: 'SSG-008' is not a documented outcome" in run.stderr


# --- the commands against a running server ---------------------------------------------------------------

@pytest.mark.subprocess
def test_coverage_and_conformance_commands_after_a_partial_run(tmp_path):
    with running_server("--today", TODAY, "--population", "100") as base:
        auth = {"Authorization": f"Bearer {served_token(base)}"}
        assert httpx.get(base + PATHS["summertskattegrunnlag"], headers=auth).status_code == 200
        assert httpx.get(base + PATHS["summertskattegrunnlag"], headers={**auth, **scenario("SSG-011")}) \
            .status_code == 410
        assert httpx.get(base + PATHS["inntekt"].replace("2026-01", "2026-1"), headers=auth).status_code == 400
        report = tmp_path / "coverage.xml"
        run = cli("coverage", "--url", base, "--require-file", str(DEFAULT), "--junit", str(report), "--github")
        met_only = tmp_path / "met.yaml"
        met_only.write_text("require:\n  summertskattegrunnlag:\n    - {outcome: 410, why: deleted}\n"
                            "    - {outcome: json, why: parsed}\n  maskinporten:\n"
                            "    - {operation: token, outcome: 200, why: a token}\n")
        passing = cli("coverage", "--url", base, "--require-file", str(met_only))
        conformance = cli("conformance", "--url", base, "--github")
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert "::error title=Required outcome never met::inntekt 503: a service that is down answers 503; the client " \
           "retries later or reports it" in lines
    assert any(line.startswith("MISSING") and " inntekt hentInntekter " in line and " 429 " in line for line in lines)
    assert any(line.startswith("met") and " SSG-011 " in line for line in lines)
    assert "never met: sistetilgjengeligeskatteoppgjoer 200, summertskattegrunnlag SSG-008, summertskattegrunnlag " \
        "SSG-007," in run.stdout
    (suite,) = ET.parse(report).getroot().findall("testsuite")
    assert suite.get("name") == "ske-sandbox coverage"
    cases = suite.findall("testcase")
    assert len(cases) == 13
    assert {c.get("name") for c in cases if c.find("failure") is None} == {
        "maskinporten token 200", "summertskattegrunnlag 200", "summertskattegrunnlag 410",
        "summertskattegrunnlag json"}
    assert passing.returncode == 0, passing.stdout
    assert "3 of 3 required outcomes met" in passing.stdout
    assert conformance.returncode == 1
    (annotation,) = [line for line in conformance.stdout.splitlines() if line.startswith("::error")]
    assert annotation.startswith("::error title=Request broke its contract::GET ")
    assert "query parameter fraOgMed is '2026-1'" in annotation
    gone = cli("coverage", "--url", base)
    assert gone.returncode == 2 and "cannot read the journal" in gone.stderr


def test_github_annotations_escape_what_would_end_the_command():
    from mockserver.conformance.verdict import annotation

    assert annotation("a: b, c", "50%\nnext") == "::error title=a%3A b%2C c::50%25%0Anext"


# --- the pytest plugin -----------------------------------------------------------------------------------

SUITE = f"""
def test_reads_a_year(ske_sandbox):
    r = ske_sandbox.client.get("{PATHS['summertskattegrunnlag']}",
                               headers={{"Authorization": "Bearer " + ske_sandbox.token()}})
    assert r.status_code == 200
"""
REQUIRE = """
require:
  summertskattegrunnlag:
    - {outcome: 200, why: the main input}
  inntekt:
    - {outcome: 503, why: down is reported}
"""


def test_the_plugin_prints_coverage_and_fails_the_session_on_a_required_outcome_never_met(pytester):
    pytester.makepyfile(test_client=SUITE)
    pytester.makefile(".yaml", require=REQUIRE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--ske-sandbox-require-file=require.yaml")
    result.assert_outcomes(passed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*ske-sandbox outcome coverage*",
                                 "met     summertskattegrunnlag hentSummertSkattegrunnlag *200 *1  the main input",
                                 "MISSING inntekt hentInntekter *503 *0  down is reported",
                                 "*the session fails: required outcomes never met: inntekt 503*"])


def test_the_plugin_summary_without_requirements_passes_and_is_absent_when_the_kit_was_unused(pytester):
    pytester.makepyfile(test_client=SUITE, test_other="def test_plain():\n    assert True\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "*ske-sandbox outcome coverage*", "maskinporten token: met 200 (1); not met 400, *",
        "summertskattegrunnlag hentSummertSkattegrunnlag: met 200 (1), json (1); not met xml,*",
        "3 of * documented outcomes met by 2 call(s)"])
    plain = pytester.runpytest("-p", "no:cacheprovider", "test_other.py")
    assert plain.ret == 0 and "ske-sandbox outcome coverage" not in plain.stdout.str()


def test_a_required_outcome_fails_a_session_that_never_used_the_kit_but_not_a_collection(pytester):
    pytester.makepyfile(test_other="def test_plain():\n    assert True\n")
    pytester.makefile(".yaml", require=REQUIRE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--ske-sandbox-require-file=require.yaml")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*the session fails: required outcomes never met: summertskattegrunnlag 200, "
                                 "inntekt 503*"])
    collected = pytester.runpytest("-p", "no:cacheprovider", "--collect-only",
                                   "--ske-sandbox-require-file=require.yaml")
    assert collected.ret == 0 and "ske-sandbox outcome coverage" not in collected.stdout.str()


def test_the_plugin_ini_option_and_a_bad_file_is_a_usage_error(pytester):
    pytester.makepyfile(test_client=SUITE)
    pytester.makefile(".yaml", require="require:\n  inntekt:\n    - {outcome: SSG-008, why: x}\n")
    pytester.makeini("[pytest]\nske_sandbox_require_file = require.yaml\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ske-sandbox requirement file: *require.yaml:3: require.inntekt[[]0[]].outcome: "
                                 "'SSG-008' is not a documented outcome of inntekt*"])


def test_requirements_file_is_valid_json_schema():
    import jsonschema

    schema = json.loads((Path(coverage.__file__).parent.parent / "schemas" / "requirements.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)


def test_report_json_matches_the_control_documents_schema(partial_run):
    import jsonschema
    import yaml

    doc = yaml.safe_load((ROOT / "mockserver" / "control" / "openapi.yaml").read_text())
    ok = doc["paths"]["/__sandbox/report"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator(ok).validate(partial_run.get("/__sandbox/report").json())
