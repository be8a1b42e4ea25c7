"""The kit routes the real hostnames into the in-process app, for every kind of client, and answers as the
environment the client called; every other host is left alone."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest
import requests

from mockserver.environments import PROD, TEST

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
KARI = "15838512671"
SSG_URL = f"https://summertskattegrunnlag.api.skatteetaten-test.no/v2/oppgjoer/kommuneboligsosialeformaal/2025/{KARI}"
IM_URL = f"https://inntekt.api.skatteetaten-test.no/v1/kommuneboligsosialeformaal/{KARI}/inntekter"
SISTE_URL = f"https://sistetilgjengeligeskatteoppgjoer.api.skatteetaten-test.no/v1/{KARI}"


def vendor_grant(kit, aud: str = TEST.issuer, lifetime: int = 120, **extra) -> str:
    """A grant made the way a vendor's client makes it: its own code, the demo client's key."""
    demo, now = kit.demo_client, int(time.time())
    claims = {"aud": aud, "iss": demo.client_id, "scope": " ".join(demo.scopes), "iat": now, "exp": now + lifetime,
              "jti": str(uuid.uuid4()), **extra}
    return jwt.encode(claims, demo.private_key_pem, algorithm="RS256", headers={"kid": demo.kid})


def sync_token(kit, http: httpx.Client, issuer: str = TEST.issuer) -> str:
    r = http.post(f"{issuer}token", data={"grant_type": GRANT_TYPE, "assertion": vendor_grant(kit, issuer)})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_a_sync_httpx_client_created_in_the_code_under_test_reaches_the_sandbox(ske_sandbox):
    with httpx.Client() as http:
        token = sync_token(ske_sandbox, http)
        r = http.get(SSG_URL, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert r.json()["personidentifikator"] == KARI
    assert jwt.decode(token, options={"verify_signature": False})["iss"] == "https://test.maskinporten.no/"
    ske_sandbox.assert_requests_conform()


def test_an_async_client_runs_concurrent_calls(ske_sandbox):
    async def flow() -> list[int]:
        async with httpx.AsyncClient() as http:
            grant = vendor_grant(ske_sandbox)
            r = await http.post(f"{TEST.issuer}token", data={"grant_type": GRANT_TYPE, "assertion": grant})
            h = {"Authorization": f"Bearer {r.json()['access_token']}"}
            answers = await asyncio.gather(
                http.get(SSG_URL, headers=h), http.get(SISTE_URL, headers=h),
                http.get(IM_URL, params={"fraOgMed": "2026-08", "tilOgMed": "2026-10"}, headers=h))
            return [a.status_code for a in answers]

    assert asyncio.run(flow()) == [200, 200, 200]
    assert len(ske_sandbox.journal) == 4
    ske_sandbox.assert_requests_conform()


def test_a_requests_client_is_routed_too(ske_sandbox):
    grant = vendor_grant(ske_sandbox)
    token = requests.post(f"{TEST.issuer}token", data={"grant_type": GRANT_TYPE, "assertion": grant}).json()
    r = requests.get(SISTE_URL, headers={"Authorization": f"Bearer {token['access_token']}",
                                         "Accept": "application/xml"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/xml")
    assert "<sisteTilgjengeligePeriode>" in r.text
    ske_sandbox.assert_requests_conform()


def test_discovery_jwks_and_errors_speak_as_the_real_test_environment(ske_sandbox):
    meta = httpx.get("https://test.maskinporten.no/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == "https://test.maskinporten.no/"
    assert meta["token_endpoint"] == "https://test.maskinporten.no/token"
    assert meta["jwks_uri"] == "https://test.maskinporten.no/jwk"
    assert httpx.get(meta["jwks_uri"]).json()["keys"]
    r = httpx.post("https://test.maskinporten.no/token", data={
        "grant_type": GRANT_TYPE, "assertion": vendor_grant(ske_sandbox, aud="http://ske-sandbox.test/maskinporten/")})
    assert r.status_code == 400
    assert r.json()["error_uri"] == "https://test.maskinporten.no/errors/MP-110"


def test_production_hostnames_answer_as_production(ske_sandbox):
    with httpx.Client() as http:
        token = sync_token(ske_sandbox, http, PROD.issuer)
        assert jwt.decode(token, options={"verify_signature": False})["iss"] == "https://maskinporten.no/"
        prod = SSG_URL.replace("skatteetaten-test.no", "skatteetaten.no")
        assert http.get(prod, headers={"Authorization": f"Bearer {token}"}).status_code == 200
        # a production token is no good in the test environment, as with the real services
        r = http.get(SSG_URL, headers={"Authorization": f"Bearer {token}"})
    assert (r.status_code, r.json()["kode"]) == (401, "SSG-004")


@pytest.fixture
def other_host() -> Iterator[str]:
    """A plain HTTP server on loopback that is not the sandbox."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"who": "somebody else"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/anything"
    server.shutdown()


def test_other_hosts_pass_through_untouched(ske_sandbox, other_host):
    assert httpx.get(other_host).json() == {"who": "somebody else"}
    assert requests.get(other_host).json() == {"who": "somebody else"}
    assert ske_sandbox.journal == []


@pytest.mark.subprocess
def test_routing_ends_with_the_fixture(pytester):
    pytester.makepyfile("""
        import httpx, pytest

        def test_inside(ske_sandbox):
            assert httpx.get("https://test.maskinporten.no/jwk").status_code == 200

        def test_after():
            # no sandbox here: httpx's transports are httpx's own again, nothing is intercepted
            assert httpx.HTTPTransport.handle_request.__module__ == "httpx._transports.default"
            assert httpx.AsyncHTTPTransport.handle_async_request.__module__ == "httpx._transports.default"
    """)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)
