"""`ske-sandbox client new`: a vendor's day-one kit — a key pair (or business certificate) and the
entry to put in the sandbox's clients file."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from ..identifiers import is_synthetic_orgnr
from . import businessca
from .keys import private_key_pem, public_jwk
from .registry import KOMMUNE_PAKKE, DemoClient

ORGANIZATION_IDENTIFIER = x509.ObjectIdentifier("2.5.4.97")


class ClientGenError(ValueError):
    """Bad arguments to `client new`."""


def business_certificate(key: rsa.RSAPrivateKey, orgnr: str, name: str, now: dt.datetime, *,
                         self_signed: bool = False) -> x509.Certificate:
    """A stand-in for a virksomhetssertifikat: the org number in serialNumber and organizationIdentifier
    (NTRNO-…), as Norwegian business certificates carry it, issued by the sandbox's business CA (or
    self-signed, which Maskinporten's rules refuse unless the certificate is pinned on the client)."""
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "NO"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"SANDKASSE {orgnr}"),
        x509.NameAttribute(NameOID.COMMON_NAME, name),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, orgnr),
        x509.NameAttribute(ORGANIZATION_IDENTIFIER, f"NTRNO-{orgnr}"),
    ])
    issuer, signer = (subject, key) if self_signed else (businessca.SUBJECT, businessca.ca_key())
    return (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(issuer).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=3 * 365))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .sign(signer, hashes.SHA256())
    )


def x5c_header(cert: x509.Certificate) -> list[str]:
    """The JOSE x5c value: standard base64 of the DER certificate, in an array."""
    return [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]


P12_PASSWORD = "ske-sandbox"  # the .p12 files' password: Java and .NET keystores want one


def write_p12(path: Path, name: str, key: rsa.RSAPrivateKey, cert: x509.Certificate) -> Path:
    """Key and certificate as PKCS#12, the way Java and .NET keep a virksomhetssertifikat."""
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        name.encode(), key, cert, None, serialization.BestAvailableEncryption(P12_PASSWORD.encode())))
    path.chmod(0o600)
    return path


def _refuse_overwrite(paths: list[Path], force: bool) -> None:
    existing = [str(p) for p in paths if p.exists()]
    if existing and not force:
        raise ClientGenError(f"{', '.join(existing)} already exist(s); use --force to replace, or another --out")


