"""Observability, off by default: `GET /metrics` in Prometheus' format with `serve --metrics`, OpenTelemetry
spans through the Starlette instrumentation with the sandbox's attributes (mockserver/observability/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families
from support import ROOT, TODAY, free_port

from mockserver.cli import build_parser
from mockserver.observability import TracingError, tracing_wanted
from mockserver.observability.metrics import MAX_OUTCOMES, Metrics
from mockserver.observability.tracing import OTLP_PACKAGES, exporter_from_env
from mockserver.settings import Settings
from mockserver.testkit.kit import SandboxKit
from mockserver.testkit.plugin import DEFAULT_TODAY

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PAKKE = "kommuneboligsosialeformaal"
KARI = "15838512671"  # persona `ordinary`
NO_SETTLEMENT = "01928812312"  # persona with no settlement for 2025: SSG-008
SSG = f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/2024/{KARI}"
SSG_008 = f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/2025/{NO_SETTLEMENT}"
ROUTE = "/summertskattegrunnlag/v2/{stadie}/{rettighetspakke}/{inntektsaar}/{personidentifikator}"


def _kit(**settings) -> SandboxKit:
    return SandboxKit(Settings(today=DEFAULT_TODAY, population=20, **settings)).begin()


@pytest.fixture
def metered():
    kit = _kit(metrics=True)
    yield kit
    kit.end()


def _calls(kit: SandboxKit) -> dict[str, int]:
    """A token, a data call answered 200, one answered SSG-008, one without a token (SSG-004), a replayed grant:
    the status of each, by name."""
    token = kit.token()
    auth = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    grant = kit.grant()
    form = {"grant_type": GRANT_TYPE, "assertion": grant}
    return {
        "ok": kit.client.get(SSG, headers=auth).status_code,
        "no_data": kit.client.get(SSG_008, headers=auth).status_code,
        "no_token": kit.client.get(SSG, headers={"Accept": "application/json"}).status_code,
        "first_use": kit.client.post(f"{kit.sandbox.issuer}token", data=form).status_code,
        "replay": kit.client.post(f"{kit.sandbox.issuer}token", data=form).status_code,
    }


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, parsed by prometheus_client's own parser, keyed by name and sorted labels."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


# --- off by default -------------------------------------------------------------------------------------
def test_metrics_are_off_by_default():
    kit = _kit()
    try:
        r = kit.client.get("/metrics")
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        assert kit.sandbox.observer is None
        assert kit.client.get(SSG, headers={"Authorization": f"Bearer {kit.token()}"}).status_code == 200
    finally:
        kit.end()


@pytest.mark.subprocess
def test_the_default_app_imports_neither_prometheus_nor_opentelemetry():
    code = ("import sys; from mockserver.app import create_app; create_app(population=10); "
            "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith(('prometheus', 'opentelemetry'))}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert out.strip() == "[]"


# --- metrics ---------------------------------------------------------------------------------------------
def test_counters_follow_real_calls(metered):
    assert _calls(metered) == {"ok": 200, "no_data": 404, "no_token": 401, "first_use": 200, "replay": 400}
    r = metered.client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    samples = _samples(r.text)

    def calls(api: str, outcome: str, verdict: str) -> float:
        key = ("ske_sandbox_calls_total", (("api", api), ("outcome", outcome), ("verdict", verdict)))
        return samples.get(key, 0)

    assert calls("maskinporten", "token", "conforms") == 2  # kit.token() and the grant's first use
    assert calls("maskinporten", "MP-012", "nonconforming") == 1  # a refused request does not conform
    assert calls("summertskattegrunnlag", "200", "conforms") == 1
    assert calls("summertskattegrunnlag", "SSG-008", "conforms") == 1  # no data: an answer, not a fault
    assert calls("summertskattegrunnlag", "SSG-004", "nonconforming") == 1  # no Authorization header
    assert samples[("ske_sandbox_tokens_issued_total", ())] == 2
    assert samples[("ske_sandbox_grant_replays_refused_total", ())] == 1
    assert sum(v for (name, _), v in samples.items() if name == "ske_sandbox_calls_total") == 6


def test_the_latency_histogram_has_buckets_per_api(metered):
    _calls(metered)
    samples = _samples(metered.client.get("/metrics").text)
    for api, count in (("summertskattegrunnlag", 3), ("maskinporten", 3)):
        assert samples[("ske_sandbox_call_duration_seconds_count", (("api", api),))] == count
        assert samples[("ske_sandbox_call_duration_seconds_bucket", (("api", api), ("le", "+Inf")))] == count
        assert samples[("ske_sandbox_call_duration_seconds_sum", (("api", api),))] > 0
        buckets = [v for (name, labels), v in samples.items()
                   if name == "ske_sandbox_call_duration_seconds_bucket" and ("api", api) in labels]
        assert len(buckets) == 16 and buckets == sorted(buckets)


def test_the_verdict_counted_is_the_journal_s(metered):
    _calls(metered)
    journal = metered.client.get("/__sandbox/journal").json()
    samples = _samples(metered.client.get("/metrics").text)
    nonconforming = sum(v for (name, labels), v in samples.items()
                        if name == "ske_sandbox_calls_total" and ("verdict", "nonconforming") in labels)
    assert nonconforming == sum(not e["conforms"] for e in journal) == 2


def test_each_sandbox_counts_apart(metered):
    other = _kit(metrics=True)
    try:
        other.token()
        assert other.sandbox.observer.registry is not metered.sandbox.observer.registry
        mine, theirs = (_samples(k.client.get("/metrics").text) for k in (metered, other))
        assert theirs[("ske_sandbox_tokens_issued_total", ())] == 1
        assert mine[("ske_sandbox_tokens_issued_total", ())] == 0
    finally:
        other.end()


def test_a_reset_keeps_the_counters(metered):
    """Prometheus counters only grow: a reset clears the journal, not what was counted."""
    metered.token()
    assert metered.client.post("/__sandbox/reset").status_code == 200
    assert _samples(metered.client.get("/metrics").text)[("ske_sandbox_tokens_issued_total", ())] == 1


def test_openmetrics_when_the_scraper_asks_for_it(metered):
    metered.token()
    r = metered.client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert r.headers["content-type"].startswith("application/openmetrics-text")
    families = {f.name: f for f in openmetrics_families(r.text)}
    assert families["ske_sandbox_tokens_issued"].samples[0].value == 1


@pytest.mark.parametrize("accept", ["text/plain; version=abc", "application/openmetrics-text; version=x.y",
                                    "text/plain; version", "*/*;;;=", "\x7f"])
def test_an_odd_accept_header_gets_the_plain_format(metered, accept):
    r = metered.client.get("/metrics", headers={"Accept": accept})
    assert r.status_code == 200
    assert any(f.name == "ske_sandbox_calls" for f in text_string_to_metric_families(r.text))


def test_metrics_are_public_and_never_name_a_consumer(metered):
    """No admin token is asked for (the labels hold APIs and codes only), even when the sandbox has one."""
    guarded = _kit(metrics=True, admin_token="s3cret")
    try:
        _calls(guarded)
        assert guarded.client.get("/__sandbox/journal").status_code == 401
        r = guarded.client.get("/metrics")
        assert r.status_code == 200
        consumer = guarded.client.get("/__sandbox/journal", headers={"X-Ske-Sandbox-Admin": "s3cret"}).json()[-1]
        assert consumer["client_id"] and consumer["client_id"] not in r.text
        assert KARI not in r.text and "consumer" not in r.text
        assert guarded.client.post("/metrics").status_code == 405
    finally:
        guarded.end()


def test_metrics_on_a_real_hostname_belong_to_that_service(metered):
    """`https://test.maskinporten.no/metrics` is a path of Maskinporten (its 404), not the sandbox's page."""
    for base in metered.base_urls.values():
        host = base.split("/")[2]
        r = metered.client.get(f"https://{host}/metrics")
        assert r.status_code in (401, 404) and "ske_sandbox_calls" not in r.text, host
    assert metered.client.get("/metrics").status_code == 200


