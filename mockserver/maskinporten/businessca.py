"""The sandbox's stand-in for the CAs that issue virksomhetssertifikater (Buypass, Commfides).

Maskinporten trusts business certificates from approved CAs only. The sandbox trusts certificates issued by
this CA (what `ske-sandbox client new --x5c` makes) and certificates pinned in a clients file. The CA is the
same in every sandbox: its key is derived from a fixed label and its certificate has fixed dates, so a
certificate made on one machine is trusted by a sandbox on another.
"""

from __future__ import annotations

import datetime as dt
import functools

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.x509.oid import NameOID

from .keys import load_private_key, seeded_private_key_pem

SUBJECT = x509.Name([
    x509.NameAttribute(NameOID.COUNTRY_NAME, "NO"),
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ske-sandbox"),
    x509.NameAttribute(NameOID.COMMON_NAME, "ske-sandbox virksomhetssertifikat CA (syntetisk)"),
])


@functools.cache
def ca_key() -> RSAPrivateKey:
    return load_private_key(seeded_private_key_pem("ske-sandbox:business-ca"))


@functools.cache
def ca_certificate() -> x509.Certificate:
    key = ca_key()
    return (
        x509.CertificateBuilder()
        .subject_name(SUBJECT).issuer_name(SUBJECT).public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2060, 1, 1, tzinfo=dt.UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )


def issued_by_ca(cert: x509.Certificate) -> bool:
    """True when the sandbox's business CA issued and signed this certificate."""
    if cert.issuer != SUBJECT:
        return False
    public = ca_key().public_key()
    assert isinstance(public, RSAPublicKey)
    try:
        public.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                      cert.signature_hash_algorithm or hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


MIN_RSA_BITS = 2048  # what Buypass and Commfides issue virksomhetssertifikater with


def leaf_problem(cert: x509.Certificate, public: RSAPublicKey) -> str | None:
    """Why `cert` cannot sign a grant as a virksomhetssertifikat (None when it can): the approved CAs issue
    end-entity certificates whose key may sign, with RSA keys of at least 2048 bits."""
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is not None and constraints.ca:
        return "A CA certificate, not an end-entity certificate"
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return "No key usage; digitalSignature is required"
    if not usage.digital_signature:
        return "Key usage without digitalSignature"
    if public.key_size < MIN_RSA_BITS:
        return f"RSA key of {public.key_size} bits; at least {MIN_RSA_BITS} are required"
    return None
