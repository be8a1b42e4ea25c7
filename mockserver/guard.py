"""Who may see the journal and the demo client's credentials, or change the sandbox's state: one rule for the
page and the control API alike.

Every route that shows other callers' data or changes state is listed in `GUARDED_PAGES` or lives under
`/__sandbox/` (all but `/__sandbox/health`); `PUBLIC_PAGES` lists the rest of the page, and a test checks that
each route of the app is in exactly one of them. A guarded call must

- carry a well-formed Host (`name[:port]` or `[v6][:port]`: no userinfo, whitespace, percent signs or a
  second Host header), else 400;
- without an admin token: name a loopback host or the `--public-url` host (so a web page cannot reach it
  by DNS rebinding), else 403;
- with an admin token: carry it (`Authorization: Bearer`, `X-Ske-Sandbox-Admin`, or the page's cookie set
  by `/logg-inn`), else 401 (a page view is sent to the form that asks for it);
- if it is a POST, PUT, PATCH or DELETE with an `Origin`: come from the sandbox's own origin (or a loopback
  name on the same port), else 403, so a page in a browser cannot clear or reset it.

`/logg-inn` and `/logg-ut` follow the Host and Origin rules but need no token.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from functools import lru_cache
from urllib.parse import quote, urlsplit

from starlette.requests import cookie_parser
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .tenants import TenantError, session_of

ADMIN_HEADER = "x-ske-sandbox-admin"
COOKIE = "ske_sandbox_admin"
CONTROL_PREFIX = "/__sandbox"
OPEN_CONTROL_PATHS = frozenset({"/__sandbox/health"})
# A call with a Ske-Sandbox-Session header reads or clears that session's state only (control/routes.py):
# the session id is its own key, so these need no admin token (Host and Origin rules still hold).
SESSION_CONTROL_PATHS = frozenset({"/__sandbox/journal", "/__sandbox/report", "/__sandbox/reset"})
LOGIN, LOGOUT = "/logg-inn", "/logg-ut"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = frozenset({"localhost"})
ALL = frozenset({"*"})

# page path -> methods that are guarded (ALL: every method)
GUARDED_PAGES: dict[str, frozenset[str]] = {
    "/journal": ALL,  # every call with its path, fnr and consumer
    "/journal/tom": ALL,  # clears the journal
    "/prov": frozenset({"POST"}),  # runs the flow: uses a grant, shows the demo client's access token
    "/token": ALL,  # its samples are valid grants signed with the demo client's key
    "/datakalender": frozenset({"POST"}),  # moves the data calendar every client's answers follow
    "/ny-person": frozenset({"POST"}),  # adds a person every client can look up
    LOGIN: ALL,  # Host and Origin only: these two need no token (see `check`)
    LOGOUT: ALL,
}
# page path (as routed) -> methods anyone who reaches the server may use: synthetic people and the docs
PUBLIC_PAGES: dict[str, frozenset[str]] = {
    "/": frozenset({"GET", "HEAD"}),
    "/person/{fnr}": frozenset({"GET", "HEAD"}),
    "/person/{fnr}/raa/{api}": frozenset({"GET", "HEAD"}),
    "/prov": frozenset({"GET", "HEAD"}),
    "/kontroll-api": frozenset({"GET", "HEAD"}),
    "/datakalender": frozenset({"GET", "HEAD"}),  # the date is in every page's footer anyway
    "/ny-person": frozenset({"GET", "HEAD"}),  # the empty form
    "/static": frozenset({"GET", "HEAD"}),
    "/metrics": frozenset({"GET", "HEAD"}),  # with --metrics: counts by API and code, no consumer or person
}

_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTPORT = re.compile(rf"(?:\[(?P<v6>[0-9A-Fa-f:.]{{2,45}})\]|(?P<name>{_LABEL}(?:\.{_LABEL})*))"
                       r"(?::(?P<port>[0-9]{1,5}))?")
_ORIGIN = re.compile(r"(?P<scheme>https?)://(?P<hostport>[^/?#]*)")
DEFAULT_PORTS = {"http": 80, "https": 443}


def is_guarded(method: str, path: str) -> bool:
    """Whether a call goes through the guard (a prefix test and a dict lookup: cheap for the data APIs)."""
    if path.startswith(CONTROL_PREFIX):
        return path not in OPEN_CONTROL_PATHS
    methods = GUARDED_PAGES.get(path)
    return methods is not None and (methods is ALL or method in methods)


def parse_host(value: str) -> tuple[str, int | None] | None:
    """`name[:port]` or `[v6][:port]` as (lower-case host, port); None for anything else (userinfo, spaces,
    percent-encoding, an empty or out-of-range port, a path)."""
    match = _HOSTPORT.fullmatch(value)
    if match is None:
        return None
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        return None
    if match["v6"] is not None:
        try:
            return str(ipaddress.IPv6Address(match["v6"])), port
        except ValueError:
            return None
    return match["name"].lower(), port


def parse_origin(value: str) -> tuple[str, str, int] | None:
    """`scheme://host[:port]` as (scheme, host, port with the scheme's default); None for `null` or anything
    with userinfo, a path or whitespace."""
    match = _ORIGIN.fullmatch(value.lower())
    host = parse_host(match["hostport"]) if match else None
    if match is None or host is None:
        return None
    return match["scheme"], host[0], host[1] or DEFAULT_PORTS[match["scheme"]]


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost (a name or address, brackets allowed)."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@lru_cache(maxsize=8)
def own_origin(base_url: str) -> tuple[str, str, int]:
    parts = urlsplit(base_url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(scheme, 80)


def same_origin(origin: str, base_url: str) -> bool:
    """The sandbox's own origin; for a loopback address, the same scheme and port under any loopback name."""
    theirs, mine = parse_origin(origin.strip()), own_origin(base_url)
    if theirs is None:
        return False
    if theirs == mine:
        return True
    return theirs[0] == mine[0] and theirs[2] == mine[2] and is_loopback(mine[1]) and is_loopback(theirs[1])


@lru_cache(maxsize=8)
def cookie_value(token: str) -> str:
    """The page's cookie: derived from the token, so the cookie is not the token itself."""
    return hmac.new(token.encode(), b"ske-sandbox page session", hashlib.sha256).hexdigest()


def cookie_header(token: str, secure: bool) -> str:
    """Set-Cookie for a browser that gave the token: unreadable by scripts, never sent cross-site."""
    flags = "; Secure" if secure else ""
    return f"{COOKIE}={cookie_value(token)}; Path=/; HttpOnly; SameSite=Strict{flags}"


def clear_cookie_header(secure: bool) -> str:
    flags = "; Secure" if secure else ""
    return f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{flags}"


def _headers(scope: Scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope.get("headers", []) if key == name]


def has_token(scope: Scope, token: str) -> bool:
    """The admin token in a header, or the page's cookie derived from it."""
    given = next(iter(_headers(scope, ADMIN_HEADER.encode())), None)
    if given is None:
        scheme, _, value = next(iter(_headers(scope, b"authorization")), b"").partition(b" ")
        given = value.strip() if scheme.lower() == b"bearer" else b""
    if given and hmac.compare_digest(given, token.encode()):
        return True
    cookies = b"; ".join(_headers(scope, b"cookie")).decode("latin-1")
    sent = cookie_parser(cookies).get(COOKIE, "") if cookies else ""
    return bool(sent) and hmac.compare_digest(sent.encode(), cookie_value(token).encode())


def _has_session(scope: Scope) -> bool:
    try:
        return session_of(scope) is not None
    except TenantError:
        return False  # the route answers it with its 400 once the token is given; without, 401 as ever


def _error(status: int, error: str, reason: str, **headers: str) -> Response:
    return JSONResponse({"error": error, "reason": reason}, status_code=status, headers=headers or None)


def check(scope: Scope) -> Response | None:
    """None when the call may go on, else the answer that refuses it."""
    settings = scope["app"].state.sandbox.settings
    hosts = _headers(scope, b"host")
    host = parse_host(hosts[0].decode("latin-1")) if len(hosts) == 1 else None
    if hosts and host is None:
        return _error(400, "bad_request", "the Host header must be one host[:port], without userinfo or spaces")
    path, token = scope["path"], settings.admin_token
    if not token and host is not None:
        own = own_origin(settings.base_url)[1]
        if not (is_loopback(host[0]) or host[0] == own):
            return _error(403, "forbidden", f"without an admin token the sandbox shows this only to "
                          f"{own} and loopback names, not Host {host[0][:80]!r}")
    method = scope["method"]
    origins = _headers(scope, b"origin")
    if method in STATE_CHANGING and origins and not (
            len(origins) == 1 and same_origin(origins[0].decode("latin-1"), settings.base_url)):
        scheme, name, port = own_origin(settings.base_url)
        return _error(403, "forbidden", f"cross-origin call refused; only {scheme}://{name}:{port} may "
                      "change the sandbox's state")
    own_session = path in SESSION_CONTROL_PATHS and _has_session(scope)
    if token and path not in (LOGIN, LOGOUT) and not own_session and not has_token(scope, token):
        if method in ("GET", "HEAD") and not path.startswith(CONTROL_PREFIX):
            return RedirectResponse(f"{LOGIN}?neste={quote(path)}", status_code=303)
        return _error(401, "unauthorized", "this wants the admin token: Authorization: Bearer <token>, "
                      "X-Ske-Sandbox-Admin: <token>, or sign in on the page at /logg-inn",
                      **{"WWW-Authenticate": 'Bearer realm="ske-sandbox"'})
    return None


class Guard:
    """ASGI middleware: every guarded route (see `is_guarded`) passes `check` before it is served."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_guarded(scope["method"], scope["path"]):
            refusal = check(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)