def test_outcome_labels_stay_bounded():
    metrics = Metrics()
    assert metrics._outcome("trickle:250ms") == metrics._outcome("trickle:5s") == "trickle"
    assert metrics._outcome(None) == "none"
    labels = {metrics._outcome(f"code-{n}") for n in range(MAX_OUTCOMES + 50)}
    assert "other" in labels and len(labels) == MAX_OUTCOMES - 2 + 1  # trickle and none came first


# --- the serve flag ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("argv", "env", "on"), [
    ([], {}, False), (["--metrics"], {}, True), ([], {"SKE_SANDBOX_METRICS": "1"}, True),
    ([], {"SKE_SANDBOX_METRICS": "off"}, False), (["--metrics=off"], {"SKE_SANDBOX_METRICS": "1"}, False),
])
def test_the_metrics_flag_and_its_variable(monkeypatch, argv, env, on):
    monkeypatch.delenv("SKE_SANDBOX_METRICS", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert build_parser().parse_args(["serve", *argv]).metrics is on


def test_a_bad_metrics_variable_stops_serve(monkeypatch, capsys):
    monkeypatch.setenv("SKE_SANDBOX_METRICS", "maybe")
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["serve"])
    assert stop.value.code == 2
    assert "--metrics: expected 1 or 0" in capsys.readouterr().err


