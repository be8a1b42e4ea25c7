"""pytest plugin (entry point `ske_sandbox`): fixtures that put the sandbox in-process.

    def test_my_client(ske_sandbox):
        token = ske_sandbox.token()
        r = ske_sandbox.client.get("/inntekt/v1/kommuneboligsosialeformaal/15838512671/inntekter",
                                   params={"fraOgMed": "2026-01"}, headers={"Authorization": f"Bearer {token}"})
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
import warnings
from collections.abc import Iterator

import jwt
import pytest

with warnings.catch_warnings():  # newer Starlette prefers httpx2; plain httpx works the same here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from ..app import create_app
from ..maskinporten.registry import demo_client
from ..settings import Settings

DEFAULT_TODAY = dt.date(2026, 11, 27)


class InProcessSandbox:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.client = TestClient(self.app, base_url=settings.base_url)
        self.demo = demo_client(settings.seed)

    @property
    def sandbox(self):
        return self.app.state.sandbox

    def grant(self, scopes: list[str] | None = None, **claims) -> str:
        """A JWT grant signed by the demo client's key, as a vendor's client would make it."""
        now = int(self.sandbox.clock.now())
        body = {"aud": self.sandbox.issuer, "iss": self.demo.client_id,
                "scope": " ".join(scopes or self.demo.scopes), "iat": now, "exp": now + 120,
                "jti": str(uuid.uuid4())}
        body.update(claims)
        return jwt.encode(body, self.demo.private_key_pem, algorithm="RS256", headers={"kid": self.demo.kid})

    def token(self, scopes: list[str] | None = None) -> str:
        r = self.client.post("/maskinporten/token", data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": self.grant(scopes)})
        r.raise_for_status()
        return r.json()["access_token"]


@pytest.fixture
def ske_sandbox_settings() -> Settings:
    """Override in your conftest to change seed, today or population."""
    return Settings(today=DEFAULT_TODAY, population=1000, base_url="http://ske-sandbox.test")


@pytest.fixture
def ske_sandbox(ske_sandbox_settings: Settings) -> Iterator[InProcessSandbox]:
    started = time.monotonic()
    box = InProcessSandbox(ske_sandbox_settings)
    box.started_in = time.monotonic() - started
    with box.client:
        yield box
