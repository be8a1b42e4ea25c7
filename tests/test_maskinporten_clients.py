"""`ske-sandbox client new` and the clients file: a vendor's generated kit works against a sandbox
started with it, and a broken clients file is refused with a message that names the entry."""

from __future__ import annotations

import datetime as dt
import json
import stat
import time
import uuid
from pathlib import Path

import jwt
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from mp_helpers import (
    BOTH,
    INNTEKT_URL,
    SSG,
    SSG_URL,
    MpBox,
    assert_inntekt_data,
    assert_ssg_data,
    certificate,
    make_settings,
    pem,
    rsa_key,
)

from mockserver.app import create_app
from mockserver.cli import main
from mockserver.clock import Clock
from mockserver.identifiers import make_orgnr
from mockserver.maskinporten.clientgen import x5c_header
from mockserver.maskinporten.registry import RegistryError

ORGNR = make_orgnr(10_777_001)


def sandbox_with(clients_file: Path) -> MpBox:
    # `client new` stamps its certificate with the real time, so this sandbox runs on the wall clock.
    return MpBox(make_settings(clients_file, clock=Clock()))


def grant(box: MpBox, client_id: str, key_pem: bytes, headers: dict, scope: str = BOTH) -> str:
    now = int(time.time())
    claims = {"aud": box.issuer, "iss": client_id, "scope": scope, "iat": now, "exp": now + 120,
              "jti": str(uuid.uuid4())}
    return jwt.encode(claims, key_pem, algorithm="RS256", headers=headers)


def test_client_new_kid_mode(tmp_path: Path, capsys) -> None:
    assert main(["client", "new", "--client-id", "nytt-fagsystem", "--orgnr", ORGNR, "--out", str(tmp_path)]) == 0
    printed = [line.removeprefix("wrote ") for line in capsys.readouterr().out.splitlines()
               if line.startswith("wrote ")]
    key_file, jwk_file, clients_file = (tmp_path / n for n in
                                        ("nytt-fagsystem.key.pem", "nytt-fagsystem.jwk.json", "clients.yaml"))
    assert sorted(printed) == sorted(str(p) for p in (key_file, jwk_file, clients_file))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    jwk = json.loads(jwk_file.read_text())
    assert jwk["kty"] == "RSA" and jwk["kid"] == "nytt-fagsystem-key-1" and "d" not in jwk
    doc = yaml.safe_load(clients_file.read_text())
    entry = doc["clients"][0]
    assert entry == {"client_id": "nytt-fagsystem", "orgnr": ORGNR, "scopes": BOTH.split(),
                     "jwks_file": jwk_file.name}
    assert doc["consumers"][0]["orgnr"] == ORGNR

    box = sandbox_with(clients_file)
    r = box.post_grant(grant(box, "nytt-fagsystem", key_file.read_bytes(), {"kid": jwk["kid"]}))
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["client_amr"] == "private_key_jwt"
    assert claims["consumer"]["ID"] == f"0192:{ORGNR}"
    assert_ssg_data(box.api(SSG_URL, token))
    assert_inntekt_data(box.api(INNTEKT_URL, token))

    # Another key under the generated kid is not the generated key.
    forged = box.post_grant(grant(box, "nytt-fagsystem", pem(rsa_key("attacker")), {"kid": jwk["kid"]}))
    assert forged.status_code == 400 and forged.json()["error_uri"].endswith("errors/MP-124")