# --- traces ----------------------------------------------------------------------------------------------
@pytest.fixture
def traced():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    kit = _kit(tracer_provider=provider)
    yield kit, exporter
    kit.end()


def test_the_installed_starlette_is_in_the_instrumentation_s_range():
    from opentelemetry.instrumentation.dependencies import get_dependency_conflicts
    from opentelemetry.instrumentation.starlette import StarletteInstrumentor

    assert get_dependency_conflicts(StarletteInstrumentor().instrumentation_dependencies()) is None


def _server_spans(exporter: InMemorySpanExporter) -> list:
    return [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]


def test_spans_carry_outcome_consumer_org_and_verdict(traced):
    kit, exporter = traced
    _calls(kit)
    spans = _server_spans(exporter)
    consumer = kit.demo_client.orgnr
    seen = [(s.name, s.attributes.get("ske.outcome"), s.attributes.get("ske.verdict"),
             s.attributes.get("ske.consumer_org")) for s in spans]
    assert seen == [
        ("POST /maskinporten/token", "token", "conforms", consumer),
        ("GET " + ROUTE, "200", "conforms", consumer),
        ("GET " + ROUTE, "SSG-008", "conforms", consumer),
        ("GET " + ROUTE, "SSG-004", "nonconforming", None),  # no token: no consumer named
        ("POST /maskinporten/token", "token", "conforms", consumer),
        ("POST /maskinporten/token", "MP-012", "nonconforming", None),
    ]
    for span in spans:
        assert span.attributes["http.route"] == span.name.split(" ", 1)[1]
        assert span.attributes["ske.api"] in ("maskinporten", "summertskattegrunnlag")
    refused = spans[3]
    assert refused.attributes["http.status_code"] == 401
    assert any("Authorization" in p for p in refused.attributes["ske.problems"])


def test_a_real_hostname_call_is_named_after_its_route(traced):
    kit, exporter = traced
    token = kit.token(real_hosts=True)
    url = f"{kit.base_urls['summertskattegrunnlag']}/oppgjoer/{PAKKE}/2024/{KARI}"
    assert kit.client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    last = _server_spans(exporter)[-1]
    assert last.name == "GET " + ROUTE and last.attributes["ske.outcome"] == "200"


