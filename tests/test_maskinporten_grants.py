"""Broken and hostile JWT grants, and broken and hostile bearer tokens, each answered exactly as the
real services answer: Maskinporten's `{error, error_description, error_uri}` with a trace id, and
Skatteetaten's `{kode, melding, korrelasjonsid}` — never a token, never data."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from mp_helpers import (
    BOTH,
    DROP,
    GRANT_TYPE,
    INNTEKT,
    INNTEKT_URL,
    KOMMUNE,
    ORG_HALF_DELEGATED,
    ORG_STRANGER,
    SSG,
    SSG_URL,
    SUPPLIER,
    T0,
    TOKEN_PATH,
    TRACE_ID,
    UNGRANTED,
    X5C,
    MpBox,
    assert_ske_error,
    b64url,
    b64url_decode,
    certificate,
    make_settings,
    pem,
    public_pem,
    raw_jwt,
    rsa_key,
    write_clients_file,
)

from mockserver.maskinporten.clientgen import x5c_header
from mockserver.maskinporten.keys import public_jwk
from mockserver.maskinporten.tokens import org


@pytest.fixture
def box(tmp_path) -> MpBox:
    return MpBox(make_settings(write_clients_file(tmp_path)))


def form(assertion: str, grant_type: str = GRANT_TYPE) -> dict[str, Any]:
    return {"data": {"grant_type": grant_type, "assertion": assertion}}


# --- grant builders: each returns the keyword arguments of the POST to the token endpoint -------------


def replayed(box: MpBox) -> dict[str, Any]:
    assertion = box.grant(KOMMUNE, SSG)
    first = box.post_grant(assertion)
    assert first.status_code == 200, first.text
    return form(assertion)


def tampered(box: MpBox) -> dict[str, Any]:
    header, payload, signature = box.grant(KOMMUNE, SSG).split(".")
    claims = json.loads(b64url_decode(payload))
    claims["scope"] = BOTH  # ask for more than what was signed
    return form(f"{header}.{b64url(claims)}.{signature}")


def alg_none(box: MpBox) -> dict[str, Any]:
    return form(raw_jwt({"alg": "none", "kid": KOMMUNE.kid}, box.claims(KOMMUNE, SSG)))


def hs256_with_public_key(box: MpBox) -> dict[str, Any]:
    # The classic key-confusion attack: HMAC keyed with the client's registered public key.
    header, claims = {"alg": "HS256", "typ": "JWT", "kid": KOMMUNE.kid}, box.claims(KOMMUNE, SSG)
    signing_input = f"{b64url(header)}.{b64url(claims)}".encode()
    mac = hmac.new(public_pem(KOMMUNE.key), signing_input, hashlib.sha256).digest()
    return form(f"{signing_input.decode()}.{b64url(mac)}")


def es256(box: MpBox) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    return form(jwt.encode(box.claims(KOMMUNE, SSG), key, algorithm="ES256", headers={"kid": KOMMUNE.kid}))


def x5c_of_other_org(box: MpBox) -> dict[str, Any]:
    cert = certificate("stranger", ORG_STRANGER, T0)
    return form(box.grant(X5C, SSG, key=rsa_key("stranger"), headers={"x5c": x5c_header(cert)}))


def x5c_cert_not_the_signer(box: MpBox) -> dict[str, Any]:
    # The client's own, valid certificate in the header, but the grant is signed by another key.
    return form(box.grant(X5C, SSG, key=rsa_key("attacker")))


def x5c_expired_cert(box: MpBox) -> dict[str, Any]:
    old = T0 - 4 * 365 * 24 * 3600  # issued four years ago, valid for three
    return form(box.grant(X5C, SSG, headers={"x5c": x5c_header(certificate("x5c", X5C.orgnr, old))}))


def embedded_jwk(box: MpBox) -> dict[str, Any]:
    # The header offers the attacker's own public key; only the key registered for the kid counts.
    attacker = rsa_key("attacker")
    header = {"kid": KOMMUNE.kid, "jwk": public_jwk(attacker.public_key(), KOMMUNE.kid)}
    return form(box.grant(KOMMUNE, SSG, key=attacker, headers=header))


def json_body(box: MpBox) -> dict[str, Any]:
    return {"json": {"grant_type": GRANT_TYPE, "assertion": box.grant(KOMMUNE, SSG)}}


@dataclass(frozen=True)
class GrantCase:
    build: Callable[[MpBox], dict[str, Any]]
    error: str
    code: str
    fragment: str
    status: int = 400


AUTH = "Invalid assertion. Client authentication failed. "

GRANT_CASES = [
    pytest.param(GrantCase(lambda b: form(b.grant(aud="http://other-host.test/maskinporten/")),
                           "invalid_grant", "MP-110", AUTH + "Invalid JWT claim aud"), id="aud-wrong-host"),
    pytest.param(GrantCase(lambda b: form(b.grant(aud=b.issuer + "token")),
                           "invalid_grant", "MP-110", AUTH + "Invalid JWT claim aud"), id="aud-token-endpoint"),
    pytest.param(GrantCase(lambda b: form(b.grant(aud=b.issuer.rstrip("/"))),
                           "invalid_grant", "MP-110", AUTH + "Invalid JWT claim aud"),
                 id="aud-without-trailing-slash"),
    pytest.param(GrantCase(lambda b: form(b.grant(aud="https://test.maskinporten.no/")),
                           "invalid_grant", "MP-110", AUTH + "Invalid JWT claim aud"),
                 id="aud-real-test-maskinporten"),
    pytest.param(GrantCase(lambda b: form(b.grant(iat=T0 - 300, exp=T0 - 180)),
                           "invalid_grant", "MP-130", AUTH + "JWT is expired"), id="grant-expired"),
    pytest.param(GrantCase(lambda b: form(b.grant(iat=T0, exp=T0 + 121)),
                           "invalid_grant", "MP-130", "exp - iat must be at most 120 seconds"),
                 id="grant-lifetime-121s"),
    pytest.param(GrantCase(lambda b: form(b.grant(iat=T0 + 11, exp=T0 + 11 + 120)),
                           "invalid_grant", "MP-130", AUTH + "Issue time is after now"),
                 id="iat-11s-in-future"),
    pytest.param(GrantCase(lambda b: form(b.grant(exp=DROP)),
                           "invalid_grant", "MP-130", "Missing or non-numeric claim exp"), id="exp-missing"),
    pytest.param(GrantCase(replayed, "invalid_grant", "MP-012", "Grant is used before"), id="jti-replayed"),
    pytest.param(GrantCase(lambda b: form(b.grant(key=rsa_key("attacker"))),
                           "invalid_grant", "MP-124", AUTH + "Invalid JWT signature"), id="signed-with-wrong-key"),
    pytest.param(GrantCase(tampered, "invalid_grant", "MP-124", AUTH + "Invalid JWT signature"),
                 id="payload-tampered-after-signing"),
    pytest.param(GrantCase(alg_none, "invalid_grant", "MP-011", "Unsupported signing algorithm 'none'"),
                 id="alg-none-unsigned"),
    pytest.param(GrantCase(hs256_with_public_key, "invalid_grant", "MP-011",
                           "Unsupported signing algorithm 'HS256'"), id="hs256-public-key-as-secret"),
    pytest.param(GrantCase(es256, "invalid_grant", "MP-011", "Unsupported signing algorithm 'ES256'"),
                 id="es256"),
    pytest.param(GrantCase(lambda b: form(b.grant(headers={"kid": KOMMUNE.kid, "x5c": X5C.headers(T0)["x5c"]})),
                           "invalid_grant", "MP-120", "x5c is not the one registered under kid"),
                 id="header-kid-and-x5c-of-another-key"),
    pytest.param(GrantCase(lambda b: form(b.grant(headers={"kid": "no-such-kid", "x5c": X5C.headers(T0)["x5c"]})),
                           "invalid_grant", "MP-124", AUTH + "Unknown key identifier (kid) for client"),
                 id="header-unknown-kid-and-x5c"),
    pytest.param(GrantCase(lambda b: form(b.grant(headers={})),
                           "invalid_grant", "MP-011", "One of the headers kid and x5c must be present"),
                 id="header-neither-kid-nor-x5c"),
    pytest.param(GrantCase(lambda b: form(b.grant(X5C, headers={"x5c": X5C.headers(T0)["x5c"][0]})),
                           "invalid_grant", "MP-123", "Invalid JWT header x5c"), id="x5c-string-not-array"),
    pytest.param(GrantCase(lambda b: form(b.grant(X5C, headers={"x5c": ["!!not*base64!!"]})),
                           "invalid_grant", "MP-123", "Failed to extract certificate from jwt"),
                 id="x5c-garbage-base64"),
    pytest.param(GrantCase(lambda b: form(b.grant(X5C, headers={"x5c": [base64.b64encode(b"no cert").decode()]})),
                           "invalid_grant", "MP-123", "Failed to extract certificate from jwt"),
                 id="x5c-base64-not-a-certificate"),
    pytest.param(GrantCase(x5c_of_other_org, "invalid_grant", "MP-122",
                           "Invalid organization number for client. Does not match certificate orgno"),
                 id="x5c-certificate-of-other-org"),
    pytest.param(GrantCase(x5c_cert_not_the_signer, "invalid_grant", "MP-124", AUTH + "Invalid JWT signature"),
                 id="x5c-certificate-not-the-signing-key"),
    pytest.param(GrantCase(x5c_expired_cert, "invalid_grant", "MP-120",
                           AUTH + "The JWT is signed with an invalid certificate. Certificate expired"),
                 id="x5c-certificate-expired"),
    pytest.param(GrantCase(lambda b: form(b.grant(headers=X5C.headers(T0))),
                           "invalid_grant", "MP-120", AUTH + "Invalid JWT. The client requires pre-registered jwk and "
                           "no key identifier (kid) provided"),
                 id="x5c-on-kid-only-client"),
    pytest.param(GrantCase(lambda b: form(b.grant(iss="no-such-client")),
                           "invalid_grant", "MP-100", AUTH + "Client not found"), id="unknown-client-iss"),
    pytest.param(GrantCase(lambda b: form(b.grant(headers={"kid": "no-such-kid"})),
                           "invalid_grant", "MP-124", AUTH + "Unknown key identifier (kid) for client"),
                 id="unknown-kid"),
    pytest.param(GrantCase(lambda b: form(b.grant(KOMMUNE, key=SUPPLIER.key, headers={"kid": SUPPLIER.kid})),
                           "invalid_grant", "MP-124", AUTH + "Unknown key identifier (kid) for client"),
                 id="kid-of-another-client"),
    pytest.param(GrantCase(embedded_jwk, "invalid_grant", "MP-124", AUTH + "Invalid JWT signature"),
                 id="attacker-key-embedded-in-jwk-header"),
    pytest.param(GrantCase(lambda b: form(b.grant(scope=f"{SSG} altinn:serviceowners/read")),
                           "invalid_scope", "MP-200",
                           "Token request contains invalid scopes for client, altinn:serviceowners/read"),
                 id="scope-not-registered"),
    pytest.param(GrantCase(lambda b: form(b.grant(scope="")),
                           "invalid_scope", "MP-200", "Token request contains no scope"), id="scope-empty"),
    pytest.param(GrantCase(lambda b: form(b.grant(SUPPLIER, INNTEKT, consumer_org=ORG_HALF_DELEGATED)),
                           "invalid_scope", "MP-251",
                           f"Consumer {ORG_HALF_DELEGATED} has not delegated access to the scope {INNTEKT} "
                           f"to supplier {SUPPLIER.orgnr}"), id="consumer-org-not-delegated"),
    pytest.param(GrantCase(lambda b: form(b.grant(SUPPLIER, SSG, consumer_org=SUPPLIER.orgnr)),
                           "invalid_request", "MP-011",
                           "The combination consumer_org in claim and delegation scope on client is invalid"),
                 id="consumer-org-is-own-org"),
    pytest.param(GrantCase(lambda b: form(b.grant(resource="https://api.skatteetaten.no/")),
                           "invalid_request", "MP-011", "Invalid assertion. Invalid parameter value resource"),
                 id="resource-as-string"),
    pytest.param(GrantCase(lambda b: form(b.grant(), grant_type="client_credentials"),
                           "unsupported_grant_type", "MP-011", "Invalid grant_type 'client_credentials'"),
                 id="grant-type-wrong"),
    pytest.param(GrantCase(lambda b: {"data": {"grant_type": GRANT_TYPE}},
                           "invalid_request", "MP-011", "Missing parameter assertion"), id="assertion-missing"),
    pytest.param(GrantCase(lambda b: form("this-is-not-a-jwt"),
                           "invalid_request", "MP-011", "Invalid assertion. Invalid parameter value"),
                 id="assertion-not-a-jwt"),
    pytest.param(GrantCase(json_body, "invalid_request", "MP-011",
                           "Content-Type must be application/x-www-form-urlencoded"), id="json-body-not-form"),
]


@pytest.mark.parametrize("case", GRANT_CASES)
def test_refused_grant(box: MpBox, case: GrantCase) -> None:
    r = box.client.post(TOKEN_PATH, **case.build(box))

    assert r.status_code == case.status, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert set(body) == {"error", "error_description", "error_uri"}, body
    assert "access_token" not in r.text
    assert body["error"] == case.error
    assert body["error_uri"] == f"{box.issuer}errors/{case.code}"
    assert body["error_uri"].endswith(f"errors/{case.code}")
    assert case.fragment in body["error_description"], body["error_description"]
    assert TRACE_ID.search(body["error_description"]), body["error_description"]


def test_trace_ids_differ_per_answer(box: MpBox) -> None:
    a, b = (box.post_grant("not-a-jwt").json()["error_description"] for _ in range(2))
    assert a != b


def test_refused_grant_does_not_burn_the_jti(box: MpBox) -> None:
    """A forged grant that reuses a real grant's jti must not lock the real client out."""
    jti = str(uuid.uuid4())
    forged = box.post_grant(box.grant(KOMMUNE, SSG, key=rsa_key("attacker"), jti=jti))
    assert forged.json()["error_uri"].endswith("MP-124")
    assert box.post_grant(box.grant(KOMMUNE, SSG, jti=jti)).status_code == 200


