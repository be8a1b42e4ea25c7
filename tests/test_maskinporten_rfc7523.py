"""Generic clients that are not the sandbox's own code: Authlib's RFC 7523 JWT-bearer implementation
and a PyJWT x5c client obtain tokens from the sandbox and read both APIs; joserfc verifies the token
from the published metadata and JWKS the way an API owner would."""

from __future__ import annotations

import json
import time
import uuid
import warnings
from pathlib import Path

import httpx
import jwt
import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet, RSAKey
from mp_helpers import (
    BASE_URL,
    BOTH,
    GRANT_TYPE,
    INNTEKT_URL,
    ISSUER,
    KOMMUNE,
    SSG,
    SSG_URL,
    X5C,
    MpBox,
    assert_inntekt_data,
    assert_ssg_data,
    b64url_decode,
    make_settings,
    pem,
    write_clients_file,
)

from mockserver.clock import Clock
from mockserver.maskinporten.clientgen import x5c_header

with warnings.catch_warnings():  # Authlib prefers httpx2 and warns when it falls back to httpx
    import authlib.deprecate  # noqa: F401  (sets its own "always" filter, which the next line overrides)

    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import AssertionClient, OAuthError
    from authlib.oauth2.rfc7523 import JWTBearerGrant


@pytest.fixture
def box(tmp_path: Path) -> MpBox:
    # Client libraries stamp iat/exp from the real time, so this sandbox runs on the wall clock.
    return MpBox(make_settings(write_clients_file(tmp_path), clock=Clock()))


class Into:
    """An httpx transport that hands every request to the in-process sandbox, and counts them."""

    def __init__(self, box: MpBox) -> None:
        self.box = box
        self.paths: list[str] = []

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            self.paths.append(request.url.path)
            r = self.box.client.request(request.method, str(request.url), headers=request.headers,
                                        content=request.read())
            return httpx.Response(r.status_code, headers=r.headers, content=r.content)

        return httpx.MockTransport(handle)


def discovery(http: httpx.Client) -> dict:
    doc = http.get(f"{BASE_URL}/maskinporten/.well-known/oauth-authorization-server").json()
    assert doc["issuer"] == ISSUER
    return doc


def parts(token: str) -> tuple[dict, dict]:
    header, payload, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def authlib_key() -> RSAKey:
    return RSAKey.import_key(pem(KOMMUNE.key))


def test_authlib_jwt_bearer_grant_gets_a_token_for_both_apis(box: MpBox) -> None:
    with httpx.Client(transport=Into(box).transport()) as http:
        meta = discovery(http)
        assertion = JWTBearerGrant.sign(
            key=authlib_key(), issuer=KOMMUNE.client_id, audience=meta["issuer"],
            claims={"scope": BOTH}, header={"alg": "RS256", "kid": KOMMUNE.kid}, expires_in=120,
        )
        assertion = assertion.decode() if isinstance(assertion, bytes) else assertion
        header, claims = parts(assertion)
        # The grant is the library's own: its header, its iat/exp/jti, our scope claim.
        assert header["alg"] == "RS256" and header["kid"] == KOMMUNE.kid and "x5c" not in header
        assert claims["iss"] == KOMMUNE.client_id and claims["aud"] == ISSUER and claims["scope"] == BOTH
        assert claims["exp"] - claims["iat"] == 120 and claims["jti"]

        r = http.post(meta["token_endpoint"], data={"grant_type": GRANT_TYPE, "assertion": assertion})
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert_ssg_data(http.get(BASE_URL + SSG_URL, headers=auth))
        assert_inntekt_data(http.get(BASE_URL + INNTEKT_URL, headers=auth))


