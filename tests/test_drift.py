"""`ske-sandbox drift` and `ske-sandbox record`: real answers held to the contracts and compared with the
sandbox's, and the recording proxy. No network: the "upstream" is an in-process sandbox or an httpx
MockTransport serving a recorded body."""

from __future__ import annotations

import datetime as dt
import json
import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.app import create_app
from mockserver.cli import main
from mockserver.drift import ask
from mockserver.drift.check import check
from mockserver.drift.classify import Unclassified, answer_class, classify
from mockserver.drift.compare import compare, shape, string_format
from mockserver.drift.har import Exchange, HarError, read, write
from mockserver.drift.proxy import Recording, proxy_app
from mockserver.drift.redact import REDACTED, mask_person_number, redact_header, redact_text
from mockserver.maskinporten.grant import GRANT_TYPE
from mockserver.maskinporten.registry import demo_client
from mockserver.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

RECORDED = Path(__file__).parent / "recorded" / "inntekt-lommebok-testenvironment.har"
RECORDED_FNR = "20848997790"  # the synthetic Tenor person of the recorded answer
RECORDED_TOKEN = json.loads(RECORDED.read_text())["log"]["entries"][0]["request"]["headers"][1]["value"][7:]
TODAY = dt.date(2026, 11, 27)
SEED = 1
ORDINARY = "15838512671"
PAKKE = "kommuneboligsosialeformaal"
SSG_URL = f"https://summertskattegrunnlag.api.skatteetaten-test.no/v2/oppgjoer/{PAKKE}/2025/"

# What really differs between the recorded test-environment answer (lommebok, 2025-01..11) and the sandbox's
# answer for the same call with its `ordinary` persona: the sandbox still gives every income line the
# pre-2025 fields, and every oppgave its tax withheld; the recorded answer has neither. Everything else --
# the fields, JSON types (35050.0 a number on both sides), formats (date-times with offset, 9-digit org
# numbers), code-list values (fastloenn) -- agrees.
RECORDED_DIFFERENCES = {
    ("only-sandbox", "oppgaveInntektsmottaker[].forskuddstrekk"),
    ("only-sandbox", "oppgaveInntektsmottaker[].inntekt[].fordel"),
    ("only-sandbox", "oppgaveInntektsmottaker[].inntekt[].inngaarIGrunnlagForTrekk"),
    ("only-sandbox", "oppgaveInntektsmottaker[].inntekt[].utloeserArbeidsgiveravgift"),
}


def run_drift(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["drift", *args])
    return code, capsys.readouterr().out


def no_secrets(text: str, *secrets: str) -> None:
    for secret in (RECORDED_FNR, RECORDED_TOKEN, *secrets):
        assert secret not in text
    assert "eyJ" not in text  # no JWT of any kind


# --- redaction --------------------------------------------------------------------------------------------
def test_redaction_removes_tokens_keys_and_person_numbers_and_keeps_the_rest() -> None:
    jwt_text = "eyJhbGciOiJSUzI1NiJ9.eyJzY29wZSI6ImEifQ.c2lnbmF0dXJl"
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----"
    text = (f'{{"access_token": "opaque-123", "fnr": "{RECORDED_FNR}", "beloep": 35050.0, "orgnr": "311169254", '
            f'"key": "{pem}"}} grant_type=x&assertion=abc.def.ghi Bearer {jwt_text} 12345678901')
    out = redact_text(text)
    for secret in ("opaque-123", RECORDED_FNR, "abc.def.ghi", jwt_text, "MIIEvQIBADANBg"):
        assert secret not in out
    assert mask_person_number(RECORDED_FNR) in out
    assert "35050.0" in out and "311169254" in out and "12345678901" in out  # not a valid fnr: kept
    assert redact_text(out) == out  # idempotent: a mask is no person number
    assert redact_text("<ns:access_token>opaque</ns:access_token>") == f"<ns:access_token>{REDACTED}</ns:access_token>"
    assert redact_header("Set-Cookie", "s=abc; HttpOnly") == REDACTED
    assert redact_header("Authorization", "Basic dXNlcjpwdw==") == f"Basic {REDACTED}"
    assert redact_header("Accept", "application/json") == "application/json"