# --- the API side: bearer tokens given to Summert skattegrunnlag and Inntekt ------------------------


def access_claims(box: MpBox, **overrides: Any) -> dict[str, Any]:
    """The claims of a well-formed sandbox access token for KOMMUNE."""
    now = box.now()
    claims = {"iss": box.issuer, "client_amr": "private_key_jwt", "token_type": "Bearer",
              "client_id": KOMMUNE.client_id, "aud": "unspecified", "scope": BOTH,
              "consumer": org(KOMMUNE.orgnr), "iat": now, "exp": now + 120, "jti": b64url(uuid.uuid4().bytes * 2)}
    claims.update(overrides)
    return claims


def sandbox_signed(box: MpBox, **overrides: Any) -> str:
    key = box.sandbox.keys.active
    return jwt.encode(access_claims(box, **overrides), key.private, algorithm="RS256",
                      headers={"kid": key.kid, "typ": None})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def foreign_issuer(box: MpBox) -> dict[str, str]:
    return bearer(jwt.encode(access_claims(box), pem(rsa_key("foreign-issuer")), algorithm="RS256",
                             headers={"kid": "foreign-issuer-key"}))


def expired_token(box: MpBox) -> dict[str, str]:
    token = box.token(KOMMUNE, BOTH)
    box.clock.advance(121)
    return bearer(token)


