"""The page as a client: it calls the sandbox's own HTTP services in-process (through the whole app, so the
journal sees it), with the built-in demo client, and records each exchange for display."""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from starlette.requests import Request

from ..errorbody import error_code
from ..maskinporten.grant import GRANT_TYPE
from ..maskinporten.registry import DemoClient, demo_client
from ..sandbox import sandbox_of

SHOWN_HEADERS = ("content-type", "authorization", "accept", "ske-sandbox-scenario", "korrelasjonsid",
                 "retry-after", "cache-control")


@dataclass
class Exchange:
    """One HTTP request and its answer, as the page shows it."""

    title: str
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    status: int
    reason: str
    response_headers: dict[str, str]
    body: str
    elapsed_ms: int
    code: str | None = None  # kode or MP-nnn of an error answer
    decoded: list[tuple[str, Any]] = field(default_factory=list)  # (label, decoded JWT) pairs

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def request_line(self) -> str:
        import httpx

        return f"{self.method} {httpx.URL(self.url).raw_path.decode('ascii')} HTTP/1.1"

    @property
    def curl(self) -> str:
        parts = ["curl", "-sS", "-i"]
        if self.method != "GET":
            parts += ["-X", self.method]
        for name, value in self.request_headers.items():
            parts += ["-H", f"{name}: {value}"]
        if self.request_body:
            parts += ["--data", self.request_body]
        parts.append(self.url)
        return " ".join(shlex.quote(p) for p in parts)

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def pretty(body: bytes, content_type: str) -> str:
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            return text
    return text


def decode_jwt(token: str) -> dict[str, Any]:
    """Header and claims without checking anything: what a person reads in a JWT debugger."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return {"header": jwt.get_unverified_header(token), "claims": claims}


class SandboxClient:
    """An httpx client bound to this app, at the sandbox's public base URL (so curl commands work)."""

    def __init__(self, request: Request) -> None:
        sandbox = sandbox_of(request)
        self.base = sandbox.settings.base_url.rstrip("/")
        self.demo: DemoClient = demo_client(sandbox.settings.seed)
        self.clock = sandbox.clock
        import httpx  # here, not at the top: the server starts without it, and the page needs it on a click

        self._http = httpx.AsyncClient(transport=httpx.ASGITransport(app=request.app), base_url=self.base,
                                       timeout=60)

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def call(self, title: str, method: str, path: str, headers: dict[str, str] | None = None,
                   form: dict[str, str] | None = None) -> Exchange:
        headers = dict(headers or {})
        body = ""
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(form)
        started = time.monotonic()
        r = await self._http.request(method, path, headers=headers, content=body.encode() if body else None)
        elapsed = round((time.monotonic() - started) * 1000)
        ctype = r.headers.get("content-type", "")
        ex = Exchange(
            title=title, method=method, url=str(r.request.url), request_headers=headers, request_body=body,
            status=r.status_code, reason=r.reason_phrase, body=pretty(r.content, ctype), elapsed_ms=elapsed,
            response_headers={k: v for k, v in r.headers.items() if k.lower() in SHOWN_HEADERS},
        )
        if not ex.ok:
            ex.code = error_code(ex.json()) if "json" in ctype else _xml_code(ex.body)
        return ex

    async def issuer(self) -> str:
        """Read from discovery, as a real client does, so the grant's aud is whatever this server says."""
        r = await self._http.get("/maskinporten/.well-known/oauth-authorization-server")
        return str(r.json()["issuer"])

    def grant(self, issuer: str, scopes: list[str] | None = None, **claims: Any) -> str:
        return self.demo.grant(issuer, self.clock.now(), scopes, **claims)

    async def token(self, grant: str) -> Exchange:
        ex = await self.call("Token fra Maskinporten", "POST", "/maskinporten/token",
                             form={"grant_type": GRANT_TYPE, "assertion": grant})
        token = (ex.json() or {}).get("access_token") if ex.ok else None
        if token:
            ex.decoded.append(("Access token", decode_jwt(token)))
        return ex

    async def access_token(self) -> str | None:
        ex = await self.token(self.grant(await self.issuer()))
        return (ex.json() or {}).get("access_token") if ex.ok else None


def _xml_code(body: str) -> str | None:
    start = body.find("<kode>")
    end = body.find("</kode>", start)
    return body[start + 6:end] if start >= 0 and end > start else None
