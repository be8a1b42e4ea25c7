"""HTTP face of the Maskinporten fake, mounted at /maskinporten."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..bodylimit import MAX_BODY
from ..dataapi.gateway import SCENARIO_HEADER
from ..environments import environment_of
from ..netfaults import FaultResponse, NetworkFault, parse
from ..sandbox import sandbox_of
from ..state import StoreError
from ..tenants import SESSION_HEADER, TenantError, session_of
from ..wire import wire_of
from .authdetails import TYPES as AUTHORIZATION_DETAILS_TYPES
from .errors import GrantError, documented_codes, invalid_request
from .grant import ALLOWED_ALGS, GRANT_TYPE
from .tokens import introspect

log = logging.getLogger("ske_sandbox")
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def metadata(issuer: str) -> dict[str, object]:
    return {
        "issuer": issuer,
        "token_endpoint": f"{issuer}token",
        "jwks_uri": f"{issuer}jwk",
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "grant_types_supported": [GRANT_TYPE],
        "token_endpoint_auth_signing_alg_values_supported": list(ALLOWED_ALGS),
        "authorization_details_types_supported": list(AUTHORIZATION_DETAILS_TYPES),
    }


async def _form(request: Request) -> dict[str, str]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise invalid_request("Content-Type must be application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise invalid_request("Request body too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise invalid_request("Request body is not UTF-8") from exc
    form = dict(pairs)
    if len(form) != len(pairs):
        raise invalid_request("A request parameter is repeated (RFC 6749 §3.1)")
    return form


def _network_fault(request: Request) -> NetworkFault | None:
    """The network fault asked of this token call: the scenario header, or the kit's
    `scenario(..., api="maskinporten")`. The token endpoint knows no other scenario value."""
    value = request.headers.get(SCENARIO_HEADER)
    if value is None:
        value = sandbox_of(request).scenarios.get("maskinporten")
    if value is None:
        return None
    fault = parse(value.strip())
    if fault is None:
        raise invalid_request(f"Unknown {SCENARIO_HEADER} {value.strip()[:40]!r}; the token endpoint takes reset, "
                              "empty, truncated, malformed-chunk, trickle:<n>ms (n < 10000) or trickle:<n>s (at "
                              "most 30)")
    if fault.needs_wire and wire_of(request.scope) is None:
        raise invalid_request(f"{SCENARIO_HEADER} {fault.value!r} needs a real connection: ske-sandbox serve, or "
                              "the real hostnames under the pytest kit")
    return fault


async def token(request: Request) -> Response:
    """A token for a valid grant; with a network fault, the same answer broken on its way out (the grant
    is spent all the same, as when a real answer is lost)."""
    sandbox = sandbox_of(request)
    issuer = environment_of(request).issuer
    try:
        fault = _network_fault(request)
    except GrantError as err:
        sandbox.journal.note(request, err.code)
        return err.response(issuer)
    answer = await _token_answer(request, issuer)
    if fault is None:
        return answer
    sandbox.journal.note(request, fault.value, forced=True, by="network-fault")
    return FaultResponse(fault, answer)


def _session(request: Request) -> str | None:
    try:
        return session_of(request.scope)
    except TenantError as exc:
        raise invalid_request(f"Invalid {SESSION_HEADER}: {exc}") from exc


def unavailable() -> Response:
    """The sandbox's shared state does not answer (serve --state): a 503 in OAuth's words, so a client retries
    and no grant is taken as unused when it cannot be checked."""
    return JSONResponse({"error": "temporarily_unavailable", "error_description": "The token service is "
                         "temporarily unavailable (the sandbox's shared state does not answer)"},
                        status_code=503, headers={"Retry-After": "1", "Cache-Control": "no-store"})


async def _token_answer(request: Request, issuer: str) -> Response:
    sandbox = sandbox_of(request)
    try:
        grant = sandbox.grants.validate(await _form(request), issuer, _session(request))
    except GrantError as err:
        sandbox.journal.note(request, err.code)
        if sandbox.observer is not None:
            sandbox.observer.grant(err.code, None)
        return err.response(issuer)
    except StoreError as exc:
        log.error("token: %s", exc)
        sandbox.journal.note(request, "temporarily_unavailable")
        return unavailable()
    except Exception:  # a sandbox defect still answers in Maskinporten's format
        log.exception("unexpected error in the token endpoint")
        return GrantError("MP-011", "Invalid assertion. Invalid parameter value", "invalid_request").response(
            issuer)
    answer = sandbox.tokens.issue(grant, issuer)
    sandbox.journal.note(request, "token", grant)
    if sandbox.observer is not None:
        sandbox.observer.grant("token", grant)
    return JSONResponse(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def tokeninfo(request: Request) -> Response:
    """RFC 7662 introspection as Digdir documents `/tokeninfo`: form-encoded `token`, the client authenticated
    by its registered method (private_key_jwt: `client_assertion`); `active` with the token's claims."""
    sandbox = sandbox_of(request)
    issuer = environment_of(request).issuer
    try:
        form = await _form(request)
        _authenticate_client(request, form, issuer)
        token = form.get("token", "").strip()
        if not token:
            raise invalid_request("Missing parameter token (the access token to inspect)")
    except GrantError as err:
        sandbox.journal.note(request, err.code)
        return err.response(issuer)
    except StoreError as exc:
        log.error("tokeninfo: %s", exc)
        sandbox.journal.note(request, "temporarily_unavailable")
        return unavailable()
    try:
        answer = introspect(token, issuer, sandbox.keys, sandbox.clock)
    except Exception:  # a sandbox defect still answers in Maskinporten's format
        log.exception("unexpected error in the tokeninfo endpoint")
        return invalid_request("Invalid parameter value token").response(issuer)
    sandbox.journal.note(request, "active" if answer["active"] else "inactive")
    return JSONResponse(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _authenticate_client(request: Request, form: dict[str, str], issuer: str) -> None:
    """The client assertion (RFC 7523 §2.2) is checked as a grant is: registered key or certificate, `aud` the
    issuer, at most 120 s, a fresh `jti`. A failure is `invalid_client` with the check's MP code."""
    if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE or not form.get("client_assertion", "").strip():
        raise GrantError("MP-011", f"Client authentication required: client_assertion_type={CLIENT_ASSERTION_TYPE} "
                         "and client_assertion (a JWT signed with the client's registered key)", "invalid_client")
    try:
        sandbox_of(request).grants.authenticated(form["client_assertion"].strip(), issuer, _session(request))
    except GrantError as err:
        raise GrantError(err.code, err.description, "invalid_client") from err


async def well_known(request: Request) -> Response:
    return JSONResponse(metadata(environment_of(request).issuer))


async def jwk(request: Request) -> Response:
    return JSONResponse(sandbox_of(request).keys.jwks())


async def error_page(request: Request) -> Response:
    """What an `error_uri` points at: the code explained, as a person who clicks it expects."""
    import html

    code = request.path_params["code"]
    rows = documented_codes().get(code)
    if rows is None:
        return JSONResponse({"error": "not_found", "error_description": f"no Maskinporten error code {code[:20]!r}"},
                            status_code=404)
    items = "".join(f"<li><code>{html.escape(e)}</code>: {html.escape(m)}. When: {html.escape(w)}</li>"
                    for e, m, w in rows)
    return HTMLResponse(f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{code}</title></head>"
                        f"<body><h1>Maskinporten {code}</h1><ul>{items}</ul><p>The token endpoint answers HTTP 400 "
                        "with this code in <code>error_uri</code>; fix the grant and send a new one (new "
                        "<code>jti</code>).</p></body></html>")


routes = [
    Route("/errors/{code}", error_page, methods=["GET"]),
    Route("/token", token, methods=["POST"]),
    Route("/tokeninfo", tokeninfo, methods=["POST"]),
    Route("/.well-known/oauth-authorization-server", well_known, methods=["GET"]),
    Route("/.well-known/openid-configuration", well_known, methods=["GET"]),
    Route("/jwk", jwk, methods=["GET"]),
    Route("/jwks", jwk, methods=["GET"]),
]
