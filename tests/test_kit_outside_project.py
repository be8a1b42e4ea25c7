"""A vendor's project outside this repository: the built wheel with the `testkit` extra in a fresh venv, client
code that uses the real hostnames, and tests that use nothing but the `ske_sandbox` fixture."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from support import ROOT

CLIENT = '''
import time, uuid
import httpx, jwt

ISSUER = "https://test.maskinporten.no/"
SSG = "https://summertskattegrunnlag.api.skatteetaten-test.no/v2"


class Client:
    def __init__(self, client_id, kid, key_pem):
        self.client_id, self.kid, self.key_pem = client_id, kid, key_pem
        self.http = httpx.Client(timeout=10)

    def token(self):
        now = int(time.time())
        grant = jwt.encode({"aud": ISSUER, "iss": self.client_id, "scope": "skatteetaten:summertskattegrunnlag",
                            "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}, self.key_pem,
                           algorithm="RS256", headers={"kid": self.kid})
        r = self.http.post(ISSUER + "token", data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": grant})
        r.raise_for_status()
        return r.json()["access_token"]

    def skattegrunnlag(self, fnr, year):
        r = self.http.get(f"{SSG}/oppgjoer/kommuneboligsosialeformaal/{year}/{fnr}",
                          headers={"Authorization": "Bearer " + self.token()})
        return r.status_code, r.json()
'''

TESTS = '''
from vendor_client import Client


def make(kit):
    d = kit.demo_client
    return Client(d.client_id, d.kid, d.private_key_pem)


def test_reads_the_oppgjoer(ske_sandbox):
    kari = ske_sandbox.persona("ordinary")
    status, body = make(ske_sandbox).skattegrunnlag(kari.fnr, 2025)
    assert status == 200 and body["personidentifikator"] == kari.fnr
    ske_sandbox.assert_requests_conform()


def test_handles_ssg_008(ske_sandbox):
    erik = ske_sandbox.persona("SSG-008")
    status, body = make(ske_sandbox).skattegrunnlag(erik.fnr, 2025)
    assert (status, body["kode"]) == (404, "SSG-008")
    ske_sandbox.assert_requests_conform()
'''

BAD_TEST = '''
from vendor_client import Client


def test_two_digit_year(ske_sandbox):
    d = ske_sandbox.demo_client
    Client(d.client_id, d.kid, d.private_key_pem).skattegrunnlag(ske_sandbox.persona("ordinary").fnr, 25)
    ske_sandbox.assert_requests_conform()
'''


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    where = tmp_path_factory.mktemp("outside")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(where), str(ROOT)], check=True, capture_output=True)
    wheel = next(where.glob("ske_sandbox-*.whl"))
    env_dir = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, capture_output=True)
    install = subprocess.run([str(env_dir / "bin" / "pip"), "install", "-q", f"{wheel}[testkit]"],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stdout + install.stderr
    return env_dir


def run_pytest(venv, project, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=project, capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.subprocess
@pytest.mark.slow
def test_a_vendor_project_passes_with_nothing_but_the_fixture(venv, tmp_path):
    (tmp_path / "vendor_client.py").write_text(textwrap.dedent(CLIENT))
    (tmp_path / "test_vendor.py").write_text(textwrap.dedent(TESTS))
    result = run_pytest(venv, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import mockserver; print(mockserver.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, check=True, env=env).stdout
    assert str(venv) in where and str(ROOT) not in where  # the wheel, not this checkout


@pytest.mark.subprocess
@pytest.mark.slow
def test_a_non_conforming_request_fails_the_vendor_test(venv, tmp_path):
    (tmp_path / "vendor_client.py").write_text(textwrap.dedent(CLIENT))
    (tmp_path / "test_bad.py").write_text(textwrap.dedent(BAD_TEST))
    result = run_pytest(venv, tmp_path)
    assert result.returncode == 1
    assert "NonConformingRequests" in result.stdout
    assert "path parameter inntektsaar is '25', but the contract wants a value matching" in result.stdout
