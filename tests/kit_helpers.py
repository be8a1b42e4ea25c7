"""In-process sandbox with a demo-client token, for the generated-responses tests."""

from __future__ import annotations

import datetime as dt
import time
import uuid
import warnings

import jwt

from mockserver.app import create_app
from mockserver.maskinporten.grant import GRANT_TYPE
from mockserver.maskinporten.registry import demo_client
from mockserver.settings import Settings

with warnings.catch_warnings():  # newer Starlette prefers httpx2; plain httpx works the same here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PAKKE = "kommuneboligsosialeformaal"
FNR = "15838512671"
PATHS = {
    "summertskattegrunnlag": f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/2024/{FNR}",
    "inntekt": f"/inntekt/v1/{PAKKE}/{FNR}/inntekter?fraOgMed=2026-01&tilOgMed=2026-03",
    "sistetilgjengeligeskatteoppgjoer": f"/sistetilgjengeligeskatteoppgjoer/v1/{FNR}",
}


def app(**overrides):
    return create_app(Settings(today=dt.date(2026, 11, 27), population=50, base_url="http://ske-sandbox.test",
                               **overrides))


def token(application) -> str:
    """A real access token for the seed's demo client, issued without going over HTTP."""
    sandbox, demo = application.state.sandbox, demo_client(application.state.sandbox.settings.seed)
    now = int(time.time())
    grant = jwt.encode({"aud": sandbox.issuer, "iss": demo.client_id, "scope": " ".join(demo.scopes), "iat": now,
                        "exp": now + 120, "jti": str(uuid.uuid4())},
                       demo.private_key_pem, algorithm="RS256", headers={"kid": demo.kid})
    return sandbox.tokens.issue(sandbox.grants.validate({"grant_type": GRANT_TYPE, "assertion": grant}))[
        "access_token"]


def client(application) -> TestClient:
    return TestClient(application, base_url="http://ske-sandbox.test",
                      headers={"Authorization": f"Bearer {token(application)}"})


def served_token(base: str, seed: int = 1) -> str:
    """A token from a running sandbox's Maskinporten, for the seed's demo client."""
    import httpx

    demo = demo_client(seed)
    issuer = f"{base}/maskinporten/"
    now = int(time.time())
    grant = jwt.encode({"aud": issuer, "iss": demo.client_id, "scope": " ".join(demo.scopes), "iat": now,
                        "exp": now + 120, "jti": str(uuid.uuid4())},
                       demo.private_key_pem, algorithm="RS256", headers={"kid": demo.kid})
    r = httpx.post(f"{issuer}token", data={"grant_type": GRANT_TYPE, "assertion": grant})
    r.raise_for_status()
    return r.json()["access_token"]