def test_a_masked_number_is_stable_eleven_digits_and_nobody() -> None:
    masked = mask_person_number(RECORDED_FNR)
    assert masked == mask_person_number(RECORDED_FNR) != mask_person_number(ORDINARY)
    assert len(masked) == 11 and masked.isdigit() and masked.startswith("000000")


# --- HAR ----------------------------------------------------------------------------------------------------
def test_a_written_har_reads_back_redacted(tmp_path: Path) -> None:
    exchange = Exchange("POST", "https://test.maskinporten.no/token", 200,
                        [("Authorization", "Bearer secret-token"), ("Cookie", "s=1")],
                        f"grant_type={GRANT_TYPE}&assertion=eyJhbGciOi.eyJpc3MiOi.c2ln",
                        "application/x-www-form-urlencoded",
                        [("Content-Type", "application/json")], '{"access_token": "eyJhbGciOi.eyJzY29wZSI6.c2ln", '
                        '"token_type": "Bearer", "expires_in": 120, "scope": "skatteetaten:inntekt"}',
                        "application/json", "OK", dt.datetime(2026, 1, 2, tzinfo=dt.UTC), 12.5)
    path = tmp_path / "x.har"
    write(path, [exchange])
    text = path.read_text()
    assert "secret-token" not in text and "eyJ" not in text and "s=1" not in text
    doc = json.loads(text)
    assert doc["log"]["version"] == "1.2"
    [back] = read(path)
    assert back.header("authorization") == f"Bearer {REDACTED}"
    assert json.loads(back.response_body)["access_token"] == REDACTED
    assert json.loads(back.response_body)["expires_in"] == 120
    assert (back.method, back.status, back.started) == ("POST", 200, exchange.started)


@pytest.mark.parametrize(("content", "says"), [
    ("not json", "is not a HAR file"),
    ('{"log": {}}', "no log.entries"),
    ('{"log": {"entries": [{"request": {"method": "GET", "url": "/relative"}, "response": {"status": 200}}]}}',
     "absolute http(s) url"),
    ('{"log": {"entries": [{"request": {"method": "GET", "url": "https://a/"}, "response": {"status": "x"}}]}}',
     "status is not a number"),
    ('{"log": {"entries": [{"request": {"method": "GET", "url": "https://a/"}, "response": {"status": 200, '
     '"content": {"text": "%%%", "encoding": "base64"}}}]}}', "not"),
])
def test_a_bad_har_is_refused_with_a_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str,
                                            says: str) -> None:
    path = tmp_path / "bad.har"
    path.write_text(content)
    with pytest.raises(HarError, match=re.escape(says)):
        read(path)
    assert main(["drift", str(path)]) == 2
    assert says in capsys.readouterr().err


def test_a_missing_har_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drift", str(tmp_path / "nowhere.har")]) == 2
    assert "cannot read" in capsys.readouterr().err


# --- classification and comparison ---------------------------------------------------------------------------
def test_calls_are_classified_by_real_host_or_sandbox_prefix() -> None:
    real = classify("GET", f"https://inntekt.api.skatteetaten-test.no/v1/lommebok/{RECORDED_FNR}/inntekter?fraOgMed=2025-01")
    assert (real.service.name, real.environment, real.operation.operation_id) == ("inntekt", "test", "hentInntekter")
    assert real.params == {"rettighetspakke": "lommebok", "personidentifikator": RECORDED_FNR}
    own = classify("GET", f"http://127.0.0.1:8080/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/2025/{ORDINARY}")
    assert (own.service.name, own.environment, own.params["inntektsaar"]) == (
        "summertskattegrunnlag", "sandbox", "2025")
    assert classify("POST", "https://maskinporten.no/token").environment == "prod"
    with pytest.raises(Unclassified, match="not a host"):
        classify("GET", "https://example.org/v1/x")
    with pytest.raises(Unclassified, match="no operation"):
        classify("DELETE", f"https://inntekt.api.skatteetaten-test.no/v1/lommebok/{RECORDED_FNR}/inntekter")


