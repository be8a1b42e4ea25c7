"""`serve` as CI scripts start it: `--port 0` with a ready line and a ready file, wildcard binds, bad ports."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import httpx
import pytest
from support import ROOT, TODAY, running_server

from mockserver.cli import main


@pytest.mark.subprocess
def test_port_0_announces_the_real_port_and_uses_it_for_the_issuer(tmp_path):
    ready = tmp_path / "ready.json"
    with running_server("--today", TODAY, "--population", "10", "--ready-file", str(ready)) as base:
        port = int(base.rsplit(":", 1)[1])
        assert port > 0 and base == f"http://127.0.0.1:{port}"
        meta = httpx.get(f"{base}/maskinporten/.well-known/oauth-authorization-server").json()
        assert meta["issuer"] == f"{base}/maskinporten/"
        written = json.loads(ready.read_text())
        assert written["port"] == port and written["issuer"] == meta["issuer"]
        assert written["base_urls"]["inntekt"] == f"{base}/inntekt/v1"


@pytest.mark.subprocess
def test_a_wildcard_bind_uses_localhost_and_warns():
    cmd = [sys.executable, "-m", "mockserver.cli", "serve", "--host", "0.0.0.0", "--port", "0", "--population", "10",
           "--admin-token", "s3cret"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        warning = proc.stderr.readline()
        assert "without --public-url; the issuer is http://localhost:" in warning
        line = ""
        while not line.startswith("ske-sandbox listening on"):
            line = proc.stdout.readline()
            assert line, "the server stopped before it was ready"
        base = line.split()[-1]
        assert base.startswith("http://localhost:")
        issuer = httpx.get(f"{base}/maskinporten/.well-known/oauth-authorization-server").json()["issuer"]
        assert issuer == f"{base}/maskinporten/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_ports_outside_the_range_are_refused(capsys, port):
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--port", port])
    assert exit_.value.code == 2
    assert "port" in capsys.readouterr().err


def test_a_port_in_use_is_a_clear_error(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["serve", "--port", str(taken.getsockname()[1]), "--population", "10"]) == 2
    assert "cannot listen on 127.0.0.1:" in capsys.readouterr().err
