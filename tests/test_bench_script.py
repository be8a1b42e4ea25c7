"""`make bench`'s pure parts (report parsing, URL mapping); the load runs themselves are never part of the tests."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def peers():
    spec = importlib.util.spec_from_file_location("bench_peers", ROOT / "bench" / "peers.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


WRK = """Running 10s test @ http://127.0.0.1:8080/x
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms    1.00ms  40.00ms   89.50%
    Req/Sec    24.00k     1.00k   26.00k    69.99%
  Latency Distribution
     50%    1.95ms
     75%    2.40ms
     90%    3.00ms
     99%  850.00us
  240000 requests in 10.00s, 600.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:  24000.00
Transfer/sec:     60.00MB
"""


def test_parse_wrk_report(peers) -> None:
    run = peers.parse_wrk(WRK, cpu_s=9.6)
    assert (run.rps, run.requests, run.p50_ms, run.p99_ms) == (24000.0, 240000, 1.95, 0.85)
    assert (run.errors, run.timeouts) == (12, 3)
    assert run.cpu_us == pytest.approx(40.0)


def test_parse_wrk_report_for_an_error_answer(peers) -> None:
    """Where every answer should be the 404, the answers that were not count as errors."""
    run = peers.parse_wrk(WRK, cpu_s=1.0, expect_non2xx=True)
    assert run.errors == 5 + (240000 - 7)


def test_a_peer_gets_its_own_urls_and_headers_for_each_call(peers) -> None:
    prism = peers.Server("prism", 1, subprocess.Popen(["true"]), 0.0)
    prism.ports = {"summertskattegrunnlag": 2, "inntekt": 3, "maskinporten": 4}
    prism.proc.wait()
    assert peers.url_of(prism, "summert_json").startswith("http://127.0.0.1:2/oppgjoer/")
    assert peers.url_of(prism, "inntekt_12m") == \
        f"http://127.0.0.1:3/{peers.PAKKE}/{peers.FNR}/inntekter?fraOgMed=2025-10&tilOgMed=2026-09"
    assert peers.url_of(prism, "token") == "http://127.0.0.1:4/token"
    assert peers.headers_for(prism, "error_ssg008", "t")["Prefer"] == "code=404"
    assert set(peers.CALLS) == {"summert_json", "summert_xml", "inntekt_12m", "error_ssg008", "token"}


def test_unchunk(peers) -> None:
    assert peers._unchunk(b"3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\n") == b"abcde"


def test_the_headline_figures_are_computed_and_printed(peers, capsys) -> None:
    rps = {"sandbox": 2000.0, "ceiling": 4000.0, "prism": 500.0, "wiremock": 1000.0}
    cpu = {"sandbox": 300.0, "ceiling": 150.0, "prism": 900.0, "wiremock": 600.0}
    table = {name: {t: {"rps": rps[t], "p50_ms": 1.0, "p99_ms": 2.0, "errors": 0, "cpu_us": cpu[t], "runs": [1]}
                    for t in peers.TARGETS} for name in peers.CALLS}
    table["summert_xml"]["sandbox"]["cpu_us"] = 450.0

    def run(rate: float, timeouts: int = 0) -> object:
        return peers.Run(rps=rate, p50_ms=1.0, p99_ms=9.5, requests=100, errors=1, timeouts=timeouts, cpu_us=50.0)

    scaling = {"1000": {"startup_s": 0.3, "rss_mib": 60.0, "rps": 2000.0, "cpu_us": 300.0},
               "1000000": {"startup_s": 0.4, "rss_mib": 61.0, "rps": 1900.0, "cpu_us": 310.0}}
    head = peers.headline(table, [0.5, 0.4, 0.6], {"rss_before_mib": 50.0, "rss_after_mib": 55.0, "rss_growth": 0.1},
                          scaling, run(700.0, timeouts=2), run(900.0), run(800.0), 30.0)
    assert {k: head[k] for k in ("sandbox_rps", "sandbox_vs_ceiling", "sandbox_vs_prism", "sandbox_vs_wiremock",
                                 "cpu_vs_ceiling", "xml_vs_json_cpu", "token_per_s", "token_per_s_sustained",
                                 "cold_start_s", "rss_growth", "c200_timeouts", "c200_p99_ms")} == {
        "sandbox_rps": 2000.0, "sandbox_vs_ceiling": 0.5, "sandbox_vs_prism": 4.0, "sandbox_vs_wiremock": 2.0,
        "cpu_vs_ceiling": 2.0, "xml_vs_json_cpu": 1.5, "token_per_s": 900.0, "token_per_s_sustained": 800.0,
        "cold_start_s": 0.5, "rss_growth": 0.1, "c200_timeouts": 2, "c200_p99_ms": 9.5}

    peers.print_table({"date": "2026-11-27 09:00 UTC", "cores": 2, "seconds": 10, "rounds": 3, "calls": table,
                       **head, "bench_s": 1.0})
    out = capsys.readouterr().out
    assert "| summert_json | " in out and "| 0.5×, 2.0× | 4.0× | 2.0× |" in out
    assert "tokens/s: 900 fresh (10 s), 800 over the next 30 s" in out
    assert "cold start (launch → first 200, median of 5): 0.500 s" in out


def test_the_best_case_with_every_core_is_the_ceiling_plus_the_apps_extra_work(peers, capsys) -> None:
    """With every core, the sandbox at best costs the ceiling's CPU per call served plus the work its app does
    beyond the ceiling's with no server; the bench sets that against WireMock's CPU per call."""
    table = {name: {t: {"rps": 1000.0, "p50_ms": 1.0, "p99_ms": 2.0, "errors": 0, "cpu_us": 100.0, "runs": [1]}
                    for t in peers.TARGETS} for name in peers.CALLS}
    run = peers.Run(rps=900.0, p50_ms=1.0, p99_ms=9.5, requests=100, errors=0, timeouts=0, cpu_us=50.0)
    cores = {"ceiling": {"rps": 30000.0, "cpu_us": 40.0, "errors": 0, "runs": [1]},
             "sandbox": {"rps": 15000.0, "cpu_us": 100.0, "errors": 0, "runs": [1]},
             "wiremock": {"rps": 20000.0, "cpu_us": 60.0, "errors": 0, "runs": [1]}}
    head = peers.headline(table, [0.3], {"rss_before_mib": 50.0, "rss_after_mib": 50.0, "rss_growth": 0.0}, {},
                          run, run, run, 30.0, cores, workers=2,
                          app={"cpu_us": 45.0, "ceiling_cpu_us": 10.0, "runs": [45.0], "ceiling_runs": [10.0]})
    assert head["sandbox_vs_wiremock"] == 0.75
    assert head["all_cores_best_cpu_us"] == 75.0 and head["all_cores_best_vs_wiremock"] == 0.8
    peers.print_table({"date": "2026-12-03 09:00 UTC", "cores": 2, "seconds": 10, "rounds": 3, "calls": table,
                       **head, "bench_s": 1.0})
    assert "with no server: the sandbox's app 45 µs/call, the ceiling's 10; at best with every core (the ceiling " \
           "served + the difference) 75 µs/call: 0.8× WireMock" in capsys.readouterr().out


@pytest.mark.subprocess
def test_the_app_alone_is_measured_on_real_data_calls(peers) -> None:
    """bench/_inprocess.py calls the real app with a real token and fails unless every call is answered 200."""
    result = peers.in_process()
    assert len(result["runs"]) == 7 and all(run > 0 for run in result["runs"])
    assert min(result["runs"]) <= result["cpu_us"] <= max(result["runs"])
    assert 0 < result["ceiling_cpu_us"] < result["cpu_us"]  # a fixed answer costs less than a checked call