def test_answer_classes() -> None:
    assert answer_class(200, {"oppgaveInntektsmottaker": []}) == "found"
    assert answer_class(200, {"skjermet": True}) == "skjermet"
    assert answer_class(404, {"kode": "SSG-008"}) == "SSG-008"
    assert answer_class(400, {"error": "invalid_grant"}) == "invalid_grant"
    assert answer_class(502, None) == "502"


def test_compare_reports_each_kind_of_difference_once() -> None:
    real = {"a": [{"n": 1, "when": "2025-01-20T10:38:58.976+01:00", "beskrivelse": "ukjentNyArt", "x": {"y": 1}}],
            "empty": [], "same": "2025-01"}
    sandbox = {"a": [{"n": 1.0, "when": "2025-01-20", "beskrivelse": "fastloenn"}],
               "empty": [{"only": "items on one side say nothing"}], "same": "2026-11", "extra": True}
    found = {(d.kind, d.path): d for d in compare(200, real, 200, sandbox)}
    assert set(found) == {("type", "a[].n"), ("format", "a[].when"), ("unknown-value", "a[].beskrivelse"),
                          ("only-real", "a[].x"), ("only-sandbox", "extra")}
    assert (found["type", "a[].n"].real, found["type", "a[].n"].sandbox) == ("integer", "number")
    assert "ukjentNyArt" in found["unknown-value", "a[].beskrivelse"].text()
    status = compare(404, {"kode": "SSG-008"}, 200, {"a": 1})
    assert [(d.kind, d.real, d.sandbox) for d in status] == [("status", "404", "200"), ("code", "SSG-008", "none")]
    assert compare(200, real, 200, real) == []
    media = compare(200, None, 200, None, "application/xml; charset=utf-8", "application/json")
    assert [(d.kind, d.real, d.sandbox) for d in media] == [("media", "xml", "json")]
    assert compare(200, real, 200, real, "application/json", "application/json;charset=UTF-8") == []


def test_string_formats() -> None:
    assert [string_format(s) for s in ("311169254", "2025-10-07T07:59:17.08+02:00", "2025-01", "2025-01-31",
                                       "fastloenn")] == ["9 digits", "date-time", "year-month", "date", "text"]
    assert set(shape({"a": [{"b": 1}]})) == {"", "a", "a[]", "a[].b"}


