"""In-process sandbox (a SandboxKit) with a demo-client token, for the generated-responses tests."""

from __future__ import annotations

import datetime as dt
import time
import uuid
import warnings

import jwt

from mockserver.maskinporten.grant import GRANT_TYPE
from mockserver.maskinporten.registry import demo_client
from mockserver.settings import Settings
from mockserver.testkit.kit import SandboxKit

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


def kit(**overrides) -> SandboxKit:
    settings = {"today": dt.date(2026, 11, 27), "population": 50, "base_url": "http://ske-sandbox.test"}
    return SandboxKit(Settings(**{**settings, **overrides}))


def app(**overrides):
    """The app of a `kit`, for tests that drive it through `client` or their own transport."""
    return kit(**overrides).app


def token(application) -> str:
    """A real access token for the seed's demo client, issued without going over HTTP."""
    sandbox, demo = application.state.sandbox, demo_client(application.state.sandbox.settings.seed)
    now = int(time.time())
    grant = jwt.encode({"aud": sandbox.issuer, "iss": demo.client_id, "scope": " ".join(demo.scopes), "iat": now,
                        "exp": now + 120, "jti": str(uuid.uuid4())},
                       demo.private_key_pem, algorithm="RS256", headers={"kid": demo.kid})
    return sandbox.tokens.issue(sandbox.grants.validate({"grant_type": GRANT_TYPE, "assertion": grant}))[
        "access_token"]


class AuthorisedClient(TestClient):
    """A test client that sends a fresh demo-client token unless the call sets Authorization itself
    (tokens live 120 s; a module-level client outlives that in a long test run)."""

    def __init__(self, application) -> None:
        super().__init__(application, base_url="http://ske-sandbox.test")
        self._application, self._token, self._issued = application, "", 0.0

    def request(self, method, url, *, headers=None, **kwargs):
        headers = dict(headers or {})
        if not any(k.lower() == "authorization" for k in headers):
            if time.monotonic() - self._issued > 60:
                self._token, self._issued = token(self._application), time.monotonic()
            headers["Authorization"] = f"Bearer {self._token}"
        return super().request(method, url, headers=headers, **kwargs)


def client(application) -> TestClient:
    return AuthorisedClient(application)


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
