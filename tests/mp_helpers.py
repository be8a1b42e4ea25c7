"""Shared material for the Maskinporten tests: an injectable clock, client keys and certificates, a
clients file, grant builders and an in-process sandbox (a SandboxKit) with its TestClient."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jwt
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mockserver.clock import Clock
from mockserver.identifiers import make_orgnr
from mockserver.maskinporten.clientgen import business_certificate, x5c_header
from mockserver.maskinporten.keys import public_jwk
from mockserver.settings import Settings
from mockserver.testkit.kit import SandboxKit

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SSG = "skatteetaten:summertskattegrunnlag"
INNTEKT = "skatteetaten:inntekt"
BOTH = f"{SSG} {INNTEKT}"
PAKKE = "kommuneboligsosialeformaal"

T0 = int(dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC).timestamp())
TODAY = dt.date(2026, 11, 27)
FNR = "15838512671"
SSG_URL = f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/2024/{FNR}"
INNTEKT_URL = f"/inntekt/v1/{PAKKE}/{FNR}/inntekter?fraOgMed=2026-01"
BASE_URL = "http://ske-sandbox.test"
ISSUER = f"{BASE_URL}/maskinporten/"
TOKEN_PATH = "/maskinporten/token"

TRACE_ID = re.compile(r" \(trace_id: [0-9a-f]{32}\)$")
JTI = re.compile(r"^[A-Za-z0-9_-]{43}$")

ORG_KOMMUNE = make_orgnr(10_555_001)  # a municipality running its own system (kid)
ORG_X5C = make_orgnr(10_555_101)  # a municipality signing with its business certificate
ORG_SUPPLIER = make_orgnr(10_555_201)  # a vendor acting for municipalities
ORG_HALF_DELEGATED = make_orgnr(10_555_301)  # delegated SSG to the vendor, not inntekt
ORG_DELEGATED = make_orgnr(10_555_401)  # delegated both scopes to the vendor
ORG_UNGRANTED = make_orgnr(10_555_501)  # a client whose org has no rettighetspakke
ORG_STRANGER = make_orgnr(10_555_601)  # owns a certificate but no client


@cache
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    """A fresh RSA key per name, shared across the test session."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def at(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


@cache
def certificate(key_name: str, orgnr: str, valid_from_epoch: int) -> x509.Certificate:
    """A business certificate (virksomhetssertifikat stand-in) for `orgnr`, valid around the epoch."""
    return business_certificate(rsa_key(key_name), orgnr, f"SANDKASSE {orgnr}", at(valid_from_epoch))


@dataclass(frozen=True)
class MpClient:
    client_id: str
    orgnr: str
    key_name: str
    kid: str | None = None  # None: an x5c client that signs with its business certificate

    @property
    def key(self) -> rsa.RSAPrivateKey:
        return rsa_key(self.key_name)

    def certificate(self, now: float) -> x509.Certificate:
        return certificate(self.key_name, self.orgnr, int(now))

    def headers(self, now: float) -> dict[str, Any]:
        if self.kid is not None:
            return {"kid": self.kid}
        return {"x5c": x5c_header(self.certificate(now))}


KOMMUNE = MpClient("kommune-fagsystem", ORG_KOMMUNE, "kommune", kid="kommune-fagsystem-key-1")
SHORT_LIVED = MpClient("kommune-kortlevd", ORG_KOMMUNE, "kortlevd", kid="kommune-kortlevd-key-1")
X5C = MpClient("kommune-x5c", ORG_X5C, "x5c")
SUPPLIER = MpClient("leverandor-fagsystem", ORG_SUPPLIER, "leverandor", kid="leverandor-key-1")
UNGRANTED = MpClient("uten-rettighetspakke", ORG_UNGRANTED, "uten", kid="uten-rettighetspakke-key-1")
SHORT_LIFETIME = 60


def clients_document() -> dict[str, Any]:
    def kid_client(c: MpClient, **extra: Any) -> dict[str, Any]:
        return {"client_id": c.client_id, "orgnr": c.orgnr, "scopes": [SSG, INNTEKT],
                "jwks": [public_jwk(c.key.public_key(), c.kid)], **extra}

    return {
        "clients": [
            kid_client(KOMMUNE),
            kid_client(SHORT_LIVED, access_token_lifetime=SHORT_LIFETIME),
            {"client_id": X5C.client_id, "orgnr": X5C.orgnr, "scopes": [SSG, INNTEKT], "x5c": True},
            kid_client(SUPPLIER),
            kid_client(UNGRANTED),
        ],
        "consumers": [
            {"orgnr": ORG_KOMMUNE, "name": "Fjellvik kommune", "rettighetspakker": [PAKKE]},
            {"orgnr": ORG_X5C, "name": "Strandby kommune", "rettighetspakker": [PAKKE]},
            {"orgnr": ORG_HALF_DELEGATED, "name": "Dalen kommune", "rettighetspakker": [PAKKE],
             "delegations": [{"supplier": ORG_SUPPLIER, "scopes": [SSG]}]},
            {"orgnr": ORG_DELEGATED, "name": "Nesset kommune", "rettighetspakker": [PAKKE],
             "delegations": [{"supplier": ORG_SUPPLIER, "scopes": [SSG, INNTEKT]}]},
        ],
    }


