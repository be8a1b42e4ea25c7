"""Access tokens with the claims Maskinporten puts in them, and their validation on the API side."""

from __future__ import annotations

import secrets
from typing import Any

import jwt

from .. import fastjwt
from ..clock import Clock, is_time
from .grant import ValidGrant
from .keys import KeySet

ORG_AUTHORITY = "iso6523-actorid-upis"
DELEGATION_SOURCE = "https://tt02.altinn.no/"


def org(orgnr: str) -> dict[str, str]:
    return {"authority": ORG_AUTHORITY, "ID": f"0192:{orgnr}"}


def orgnr_of(claim: Any) -> str | None:
    if isinstance(claim, dict):
        ident = str(claim.get("ID", ""))
        if ident.startswith("0192:"):
            orgnr = ident[5:].split(":")[0]
            if len(orgnr) == 9 and orgnr.isascii() and orgnr.isdigit():
                return orgnr
    return None


class TokenIssuer:
    def __init__(self, issuer: str, keys: KeySet, clock: Clock) -> None:
        self.issuer = issuer
        self.keys = keys
        self.clock = clock

    def issue(self, grant: ValidGrant, issuer: str | None = None) -> dict[str, Any]:
        now = int(self.clock.now())
        lifetime = grant.client.access_token_lifetime
        claims: dict[str, Any] = {
            "iss": issuer or self.issuer,
            "client_amr": grant.client_amr,
            "token_type": "Bearer",
            "client_id": grant.client.client_id,
            "aud": grant.resource[0] if grant.resource and len(grant.resource) == 1
            else (grant.resource or "unspecified"),
            "scope": " ".join(grant.scopes),
            "consumer": org(grant.consumer),
            "iat": now,
            "exp": now + lifetime,
            "jti": secrets.token_urlsafe(32),
        }
        if grant.pid:
            claims["pid"] = grant.pid  # a pid-restricted token names its one subject (Digdir)
        if grant.supplier:
            claims["supplier"] = org(grant.supplier)
            claims["delegation_source"] = DELEGATION_SOURCE
        if grant.authorization_details is not None:
            claims["authorization_details"] = [grant.authorization_details]
        key = self.keys.active
        token = jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": key.kid, "typ": None})
        return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime, "scope": claims["scope"]}


class InvalidToken(Exception):
    """Why a bearer token is refused; the API maps this to its 401 code."""


def verify_access_token(token: str, issuer: str, keys: KeySet, clock: Clock,
                        audience_restricted_ok: bool = False) -> dict[str, Any]:
    """Check a bearer token as Skatteetaten does: our signature, our issuer, not expired (and, unless
    `audience_restricted_ok`, `aud` "unspecified", as Skatteetaten wants it)."""
    try:
        header = fastjwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("tokenet er ikke en gyldig JWT") from exc
    key = keys.by_kid.get(str(header.get("kid")))
    if key is None:
        raise InvalidToken("tokenet er ikke signert av Maskinporten (ukjent kid)")
    try:
        claims = fastjwt.decode(
            token, key.private.public_key(), algorithms=["RS256", "RS384", "RS512"],
            issuer=issuer,
            # exp is checked below against the injected clock, not PyJWT's own time.time().
            options={"verify_aud": False, "verify_exp": False, "verify_iat": False,
                     "require": ["exp", "iat", "iss"]},
        )
    except jwt.InvalidIssuerError as exc:
        raise InvalidToken("tokenet er utstedt av en annen utsteder enn Maskinporten") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken(f"tokenet kunne ikke valideres: {exc}") from exc
    exp, iat = claims["exp"], claims["iat"]
    if not (is_time(exp) and is_time(iat)):
        raise InvalidToken("exp og iat må være tall (sekunder siden 1970, før år 10000)")
    check_lifetime(claims, clock)
    if not audience_restricted_ok and claims.get("aud", "unspecified") not in ("unspecified", None):
        raise InvalidToken("tokenet er begrenset til en annen ressurs (aud); Skatteetaten forventer "
                           "'unspecified'")
    return claims


def introspect(token: str, issuer: str, keys: KeySet, clock: Clock) -> dict[str, Any]:
    """RFC 7662's answer for a token: `active` with the token's own claims and `expires_in` (Digdir keeps the
    answer "as equal to the claims available in the access_token as possible"), or only `active: false` for
    anything that is not a live token of this issuer (RFC 7662 §2.2: nothing more about an inactive token)."""
    try:
        claims = verify_access_token(token, issuer, keys, clock, audience_restricted_ok=True)
    except InvalidToken:
        return {"active": False}
    return {"active": True, **claims, "expires_in": max(0, int(claims["exp"] - clock.now()))}


def check_lifetime(claims: dict[str, Any], clock: Clock) -> None:
    """The time-dependent part of the check, run on every call even for a token verified before."""
    now = clock.now()
    if claims["exp"] <= now:
        raise InvalidToken("tokenet er utløpt")
    if claims["iat"] > now + 10:
        raise InvalidToken("tokenet er utstedt fram i tid (iat)")
