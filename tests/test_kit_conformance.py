"""Request conformance: the kit's assert_requests_conform(), the journal's verdicts, and the any-language
`ske-sandbox conformance` command after a curl-only session."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET

import httpx
import jwt
import pytest
from support import ROOT, TODAY, running_server
from test_kit_routing import GRANT_TYPE, IM_URL, KARI, SSG_URL, vendor_grant  # noqa: I001

from mockserver import contractschema
from mockserver.conformance.report import NonConformingRequests
from mockserver.maskinporten.registry import demo_client
from mockserver.testkit import ERROR_CODES

GOOD = {"fraOgMed": "2026-08", "tilOgMed": "2026-10"}
FEED_URL = "https://inntekthendelser.api.skatteetaten-test.no/v1/hendelser"


@pytest.fixture
def ske_sandbox(ske_sandbox_shared):
    return ske_sandbox_shared  # built once for the module's many tests; state fresh per test


@pytest.fixture
def http(ske_sandbox):
    with httpx.Client() as client:
        token = client.post("https://test.maskinporten.no/token", data={
            "grant_type": GRANT_TYPE, "assertion": vendor_grant(ske_sandbox)}).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def problems_of(kit) -> list[str]:
    return [p for e in kit.journal for p in e["problems"]]


CASES = [
    ("month without zero padding", lambda h: h.get(IM_URL, params={"fraOgMed": "2026-8"}),
     "query parameter fraOgMed is '2026-8', but the contract wants a value matching"),
    ("required query parameter missing", lambda h: h.get(IM_URL, params={"tilOgMed": "2026-10"}),
     "the required query parameter fraOgMed is missing"),
    ("query parameter given twice", lambda h: h.get(IM_URL + "?fraOgMed=2026-08&fraOgMed=2026-09"),
     "query parameter fraOgMed is given 2 times"),
    ("unknown query parameter", lambda h: h.get(IM_URL, params={**GOOD, "fom": "2026-08"}),
     "query parameter 'fom' is not in the contract (its query parameters: fraOgMed, tilOgMed)"),
    ("wrong check digits", lambda h: h.get(SSG_URL.replace(KARI, "15838512672")),
     "path parameter personidentifikator '15838512672' is not a valid fødselsnummer or D-nummer"),
    ("two-digit year", lambda h: h.get(SSG_URL.replace("/2025/", "/25/")),
     "path parameter inntektsaar is '25', but the contract wants a value matching"),
    ("unknown stadie", lambda h: h.get(SSG_URL.replace("/oppgjoer/", "/endelig/")),
     "path parameter stadie is 'endelig', but the contract wants one of oppgjoer, utkast, fastsatt"),
    ("path of no operation", lambda h: h.get("https://inntekt.api.skatteetaten-test.no/v1/inntekter/" + KARI),
     "no operation of the contract has the path /v1/inntekter/15838512671; the contract has GET "
     "/v1/{rettighetspakke}/{personidentifikator}/inntekter"),
    ("wrong method", lambda h: h.post(SSG_URL),
     "POST is not allowed on /v2/oppgjoer/kommuneboligsosialeformaal/2025/15838512671; the contract has GET"),
    ("feed page over the largest", lambda h: h.get(FEED_URL, params={"fraSekvensnummer": 1, "antall": 1001}),
     "query parameter antall is '1001', but the contract wants a whole number from 1 to 1000"),
    ("feed number not a number", lambda h: h.get(FEED_URL, params={"fraSekvensnummer": "1e3", "antall": 10}),
     "query parameter fraSekvensnummer is '1e3', but the contract wants a whole number from 0 to"),
    ("Accept the API cannot serve", lambda h: h.get(SSG_URL, headers={"Accept": "text/html"}),
     "the Accept header is 'text/html'; the contract serves application/json or application/xml"),
    ("no Authorization", lambda h: httpx.get(SSG_URL),
     "the Authorization header is missing; the contract wants 'Authorization: Bearer <access token from "
     "Maskinporten>'"),
    ("Basic instead of Bearer", lambda h: httpx.get(SSG_URL, headers={"Authorization": "Basic dXNlcjpwdw=="}),
     "the Authorization header uses the scheme 'Basic'"),
    ("a token that is not a JWT", lambda h: httpx.get(SSG_URL, headers={"Authorization": "Bearer abc"}),
     "the bearer token is not a JWT"),
]


@pytest.mark.parametrize("call,expected", [(c, e) for _, c, e in CASES], ids=[n for n, _, _ in CASES])
def test_each_non_conforming_request_is_named_with_what_the_contract_wants(ske_sandbox, http, call, expected):
    call(http)
    with pytest.raises(NonConformingRequests) as failure:
        ske_sandbox.assert_requests_conform()
    message = str(failure.value)
    assert expected in message
    assert message.startswith("1 request did not conform to the contracts:")


GRANT_CASES = [
    ({"aud": "https://test.maskinporten.no"}, "the grant's aud is 'https://test.maskinporten.no'; Maskinporten "
     "wants exactly its issuer 'https://test.maskinporten.no/' (with the trailing slash)"),
    ({"lifetime": 121}, "the grant lives 121 s (exp − iat); Maskinporten allows at most 120 s"),
    ({"iat": "in ten minutes"}, "s in the future; Maskinporten allows 10 s of skew"),
    ({"scope": ""}, "the grant's scope is ''; Maskinporten wants a space-separated string of scopes"),
]


@pytest.mark.parametrize("claims,expected", GRANT_CASES, ids=["aud", "lifetime", "iat", "scope"])
def test_the_grant_itself_is_checked_by_maskinporten_rules(ske_sandbox, claims, expected):
    if claims.get("iat") == "in ten minutes":
        claims = {"iat": int(time.time()) + 600}
    r = httpx.post("https://test.maskinporten.no/token",
                   data={"grant_type": GRANT_TYPE, "assertion": vendor_grant(ske_sandbox, **claims)})
    assert r.status_code == 400
    assert any(expected in p for p in problems_of(ske_sandbox)), problems_of(ske_sandbox)


def test_token_request_shape_is_checked(ske_sandbox):
    httpx.post("https://test.maskinporten.no/token",
               json={"grant_type": GRANT_TYPE, "assertion": vendor_grant(ske_sandbox)})
    httpx.post("https://test.maskinporten.no/token",
               data={"grant_type": "client_credentials", "client_secret": "s3cret", "assertion": "x.y"})
    found = " ".join(problems_of(ske_sandbox))
    assert "the token request's Content-Type is 'application/json'; Maskinporten wants " \
           "application/x-www-form-urlencoded" in found
    assert "grant_type is 'client_credentials'" in found
    assert "the token request carries client_secret" in found
    assert "the assertion is not a JWT" in found


def test_conforming_requests_pass_even_when_the_answer_is_an_error(ske_sandbox, http):
    assert http.get(SSG_URL.replace(KARI, "04847512461")).json()["kode"] == "SSG-007"  # nobody has the number
    assert http.get(IM_URL, params=GOOD).status_code == 200
    ske_sandbox.assert_requests_conform()
    assert [e["conforms"] for e in ske_sandbox.journal] == [True, True, True]


def test_the_journal_keeps_claims_never_the_token_or_the_grant(ske_sandbox, http):
    token = http.headers["Authorization"].split()[1]
    http.get(IM_URL, params=GOOD)
    dumped = json.dumps(ske_sandbox.journal)
    assert token not in dumped and token.split(".")[2] not in dumped
    token_entry, data_entry = ske_sandbox.journal
    assert "assertion" not in token_entry["form"]
    assert token_entry["grant"]["claims"]["aud"] == "https://test.maskinporten.no/"
    assert data_entry["headers"]["authorization"]["claims"]["consumer"]["ID"].startswith("0192:")
    assert data_entry["status"] == 200 and data_entry["environment"] == "test"


def test_ignoring_retry_after_is_caught(ske_sandbox, http):
    with ske_sandbox.scenario("429", api="inntekt"):
        first = http.get(IM_URL, params=GOOD)
        http.get(IM_URL, params=GOOD)
    assert first.headers["Retry-After"] == "1"
    with pytest.raises(NonConformingRequests, match=r"after a 429 answer that said Retry-After: 1; wait at least 1 s"):
        ske_sandbox.assert_requests_conform()


def test_a_retry_after_the_delay_conforms_on_the_sandbox_clock(ske_sandbox, http):
    """The wait is measured on the sandbox's clock, so a test moves the clock instead of sleeping."""
    clock = ske_sandbox.sandbox.clock
    with ske_sandbox.scenario("429", api="inntekt"):
        assert http.get(IM_URL, params=GOOD).status_code == 429
    clock.advance(1)
    try:
        assert http.get(IM_URL, params=GOOD).status_code == 200
    finally:
        clock.advance(-1)  # the shared sandbox's clock goes back to real time for the next test
    ske_sandbox.assert_requests_conform()
    first, retry = ske_sandbox.journal[1:]
    assert retry["t"] - first["t"] >= 1


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_scenario_forces_every_documented_code_without_the_header(ske_sandbox, http, code):
    url = {"summertskattegrunnlag": SSG_URL, "inntekt": IM_URL + "?fraOgMed=2026-08",
           "sistetilgjengeligeskatteoppgjoer": "https://sistetilgjengeligeskatteoppgjoer.api.skatteetaten-test.no"
           f"/v1/{KARI}", "skatteoppgjoerhendelser": "https://skatteoppgjoerhendelser.api.skatteetaten-test.no"
           "/v1/hendelser?fraSekvensnummer=1&antall=10"}[ERROR_CODES[code].api]
    with ske_sandbox.scenario(code):
        r = http.get(url)
    assert (r.status_code, r.json()["kode"]) == (ERROR_CODES[code].status, code)
    assert "ske-sandbox-scenario" not in {k.lower() for k in r.request.headers}
    assert http.get(url).status_code in (200,)  # the block is over