def test_client_new_x5c_mode(tmp_path: Path, capsys) -> None:
    args = ["client", "new", "--client-id", "sert-fagsystem", "--orgnr", ORGNR, "--out", str(tmp_path), "--x5c",
            "--scopes", SSG]
    assert main(args) == 0
    key_file, cert_file, clients_file = (tmp_path / n for n in
                                         ("sert-fagsystem.key.pem", "sert-fagsystem.cert.pem", "clients.yaml"))
    printed = [line.removeprefix("wrote ") for line in capsys.readouterr().out.splitlines()
               if line.startswith("wrote ")]
    p12_file = tmp_path / "sert-fagsystem.p12"
    assert sorted(printed) == sorted(str(p) for p in (key_file, cert_file, p12_file, clients_file))
    assert not (tmp_path / "sert-fagsystem.jwk.json").exists()

    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    subject = cert.subject.rfc4514_string()
    assert f"serialNumber={ORGNR}" in subject or f"2.5.4.5={ORGNR}" in subject
    now = dt.datetime.now(dt.UTC)  # usable today, and for the three years a virksomhetssertifikat lasts
    assert cert.not_valid_before_utc <= now <= cert.not_valid_after_utc
    assert cert.not_valid_after_utc - now > dt.timedelta(days=3 * 365 - 1)
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    entry = yaml.safe_load(clients_file.read_text())["clients"][0]
    assert entry == {"client_id": "sert-fagsystem", "orgnr": ORGNR, "scopes": [SSG], "x5c": True,
                     "certificates": [cert_file.name]}

    box = sandbox_with(clients_file)
    r = box.post_grant(grant(box, "sert-fagsystem", key_file.read_bytes(), {"x5c": x5c_header(cert)}, SSG))
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["client_amr"] == "virksomhetssertifikat"
    assert_ssg_data(box.api(SSG_URL, token))

    # The entry pins the generated certificate: another certificate of the same org is refused.
    other = certificate("same-org-other-cert", ORGNR, int(time.time()))
    r = box.post_grant(grant(box, "sert-fagsystem", pem(rsa_key("same-org-other-cert")),
                             {"x5c": x5c_header(other)}, SSG))
    assert r.status_code == 400
    assert r.json()["error_uri"].endswith("errors/MP-120")
    assert "The JWT is signed with an invalid certificate." in r.json()["error_description"]
    # And the pinned client does not take a scope it was not generated with.
    r = box.post_grant(grant(box, "sert-fagsystem", key_file.read_bytes(), {"x5c": x5c_header(cert)}, BOTH))
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"


@pytest.mark.parametrize(
    "orgnr",
    [
        pytest.param("974761076", id="real-format-orgnr"),
        pytest.param(ORGNR[:8] + str((int(ORGNR[8]) + 1) % 10), id="bad-check-digit"),
        pytest.param("31000000", id="eight-digits"),
        pytest.param("3100000O1", id="letter"),
    ],
)
def test_client_new_refuses_non_synthetic_orgnr(tmp_path: Path, capsys, orgnr: str) -> None:
    out = tmp_path / "kit"
    assert main(["client", "new", "--client-id", "x", "--orgnr", orgnr, "--out", str(out)]) == 2
    assert orgnr in capsys.readouterr().err
    assert not out.exists()


def write(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "clients.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


GOOD = {"client_id": "god-klient", "orgnr": ORGNR, "scopes": [SSG], "x5c": True}


@pytest.mark.parametrize(
    ("doc", "where", "why"),
    [
        pytest.param({"clients": [GOOD, {"client_id": "uten-orgnr", "x5c": True}]}, ":7: clients[1]",
                     "'orgnr' is a required property", id="missing-orgnr"),
        pytest.param({"clients": [{**GOOD, "orgnr": "974761076"}]}, ":3: clients[0].orgnr",
                     "'974761076' is not a synthetic organisation number", id="orgnr-not-synthetic"),
        pytest.param({"clients": [{"client_id": "uten-nokler", "orgnr": ORGNR, "scopes": [SSG]}]}, ":2: clients[0]",
                     "register keys (jwks/jwks_file) or x5c: true", id="no-keys"),
        pytest.param({"clients": [{**GOOD, "x5c": False, "jwks": [{"kty": "EC", "kid": "k"}]}]},
                     ":8: clients[0].jwks[0]", "'n' is a required property", id="jwk-not-rsa"),
        pytest.param({"clients": [{**GOOD, "jwks_file": "missing.jwk.json"}]}, ":2: clients[0]",
                     "cannot read", id="jwks-file-missing"),
        pytest.param({"clients": [GOOD], "consumers": [{"orgnr": "123"}]}, ":8: consumers[0].orgnr",
                     "'123' is not a synthetic organisation number", id="consumer-orgnr-bad"),
    ],
)
def test_broken_clients_file_names_the_entry(tmp_path: Path, doc: dict, where: str, why: str) -> None:
    path = write(tmp_path, doc)
    with pytest.raises(RegistryError) as err:
        create_app(make_settings(path))
    message = str(err.value)
    assert message.startswith(f"{path}{where}"), message
    assert why in message, message


def test_clients_file_that_is_not_yaml_mapping(tmp_path: Path) -> None:
    path = tmp_path / "clients.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(RegistryError, match=r"clients.yaml:1: \['just', 'a list'\] is not an object"):
        create_app(make_settings(path))

