"""Odd and hostile inputs: each gets a documented error in the API's own format, never a 5xx."""

from __future__ import annotations

import time
import uuid
import xml.etree.ElementTree as ET

import jwt
import pytest

PAKKE = "kommuneboligsosialeformaal"
SSG = f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}"
IM = f"/inntekt/v1/{PAKKE}/15838512671/inntekter"


@pytest.fixture
def auth(ske_sandbox):
    return {"Authorization": f"Bearer {ske_sandbox.token()}"}


@pytest.mark.parametrize("path,status,kode", [
    (f"{SSG}/202%C2%B2/15838512671", 400, "SSG-006"),                      # superscript digit in the year
    (f"{SSG}/%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%95/15838512671", 400, "SSG-006"),  # full-width year
    (f"{SSG}/2024/%EF%BC%915838512671", 400, "SSG-006"),                   # full-width digit in the number
    ("/summertskattegrunnlag/v2/oppgjoer/%00/2024/15838512671", 400, "SSG-006"),
    ("/summertskattegrunnlag/v2/oppgjoer/a/2024/15838512671", 400, "SSG-006"),
    (f"{IM}?fraOgMed=9999-12", 400, "IM-006"),
    (f"{IM}?fraOgMed=%D9%A2%D9%A0%D9%A2%D9%A6-01", 400, "IM-006"),          # Arabic-Indic digits
    ("/summertskattegrunnlagX/v2", 404, None),
])
def test_odd_path_and_query_values(ske_sandbox, auth, path, status, kode):
    r = ske_sandbox.client.get(path, headers=auth)
    assert r.status_code == status
    if kode:
        assert r.json()["kode"] == kode


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "POST", "DELETE"])
def test_other_methods_get_the_api_error_body(ske_sandbox, auth, method):
    r = ske_sandbox.client.request(method, f"{SSG}/2024/15838512671", headers=auth)
    assert r.status_code == 404
    assert r.json()["kode"] == "SSG-003"


def test_control_characters_never_break_xml(ske_sandbox, auth):
    r = ske_sandbox.client.get("/summertskattegrunnlag/v3/%01%0B", headers={**auth, "Accept": "application/xml"})
    assert r.status_code == 404
    assert ET.fromstring(r.content).find("{urn:no:skatteetaten:datasamarbeid:feil:v1}kode").text == "SSG-003"


@pytest.mark.parametrize("accept,expected", [
    ("application/json;q=0, */*", "application/xml"),
    ("text/*", "application/xml"),
    ("application/json;q=abc", "application/json"),
    ("application/xml;q=0.9, application/json;q=1e400", "application/json"),
    (", application/xml", "application/xml"),
])
def test_accept_edge_cases(ske_sandbox, auth, accept, expected):
    r = ske_sandbox.client.get(f"{SSG}/2024/15838512671", headers={**auth, "Accept": accept})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(expected)


def _signed(box, **claims) -> str:
    key = box.sandbox.keys.active
    now = int(time.time())
    body = {"iss": box.sandbox.issuer, "scope": "skatteetaten:summertskattegrunnlag skatteetaten:inntekt",
            "consumer": {"authority": "iso6523-actorid-upis", "ID": f"0192:{box.demo_client.orgnr}"},
            "iat": now, "exp": now + 60, "aud": "unspecified"}
    body.update(claims)
    return jwt.encode(body, key.private, algorithm="RS256", headers={"kid": key.kid})


@pytest.mark.parametrize("claims", [
    {"exp": float("nan")}, {"exp": float("inf")}, {"iat": "abc"}, {"iat": int(time.time()) + 10**9},
    {"consumer": {"authority": "iso6523-actorid-upis", "ID": "0192:"}},
    {"consumer": {"authority": "iso6523-actorid-upis", "ID": "0192:abc"}},
], ids=["exp-nan", "exp-inf", "iat-text", "iat-future", "consumer-empty", "consumer-letters"])
def test_malformed_access_tokens_are_refused(ske_sandbox, claims):
    token = _signed(ske_sandbox, **claims)
    r = ske_sandbox.client.get("/sistetilgjengeligeskatteoppgjoer/v1/15838512671",
                               headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.json()["kode"] == "TD-002"


def _grant(box, **claims) -> str:
    now = int(time.time())
    body = {"aud": box.sandbox.issuer, "iss": box.demo_client.client_id, "scope": "skatteetaten:inntekt",
            "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
    body.update(claims)
    return jwt.encode(body, box.demo_client.private_key_pem, algorithm="RS256", headers={"kid": box.demo_client.kid})


@pytest.mark.parametrize("claims,error,code", [
    ({"exp": float("nan")}, "invalid_grant", "MP-130"),
    ({"iat": float("nan")}, "invalid_grant", "MP-130"),
    ({"scope": ["skatteetaten:inntekt"]}, "invalid_request", "MP-011"),
    ({"scope": None}, "invalid_request", "MP-011"),
    ({"consumer_org": "\uff13\uff11\uff10\uff10\uff10\uff10\uff10\uff10\uff10"}, "invalid_request", "MP-011"),
], ids=["exp-nan", "iat-nan", "scope-list", "scope-null", "consumer-org-fullwidth"])
def test_malformed_grants_are_refused(ske_sandbox, claims, error, code):
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": _grant(ske_sandbox, **claims)}
    r = ske_sandbox.client.post("/maskinporten/token", data=form)
    assert r.status_code == 400
    assert r.json()["error"] == error
    assert r.json()["error_uri"].endswith(code)
    assert "access_token" not in r.json()


def test_repeated_form_fields_are_refused(ske_sandbox):
    grant = _grant(ske_sandbox)
    body = f"grant_type=foo&grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion={grant}"
    r = ske_sandbox.client.post("/maskinporten/token", content=body,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


def test_control_api_bad_contract_names(ske_sandbox):
    assert ske_sandbox.client.get("/__sandbox/contracts/" + "a" * 5000 + ".yaml").status_code == 404
    assert ske_sandbox.client.get("/__sandbox/contracts/..%2Fpyproject.toml").status_code == 404
    assert ske_sandbox.client.get("/__sandbox/contracts/inntekt.yaml").status_code == 200


def test_search_that_matches_nobody_is_bounded(ske_sandbox):
    r = ske_sandbox.client.get("/__sandbox/people", params={"search": "zzzz-nobody"})
    assert r.status_code == 200 and r.json() == []