def test_error_codes_are_the_33_the_contracts_document():
    documented = {(api, status, kode) for api in contractschema.DATA_APIS
                  for status in contractschema.error_statuses(api) for kode in contractschema.error_codes(api, status)}
    assert {(api, kode) for api, _, kode in documented} == {(a, kode) for kode, c in ERROR_CODES.items()
                                                            for a in c.apis}
    assert all((a, c.status, kode) in documented for kode, c in ERROR_CODES.items() for a in c.apis)
    assert len(ERROR_CODES) == 33  # SSG 11, IM 10, TD 6, and FA 6 shared by both feeds
    assert ERROR_CODES["FA-005"].apis == ("skatteoppgjoerhendelser", "inntekthendelser")
    assert ERROR_CODES["SSG-008"].status == 404 and ERROR_CODES["SSG-008"].api == "summertskattegrunnlag"
    assert ERROR_CODES["IM-009"].status == 406 and ERROR_CODES["TD-004"].api == "sistetilgjengeligeskatteoppgjoer"
    assert all(c.meaning for c in ERROR_CODES.values())


def test_persona_and_unknown_scenario(ske_sandbox):
    erik = ske_sandbox.persona("SSG-008")
    assert (erik.fnr, erik.scenario, erik.name) == ("01928812312", "SSG-008", "Erik Nilsen")
    assert len(ske_sandbox.persona("household").household) == 3
    with pytest.raises(LookupError, match="scenarios:"):
        ske_sandbox.persona("nobody-has-this")
    with pytest.raises(ValueError, match="unknown scenario"):
        with ske_sandbox.scenario("SSG-999"):
            pass


