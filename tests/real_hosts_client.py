"""Run inside a private network and mount namespace by tests/test_real_hosts_tls.py (as root):
`python real_hosts_client.py WORKDIR`.

The namespace's /etc/hosts sends every real hostname to 127.0.0.1; the sandbox listens there on 443 with
`--real-hosts`. The clients then use the real URLs as written for Skatteetaten's test environment and trust
nothing but the exported CA. Results go to WORKDIR/results.json for the test to judge.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
FNR = "15838512671"
ISSUER = "https://test.maskinporten.no/"
SSG = "https://summertskattegrunnlag.api.skatteetaten-test.no/v2"
INNTEKT = "https://inntekt.api.skatteetaten-test.no/v1"
SISTE = "https://sistetilgjengeligeskatteoppgjoer.api.skatteetaten-test.no/v1"


def _example():
    spec = importlib.util.spec_from_file_location("municipal_client", ROOT / "examples" / "municipal_client.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _isolate(work: Path) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["mount", "--bind", str(work / "hosts"), "/etc/hosts"], check=True)


def _wait_for_server(ca: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{ISSUER}.well-known/oauth-authorization-server", verify=ca, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the sandbox did not start; see server.log")
        time.sleep(0.2)


def _python_client(ca: str, client: dict) -> dict:
    out: dict = {}
    with httpx.Client(verify=ca, timeout=10) as http:
        out["discovery"] = http.get(f"{ISSUER}.well-known/oauth-authorization-server").json()
        out["jwks"] = http.get(f"{ISSUER}jwk").json()
        token = _example().maskinporten_token(
            http, ISSUER, client, ["skatteetaten:summertskattegrunnlag", "skatteetaten:inntekt"])
        out["token"] = token
        auth = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        for name, url, params in (
            ("siste", f"{SISTE}/{FNR}", None),
            ("ssg", f"{SSG}/oppgjoer/kommuneboligsosialeformaal/2024/{FNR}", None),
            ("inntekt", f"{INNTEKT}/kommuneboligsosialeformaal/{FNR}/inntekter",
             {"fraOgMed": "2026-08", "tilOgMed": "2026-10"}),
        ):
            r = http.get(url, headers=auth, params=params)
            out[name] = {"status": r.status_code, "body": r.json()}
    return out


def _refused_without_the_ca() -> str:
    """The system's trust store (certifi) must refuse the sandbox: only the exported CA vouches for it."""
    try:
        httpx.get(f"{ISSUER}jwk", timeout=5)
    except httpx.ConnectError as exc:
        return str(exc)
    return ""


def _java_client(work: Path, ca_dir: Path) -> dict:
    java = shutil.which("java")
    if java is None:
        return {"skipped": "java is not installed"}
    done = subprocess.run(
        [java, f"-Djavax.net.ssl.trustStore={ca_dir / 'truststore.p12'}", "-Djavax.net.ssl.trustStorePassword=changeit",
         "-Djavax.net.ssl.trustStoreType=PKCS12", str(ROOT / "examples" / "compose" / "RealHostsProbe.java"), ISSUER],
        capture_output=True, text=True, timeout=180, cwd=work)
    return {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr[-3000:]}


def main(work: Path) -> int:
    _isolate(work)
    ca_dir = work / "ca"
    ca = str(ca_dir / "ca.pem")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(work / "server.log", "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "mockserver.cli", "serve", "--real-hosts", "--ca", str(ca_dir), "--port", "443",
             "--today", "2026-11-27", "--population", "300"], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        _wait_for_server(ca, server)
        results = {
            "python": _python_client(ca, json.loads((work / "demo-client.json").read_text())),
            "refused_without_ca": _refused_without_the_ca(),
            "java": _java_client(work, ca_dir),
        }
    finally:
        server.terminate()
        server.wait(timeout=10)
    (work / "results.json").write_text(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