def merged_clients_file(path: Path, entry: dict, new_consumers: list[dict], force: bool) -> tuple[str, list[str]]:
    """The clients file with the client, and its consumer orgs' rettighetspakke and delegations, added to
    what is there; and the packages it grants the client's own org (what a grant without `consumer_org`
    gets). Worked out before anything is written, so a file that cannot take the client leaves no key."""
    doc: dict = {}
    if path.exists():
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ClientGenError(f"{path}: cannot read it to add the client: {exc}") from exc
        if not isinstance(doc, dict):
            raise ClientGenError(f"{path}: expected a mapping with clients and consumers")
    listed = doc.get("clients") or []
    if not isinstance(listed, list) or not all(isinstance(c, dict) for c in listed):
        raise ClientGenError(f"{path}: clients must be a list of entries with client_id")
    clients = [c for c in listed if c.get("client_id") != entry["client_id"] or not force]
    if any(c.get("client_id") == entry["client_id"] for c in clients):
        raise ClientGenError(f"{path}: client_id {entry['client_id']!r} is already registered; use --force to "
                             "replace it")
    doc["clients"] = [*clients, entry]
    consumers = doc.get("consumers") or []
    if not isinstance(consumers, list) or not all(isinstance(c, dict) for c in consumers):
        raise ClientGenError(f"{path}: consumers must be a list of entries with orgnr")
    for consumer in new_consumers:
        known = next((c for c in consumers if str(c.get("orgnr")) == consumer["orgnr"]), None)
        if known is None:
            consumers.append(consumer)
        else:
            _merge_consumer(known, consumer)
    doc["consumers"] = consumers
    text = ("# ske-sandbox clients file: start the sandbox with --clients-file " + str(path) + "\n"
            + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    own: dict = next((c for c in consumers if str(c.get("orgnr")) == entry["orgnr"]), {})
    return text, list(own.get("rettighetspakker") or [])


def _merge_consumer(known: dict, new: dict) -> None:
    """An org already in the file keeps its entry and gains the package and the delegated scopes."""
    pakker = list(known.get("rettighetspakker") or [])
    held = {str(q).lower() for q in pakker}
    known["rettighetspakker"] = pakker + [q for q in new["rettighetspakker"] if q.lower() not in held]
    if not new.get("delegations"):
        return
    delegations = list(known.get("delegations") or [])
    for d in new["delegations"]:
        same = next((k for k in delegations if isinstance(k, dict) and str(k.get("supplier")) == d["supplier"]),
                    None)
        if same is None:
            delegations.append(d)
        else:
            scopes = list(same.get("scopes") or [])
            same["scopes"] = scopes + [x for x in d["scopes"] if x not in scopes]
    known["delegations"] = delegations


@dataclass(frozen=True)
class Generated:
    written: list[Path]
    client_id: str
    kid: str | None
    clients_file: Path
    orgnr: str = ""
    scopes: tuple[str, ...] = ()
    consumer_orgnrs: tuple[str, ...] = ()  # the municipalities a supplier acts for; none: the org acts for itself
    own_pakker: tuple[str, ...] = ()  # what the clients file grants the client's own org


def generate(client_id: str, orgnr: str, out: Path, *, x5c: bool = False, scopes: list[str],
             force: bool = False, consumer_orgnrs: Sequence[str] = ()) -> Generated:
    """Key material and a clients-file entry. With `consumer_orgnrs` the client is a supplier's: each
    municipality holds the rettighetspakke and delegates the scopes to `orgnr`, which holds nothing, so a
    grant that forgets `consumer_org` is refused by the data APIs here as it is in production."""
    if not is_synthetic_orgnr(orgnr):
        raise ClientGenError(f"orgnr {orgnr!r} must be synthetic: 9 digits, starting with 2 or 3, valid mod 11")
    consumer_orgnrs = tuple(dict.fromkeys(consumer_orgnrs))
    for consumer_orgnr in consumer_orgnrs:
        if not is_synthetic_orgnr(consumer_orgnr):
            raise ClientGenError(f"consumer orgnr {consumer_orgnr!r} must be synthetic: 9 digits, starting with 2 "
                                 "or 3, valid mod 11")
        if consumer_orgnr == orgnr:
            raise ClientGenError("the consumer orgnr is the client's own org: Maskinporten refuses consumer_org "
                                 "equal to the client's org; leave --consumer-orgnr out when a municipality "
                                 "registers itself")
    if not client_id.strip() or "/" in client_id:
        raise ClientGenError("client id must be a non-empty name without '/'")
    key_path, cert_path = out / f"{client_id}.key.pem", out / f"{client_id}.cert.pem"
    jwk_path, p12_path = out / f"{client_id}.jwk.json", out / f"{client_id}.p12"
    _refuse_overwrite([key_path, *([cert_path, p12_path] if x5c else [jwk_path])], force)
    jwk_kid = f"{client_id}-key-1"
    kid = None if x5c else jwk_kid
    entry: dict = {"client_id": client_id, "orgnr": orgnr, "scopes": scopes}
    entry.update({"x5c": True, "certificates": [cert_path.name]} if x5c else {"jwks_file": jwk_path.name})
    holders = [{"orgnr": m, "name": f"Consumer {m}", "rettighetspakker": [KOMMUNE_PAKKE],
                "delegations": [{"supplier": orgnr, "scopes": list(scopes)}]} for m in consumer_orgnrs]
    if not holders:
        holders = [{"orgnr": orgnr, "name": f"Consumer {orgnr}", "rettighetspakker": [KOMMUNE_PAKKE]}]
    clients_file = out / "clients.yaml"
    clients_text, own = merged_clients_file(clients_file, entry, holders, force)
    out.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_path.write_text(private_key_pem(key))
    key_path.chmod(0o600)
    written = [key_path]
    if x5c:
        cert = business_certificate(key, orgnr, client_id, dt.datetime.now(dt.UTC))
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        written += [cert_path, write_p12(p12_path, client_id, key, cert)]
    else:
        jwk_path.write_text(json.dumps(public_jwk(key.public_key(), jwk_kid), indent=2))
        written.append(jwk_path)
    clients_file.write_text(clients_text)
    written.append(clients_file)
    return Generated(written, client_id, kid, clients_file, orgnr, tuple(scopes), consumer_orgnrs, tuple(own))


def who_holds_what(made: Generated) -> list[str]:
    """The access the clients file gives, in the words of Skatteetaten and Altinn."""
    scopes = " ".join(made.scopes)
    if not made.consumer_orgnrs:
        return [
            f"Who holds what in {made.clients_file.name}:",
            f"  {made.orgnr} (your org, a municipality acting for itself) holds rettighetspakke {KOMMUNE_PAKKE};",
            "  the token's consumer is your own org, so grants carry no consumer_org.",
            "  A supplier acting for a municipality registers with --consumer-orgnr <the municipality's orgnr>.",
        ]
    return [
        f"Who holds what in {made.clients_file.name}:",
        *(f"  {m} (the municipality, consumer) holds rettighetspakke {KOMMUNE_PAKKE}" for m in made.consumer_orgnrs),
        f"  and {'each ' if len(made.consumer_orgnrs) > 1 else ''}has delegated {scopes} to {made.orgnr} in Altinn "
        "(\"På vegne av\").",
        f"  {made.orgnr} (your org, supplier) holds "
        + (f"{', '.join(made.own_pakker)} as well, so a grant without consumer_org still reads data here."
           if made.own_pakker else "no rettighetspakke."),
        f"  Every grant must carry consumer_org={_one_of(made)}:",
        "  without it the token's consumer is your own org and the data APIs answer 403 (SSG-005, IM-005),",
        "  as in production.",
    ]


def _one_of(made: Generated) -> str:
    orgs = made.consumer_orgnrs
    return orgs[0] if len(orgs) == 1 else f"<the municipality served: {' or '.join(orgs)}>"


def next_steps(made: Generated) -> str:
    if made.kid:
        identity = f"kid:       {made.kid}"
        header = f"header kid={made.kid}"
    else:
        identity = (f"x5c:       {made.client_id}.cert.pem (also {made.client_id}.p12, password {P12_PASSWORD})")
        header = "header x5c=[the certificate, base64 DER]"
    consumer_claim = f", consumer_org={_one_of(made)}" if made.consumer_orgnrs else ""
    return "\n".join([
        "", f"client_id: {made.client_id}", identity, "", *who_holds_what(made), "", "Next steps:",
        f"  1. ske-sandbox serve --clients-file {made.clients_file}",
        f"  2. sign each grant with {made.client_id}.key.pem: iss={made.client_id}{consumer_claim}, {header},",
        "     aud=<the issuer, e.g. http://127.0.0.1:8080/maskinporten/>, exp - iat <= 120 s, a new jti each time",
    ])


def write_demo_files(demo: DemoClient, out: Path) -> list[Path]:
    """The demo client as ready files: PEM key, public JWK, a .p12 (key with a stand-in certificate for its
    org, for Java and .NET key stores; grants still name the key by kid) and the JSON of `demo-client --json`."""
    out.mkdir(parents=True, exist_ok=True)
    key = demo.private_key
    stem = out / demo.client_id
    paths = [stem.with_suffix(".key.pem"), stem.with_suffix(".jwk.json"), stem.with_suffix(".p12"),
             out / "demo-client.json"]
    paths[0].write_text(demo.private_key_pem)
    paths[1].write_text(json.dumps(public_jwk(key.public_key(), demo.kid), indent=2))
    cert = business_certificate(key, demo.orgnr, demo.client_id, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    write_p12(paths[2], demo.client_id, key, cert)
    paths[3].write_text(json.dumps(demo.as_dict(), indent=2))
    return paths
