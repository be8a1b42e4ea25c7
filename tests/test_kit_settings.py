"""The fixture's settings as a vendor sets them in pytest's ini file: their own client registration, the
environment, and failing every test on a non-conforming request."""

from __future__ import annotations

import pytest

from mockserver.maskinporten.clientgen import generate

VENDOR_TEST = '''
import json, time, uuid
import httpx, jwt

def test_my_own_client(ske_sandbox):
    key = open("kit/acme.key.pem").read()
    now = int(time.time())
    grant = jwt.encode({"aud": "https://test.maskinporten.no/", "iss": "acme", "scope": "skatteetaten:inntekt",
                        "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}, key, algorithm="RS256",
                       headers={"kid": "acme-key-1"})
    r = httpx.post("https://test.maskinporten.no/token",
                   data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": grant})
    assert r.status_code == 200, r.text
    assert jwt.decode(r.json()["access_token"], options={"verify_signature": False})["consumer"]["ID"] == \\
        "0192:310000108"
'''


@pytest.mark.subprocess
def test_the_vendors_clients_file_is_an_ini_setting(pytester):
    generate("acme", "310000108", pytester.path / "kit", scopes=["skatteetaten:inntekt"])
    pytester.makeini("[pytest]\nske_sandbox_clients = kit/clients.yaml\n")
    pytester.makepyfile(test_vendor=VENDOR_TEST)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.subprocess
def test_prod_environment_and_conformance_on_every_test(pytester):
    pytester.makeini("[pytest]\nske_sandbox_environment = prod\nske_sandbox_assert_conform = true\n")
    pytester.makepyfile(test_prod='''
        import httpx

        def test_issuer_is_prod(ske_sandbox):
            meta = httpx.get("https://maskinporten.no/.well-known/oauth-authorization-server").json()
            assert meta["issuer"] == ske_sandbox.issuer == "https://maskinporten.no/"
            assert ske_sandbox.base_urls["inntekt"] == "https://inntekt.api.skatteetaten.no/v1"

        def test_a_bad_request_fails_the_test_at_teardown(ske_sandbox):
            httpx.get("https://inntekt.api.skatteetaten.no/v1/kommuneboligsosialeformaal/15838512671/inntekter")
    ''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*the required query parameter fraOgMed is missing*"])


@pytest.mark.subprocess
def test_a_bad_environment_setting_is_a_usage_error(pytester):
    pytester.makeini("[pytest]\nske_sandbox_environment = staging\n")
    pytester.makepyfile("def test_x(ske_sandbox):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*ske_sandbox_environment must be test or prod*"])
    assert result.ret != 0
