"""`ske-sandbox client new`: a vendor's day-one kit — a key pair (or business certificate) and the
entry to put in the sandbox's clients file."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ..identifiers import is_synthetic_orgnr
from .keys import private_key_pem, public_jwk

ORGANIZATION_IDENTIFIER = x509.ObjectIdentifier("2.5.4.97")


class ClientGenError(ValueError):
    """Bad arguments to `client new`."""


def business_certificate(key: rsa.RSAPrivateKey, orgnr: str, name: str, now: dt.datetime) -> x509.Certificate:
    """A self-signed stand-in for a virksomhetssertifikat: the org number in serialNumber and
    organizationIdentifier (NTRNO-…), as Norwegian business certificates carry it."""
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "NO"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"SANDKASSE {orgnr}"),
        x509.NameAttribute(NameOID.COMMON_NAME, name),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, orgnr),
        x509.NameAttribute(ORGANIZATION_IDENTIFIER, f"NTRNO-{orgnr}"),
    ])
    return (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=3 * 365))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )


def x5c_header(cert: x509.Certificate) -> list[str]:
    """The JOSE x5c value: standard base64 of the DER certificate, in an array."""
    return [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]


def generate(client_id: str, orgnr: str, out: Path, *, x5c: bool = False, scopes: list[str]) -> list[Path]:
    if not is_synthetic_orgnr(orgnr):
        raise ClientGenError(f"orgnr {orgnr!r} must be synthetic: 9 digits, starting with 2 or 3, valid mod 11")
    if not client_id.strip():
        raise ClientGenError("client id must not be empty")
    out.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    written = []
    key_path = out / f"{client_id}.key.pem"
    key_path.write_text(private_key_pem(key))
    key_path.chmod(0o600)
    written.append(key_path)
    entry: dict = {"client_id": client_id, "orgnr": orgnr, "scopes": scopes}
    if x5c:
        cert = business_certificate(key, orgnr, client_id, dt.datetime.now(dt.UTC))
        cert_path = out / f"{client_id}.cert.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        written.append(cert_path)
        entry.update({"x5c": True, "certificates": [cert_path.name]})
    else:
        kid = f"{client_id}-key-1"
        jwk_path = out / f"{client_id}.jwk.json"
        jwk_path.write_text(json.dumps(public_jwk(key.public_key(), kid), indent=2))
        written.append(jwk_path)
        entry["jwks_file"] = jwk_path.name
    snippet = out / "clients.yaml"
    doc = {
        "clients": [entry],
        "consumers": [{"orgnr": orgnr, "name": f"Consumer {orgnr}",
                       "rettighetspakker": ["kommuneboligsosialeformaal"]}],
    }
    snippet.write_text(
        "# ske-sandbox clients file: start the sandbox with --clients " + str(snippet) + "\n"
        + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    )
    written.append(snippet)
    return written