SHARED_PAIR = """
import httpx

seen = []


def test_dirties_the_shared_sandbox(ske_sandbox_shared):
    seen.append(ske_sandbox_shared)
    httpx.get("https://test.maskinporten.no/jwk")
    ske_sandbox_shared.sandbox.scenarios["inntekt"] = "503"
    assert len(ske_sandbox_shared.journal) == 1


def test_gets_the_same_sandbox_with_fresh_state(ske_sandbox_shared):
    assert seen == [ske_sandbox_shared]
    assert ske_sandbox_shared.journal == []
    assert ske_sandbox_shared.sandbox.scenarios == {}
"""


def test_the_shared_sandbox_is_built_once_and_reset_for_every_test(pytester):
    """Two tests in one session, in file order: the second sees the first's sandbox object with none of
    the state the first left behind."""
    pytester.makepyfile(test_shared=SHARED_PAIR)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", *args], capture_output=True,
                          text=True, timeout=30)


@pytest.mark.subprocess
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_conformance_command_after_a_curl_only_session(tmp_path):
    demo = demo_client(1)
    with running_server("--today", TODAY, "--population", "100") as base:
        now = int(time.time())
        grant = jwt.encode({"aud": f"{base}/maskinporten/", "iss": demo.client_id, "scope": " ".join(demo.scopes),
                            "iat": now, "exp": now + 120, "jti": str(uuid.uuid4())}, demo.private_key_pem,
                           algorithm="RS256", headers={"kid": demo.kid})
        token = subprocess.run(["curl", "-s", "-d", f"grant_type={GRANT_TYPE}", "-d", f"assertion={grant}",
                                f"{base}/maskinporten/token"], capture_output=True, text=True, timeout=30)
        auth = f"Authorization: Bearer {json.loads(token.stdout)['access_token']}"
        good = curl("-H", auth, f"{base}/inntekt/v1/kommuneboligsosialeformaal/{KARI}/inntekter?fraOgMed=2026-08")
        bad = curl("-H", auth, f"{base}/inntekt/v1/kommuneboligsosialeformaal/{KARI}/inntekter?fraOgMed=2026-8")
        assert (good.stdout, bad.stdout) == ("200", "400")
        report = tmp_path / "conformance.xml"
        run = subprocess.run([sys.executable, "-m", "mockserver.cli", "conformance", "--url", base, "--junit",
                              str(report)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "3 request(s) journaled, 1 did not conform" in run.stdout
    assert "query parameter fraOgMed is '2026-8'" in run.stdout
    suite = ET.parse(report).getroot().find("testsuite")
    failures = [case for case in suite.iter("testcase") if case.find("failure") is not None]
    assert suite.get("failures") == "1" and len(failures) == 1
    assert "fraOgMed=2026-8 " in failures[0].get("name")


@pytest.mark.subprocess
def test_conformance_command_passes_a_clean_session_and_explains_an_unreachable_one():
    with running_server("--today", TODAY, "--population", "100") as base:
        httpx.get(f"{base}/maskinporten/jwk")
        ok = subprocess.run([sys.executable, "-m", "mockserver.cli", "conformance", "--url", base],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert ok.returncode == 0 and "1 request(s) journaled, 0 did not conform" in ok.stdout
    gone = subprocess.run([sys.executable, "-m", "mockserver.cli", "conformance", "--url", base],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert gone.returncode == 2 and "cannot read the journal" in gone.stderr
