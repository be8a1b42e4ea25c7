"""RSA keys derived from a seed, so replicas with one seed sign and accept the same tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from jwt.algorithms import RSAAlgorithm

from ..configfiles import ConfigError


def _seeded_bytes(label: str):
    counter = 0
    buffer = bytearray()

    def randfunc(n: int) -> bytes:
        nonlocal counter
        while len(buffer) < n:
            buffer.extend(hashlib.sha256(f"{label}:{counter}".encode()).digest())
            counter += 1
        out = bytes(buffer[:n])
        del buffer[:n]
        return out

    return randfunc


@lru_cache(maxsize=32)
def seeded_private_key_pem(label: str, bits: int = 2048) -> bytes:
    """A deterministic RSA key for `label` (e.g. "maskinporten:1"); never use outside a sandbox.

    Making one is most of a cold start (about half a second each), so a key is made once per machine and
    read back after: the default seed's keys ship with the package, others are kept in a cache folder."""
    return stored_key_pem(label, bits) or _generate_and_keep(label, bits)


def generate_private_key_pem(label: str, bits: int = 2048) -> bytes:
    from Crypto.PublicKey import RSA  # only needed when a key is not stored yet

    return RSA.generate(bits, randfunc=_seeded_bytes(label)).export_key(pkcs=8)


SHIPPED = Path(__file__).resolve().parent / "seeded_keys"


def key_cache_dir() -> Path:
    """$SKE_SANDBOX_CACHE, else $XDG_CACHE_HOME/ske-sandbox, else ~/.cache/ske-sandbox."""
    if os.environ.get("SKE_SANDBOX_CACHE"):
        return Path(os.environ["SKE_SANDBOX_CACHE"]) / "keys"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ske-sandbox" / "keys"


def _file_name(label: str, bits: int) -> str:
    return hashlib.sha256(f"{label}:{bits}".encode()).hexdigest()[:32] + ".pem"


def stored_key_pem(label: str, bits: int = 2048) -> bytes | None:
    for folder in (SHIPPED, key_cache_dir()):
        try:
            return (folder / _file_name(label, bits)).read_bytes()
        except OSError:
            continue
    return None


def _generate_and_keep(label: str, bits: int) -> bytes:
    pem = generate_private_key_pem(label, bits)
    folder = key_cache_dir()
    try:  # a read-only home or a full disk only costs the next start the generation again
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{uuid.uuid4().hex}.tmp"
        tmp.write_bytes(pem)
        os.replace(tmp, folder / _file_name(label, bits))
    except OSError:
        pass
    return pem


def load_private_key(pem: bytes, *, trusted: bool = False) -> RSAPrivateKey:
    """`trusted`: a key this package made itself, so OpenSSL's slow consistency check (a good part of a cold
    start) is skipped; a user's key file is always checked."""
    key = serialization.load_pem_private_key(pem, password=None, unsafe_skip_rsa_key_validation=trusted)
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("the signing key must be an RSA private key")
    return key


def private_key_pem(key: RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_jwk(key: RSAPublicKey, kid: str | None = None, alg: str = "RS256") -> dict[str, Any]:
    jwk = json.loads(RSAAlgorithm.to_jwk(key))
    jwk = {"kty": "RSA", "e": jwk["e"], "n": jwk["n"]}
    jwk.update({"use": "sig", "alg": alg, "kid": kid or thumbprint(jwk)})
    return jwk


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (base64url SHA-256 of the required members)."""
    canonical = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: RSAPrivateKey

    @property
    def jwk(self) -> dict[str, Any]:
        return public_jwk(self.private.public_key(), self.kid)


class KeySet:
    """The issuer's keys: the first signs; all are published and accepted (rotation)."""

    def __init__(self, keys: list[SigningKey]) -> None:
        if not keys:
            raise ValueError("at least one signing key is needed")
        self.keys = keys
        self.by_kid = {k.kid: k for k in keys}

    @property
    def active(self) -> SigningKey:
        return self.keys[0]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.jwk for k in self.keys]}

    @classmethod
    def from_seed(cls, seed: int, *, rotate: bool = False, key_file: Path | None = None) -> KeySet:
        if key_file is not None:
            try:
                first = load_private_key(key_file.read_bytes())
            except (OSError, ValueError, TypeError) as exc:
                raise ConfigError(f"{key_file}: not a usable PEM RSA private key (unencrypted): {exc}") from exc
        else:
            first = load_private_key(seeded_private_key_pem(f"maskinporten:{seed}"), trusted=True)
        keys = [_with_kid(first)]
        if rotate:
            # The next key is published before it signs, as Maskinporten does when it rotates.
            nxt = load_private_key(seeded_private_key_pem(f"maskinporten:{seed}:next"), trusted=True)
            keys.append(_with_kid(nxt))
        return cls(keys)


def _with_kid(key: RSAPrivateKey) -> SigningKey:
    return SigningKey(thumbprint(public_jwk(key.public_key(), "x")), key)