# --- the recorded test-environment answer -----------------------------------------------------------------------
def test_drift_on_the_recorded_answer_reports_exactly_the_differences_that_exist(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report, junit = tmp_path / "drift.json", tmp_path / "drift.xml"
    code, out = run_drift(capsys, str(RECORDED), "--json-file", str(report), "--junit", str(junit))
    assert code == 0, out  # the real answer keeps its contract
    doc = json.loads(report.read_text())
    [entry] = doc["exchanges"]
    assert (entry["service"], entry["operation"], entry["class"]) == ("inntekt", "hentInntekter", "found")
    assert entry["contract_violations"] == []
    assert entry["sandbox"]["status"] == 200 and entry["sandbox"]["person"] == "ordinary"
    asked = entry["sandbox"]["url"]
    assert asked.startswith("/inntekt/v1/lommebok/") and asked.endswith("?fraOgMed=2025-01&tilOgMed=2025-11")
    assert {(d["kind"], d["path"]) for d in entry["differences"]} == RECORDED_DIFFERENCES
    assert doc["summary"] == {"exchanges": 1, "compared": 1, "skipped": 0, "contract_violations": 0,
                              "differences": 4}
    assert "inntekt[].fordel: in the sandbox's answer (string), never in the real one" in out
    root = ET.parse(junit).getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    contract, differences = suites.values()
    assert contract.get("failures") == "0" and differences.get("failures") == "4"
    failures = [case.find("failure") for case in differences.iter("testcase")]
    assert len(failures) == 4 and all(f is not None and f.get("type") == "SandboxDifference" for f in failures)
    assert {f.get("message") for f in failures} == {d["text"] for d in entry["differences"]}
    for text in (out, report.read_text(), junit.read_text()):
        no_secrets(text)
    assert main(["drift", str(RECORDED), "--fail-on-difference"]) == 1


def test_the_aarsrevisjon_persona_answers_the_recorded_shape(capsys: pytest.CaptureFixture[str]) -> None:
    """--person: the persona the sandbox keeps for the 2025 shapes differs from the recording only in what
    that persona adds on purpose (every other oppgave without kalendermaaned, and tax withheld)."""
    code, out = run_drift(capsys, str(RECORDED), "--person", "aarsrevisjon-2025", "--json")
    [entry] = json.loads(out)["exchanges"]
    assert code == 0 and entry["sandbox"]["person"] == "aarsrevisjon-2025"
    assert {(d["kind"], d["path"]) for d in entry["differences"]} == {
        ("only-sandbox", "oppgaveInntektsmottaker[].forskuddstrekk")}


def test_a_real_answer_that_breaks_its_contract_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(RECORDED.read_text())
    content = doc["log"]["entries"][0]["response"]["content"]
    content["text"] = content["text"].replace('"beloep": 35050.0', '"beloep": "35050"', 1)
    har = tmp_path / "broken.har"
    har.write_text(json.dumps(doc))
    junit = tmp_path / "j.xml"
    code, out = run_drift(capsys, str(har), "--junit", str(junit))
    assert code == 1
    assert "contract: body.oppgaveInntektsmottaker[1].inntekt[0].beloep: '35050' is not of type 'number'" in out
    assert "inntekt[].beloep: type number, string in the real answer, number in the sandbox's" in out
    contract = next(s for s in ET.parse(junit).getroot().iter("testsuite") if "contracts" in (s.get("name") or ""))
    assert contract.get("failures") == "1"
    assert contract.find("testcase/failure").get("type") == "NonConformingRequest"
    no_secrets(out + junit.read_text())


def test_an_undocumented_status_and_an_unknown_host(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    har = tmp_path / "odd.har"
    write(har, [Exchange("GET", f"{SSG_URL}{RECORDED_FNR}", 418, response_body='{"kode": "SSG-999"}',
                         response_mime="application/json"),
                Exchange("GET", "https://example.org/status", 200)])
    code, out = run_drift(capsys, str(har), "--today", TODAY.isoformat(), "--json")
    first, second = json.loads(out)["exchanges"]
    assert code == 1
    assert first["contract_violations"][0].startswith("status 418 is not documented")
    assert second["skipped"].startswith("example.org is not a host")


# --- recording -------------------------------------------------------------------------------------------------
def sandbox_app() -> Any:
    return create_app(Settings(seed=SEED, today=TODAY))


def record_sandbox(tmp_path: Path) -> Path:
    """Calls of every kind through `record`'s proxy to an in-process sandbox as the upstream."""
    upstream = "http://127.0.0.1:8080"
    out = tmp_path / "sandbox.har"
    recording = Recording(out, upstream, flush_seconds=3600)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app()), base_url=upstream)
    demo = demo_client(SEED)
    with TestClient(proxy_app(recording, client), base_url="http://127.0.0.1:8090") as proxy:
        proxy.get("/maskinporten/.well-known/oauth-authorization-server")
        proxy.get("/maskinporten/jwk")
        grant = demo.grant(f"{upstream}/maskinporten/", dt.datetime.now().timestamp())
        token = proxy.post("/maskinporten/token", data={"grant_type": GRANT_TYPE, "assertion": grant}).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        expired = demo.grant(f"{upstream}/maskinporten/", dt.datetime.now().timestamp() - 600)
        bad = proxy.post("/maskinporten/token", data={"grant_type": GRANT_TYPE, "assertion": expired})
        assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
        pakke = PAKKE
        ssg008, skjermet, im008 = "01928812312", "17819112452", "06869612306"
        answers = [
            proxy.get(f"/sistetilgjengeligeskatteoppgjoer/v1/{ORDINARY}", headers=auth),
            proxy.get(f"/summertskattegrunnlag/v2/oppgjoer/{pakke}/2025/{ORDINARY}", headers=auth),
            proxy.get(f"/summertskattegrunnlag/v2/oppgjoer/{pakke}/2025/{ORDINARY}",
                      headers={**auth, "Accept": "application/xml"}),
            proxy.get(f"/summertskattegrunnlag/v2/oppgjoer/{pakke}/2025/{ssg008}", headers=auth),
            proxy.get(f"/summertskattegrunnlag/v2/oppgjoer/{pakke}/2025/{skjermet}", headers=auth),
            proxy.get(f"/inntekt/v1/{pakke}/{ORDINARY}/inntekter?fraOgMed=2026-01&tilOgMed=2026-10", headers=auth),
            proxy.get(f"/inntekt/v1/{pakke}/{im008}/inntekter?fraOgMed=2026-01&tilOgMed=2026-10", headers=auth),
            proxy.get(f"/inntekt/v1/{pakke}/{ORDINARY}/inntekter?fraOgMed=2026-13", headers=auth),
            proxy.get(f"/inntekt/v1/{pakke}/{ORDINARY}/inntekter?fraOgMed=2026-01"),
            proxy.get("/skatteoppgjoerhendelser/v1/hendelser/start?dato=2026-03-21", headers=auth),
        ]
        assert [r.status_code for r in answers] == [200, 200, 200, 404, 200, 200, 404, 400, 401, 200]
        assert answers[4].json()["skjermet"] is True
        assert len(recording.exchanges) == 14
    return out


