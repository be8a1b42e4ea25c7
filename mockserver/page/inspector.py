"""Token inspector: decode a pasted grant or access token and give the verdict the real services would give,
by running the services' own validators (never a copy of their rules)."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import jwt
from starlette.requests import Request

from ..callheaders import KEY as HEADERS_KEY
from ..dataapi import ApiSpec, authenticate
from ..inntekt.routes import API as INNTEKT
from ..maskinporten.errors import GrantError
from ..maskinporten.grant import GRANT_TYPE, JtiCache
from ..sandbox import sandbox_of
from ..skatteetaten_errors import SkeError
from ..summertskattegrunnlag.routes import API as SSG

MAX_TOKEN = 16 * 1024


@dataclass
class Verdict:
    service: str
    ok: bool
    code: str  # MP-nnn, SSG-nnn, IM-nnn, or "OK"
    message: str


@dataclass
class Inspection:
    kind: str  # "grant" | "token" | "ukjent"
    header: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)
    times: list[tuple[str, str]] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    error: str = ""


class _PeekingJti(JtiCache):
    """Answers "used before?" from the live cache but never records: inspecting must not burn a grant."""

    def __init__(self, live: JtiCache) -> None:
        super().__init__()
        self._live = live

    def seen(self, client_id: str, jti: str, now: float) -> bool:
        return self._live.used(client_id, jti, now)

    def use(self, client_id: str, jti: str, exp: float, now: float, tenant: str = "") -> bool:
        return not self._live.used(client_id, jti, now)


def inspect(request: Request, text: str) -> Inspection:
    sandbox = sandbox_of(request)
    token = "".join(text.split())
    if not token:
        return Inspection("ukjent", error="Lim inn et grant eller et access token (en JWT).")
    if len(token) > MAX_TOKEN:
        return Inspection("ukjent", error=f"Teksten er for lang; en JWT her er under {MAX_TOKEN} tegn.")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        return Inspection("ukjent", error=f"Ikke en JWT: {exc}")
    if not isinstance(claims, dict):
        return Inspection("ukjent", error="JWT-en har ikke et claims-objekt")
    # An access token is issued by our Maskinporten; a grant is issued by a client (iss = client_id).
    kind = "token" if claims.get("iss") == sandbox.issuer or claims.get("client_amr") else "grant"
    result = Inspection(kind, header, claims, _times(claims))
    if kind == "grant":
        result.verdicts.append(_grant_verdict(sandbox, token))
    else:
        result.verdicts += [_token_verdict(request, token, api, title)
                            for api, title in ((SSG, "Summert skattegrunnlag"), (INNTEKT, "Inntekt"))]
    return result


def _grant_verdict(sandbox: Any, token: str) -> Verdict:
    validator = copy.copy(sandbox.grants)
    validator.jti = _PeekingJti(sandbox.grants.jti)
    try:
        grant = validator.validate({"grant_type": GRANT_TYPE, "assertion": token})
    except GrantError as err:
        return Verdict("Maskinporten", False, err.code, f"{err.error}: {err.description}")
    return Verdict("Maskinporten", True, "OK", f"Maskinporten ville utstedt et token til {grant.client.client_id} "
                   f"med scope {' '.join(grant.scopes)} (consumer {grant.consumer}).")


def _token_verdict(request: Request, token: str, api: ApiSpec, title: str) -> Verdict:
    host = [(k, v) for k, v in request.scope["headers"] if k == b"host"]
    probe = Request({**request.scope, "headers": [*host, (b"authorization", f"Bearer {token}".encode())],
                     HEADERS_KEY: None})  # its own headers, not the page call's
    try:
        caller = authenticate(probe, api)
    except SkeError as err:
        return Verdict(title, False, err.kode, err.melding)
    return Verdict(title, True, "OK", f"Godtatt for consumer {caller.consumer} med scope "
                   f"{' '.join(sorted(caller.scopes))}.")


def _times(claims: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for name in ("iat", "nbf", "exp"):
        value = claims.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1e11:
            out.append((name, dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")))
    return out
