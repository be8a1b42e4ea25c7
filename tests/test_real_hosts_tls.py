"""Real-hostname mode: a client written for Skatteetaten's test environment, unchanged, reaches the sandbox
over TLS because name resolution points the real names at it and it trusts the sandbox's local CA.

The end-to-end case runs in a private network and mount namespace (`unshare --net --mount`, as root), whose
/etc/hosts maps the real hostnames to 127.0.0.1: nothing outside the namespace is touched or reached.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from support import ROOT

from mockserver import localca
from mockserver.cli import build_parser, main
from mockserver.environments import REAL_HOSTS
from mockserver.localca import CAFiles, ensure_leaf, load_ca, make_ca

FNR = "15838512671"


@pytest.fixture
def fast_ca(monkeypatch: pytest.MonkeyPatch) -> None:
    """CAs written without keytool (a JVM start each): cryptography's Java truststore instead."""
    monkeypatch.setattr(localca.shutil, "which", lambda name: None)


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mockserver.cli", *argv], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


@pytest.mark.subprocess
def test_ca_exports_a_pem_a_java_truststore_and_a_leaf_for_every_real_hostname(tmp_path):
    done = _cli("ca", "--out", str(tmp_path / "ca"))
    assert done.returncode == 0, done.stderr
    files = CAFiles(tmp_path / "ca")
    ca_cert, _ = load_ca(files.directory)
    assert ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca_cert.extensions.get_extension_for_class(x509.NameConstraints).critical
    leaf = x509.load_pem_x509_certificate(files.leaf_cert.read_bytes())
    leaf.verify_directly_issued_by(ca_cert)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(REAL_HOSTS) | {"localhost"} <= set(names.get_values_for_type(x509.DNSName))
    store = pkcs12.load_pkcs12(files.truststore.read_bytes(), b"changeit")
    assert [c.certificate for c in store.additional_certs] == [ca_cert] and store.key is None
    assert files.key.stat().st_mode & 0o077 == 0 and files.leaf_key.stat().st_mode & 0o077 == 0


@pytest.mark.subprocess
@pytest.mark.parametrize("writer", ["keytool", "cryptography"])
def test_the_truststore_is_a_trusted_entry_for_java(tmp_path, monkeypatch, writer):
    keytool = shutil.which("keytool")
    if keytool is None:
        pytest.skip("keytool is not installed: the Java view of the truststore cannot be checked")
    if writer == "cryptography":
        monkeypatch.setattr(localca.shutil, "which", lambda name: None)
    assert make_ca(tmp_path)[1] == writer
    monkeypatch.undo()
    listing = subprocess.run(["keytool", "-list", "-keystore", str(tmp_path / "truststore.p12"), "-storepass",
                              "changeit"], capture_output=True, text=True, timeout=60)
    assert "trustedCertEntry" in listing.stdout, listing.stdout + listing.stderr


