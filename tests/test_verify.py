"""`ske-sandbox verify`: the sandbox itself conforms; a stand-in with a contract-violating body does not."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from kit_helpers import app, served_token
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from support import free_port

pytestmark = pytest.mark.subprocess


def verify(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mockserver.cli", "verify", *args], capture_output=True, text=True,
                          timeout=300)


def test_the_sandbox_conforms_to_its_contracts(tmp_path):
    junit = tmp_path / "verify.xml"
    port = free_port()
    with serving(app(base_url=f"http://127.0.0.1:{port}"), port) as base:
        out = verify(base, "--token", served_token(base), "--max-examples", "8", "--junit", str(junit))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "14 of 14 operations conform" in out.stdout  # four for the event feeds, one for Tenor's search, /tokeninfo
    suites = ET.parse(junit).getroot()
    assert suites.get("tests") == "14" and suites.get("failures") == "0"


async def _wrong_type(request):
    # personidentifikator must be a string of 11 digits and ressursId is required
    return JSONResponse({"personidentifikator": 12345678901, "sisteTilgjengeligePeriode": "2024"},
                        headers={"Korrelasjonsid": "7057fd7c-258f-4b1e-90a6-f6446ce2965a"})


@contextmanager
def serving(application, port: int | None = None) -> Iterator[str]:
    """uvicorn in a thread on a loopback port; yields the base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_contract_violating_stand_in_fails_with_a_junit_report(tmp_path):
    junit = tmp_path / "verify.xml"
    with serving(Starlette(routes=[Route("/v1/{fnr}", _wrong_type)])) as base:
        assert httpx.get(f"{base}/v1/12345678901").status_code == 200
        out = verify(base, "--contract", "sistetilgjengeligeskatteoppgjoer",
                     "--base-path", "sistetilgjengeligeskatteoppgjoer=/v1", "--max-examples", "10",
                     "--junit", str(junit))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FAIL sistetilgjengeligeskatteoppgjoer" in out.stdout and "0 of 1 operations conform" in out.stdout
    (case,) = ET.parse(junit).getroot().iter("testcase")
    assert case.get("classname") == "sistetilgjengeligeskatteoppgjoer"
    assert case.get("name") == "GET /{personidentifikator}"
    failure = case.find("failure")
    assert failure is not None and "schema" in failure.text.lower()


def test_bad_options_are_refused_clearly():
    out = verify("http://127.0.0.1:9", "--base-path", "inntekt")
    assert out.returncode == 2 and "expected NAME=/path" in out.stderr
    out = verify("http://127.0.0.1:9", "--contract", "skatt")
    assert out.returncode == 2 and "invalid choice" in out.stderr
    out = verify(f"http://127.0.0.1:{free_port()}")
    assert out.returncode == 2 and "nothing answers at" in out.stderr and "Traceback" not in out.stderr
