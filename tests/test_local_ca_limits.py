"""The local CA may be trusted system-wide, so it vouches only for what the sandbox serves (critical name
constraints), lives 30 days unless told otherwise, and its server certificate never outlives it."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import DNSName, IPAddress, PolicyBuilder, Store, VerificationError

from mockserver import localca
from mockserver.cli import main
from mockserver.environments import REAL_HOSTS
from mockserver.localca import CAError, CAFiles, ensure_leaf, load_ca, make_ca


@pytest.fixture(autouse=True)
def fast_ca(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(localca.shutil, "which", lambda name: None)  # no keytool: no JVM start


def _leaf(files: CAFiles) -> x509.Certificate:
    return x509.load_pem_x509_certificate(files.leaf_cert.read_bytes())


def _verify(ca: x509.Certificate, leaf: x509.Certificate, subject: DNSName | IPAddress) -> None:
    at = leaf.not_valid_before_utc + dt.timedelta(minutes=10)
    PolicyBuilder().store(Store([ca])).time(at).build_server_verifier(subject).verify(leaf, [])


def _signed_by(directory, *names: x509.GeneralName) -> x509.Certificate:
    """A server certificate the CA signs for other names, as someone holding its key could."""
    ca_cert, ca_key = load_ca(directory)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "other")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=5))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))


def test_the_ca_is_constrained_to_the_real_domains_localhost_and_loopback(tmp_path):
    make_ca(tmp_path)
    ca, _ = load_ca(tmp_path)
    extension = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert extension.critical
    permitted = extension.value.permitted_subtrees
    assert {n.value for n in permitted if isinstance(n, x509.DNSName)} == {
        "maskinporten.no", "skatteetaten-test.no", "skatteetaten.no", "localhost"}
    assert {n.value for n in permitted if isinstance(n, x509.IPAddress)} == {
        ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")}
    assert extension.value.excluded_subtrees is None


def test_the_server_certificate_verifies_for_every_real_name_and_loopback(tmp_path):
    files, _ = make_ca(tmp_path)
    ca, leaf = load_ca(tmp_path)[0], _leaf(files)
    for host in [*REAL_HOSTS, "localhost"]:
        _verify(ca, leaf, DNSName(host))
    for address in ("127.0.0.1", "::1"):
        _verify(ca, leaf, IPAddress(ipaddress.ip_address(address)))


@pytest.mark.parametrize("name, subject", [
    (x509.DNSName("www.example.com"), DNSName("www.example.com")),
    (x509.DNSName("bank.no"), DNSName("bank.no")),
    (x509.DNSName("maskinporten.no.evil.example"), DNSName("maskinporten.no.evil.example")),
    (x509.IPAddress(ipaddress.ip_address("10.0.0.1")), IPAddress(ipaddress.ip_address("10.0.0.1"))),
])
def test_a_certificate_the_ca_signs_for_another_name_does_not_verify(tmp_path, name, subject):
    make_ca(tmp_path)
    ca = load_ca(tmp_path)[0]
    with pytest.raises(VerificationError, match="name constraint"):
        _verify(ca, _signed_by(tmp_path, name), subject)
    _verify(ca, _signed_by(tmp_path, x509.DNSName("test.maskinporten.no")), DNSName("test.maskinporten.no"))


def test_the_ca_lives_30_days_by_default_and_days_sets_it(tmp_path, capsys):
    assert main(["ca", "--out", str(tmp_path / "default")]) == 0
    ca = load_ca(tmp_path / "default")[0]
    assert ca.not_valid_after_utc - ca.not_valid_before_utc <= dt.timedelta(days=30, minutes=5)
    assert "valid until" in capsys.readouterr().out
    assert main(["ca", "--out", str(tmp_path / "week"), "--days", "7"]) == 0
    ca = load_ca(tmp_path / "week")[0]
    assert dt.timedelta(days=7) <= ca.not_valid_after_utc - ca.not_valid_before_utc <= dt.timedelta(days=7, minutes=5)


@pytest.mark.parametrize("days, message", [
    ("0", "a CA lives 1 to 825 days, not 0"), ("826", "a CA lives 1 to 825 days, not 826"),
    ("-3", "a CA lives 1 to 825 days, not -3"), ("month", "expected a whole number of days, got 'month'"),
])
def test_bad_days_are_refused_clearly(tmp_path, capsys, days, message):
    with pytest.raises(SystemExit) as exit_:
        main(["ca", "--out", str(tmp_path), "--days", days])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "ca.pem").exists()
    with pytest.raises(CAError, match="1 to 825 days"):
        make_ca(tmp_path, days=int(days) if days.lstrip("-").isdigit() else 0)


def test_the_server_certificate_ends_with_the_ca_and_is_kept_until_then(tmp_path):
    files, _ = make_ca(tmp_path, days=1)
    ca, leaf = load_ca(tmp_path)[0], _leaf(files)
    assert leaf.not_valid_after_utc == ca.not_valid_after_utc
    before = files.leaf_cert.read_bytes()
    ensure_leaf(files)  # less than a day left, but as much as the CA has: not remade at every start
    assert files.leaf_cert.read_bytes() == before


def test_an_expired_ca_is_refused_with_what_to_do(tmp_path, monkeypatch, capsys):
    make_ca(tmp_path, days=1)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    monkeypatch.setattr(localca, "_now", lambda: later)
    assert main(["serve", "--real-hosts", "--ca", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"the CA in {tmp_path} expired on" in err and "--force" in err


def test_serve_warns_about_a_ca_without_name_constraints(tmp_path, monkeypatch, capsys):
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)
    make_ca(tmp_path / "new")
    assert main(["serve", "--real-hosts", "--ca", str(tmp_path / "new"), "--port", "0", "--population", "10"]) == 0
    assert "name constraints" not in capsys.readouterr().err
    with monkeypatch.context() as old_version:  # as CAs were made before they had constraints
        old_version.setattr(localca.x509.CertificateBuilder, "add_extension", _without_name_constraints)
        make_ca(tmp_path / "old")
    assert main(["serve", "--real-hosts", "--ca", str(tmp_path / "old"), "--port", "0", "--population", "10"]) == 0
    err = capsys.readouterr().err
    assert "warning: the CA in" in err and "has no name constraints" in err and "--force" in err


_add_extension = x509.CertificateBuilder.add_extension


def _without_name_constraints(self, extension, critical):
    return self if isinstance(extension, x509.NameConstraints) else _add_extension(self, extension, critical)