def write_clients_file(directory: Path) -> Path:
    path = directory / "clients.yaml"
    path.write_text(yaml.safe_dump(clients_document(), sort_keys=False))
    return path


def frozen_clock(epoch: float = T0) -> Clock:
    return Clock(source=lambda: epoch)


def make_settings(clients_file: Path | None, clock: Clock | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"today": TODAY, "population": 20, "base_url": BASE_URL,
                              "clients_file": clients_file, "clock": clock or frozen_clock()}
    values.update(overrides)
    return Settings(**values)


def b64url(data: bytes | dict[str, Any]) -> str:
    if isinstance(data, dict):
        data = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_jwt(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A compact JWS assembled by hand, for tokens a JWT library refuses to make."""
    return f"{b64url(header)}.{b64url(claims)}.{b64url(signature) if signature else ''}"


DROP = object()  # a claim value meaning "leave the claim out"


class MpBox:
    """One in-process sandbox (built by the kit, as every in-process test's is) with its TestClient and
    clock, and the Maskinporten helpers these tests share."""

    def __init__(self, settings: Settings) -> None:
        self.kit = SandboxKit(settings)
        self.settings = settings
        self.app = self.kit.app
        self.client = self.kit.client
        self.clock = settings.clock

    @property
    def sandbox(self):
        return self.app.state.sandbox

    @property
    def issuer(self) -> str:
        return self.sandbox.issuer

    def now(self) -> int:
        return int(self.clock.now())

    def claims(self, client: MpClient = KOMMUNE, scope: str = BOTH, **overrides: Any) -> dict[str, Any]:
        now = self.now()
        body: dict[str, Any] = {"aud": self.issuer, "iss": client.client_id, "scope": scope,
                                "iat": now, "exp": now + 120, "jti": str(uuid.uuid4())}
        body.update(overrides)
        return {k: v for k, v in body.items() if v is not DROP}

    def grant(self, client: MpClient = KOMMUNE, scope: str = BOTH, *, key: Any = None, alg: str = "RS256",
              headers: dict[str, Any] | None = None, **claims: Any) -> str:
        """A grant as a vendor's client signs it with PyJWT (which adds `typ: JWT`)."""
        header = client.headers(self.now()) if headers is None else headers
        return jwt.encode(self.claims(client, scope, **claims), pem(key or client.key), algorithm=alg,
                          headers=header)

    def post_grant(self, assertion: str, grant_type: str = GRANT_TYPE) -> httpx.Response:
        return self.client.post(TOKEN_PATH, data={"grant_type": grant_type, "assertion": assertion})

    def token_response(self, client: MpClient = KOMMUNE, scope: str = BOTH, **claims: Any) -> dict[str, Any]:
        r = self.post_grant(self.grant(client, scope, **claims))
        assert r.status_code == 200, r.text
        return r.json()

    def token(self, client: MpClient = KOMMUNE, scope: str = BOTH, **claims: Any) -> str:
        return self.token_response(client, scope, **claims)["access_token"]

    def api(self, url: str, token: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        return self.client.get(url, headers=h)


def assert_ske_error(r: httpx.Response, status: int, kode: str, fragment: str) -> dict[str, Any]:
    """Skatteetaten's error body and nothing else: {kode, melding, korrelasjonsid}."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"kode", "melding", "korrelasjonsid"}, body
    assert body["kode"] == kode, body
    assert fragment in body["melding"], body
    assert str(uuid.UUID(body["korrelasjonsid"])) == body["korrelasjonsid"]
    return body


def assert_ssg_data(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["personidentifikator"] == FNR and body["inntektsaar"] == "2024", body
    assert body["grunnlag"], body
    return body


def assert_inntekt_data(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body = r.json()
    oppgaver = body["oppgaveInntektsmottaker"]
    assert oppgaver and all(o["inntektsmottaker"]["personidentifikator"] == FNR for o in oppgaver), body
    assert {o["kalendermaaned"] for o in oppgaver} == {"2026-01"}, body
    return body