def test_authlib_default_lifetime_is_refused_as_maskinporten_does(box: MpBox) -> None:
    """Authlib signs grants valid for an hour unless told otherwise; Maskinporten allows 120 s."""
    assertion = JWTBearerGrant.sign(key=authlib_key(), issuer=KOMMUNE.client_id, audience=ISSUER,
                                    claims={"scope": SSG}, header={"alg": "RS256", "kid": KOMMUNE.kid})
    r = box.post_grant(assertion.decode() if isinstance(assertion, bytes) else assertion)
    assert r.status_code == 400
    assert r.json()["error_uri"].endswith("errors/MP-130")


def test_authlib_assertion_client_calls_both_apis(box: MpBox) -> None:
    into = Into(box)
    with httpx.Client(transport=into.transport()) as http:
        meta = discovery(http)
    with AssertionClient(
        token_endpoint=meta["token_endpoint"], issuer=KOMMUNE.client_id, subject=KOMMUNE.client_id,
        audience=meta["issuer"], claims={"scope": BOTH}, key=authlib_key(),
        header={"alg": "RS256", "kid": KOMMUNE.kid}, expires_in=120, transport=into.transport(),
    ) as client:
        assert_ssg_data(client.get(BASE_URL + SSG_URL))
        assert_inntekt_data(client.get(BASE_URL + INNTEKT_URL))
        assert client.token["token_type"] == "Bearer" and client.token["expires_in"] == 120
        claims = jwt.decode(client.token["access_token"], options={"verify_signature": False})
        assert claims["client_id"] == KOMMUNE.client_id and claims["aud"] == "unspecified"
    # One token for both calls.
    assert into.paths.count("/maskinporten/token") == 1
    assert into.paths[-2:] == [SSG_URL.split("?")[0], INNTEKT_URL.split("?")[0]]


def test_authlib_surfaces_a_replayed_grant_as_oauth_error(box: MpBox) -> None:
    into = Into(box)
    with AssertionClient(
        token_endpoint=f"{ISSUER}token", issuer=KOMMUNE.client_id, subject=None, audience=ISSUER,
        claims={"scope": SSG, "jti": str(uuid.uuid4())}, key=authlib_key(),
        header={"alg": "RS256", "kid": KOMMUNE.kid}, expires_in=120, transport=into.transport(),
    ) as client:
        client.refresh_token()
        with pytest.raises(OAuthError) as err:
            client.refresh_token()
    assert err.value.error == "invalid_grant"
    assert err.value.description.startswith("Grant is used before (trace_id: ")


def test_api_owner_verifies_the_token_with_joserfc(box: MpBox) -> None:
    token = box.token(KOMMUNE, SSG)
    with httpx.Client(transport=Into(box).transport()) as http:
        meta = discovery(http)
        keys = KeySet.import_key_set(http.get(meta["jwks_uri"]).json())
    decoded = jose_jwt.decode(token, keys, algorithms=["RS256"])
    jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": meta["issuer"]},
        exp={"essential": True},
        scope={"essential": True, "value": SSG},
        consumer={"essential": True},
    ).validate(decoded.claims)
    assert decoded.header["kid"] in {k.kid for k in keys.keys}


def test_pyjwt_x5c_client_reads_both_apis(box: MpBox) -> None:
    now = int(time.time())
    cert = X5C.certificate(now)
    grant = jwt.encode(
        {"aud": ISSUER, "iss": X5C.client_id, "scope": BOTH, "iat": now, "exp": now + 120,
         "jti": str(uuid.uuid4())},
        pem(X5C.key), algorithm="RS256", headers={"x5c": x5c_header(cert)},
    )
    header, _ = parts(grant)
    assert isinstance(header["x5c"], list) and "kid" not in header
    with httpx.Client(transport=Into(box).transport()) as http:
        r = http.post(f"{ISSUER}token", data={"grant_type": GRANT_TYPE, "assertion": grant})
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        assert jwt.decode(token, options={"verify_signature": False})["client_amr"] == "virksomhetssertifikat"
        auth = {"Authorization": f"Bearer {token}"}
        assert_ssg_data(http.get(BASE_URL + SSG_URL, headers=auth))
        assert_inntekt_data(http.get(BASE_URL + INNTEKT_URL, headers=auth))
