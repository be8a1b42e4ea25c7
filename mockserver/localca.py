"""A local certificate authority for the real-hostname mode.

`ske-sandbox ca --out DIR` makes it; clients trust `DIR/ca.pem` (or `DIR/truststore.p12` in Java and
.NET) and then reach the sandbox under the real names (`https://test.maskinporten.no/` …) with nothing
changed but name resolution. The server's leaf certificate is made from the CA when it is missing, expired
or lacks a name. `ca.key.pem` stays with the sandbox; clients get only the certificate.

A client may trust the CA system-wide, so the CA can vouch for nothing but what the sandbox serves: its
critical name constraints permit the real services' domains, `localhost` and the loopback addresses only,
and it lives `DEFAULT_DAYS` (at most `MAX_DAYS`).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .environments import REAL_HOSTS

CA_CERT = "ca.pem"
CA_KEY = "ca.key.pem"
TRUSTSTORE = "truststore.p12"
ALIAS = "ske-sandbox-ca"
TRUSTSTORE_PASSWORD = "changeit"  # Java's customary truststore password; the store holds no secret
LEAF_CERT = "server.pem"
LEAF_KEY = "server.key.pem"
DEFAULT_DAYS = 30  # how long a CA lives unless `ske-sandbox ca --days N` says otherwise
MAX_DAYS = 825
# 825 days is the longest server certificate some platforms (Apple's) accept even from a private CA
LEAF_VALIDITY = dt.timedelta(days=825)
# every real hostname, and the sandbox's own loopback names so https://localhost/ works as well
LEAF_NAMES = (*sorted(REAL_HOSTS), "localhost")
LEAF_IPS = ("127.0.0.1", "::1")
# what the CA may vouch for: the real hostnames' domains (test.maskinporten.no → maskinporten.no), localhost
# and loopback; a verifier refuses any other name or address under it
PERMITTED_DOMAINS = (*sorted({".".join(host.split(".")[-2:]) for host in REAL_HOSTS}), "localhost")
PERMITTED_NETWORKS = ("127.0.0.0/8", "::1/128")


class CAError(ValueError):
    """A CA directory that cannot be made or used."""


@dataclass(frozen=True)
class CAFiles:
    directory: Path

    @property
    def cert(self) -> Path:
        return self.directory / CA_CERT

    @property
    def key(self) -> Path:
        return self.directory / CA_KEY

    @property
    def truststore(self) -> Path:
        return self.directory / TRUSTSTORE

    @property
    def leaf_cert(self) -> Path:
        return self.directory / LEAF_CERT

    @property
    def leaf_key(self) -> Path:
        return self.directory / LEAF_KEY


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(pem)


def name_constraints() -> x509.NameConstraints:
    return x509.NameConstraints(
        permitted_subtrees=[*(x509.DNSName(d) for d in PERMITTED_DOMAINS),
                            *(x509.IPAddress(ipaddress.ip_network(n)) for n in PERMITTED_NETWORKS)],
        excluded_subtrees=None)


def make_ca(out: Path, *, force: bool = False, days: int = DEFAULT_DAYS) -> tuple[CAFiles, str]:
    """Make a CA in `out` valid for `days`; return its files and how the truststore was written (keytool or
    cryptography)."""
    if not 1 <= days <= MAX_DAYS:
        raise CAError(f"a CA lives 1 to {MAX_DAYS} days, not {days}")
    files = CAFiles(out)
    if not force and (files.cert.exists() or files.key.exists()):
        raise CAError(f"{out} already holds a CA ({CA_CERT}); pass --force to replace it "
                      "(clients that trust the old one will then fail)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CAError(f"cannot create {out}: {exc.strerror}") from exc
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ske-sandbox"),
        # distinct names, so that trust stores and logs tell two sandboxes' CAs apart
        x509.NameAttribute(NameOID.COMMON_NAME, f"ske-sandbox local CA {_now():%Y-%m-%d} {secrets.token_hex(4)}"),
    ])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(name_constraints(), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(files.key, key)
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    for stale in (files.leaf_cert, files.leaf_key, files.truststore):
        stale.unlink(missing_ok=True)
    how = write_truststore(files)
    ensure_leaf(files)
    return files, how


def write_truststore(files: CAFiles) -> str:
    """`truststore.p12` with the CA as a trusted entry; return which tool wrote it. Java takes a PKCS#12
    certificate as a trust anchor only when it carries Oracle's trusted-key-usage attribute: keytool writes
    that, and so does cryptography's serialize_java_truststore (cryptography ≥ 45). The last resort, a plain
    certificate bag, suits .NET, OpenSSL and curl."""
    files.truststore.unlink(missing_ok=True)
    keytool = shutil.which("keytool")
    if keytool:
        done = subprocess.run(
            [keytool, "-importcert", "-noprompt", "-storetype", "PKCS12", "-keystore", str(files.truststore),
             "-storepass", TRUSTSTORE_PASSWORD, "-alias", ALIAS, "-file", str(files.cert)],
            capture_output=True, text=True)
        if done.returncode == 0:
            return "keytool"
        files.truststore.unlink(missing_ok=True)
    entry = pkcs12.PKCS12Certificate(x509.load_pem_x509_certificate(files.cert.read_bytes()), ALIAS.encode())
    encryption = (serialization.PrivateFormat.PKCS12.encryption_builder()
                  .kdf_rounds(50000).key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
                  .hmac_hash(hashes.SHA256()).build(TRUSTSTORE_PASSWORD.encode()))
    java_truststore = getattr(pkcs12, "serialize_java_truststore", None)
    if java_truststore is not None:
        files.truststore.write_bytes(java_truststore([entry], encryption))
        return "cryptography"
    files.truststore.write_bytes(pkcs12.serialize_key_and_certificates(None, None, None, [entry], encryption))
    return "certificate bag"


def load_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    files = CAFiles(directory)
    if not files.cert.is_file() or not files.key.is_file():
        raise CAError(f"no CA in {directory}: make one with `ske-sandbox ca --out {directory}`")
    try:
        cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
        key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
    except ValueError as exc:
        raise CAError(f"{directory}: {CA_CERT} or {CA_KEY} is not a PEM certificate/key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise CAError(f"{directory}: {CA_KEY} does not belong to {CA_CERT}")
    return cert, key


def unconstrained_warning(directory: Path) -> str | None:
    """What to tell the user of a CA without name constraints (made by an older version), or None."""
    cert, _ = load_ca(directory)
    try:
        cert.extensions.get_extension_for_class(x509.NameConstraints)
    except x509.ExtensionNotFound:
        return (f"the CA in {directory} has no name constraints: wherever it is trusted, its key can vouch for any "
                f"name until {cert.not_valid_after_utc:%Y-%m-%d}; make a constrained one with `ske-sandbox ca "
                f"--out {directory} --force`, trust that instead and remove this one from trust stores")
    return None


def _leaf_is_usable(files: CAFiles, ca_cert: x509.Certificate) -> bool:
    if not files.leaf_cert.is_file() or not files.leaf_key.is_file():
        return False
    try:
        leaf = x509.load_pem_x509_certificate(files.leaf_cert.read_bytes())
        leaf_key = serialization.load_pem_private_key(files.leaf_key.read_bytes(), password=None)
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    try:
        leaf.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    # a day left, or as long as the CA (a CA of one day has leaves of less)
    lasts = min(_now() + dt.timedelta(days=1), ca_cert.not_valid_after_utc)
    return (leaf_key.public_key() == leaf.public_key() and leaf.not_valid_after_utc >= lasts
            and set(LEAF_NAMES) <= set(names.get_values_for_type(x509.DNSName)))


def ensure_leaf(files: CAFiles) -> tuple[Path, Path]:
    """The server certificate and key for every real hostname, made from the CA when not usable as is."""
    ca_cert, ca_key = load_ca(files.directory)
    if ca_cert.not_valid_after_utc <= _now():
        raise CAError(f"the CA in {files.directory} expired on {ca_cert.not_valid_after_utc:%Y-%m-%d}: make a new "
                      f"one with `ske-sandbox ca --out {files.directory} --force` and have clients trust it")
    if _leaf_is_usable(files, ca_cert):
        return files.leaf_cert, files.leaf_key
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    sans = [x509.DNSName(n) for n in LEAF_NAMES] + [x509.IPAddress(ipaddress.ip_address(a)) for a in LEAF_IPS]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ske-sandbox")]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + LEAF_VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    try:
        _write_key(files.leaf_key, key)
        files.leaf_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    except OSError as exc:
        raise CAError(f"cannot write the server certificate into {files.directory} ({exc.strerror}); "
                      "make it writable once, or run `ske-sandbox ca` again") from exc
    return files.leaf_cert, files.leaf_key