def alg_none_token(box: MpBox) -> dict[str, str]:
    return bearer(raw_jwt({"alg": "none", "kid": box.sandbox.keys.active.kid}, access_claims(box)))


def hs256_token(box: MpBox) -> dict[str, str]:
    key = box.sandbox.keys.active
    header = {"alg": "HS256", "kid": key.kid}
    signing_input = f"{b64url(header)}.{b64url(access_claims(box))}".encode()
    secret = public_pem(key.private)
    return bearer(f"{signing_input.decode()}.{b64url(hmac.new(secret, signing_input, hashlib.sha256).digest())}")


URLS = {"SSG": SSG_URL, "IM": INNTEKT_URL}

API_ROWS: list[tuple[str, Callable[[MpBox], dict[str, str]], int, str, str, tuple[str, ...]]] = [
    ("foreign-issuer-key", foreign_issuer, 401, "004", "ukjent kid", ("SSG", "IM")),
    ("sandbox-key-wrong-iss", lambda b: bearer(sandbox_signed(b, iss="https://test.maskinporten.no/")),
     401, "004", "annen utsteder enn Maskinporten", ("SSG", "IM")),
    ("access-token-expired", expired_token, 401, "004", "tokenet er utløpt", ("SSG", "IM")),
    ("inntekt-scope-only", lambda b: bearer(b.token(KOMMUNE, INNTEKT)), 403, "005",
     "Tokenet mangler scope", ("SSG",)),
    ("ssg-scope-only", lambda b: bearer(b.token(KOMMUNE, SSG)), 403, "005",
     f"Tokenet mangler scope {INNTEKT}", ("IM",)),
    ("consumer-without-rettighetspakke", lambda b: bearer(b.token(UNGRANTED, BOTH)), 403, "005",
     f"Virksomheten {UNGRANTED.orgnr} har ikke tilgang til rettighetspakken kommuneboligsosialeformaal",
     ("SSG", "IM")),
    ("audience-restricted", lambda b: bearer(b.token(KOMMUNE, BOTH, resource=["https://api.skatteetaten.no/"])),
     401, "004", "begrenset til en annen ressurs (aud)", ("SSG", "IM")),
    ("authorization-missing", lambda b: {}, 401, "004", "Mangler Authorization: Bearer", ("SSG", "IM")),
    ("authorization-basic",
     lambda b: {"Authorization": "Basic " + base64.b64encode(f"{KOMMUNE.client_id}:hemmelig".encode()).decode()},
     401, "004", "Mangler Authorization: Bearer", ("SSG", "IM")),
    ("bearer-empty", lambda b: {"Authorization": "Bearer "}, 401, "004", "Mangler Authorization: Bearer",
     ("SSG",)),
    ("bearer-not-a-jwt", lambda b: bearer("not-a-jwt"), 401, "004", "ikke en gyldig JWT", ("SSG", "IM")),
    ("grant-used-as-token", lambda b: bearer(b.grant(KOMMUNE, BOTH)), 401, "004", "ukjent kid", ("SSG", "IM")),
    ("alg-none-sandbox-kid", alg_none_token, 401, "004", "kunne ikke valideres", ("SSG", "IM")),
    ("hs256-jwks-public-key-as-secret", hs256_token, 401, "004", "kunne ikke valideres", ("SSG", "IM")),
]

API_CASES = [
    pytest.param(api, build, status, f"{api}-{number}", fragment, id=f"{api.lower()}-{name}")
    for name, build, status, number, fragment, apis in API_ROWS
    for api in apis
]


@pytest.mark.parametrize(("api", "build", "status", "kode", "fragment"), API_CASES)
def test_refused_bearer_token(box: MpBox, api: str, build, status: int, kode: str, fragment: str) -> None:
    r = box.client.get(URLS[api], headers=build(box))
    body = assert_ske_error(r, status, kode, fragment)
    assert r.headers["korrelasjonsid"] == body["korrelasjonsid"]
    assert not {"grunnlag", "personidentifikator", "inntektsaar", "oppgaveInntektsmottaker"} & set(body)


def test_well_formed_sandbox_token_is_accepted(box: MpBox) -> None:
    """The forged-token rows above differ from an accepted token in one thing only."""
    assert box.client.get(SSG_URL, headers=bearer(sandbox_signed(box))).status_code == 200
    assert box.client.get(INNTEKT_URL, headers=bearer(sandbox_signed(box))).status_code == 200