def test_a_har_recorded_from_the_sandbox_itself_shows_no_drift(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    har = record_sandbox(tmp_path)
    text = har.read_text()
    no_secrets(text, ORDINARY, "01928812312", "17819112452", "06869612306")
    exchanges = read(har)
    assert exchanges[4].header("authorization") == f"Bearer {REDACTED}"
    assert json.loads(exchanges[2].response_body)["access_token"] == REDACTED
    assert mask_person_number(ORDINARY) in text
    junit = tmp_path / "none.xml"
    code, out = run_drift(capsys, str(har), "--today", TODAY.isoformat(), "--fail-on-difference", "--json",
                          "--junit", str(junit))
    doc = json.loads(out)
    assert code == 0, out
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures")) == ("28", "0")
    assert [s.get("failures") for s in root.iter("testsuite")] == ["0", "0"]
    no_secrets(out, ORDINARY, "01928812312", "17819112452", "06869612306")  # the sandbox's own people too
    assert doc["summary"] == {"exchanges": 14, "compared": 14, "skipped": 0, "contract_violations": 0,
                              "differences": 0}
    assert [e["class"] for e in doc["exchanges"]] == [
        "found", "found", "found", "invalid_grant", "found", "found", "found", "SSG-008", "skjermet", "found",
        "IM-008", "IM-006", "IM-004", "found"]
    assert [e["sandbox"]["person"] for e in doc["exchanges"]][4:13] == [
        "ordinary", "ordinary", "ordinary", "SSG-008", "skjermet", "ordinary", "IM-008", "ordinary", "ordinary"]
    assert [e["sandbox"]["forced"] for e in doc["exchanges"]][11:13] == ["IM-006", "IM-004"]


def test_drift_asks_a_running_sandbox_with_url(tmp_path: Path) -> None:
    """--url: the same comparison against a server's answers (here the app in-process, so no socket)."""
    har = record_sandbox(tmp_path)
    server = TestClient(create_app(Settings(seed=SEED, today=TODAY)), base_url="http://127.0.0.1:8080")
    side = ask.remote("http://127.0.0.1:8080", http=server)
    findings = check(read(har), side)
    assert [f.differences for f in findings] == [[]] * 14
    assert all(f.sandbox is not None and not f.violations for f in findings)
    # the recorded lommebok answer against a server whose demo client does not hold lommebok: a difference
    [refused] = check(read(RECORDED), side)
    assert [(d.kind, d.real, d.sandbox) for d in refused.differences] == [("status", "200", "403"),
                                                                          ("code", "none", "IM-005")]


def test_record_against_a_fake_upstream_serving_the_recorded_body(tmp_path: Path) -> None:
    recorded = read(RECORDED)[0]
    seen: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text=recorded.response_body, headers={"Content-Type": "application/json"})

    out = tmp_path / "rec.har"
    base = "https://inntekt.api.skatteetaten-test.no"
    client = httpx.AsyncClient(transport=httpx.MockTransport(upstream), base_url=base)
    recording = Recording(out, base, flush_seconds=0)
    with TestClient(proxy_app(recording, client)) as proxy:
        r = proxy.get(f"/v1/lommebok/{RECORDED_FNR}/inntekter?fraOgMed=2025-01&tilOgMed=2025-11",
                      headers={"Authorization": f"Bearer {RECORDED_TOKEN}", "Cookie": "session=abc"})
        assert r.status_code == 200 and r.json() == json.loads(recorded.response_body)  # passed on untouched
        assert out.exists()  # flushed while recording, before the proxy stopped
    assert seen[0].headers["authorization"] == f"Bearer {RECORDED_TOKEN}"  # the upstream gets the real call
    assert str(seen[0].url) == f"{base}/v1/lommebok/{RECORDED_FNR}/inntekter?fraOgMed=2025-01&tilOgMed=2025-11"
    text = out.read_text()
    no_secrets(text, "session=abc")
    [entry] = read(out)
    assert entry.url.startswith(f"{base}/v1/lommebok/000000")
    assert json.loads(entry.response_body)["oppgaveInntektsmottaker"][1]["inntekt"][0]["beloep"] == 35050.0
    assert classify(entry.method, entry.url).operation.operation_id == "hentInntekter"


