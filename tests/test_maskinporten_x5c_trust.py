"""x5c grants: only business certificates from the sandbox's CA, or pinned in the clients file, are trusted —
as Maskinporten trusts only approved CAs. A self-signed certificate with the right org number is refused."""

from __future__ import annotations

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from mp_helpers import BOTH, T0, X5C, MpBox, at, frozen_clock, make_settings, rsa_key, write_clients_file

from mockserver.maskinporten import businessca
from mockserver.maskinporten.clientgen import business_certificate, x5c_header


@pytest.fixture
def box(tmp_path) -> MpBox:
    return MpBox(make_settings(write_clients_file(tmp_path), frozen_clock()))


def test_a_certificate_from_the_sandbox_ca_is_trusted(box):
    cert = business_certificate(rsa_key("x5c"), X5C.orgnr, "ok", at(T0))
    assert businessca.issued_by_ca(cert)
    assert box.post_grant(box.grant(X5C, BOTH, headers={"x5c": x5c_header(cert)})).status_code == 200


def test_a_self_signed_certificate_with_the_right_org_is_refused(box):
    cert = business_certificate(rsa_key("x5c"), X5C.orgnr, "selfmade", at(T0), self_signed=True)
    r = box.post_grant(box.grant(X5C, BOTH, headers={"x5c": x5c_header(cert)}))
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "invalid_grant" and body["error_uri"].endswith("/errors/MP-120")
    assert body["error_description"].startswith(
        "Invalid assertion. Client authentication failed. The JWT is signed with an invalid certificate.")


def test_a_certificate_signed_by_another_key_claiming_the_ca_name_is_refused(box):
    forged = business_certificate(rsa_key("x5c"), X5C.orgnr, "forged", at(T0), self_signed=True)
    # same issuer name as the sandbox CA, but signed with a key of the attacker's
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    fake = (x509.CertificateBuilder().subject_name(forged.subject).issuer_name(businessca.SUBJECT)
            .public_key(rsa_key("x5c").public_key()).serial_number(7)
            .not_valid_before(forged.not_valid_before_utc).not_valid_after(forged.not_valid_after_utc)
            .sign(rsa_key("attacker"), hashes.SHA256()))
    assert not businessca.issued_by_ca(fake)
    r = box.post_grant(box.grant(X5C, BOTH, headers={"x5c": x5c_header(fake)}))
    assert r.json()["error_uri"].endswith("/errors/MP-120")


def test_a_pinned_self_signed_certificate_is_trusted(tmp_path):
    cert = business_certificate(rsa_key("x5c"), X5C.orgnr, "pinned", at(T0), self_signed=True)
    (tmp_path / "pinned.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path = write_clients_file(tmp_path)
    doc = yaml.safe_load(path.read_text())
    for c in doc["clients"]:
        if c["client_id"] == X5C.client_id:
            c["certificates"] = ["pinned.pem"]
    path.write_text(yaml.safe_dump(doc))
    box = MpBox(make_settings(path, frozen_clock()))
    assert box.post_grant(box.grant(X5C, BOTH, headers={"x5c": x5c_header(cert)})).status_code == 200


def test_the_ca_is_the_same_everywhere():
    first = businessca.ca_certificate().public_bytes(serialization.Encoding.DER)
    businessca.ca_certificate.cache_clear()
    businessca.ca_key.cache_clear()
    assert businessca.ca_certificate().public_bytes(serialization.Encoding.DER) == first


def _from_the_ca(key, *, ca: bool | None = None, digital_signature: bool | None = True):
    """A certificate for X5C's org, issued by the sandbox CA, with the given constraints and key usage."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    made = business_certificate(key, X5C.orgnr, "odd", at(T0))
    builder = (x509.CertificateBuilder().subject_name(made.subject).issuer_name(businessca.SUBJECT)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(made.not_valid_before_utc).not_valid_after(made.not_valid_after_utc))
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    if digital_signature is not None:
        builder = builder.add_extension(x509.KeyUsage(digital_signature, not digital_signature, False, False, False,
                                                      False, False, False, False), critical=True)
    return builder.sign(businessca.ca_key(), hashes.SHA256())


def _key_of(bits: int):
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@pytest.mark.parametrize("bits, ca, digital_signature, reason", [
    (2048, True, True, "A CA certificate, not an end-entity certificate"),
    (2048, None, False, "Key usage without digitalSignature"),
    (2048, None, None, "No key usage; digitalSignature is required"),
    (1024, None, True, "RSA key of 1024 bits; at least 2048 are required"),
])
def test_a_ca_issued_certificate_unfit_for_signing_grants_is_refused(box, bits, ca, digital_signature, reason):
    key = _key_of(bits)
    cert = _from_the_ca(key, ca=ca, digital_signature=digital_signature)
    assert businessca.issued_by_ca(cert)
    r = box.post_grant(box.grant(X5C, BOTH, headers={"x5c": x5c_header(cert)}, key=key))
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "invalid_grant" and body["error_uri"].endswith("/errors/MP-120")
    assert reason in body["error_description"]


def test_an_end_entity_certificate_for_signing_with_a_2048_bit_key_is_trusted(box):
    key = _key_of(2048)
    cert = _from_the_ca(key, ca=False, digital_signature=True)
    r = box.post_grant(box.grant(X5C, BOTH, headers={"x5c": x5c_header(cert)}, key=key))
    assert r.status_code == 200, r.text