def test_pages_and_the_control_api_keep_the_instrumentation_s_names(traced):
    kit, exporter = traced
    kit.client.get("/__sandbox/health")
    span = _server_spans(exporter)[-1]
    assert span.name == "GET /__sandbox" and "ske.outcome" not in span.attributes


def test_metrics_and_traces_together_judge_each_call_once(monkeypatch):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    kit = _kit(metrics=True, tracer_provider=provider)
    judged = []
    import mockserver.observability as observability

    real = observability.check
    monkeypatch.setattr(observability, "check", lambda entry: judged.append(entry["seq"]) or real(entry))
    try:
        _calls(kit)
        assert len(judged) == len(set(judged)) == 6
        assert len(_server_spans(exporter)) == 6
        assert ("ske_sandbox_tokens_issued_total", ()) in _samples(kit.client.get("/metrics").text)
    finally:
        kit.end()


# --- which exporter the environment asks for ----------------------------------------------------------
@pytest.mark.parametrize(("env", "wanted"), [
    ({}, False), ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
    ({"OTEL_TRACES_EXPORTER": "console"}, True), ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}, False),
])
def test_tracing_is_on_when_the_otel_variables_say_so(env, wanted):
    assert tracing_wanted(env) is wanted


def test_the_console_exporter_is_found_as_the_sdk_finds_it():
    assert isinstance(exporter_from_env({"OTEL_TRACES_EXPORTER": "console"}), ConsoleSpanExporter)


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_the_otlp_exporter_or_the_package_it_needs(protocol):
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": protocol}
    package = OTLP_PACKAGES["otlp_proto_http" if protocol == "http/protobuf" else "otlp_proto_grpc"]
    try:
        exporter = exporter_from_env(env)
    except TracingError as err:  # the exporter is not installed here: the message names what to install
        assert f"install {package}" in str(err) and "OTEL_TRACES_EXPORTER=console" in str(err)
    else:
        assert type(exporter).__name__ == "OTLPSpanExporter"


def test_an_unknown_otlp_protocol_is_named():
    with pytest.raises(TracingError, match="'http/json'"):
        exporter_from_env({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})


# --- a real server ---------------------------------------------------------------------------------------
def _serve(env: dict[str, str], *args: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(free_port()), "--today", TODAY,
           "--population", "10", *args]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SKE_SANDBOX_"))}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**clean, "PYTHONUNBUFFERED": "1", **env})


