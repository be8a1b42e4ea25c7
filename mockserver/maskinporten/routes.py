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
from ..wire import wire_of
from .errors import GrantError, documented_codes, invalid_request
from .grant import ALLOWED_ALGS, GRANT_TYPE

log = logging.getLogger("ske_sandbox")


def metadata(issuer: str) -> dict[str, object]:
    return {
        "issuer": issuer,
        "token_endpoint": f"{issuer}token",
        "jwks_uri": f"{issuer}jwk",
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "grant_types_supported": [GRANT_TYPE],
        "token_endpoint_auth_signing_alg_values_supported": list(ALLOWED_ALGS),
        "authorization_details_types_supported": ["urn:altinn:systemuser", "urn:altinn:consent"],
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


async def _token_answer(request: Request, issuer: str) -> Response:
    sandbox = sandbox_of(request)
    try:
        grant = sandbox.grants.validate(await _form(request), issuer)
    except GrantError as err:
        sandbox.journal.note(request, err.code)
        if sandbox.observer is not None:
            sandbox.observer.grant(err.code, None)
        return err.response(issuer)
    except Exception:  # a sandbox defect still answers in Maskinporten's format
        log.exception("unexpected error in the token endpoint")
        return GrantError("MP-011", "Invalid assertion. Invalid parameter value", "invalid_request").response(
            issuer)
    answer = sandbox.tokens.issue(grant, issuer)
    sandbox.journal.note(request, "token")
    if sandbox.observer is not None:
        sandbox.observer.grant("token", grant)
    return JSONResponse(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


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
    Route("/.well-known/oauth-authorization-server", well_known, methods=["GET"]),
    Route("/.well-known/openid-configuration", well_known, methods=["GET"]),
    Route("/jwk", jwk, methods=["GET"]),
    Route("/jwks", jwk, methods=["GET"]),
]