def test_ca_refuses_to_replace_a_ca_without_force(tmp_path, fast_ca, capsys):
    make_ca(tmp_path)
    first = (tmp_path / "ca.pem").read_bytes()
    assert main(["ca", "--out", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "ca.pem").read_bytes() == first
    assert main(["ca", "--out", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "ca.pem").read_bytes() != first


def test_the_leaf_is_remade_when_missing_or_not_for_every_name(tmp_path, fast_ca):
    files, _ = make_ca(tmp_path)
    before = files.leaf_cert.read_bytes()
    assert ensure_leaf(files) == (files.leaf_cert, files.leaf_key) and files.leaf_cert.read_bytes() == before
    files.leaf_cert.unlink()
    ensure_leaf(files)
    assert files.leaf_cert.read_bytes() != before
    (tmp_path / "other").mkdir()
    other, _ = make_ca(tmp_path / "other")
    shutil.copy2(other.leaf_cert, files.leaf_cert)  # issued by another CA: not usable here
    shutil.copy2(other.leaf_key, files.leaf_key)
    ensure_leaf(files)
    x509.load_pem_x509_certificate(files.leaf_cert.read_bytes()).verify_directly_issued_by(load_ca(tmp_path)[0])


@pytest.mark.parametrize("argv, message", [
    (["serve", "--real-hosts"], "--real-hosts needs --ca DIR"),
    (["serve", "--real-hosts", "--ca", "/nonexistent/ca"], "no CA in /nonexistent/ca"),
])
def test_real_hosts_without_a_usable_ca_is_refused(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_ca_directory_with_a_foreign_key_is_refused(tmp_path, fast_ca, capsys):
    make_ca(tmp_path / "a")
    make_ca(tmp_path / "b")
    shutil.copy2(tmp_path / "b" / "ca.key.pem", tmp_path / "a" / "ca.key.pem")
    assert main(["serve", "--real-hosts", "--ca", str(tmp_path / "a")]) == 2
    assert "does not belong to ca.pem" in capsys.readouterr().err


def test_options_take_their_defaults_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("SKE_SANDBOX_PUBLIC_URL", "http://sandbox:8080")
    monkeypatch.setenv("SKE_SANDBOX_SEED", "7")
    monkeypatch.setenv("SKE_SANDBOX_TODAY", "2026-11-27")
    monkeypatch.setenv("SKE_SANDBOX_CA", "/ca")
    args = build_parser().parse_args(["serve"])
    assert (args.public_url, args.seed, args.today, args.ca) == ("http://sandbox:8080", 7, dt.date(2026, 11, 27),
                                                                 Path("/ca"))
    assert build_parser().parse_args(["serve", "--seed", "3"]).seed == 3  # the option wins
    monkeypatch.setenv("SKE_SANDBOX_SEED", "many")
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["serve"])
    assert exit_.value.code == 2 and "invalid int value: 'many'" in capsys.readouterr().err


# a pid namespace too, so that nothing started inside outlives the test, even on a timeout
UNSHARE = ["unshare", "--net", "--mount", "--pid", "--fork", "--kill-child"]


def _namespace_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root for `unshare --net --mount` and a bind mount over /etc/hosts"
    for tool in ("unshare", "ip", "mount"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    probe = subprocess.run([*UNSHARE, "sh", "-c", "ip link set lo up && mount --bind "
                            "/etc/hosts /etc/hosts"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"private network and mount namespaces are not permitted here: {probe.stderr.strip()}"
    return None


@pytest.mark.subprocess
def test_an_unchanged_client_uses_the_real_urls_and_trusts_only_the_exported_ca(tmp_path):
    reason = _namespace_reason()
    if reason:
        pytest.skip(reason)
    assert _cli("ca", "--out", str(tmp_path / "ca")).returncode == 0
    for leaf in ("server.pem", "server.key.pem"):  # serve makes the leaf from the CA when it is absent
        (tmp_path / "ca" / leaf).unlink()
    (tmp_path / "demo-client.json").write_text(_cli("demo-client", "--json").stdout)
    (tmp_path / "hosts").write_text("127.0.0.1 localhost " + " ".join(sorted(REAL_HOSTS)) + "\n")
    done = subprocess.run([*UNSHARE, sys.executable, str(ROOT / "tests" / "real_hosts_client.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    log = (tmp_path / "server.log").read_text() if (tmp_path / "server.log").exists() else ""
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\nserver:\n{log}"
    assert (tmp_path / "ca" / "server.pem").exists()
    results = json.loads((tmp_path / "results.json").read_text())

    py = results["python"]
    assert py["discovery"]["issuer"] == "https://test.maskinporten.no/"
    assert py["discovery"]["token_endpoint"] == "https://test.maskinporten.no/token"
    claims = jwt.decode(py["token"], options={"verify_signature": False})
    assert claims["iss"] == "https://test.maskinporten.no/"
    assert py["jwks"]["keys"] and claims  # the key set the token's kid is published in
    assert py["siste"]["status"] == 200, py["siste"]
    assert py["ssg"]["status"] == 200 and py["ssg"]["body"]["personidentifikator"] == FNR, py["ssg"]
    assert py["inntekt"]["status"] == 200, py["inntekt"]
    assert "CERTIFICATE_VERIFY_FAILED" in results["refused_without_ca"], results["refused_without_ca"]

    java = results["java"]
    if "skipped" in java:
        pytest.skip(f"the Java client part: {java['skipped']} (the Python client passed)")
    assert java["returncode"] == 0, java["stderr"]
    discovery, jwks = java["stdout"].splitlines()
    assert discovery.startswith(".well-known/oauth-authorization-server 200 ")
    assert json.loads(discovery.split(" ", 2)[2])["issuer"] == "https://test.maskinporten.no/"
    assert jwks.startswith("jwk 200 ") and json.loads(jwks.split(" ", 2)[2])["keys"]