@pytest.mark.subprocess
def test_serve_warns_and_serves_when_traces_are_asked_for_without_an_exporter(tmp_path):
    """No OTLP exporter package is installed here: `serve` names the one to install and serves on, untraced
    (a cluster may set OTEL_EXPORTER_OTLP_ENDPOINT for every pod)."""
    ready = tmp_path / "ready.json"
    proc = _serve({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, "--ready-file", str(ready))
    try:
        deadline = time.monotonic() + 60
        while not (ready.exists() and ready.stat().st_size) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        base = json.loads(ready.read_text())["url"]
        assert httpx.get(f"{base}/__sandbox/health").status_code == 200
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    if "warning" in err:
        assert "install opentelemetry-exporter-otlp-proto-" in err and "serving without traces" in err
        assert "OpenTelemetry traces" not in out
    else:  # an OTLP exporter is installed after all: then traces are on
        assert "OpenTelemetry traces" in out


@pytest.mark.subprocess
def test_serve_with_metrics_and_console_traces(tmp_path):
    """uvicorn in front: the counters grow and each call's span reaches the exporter with its attributes."""
    ready = tmp_path / "ready.json"
    proc = _serve({"SKE_SANDBOX_METRICS": "1", "OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "50"},
                  "--ready-file", str(ready))
    try:
        deadline = time.monotonic() + 60
        while not (ready.exists() and ready.stat().st_size) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        base = json.loads(ready.read_text())["url"]
        from mockserver.maskinporten.registry import demo_client

        demo = demo_client(1)
        grant = demo.grant(f"{base}/maskinporten/", time.time())
        token = httpx.post(f"{base}/maskinporten/token", data={"grant_type": GRANT_TYPE, "assertion": grant})
        assert token.status_code == 200
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert httpx.get(f"{base}{SSG_008}", headers=auth).status_code == 404
        with pytest.raises(httpx.RemoteProtocolError):  # half the body, then the connection closes
            httpx.get(f"{base}{SSG}", headers={**auth, "Ske-Sandbox-Scenario": "truncated"})
        assert httpx.get(f"{base}{SSG}", headers={**auth, "Ske-Sandbox-Scenario": "trickle:200ms"}).status_code == 200
        samples = _samples(httpx.get(f"{base}/metrics").text)

        def calls(outcome: str) -> float:
            key = (("api", "summertskattegrunnlag"), ("outcome", outcome), ("verdict", "conforms"))
            return samples[("ske_sandbox_calls_total", key)]

        assert calls("SSG-008") == calls("truncated") == calls("trickle") == 1
        assert samples[("ske_sandbox_tokens_issued_total", ())] == 1
        duration = ("ske_sandbox_call_duration_seconds_bucket", (("api", "summertskattegrunnlag"), ("le", "0.1")))
        assert samples[duration] <= 2  # the trickled answer took its 200 ms
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert "Prometheus metrics" in out and "OpenTelemetry traces" in out
    spans = [json.loads(chunk) for chunk in _json_objects(out)]
    for outcome in ("SSG-008", "truncated", "trickle:200ms"):
        data = next(s for s in spans if s["attributes"].get("ske.outcome") == outcome)
        assert data["name"] == "GET " + ROUTE and data["kind"] == "SpanKind.SERVER"
        assert data["attributes"]["ske.consumer_org"] == demo.orgnr and data["attributes"]["ske.verdict"] == "conforms"


def _json_objects(text: str) -> list[str]:
    """The console exporter's spans: indented JSON objects, one after another, among the server's lines."""
    objects, current = [], []
    for line in text.splitlines():
        if line == "{":
            current = [line]
        elif current:
            current.append(line)
            if line == "}":
                objects.append("\n".join(current))
                current = []
    return objects


@pytest.mark.subprocess
def test_serve_sends_traces_over_otlp_to_a_collector(tmp_path):
    """The OTLP/HTTP exporter for real: `serve` with OTEL_EXPORTER_OTLP_ENDPOINT posts protobuf spans to a
    collector on loopback (a plain HTTP receiver here), the sandbox's attributes in them."""
    import http.server
    import threading

    received: list[tuple[str, str, bytes]] = []

    class Collector(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the handler's name is http.server's
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append((self.path, self.headers.get("Content-Type", ""), body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    collector = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    ready = tmp_path / "ready.json"
    proc = _serve({"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_address[1]}",
                   "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_BSP_SCHEDULE_DELAY": "50"},
                  "--ready-file", str(ready))
    try:
        deadline = time.monotonic() + 60
        while not (ready.exists() and ready.stat().st_size) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        base = json.loads(ready.read_text())["url"]
        from mockserver.maskinporten.registry import demo_client

        grant = demo_client(1).grant(f"{base}/maskinporten/", time.time())
        token = httpx.post(f"{base}/maskinporten/token", data={"grant_type": GRANT_TYPE, "assertion": grant})
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert httpx.get(f"{base}{SSG_008}", headers=auth).status_code == 404
        deadline = time.monotonic() + 20
        while not any(b"SSG-008" in body for _, _, body in received) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
        collector.shutdown()
    spans = [(path, ctype, body) for path, ctype, body in received if b"SSG-008" in body]
    assert spans, f"no span with the outcome reached the collector ({len(received)} posts)"
    path, ctype, body = spans[0]
    assert path == "/v1/traces" and ctype == "application/x-protobuf"
    assert b"ske.outcome" in body and b"ske.consumer_org" in body and b"ske.verdict" in body
