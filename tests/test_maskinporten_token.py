"""The access token Maskinporten hands out for a good grant: its header, its claims, its lifetime,
delegation and audience restriction, the discovery document and the signing keys behind it."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import jwt
import pytest
from mp_helpers import (
    BASE_URL,
    BOTH,
    GRANT_TYPE,
    INNTEKT,
    INNTEKT_URL,
    ISSUER,
    JTI,
    KOMMUNE,
    ORG_DELEGATED,
    ORG_HALF_DELEGATED,
    SHORT_LIFETIME,
    SHORT_LIVED,
    SSG,
    SSG_URL,
    SUPPLIER,
    T0,
    TOKEN_PATH,
    X5C,
    MpBox,
    assert_inntekt_data,
    assert_ske_error,
    assert_ssg_data,
    b64url_decode,
    make_settings,
    write_clients_file,
)

CONSUMER_AUTHORITY = "iso6523-actorid-upis"


@pytest.fixture
def clients_file(tmp_path):
    return write_clients_file(tmp_path)


@pytest.fixture
def box(clients_file) -> MpBox:
    return MpBox(make_settings(clients_file))


def header_of(token: str) -> dict:
    return json.loads(b64url_decode(token.split(".")[0]))


def verified_claims(box: MpBox, token: str, path: str = "/maskinporten/jwk") -> dict:
    """Verify the token the way an API owner does: key from the published JWKS by kid."""
    jwks = jwt.PyJWKSet.from_dict(box.client.get(path).json())
    key = next(k for k in jwks.keys if k.key_id == header_of(token)["kid"])
    return jwt.decode(token, key.key, algorithms=["RS256"], issuer=ISSUER, audience="unspecified",
                      options={"verify_exp": False, "verify_iat": False})


def test_token_response_fields(box: MpBox) -> None:
    r = box.post_grant(box.grant(KOMMUNE, SSG))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 120
    assert body["scope"] == SSG


@pytest.mark.parametrize("path", ["/maskinporten/jwk", "/maskinporten/jwks"])
def test_token_header_is_kid_and_alg_and_kid_is_published(box: MpBox, path: str) -> None:
    token = box.token(KOMMUNE, SSG)
    header = header_of(token)
    assert header == {"kid": header["kid"], "alg": "RS256"}
    jwks = box.client.get(path).json()
    assert header["kid"] in {k["kid"] for k in jwks["keys"]}
    for k in jwks["keys"]:
        assert k["kty"] == "RSA" and k["use"] == "sig" and k["alg"] == "RS256"
        assert "d" not in k and "p" not in k  # public halves only
    assert verified_claims(box, token, path)["client_id"] == KOMMUNE.client_id


def test_kid_client_token_claims(box: MpBox) -> None:
    claims = verified_claims(box, box.token(KOMMUNE, BOTH))
    assert set(claims) == {"iss", "client_amr", "token_type", "client_id", "aud", "scope", "consumer",
                           "iat", "exp", "jti"}
    assert claims["iss"] == ISSUER and claims["iss"].endswith("/")
    assert claims["client_amr"] == "private_key_jwt"
    assert claims["token_type"] == "Bearer"
    assert claims["client_id"] == KOMMUNE.client_id
    assert claims["aud"] == "unspecified"
    assert claims["scope"] == BOTH
    assert claims["consumer"] == {"authority": CONSUMER_AUTHORITY, "ID": f"0192:{KOMMUNE.orgnr}"}
    assert claims["iat"] == T0
    assert claims["exp"] == T0 + 120
    assert JTI.fullmatch(claims["jti"])
    assert "supplier" not in claims and "delegation_source" not in claims


def test_x5c_client_token_is_virksomhetssertifikat(box: MpBox) -> None:
    claims = verified_claims(box, box.token(X5C, SSG))
    assert claims["client_amr"] == "virksomhetssertifikat"
    assert claims["client_id"] == X5C.client_id
    assert claims["consumer"] == {"authority": CONSUMER_AUTHORITY, "ID": f"0192:{X5C.orgnr}"}


def test_every_token_has_its_own_jti(box: MpBox) -> None:
    jtis = {verified_claims(box, box.token(KOMMUNE, SSG))["jti"] for _ in range(5)}
    assert len(jtis) == 5 and all(JTI.fullmatch(j) for j in jtis)


def test_client_access_token_lifetime_is_honoured(box: MpBox) -> None:
    body = box.token_response(SHORT_LIVED, SSG)
    assert body["expires_in"] == SHORT_LIFETIME
    claims = verified_claims(box, body["access_token"])
    assert claims["exp"] - claims["iat"] == SHORT_LIFETIME
    box.clock.advance(SHORT_LIFETIME - 1)
    assert box.api(SSG_URL, body["access_token"]).status_code == 200
    box.clock.advance(1)
    assert_ske_error(box.api(SSG_URL, body["access_token"]), 401, "SSG-004", "utløpt")


def test_delegated_token_names_consumer_and_supplier(box: MpBox) -> None:
    token = box.token(SUPPLIER, BOTH, consumer_org=ORG_DELEGATED)
    claims = verified_claims(box, token)
    assert claims["consumer"] == {"authority": CONSUMER_AUTHORITY, "ID": f"0192:{ORG_DELEGATED}"}
    assert claims["supplier"] == {"authority": CONSUMER_AUTHORITY, "ID": f"0192:{SUPPLIER.orgnr}"}
    assert claims["delegation_source"] == "https://tt02.altinn.no/"
    assert claims["client_id"] == SUPPLIER.client_id
    assert claims["scope"] == BOTH


def test_delegated_token_reads_the_municipality_data_from_both_apis(box: MpBox) -> None:
    # The vendor's own org has no rettighetspakke; the municipality it acts for has.
    token = box.token(SUPPLIER, BOTH, consumer_org=ORG_DELEGATED)
    assert_ssg_data(box.api(SSG_URL, token))
    assert_inntekt_data(box.api(INNTEKT_URL, token))
    own = box.token(SUPPLIER, BOTH)
    assert_ske_error(box.api(SSG_URL, own), 403, "SSG-005", "har ikke tilgang til rettighetspakken")


def test_partly_delegated_consumer_gets_the_delegated_scope_only(box: MpBox) -> None:
    token = box.token(SUPPLIER, SSG, consumer_org=ORG_HALF_DELEGATED)
    assert_ssg_data(box.api(SSG_URL, token))
    assert_ske_error(box.api(INNTEKT_URL, token), 403, "IM-005", f"Tokenet mangler scope {INNTEKT}")


@pytest.mark.parametrize(
    ("resource", "aud"),
    [
        pytest.param(["https://api.example.no/skatt"], "https://api.example.no/skatt", id="one-resource"),
        pytest.param(["https://a.example.no/", "https://b.example.no/"],
                     ["https://a.example.no/", "https://b.example.no/"], id="two-resources"),
    ],
)
def test_resource_restricts_the_audience(box: MpBox, resource, aud) -> None:
    token = box.token(KOMMUNE, SSG, resource=resource)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == aud


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"sub": KOMMUNE.client_id}, id="sub-as-client-id"),
        pytest.param({"sub": 12345}, id="sub-not-a-string"),
        pytest.param({"pid_hint": "x", "x-vendor": {"trace": [1, 2]}}, id="unknown-claims"),
        pytest.param({"jti": 987654321}, id="jti-a-number"),
        pytest.param({"jti": None}, id="jti-null"),
    ],
)
def test_extra_claims_are_tolerated(box: MpBox, extra: dict) -> None:
    r = box.post_grant(box.grant(KOMMUNE, SSG, **extra))
    assert r.status_code == 200, r.text


def test_numeric_jti_is_still_single_use(box: MpBox) -> None:
    assert box.post_grant(box.grant(KOMMUNE, SSG, jti=4711)).status_code == 200
    again = box.post_grant(box.grant(KOMMUNE, SSG, jti=4711))
    assert again.status_code == 400 and again.json()["error_uri"].endswith("errors/MP-012")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"kid": KOMMUNE.kid}, id="with-typ"),  # PyJWT adds typ: JWT
        pytest.param({"kid": KOMMUNE.kid, "typ": None}, id="without-typ"),
        pytest.param({"kid": KOMMUNE.kid, "typ": "at+jwt"}, id="other-typ"),
    ],
)
def test_typ_header_is_optional(box: MpBox, headers: dict) -> None:
    assertion = box.grant(KOMMUNE, SSG, headers=headers)
    assert ("typ" in header_of(assertion)) == (headers.get("typ", "JWT") is not None)
    assert box.post_grant(assertion).status_code == 200


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
@pytest.mark.parametrize("client", [KOMMUNE, X5C], ids=["kid", "x5c"])
def test_rsa_algorithms_are_accepted(box: MpBox, alg: str, client) -> None:
    assertion = box.grant(client, SSG, alg=alg)
    assert header_of(assertion)["alg"] == alg
    r = box.post_grant(assertion)
    assert r.status_code == 200, r.text


def test_grant_at_the_edges_of_the_rules_is_accepted(box: MpBox) -> None:
    # exp - iat exactly 120, iat 10 s ahead (the documented skew), aud as a one-element array.
    assert box.post_grant(box.grant(KOMMUNE, SSG, iat=T0 + 10, exp=T0 + 130)).status_code == 200
    assert box.post_grant(box.grant(KOMMUNE, SSG, iat=T0, exp=T0 + 10)).status_code == 200
    assert box.post_grant(box.grant(KOMMUNE, SSG, aud=[ISSUER])).status_code == 200


def test_form_with_charset_parameter_is_accepted(box: MpBox) -> None:
    # Java HTTP clients send `application/x-www-form-urlencoded;charset=UTF-8`.
    body = urlencode({"grant_type": GRANT_TYPE, "assertion": box.grant(KOMMUNE, SSG)})
    r = box.client.post(TOKEN_PATH, content=body,
                        headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("path", ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"])
def test_discovery_document(box: MpBox, path: str) -> None:
    r = box.client.get(f"/maskinporten{path}")
    assert r.status_code == 200
    doc = r.json()
    assert doc["issuer"] == ISSUER
    assert doc["token_endpoint"] == f"{ISSUER}token"
    assert doc["jwks_uri"] == f"{ISSUER}jwk" and doc["jwks_uri"].endswith("/jwk")
    assert "authorization_endpoint" not in doc
    assert doc["grant_types_supported"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert doc["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert doc["token_endpoint_auth_signing_alg_values_supported"] == ["RS256", "RS384", "RS512"]
    # The advertised endpoints are the ones that answer.
    assert doc["token_endpoint"].removeprefix(BASE_URL) == TOKEN_PATH
    keys = box.client.get(doc["jwks_uri"].removeprefix(BASE_URL)).json()["keys"]
    assert keys


def test_token_endpoint_is_post_only(box: MpBox) -> None:
    r = box.client.get(TOKEN_PATH)
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"
    assert "access_token" not in r.text


def test_replicas_with_the_same_seed_accept_each_others_tokens(clients_file) -> None:
    a = MpBox(make_settings(clients_file, seed=7))
    b = MpBox(make_settings(clients_file, seed=7))
    other = MpBox(make_settings(clients_file, seed=8))
    token = a.token(KOMMUNE, BOTH)
    assert_ssg_data(b.api(SSG_URL, token))
    assert_inntekt_data(b.api(INNTEKT_URL, token))
    assert a.client.get("/maskinporten/jwk").json() == b.client.get("/maskinporten/jwk").json()
    assert_ske_error(other.api(SSG_URL, token), 401, "SSG-004", "ukjent kid")
    assert_ske_error(other.api(INNTEKT_URL, token), 401, "IM-004", "ukjent kid")


def test_rotate_keys_publishes_two_keys_and_signs_with_the_first(clients_file) -> None:
    box = MpBox(make_settings(clients_file, rotate_keys=True))
    keys = box.client.get("/maskinporten/jwk").json()["keys"]
    assert len(keys) == 2 and keys[0]["kid"] != keys[1]["kid"]
    token = box.token(KOMMUNE, SSG)
    assert header_of(token)["kid"] == keys[0]["kid"]
    assert_ssg_data(box.api(SSG_URL, token))
    # A replica that has not rotated yet still knows the key in use.
    plain = MpBox(make_settings(clients_file))
    assert [k["kid"] for k in plain.client.get("/maskinporten/jwk").json()["keys"]] == [keys[0]["kid"]]
    assert_ssg_data(plain.api(SSG_URL, token))


def test_token_for_kid_client_reads_both_apis(box: MpBox) -> None:
    token = box.token(KOMMUNE, BOTH)
    assert_ssg_data(box.api(SSG_URL, token))
    assert_inntekt_data(box.api(INNTEKT_URL, token))