def test_record_says_when_the_upstream_cannot_be_reached(tmp_path: Path) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    out = tmp_path / "rec.har"
    client = httpx.AsyncClient(transport=httpx.MockTransport(down))
    recording = Recording(out, "https://test.maskinporten.no", flush_seconds=0)
    with TestClient(proxy_app(recording, client)) as proxy:
        r = proxy.get("/jwk")
        assert r.status_code == 502 and "cannot be reached" in r.json()["error"]
        big = proxy.post("/token", content=b"x" * (10 * 1024 * 1024 + 1))
        assert big.status_code == 413 and "error" in big.json()
    assert json.loads(out.read_text())["log"]["entries"] == []  # nothing real was answered


def test_record_refuses_an_upstream_that_is_no_url_and_a_missing_ca(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", "--upstream", "inntekt.api.skatteetaten-test.no"]) == 2
    assert "must be an http(s) URL" in capsys.readouterr().err
    assert main(["record", "--upstream", "https://inntekt.api.skatteetaten-test.no",
                 "--ca-file", str(tmp_path / "none.pem")]) == 2
    assert "ske-sandbox: " in capsys.readouterr().err


def test_drift_says_when_the_sandbox_at_url_cannot_be_asked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drift", str(RECORDED), "--url", "http://127.0.0.1:1"]) == 2
    assert "cannot ask the sandbox" in capsys.readouterr().err


@pytest.mark.subprocess
def test_record_and_drift_as_commands_against_a_running_sandbox(tmp_path: Path) -> None:
    """`ske-sandbox record` as a user runs it, forwarding to a running sandbox on loopback, stopped with
    SIGTERM (the file is written on stop); then `drift --url` against that server finds no difference."""
    import os
    import subprocess
    import sys
    import time

    from support import free_port, running_server

    har = tmp_path / "rec.har"
    with running_server("--seed", str(SEED), "--today", TODAY.isoformat(), "--population", "200") as base:
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "mockserver.cli", "record", "--upstream", base, "--port",
                                 str(port), "--har-file", str(har), "--flush-seconds", "3600"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            proxy = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{proxy}/maskinporten/jwk", timeout=2)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "record did not start"
                    time.sleep(0.1)
            demo = demo_client(SEED)
            grant = demo.grant(f"{base}/maskinporten/", time.time())
            token = httpx.post(f"{proxy}/maskinporten/token",
                               data={"grant_type": GRANT_TYPE, "assertion": grant}).json()["access_token"]
            r = httpx.get(f"{proxy}/inntekt/v1/{PAKKE}/{ORDINARY}/inntekter?fraOgMed=2026-01&tilOgMed=2026-10",
                          headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200 and r.json()["oppgaveInntektsmottaker"]
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=30)
        assert proc.returncode in (0, -15), out  # uvicorn re-raises SIGTERM once it has shut down
        assert "3 call(s) written" in out
        text = har.read_text()
        no_secrets(text, ORDINARY, token)
        done = subprocess.run([sys.executable, "-m", "mockserver.cli", "drift", str(har), "--url", base, "--json",
                               "--fail-on-difference"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)["summary"]
    assert summary == {"exchanges": 3, "compared": 3, "skipped": 0, "contract_violations": 0, "differences": 0}
