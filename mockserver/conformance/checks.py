"""One request checked against its contract: a list of problems, each saying what was wrong and what the
contract (or Maskinporten's grant rules) wants. Written once; the pytest kit's `assert_requests_conform()`
and the server's journal (`conforms`, `problems`) both use it.

The input is a journal entry (see `mockserver.journal`): the request reduced to what can be checked
without keeping secrets (tokens and grants as their decoded header and claims).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from ..clock import is_time
from ..identifiers import InvalidIdentifier, parse_person_number
from ..maskinporten import authdetails
from ..maskinporten.errors import GrantError
from ..maskinporten.grant import ALLOWED_ALGS, GRANT_TYPE, MAX_LIFETIME, SKEW
from ..representation import NotAcceptable, choose_media_type
from ..services import BY_NAME, SERVICES
from .operations import Operation, Parameter, operations

SCOPES = {service.name: service.scopes for service in SERVICES if service.scopes}
FORM = "application/x-www-form-urlencoded"
NOT_KEPT = re.compile(r"<[0-9]+ bytes, not kept>")  # the journal's mark for a claim too large to keep
# Statuses that say the request itself was at fault, whatever the static checks found -- unless the sandbox
# was told to give the answer (the entry is `forced`: a scenario, a canned answer, a fault): then only the
# request is judged, never the status it was forced to meet.
REQUEST_FAULTS = {400, 401, 406}


def check(entry: dict[str, Any]) -> list[str]:
    service = entry.get("service", "")
    path = entry.get("path", "")
    known = BY_NAME.get(service)
    if known is None:
        return [f"{path} is not a path of any contract"]
    base = known.base_path
    op, params, problems = _operation(service, entry.get("method", ""), path, base)
    if op is None:
        return problems
    problems += _path_parameters(op, params)
    problems += _query(op, entry.get("query", ""))
    if service == "maskinporten":
        if op.operation_id == "token":
            problems += _token_request(entry)
        elif op.operation_id == "tokeninfo":
            problems += _tokeninfo_request(entry)
    else:
        problems += _headers(service, entry.get("headers", {}))
    status = entry.get("status")
    if status in REQUEST_FAULTS and not problems and not entry.get("forced"):
        answer = f"{entry.get('outcome') or status}: {entry.get('melding') or ''}".strip()
        problems.append(f"the service refused the request ({status} {answer})")
    return problems


def _operation(service: str, method: str, path: str, base: str) -> tuple[Operation | None, dict, list[str]]:
    ops = operations(service)
    known = ", ".join(f"{o.method} {base}{o.template}" for o in ops)
    if not path.startswith(base + "/"):
        return None, {}, [f"the path {path} is outside the contract's base path {base or '/'}; the contract has "
                          f"{known}"]
    relative = path[len(base):]
    matches = [(o, o.match(relative)) for o in ops]
    by_path = [(o, m) for o, m in matches if m is not None]
    if not by_path:
        return None, {}, [f"no operation of the contract has the path {path}; the contract has {known}"]
    for o, m in by_path:
        if o.method == method:
            return o, m, []
    return None, {}, [f"{method} is not allowed on {path}; the contract has " +
                      ", ".join(f"{o.method} {base}{o.template}" for o, _ in by_path)]


def _value_problem(p: Parameter, value: str) -> str | None:
    schema = p.schema
    if "enum" in schema and value not in schema["enum"]:
        return f"{p.where} parameter {p.name} is {value!r}, but the contract wants {p.wants()}"
    if schema.get("type") == "integer" and not _integer_fits(schema, value):
        return f"{p.where} parameter {p.name} is {value!r}, but the contract wants {p.wants()}"
    pattern = schema.get("pattern")
    if pattern and not re.search(pattern, value, re.ASCII):
        return f"{p.where} parameter {p.name} is {value!r}, but the contract wants {p.wants()}"
    if p.name == "personidentifikator":
        try:
            parse_person_number(value)
        except InvalidIdentifier as exc:
            return (f"path parameter personidentifikator {value!r} is not a valid fødselsnummer or D-nummer "
                    f"({exc})")
    return None


def _integer_fits(schema: dict[str, Any], value: str) -> bool:
    if not re.fullmatch(r"-?[0-9]{1,30}", value, re.ASCII):
        return False
    number = int(value)
    return schema.get("minimum", number) <= number <= schema.get("maximum", number)


def _path_parameters(op: Operation, values: dict[str, str]) -> list[str]:
    out = []
    for p in op.parameters:
        if p.where == "path" and p.name in values:
            problem = _value_problem(p, values[p.name])
            if problem:
                out.append(problem)
    return out


def _query(op: Operation, query: str) -> list[str]:
    pairs = parse_qsl(query, keep_blank_values=True)
    given: dict[str, list[str]] = {}
    for k, v in pairs:
        given.setdefault(k, []).append(v)
    declared = {p.name: p for p in op.parameters if p.where == "query"}
    out = []
    for name, p in declared.items():
        if name not in given:
            if p.required:
                out.append(f"the required query parameter {name} is missing; the contract wants {p.wants()}")
            continue
        if len(given[name]) > 1 and p.schema.get("type") != "array":  # an array (Tenor's vis) may repeat
            out.append(f"query parameter {name} is given {len(given[name])} times; the contract wants it once")
        problem = _value_problem(p, given[name][0])
        if problem:
            out.append(problem)
    for name in given:
        if name not in declared:
            names = ", ".join(declared) or "none"
            out.append(f"query parameter {name!r} is not in the contract (its query parameters: {names})")
    return out


def _headers(service: str, headers: dict[str, Any]) -> list[str]:
    out = []
    auth = headers.get("authorization")
    if not auth:
        out.append("the Authorization header is missing; the contract wants 'Authorization: Bearer <access token "
                   "from Maskinporten>'")
    elif auth.get("scheme", "").lower() != "bearer":
        out.append(f"the Authorization header uses the scheme {auth.get('scheme')!r}; the contract wants Bearer "
                   "with a Maskinporten access token")
    elif auth.get("claims") is None:
        out.append("the bearer token is not a JWT; the contract wants a Maskinporten access token")
    else:
        scopes = set(str(auth["claims"].get("scope", "")).split())
        wanted: frozenset[str] = SCOPES.get(service, frozenset())
        if wanted and not scopes & wanted:
            out.append(f"the access token's scope is {' '.join(sorted(scopes)) or 'empty'!r}; this API wants "
                       f"{' or '.join(sorted(wanted))}")
    accept = headers.get("accept")
    if accept:
        try:
            choose_media_type(accept)
        except NotAcceptable:
            out.append(f"the Accept header is {accept!r}; the contract serves application/json or application/xml")
    return out


def _token_request(entry: dict[str, Any]) -> list[str]:
    headers, form = entry.get("headers", {}), entry.get("form") or {}
    ctype = str(headers.get("content-type") or "").split(";")[0].strip().lower()
    out = []
    if ctype != FORM:
        out.append(f"the token request's Content-Type is {ctype or 'missing'!r}; Maskinporten wants {FORM}")
    if form.get("grant_type") != GRANT_TYPE:
        out.append(f"grant_type is {form.get('grant_type')!r}; Maskinporten wants {GRANT_TYPE}")
    extra = sorted(set(form) - {"grant_type", "assertion"})
    if extra:
        out.append(f"the token request carries {', '.join(extra)}; Maskinporten's JWT-bearer grant takes only "
                   "grant_type and assertion (scope, consumer_org and resource go inside the grant)")
    grant = entry.get("grant")
    if grant is None:
        out.append(entry.get("grant_error") or "the assertion is missing; Maskinporten wants a signed JWT grant")
        return out
    return out + grant_problems(grant["header"], grant["claims"], entry.get("issuer", ""), entry.get("server_time"))


def _tokeninfo_request(entry: dict[str, Any]) -> list[str]:
    ctype = str(entry.get("headers", {}).get("content-type") or "").split(";")[0].strip().lower()
    form = entry.get("form") or {}
    out = []
    if ctype != FORM:
        out.append(f"the tokeninfo request's Content-Type is {ctype or 'missing'!r}; Maskinporten wants {FORM}")
    if "token" not in form:
        out.append("the tokeninfo request has no token; RFC 7662 wants the access token in the form field token")
    if "client_assertion" not in form or "client_assertion_type" not in form:
        out.append("the tokeninfo request does not authenticate the client; Maskinporten wants its registered "
                   "method, private_key_jwt: client_assertion_type and client_assertion")
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def grant_problems(header: dict[str, Any], claims: dict[str, Any], issuer: str, now: float | None) -> list[str]:
    """Maskinporten's rules for the grant itself, every broken one listed (the server stops at the first)."""
    out = []
    if header.get("alg") not in ALLOWED_ALGS:
        out.append(f"the grant is signed with alg {header.get('alg')!r}; Maskinporten accepts RS256, RS384 or RS512")
    if "kid" not in header and "x5c" not in header:
        out.append("the grant header has neither kid nor x5c; Maskinporten wants the registered key's kid or the "
                   "business certificate chain in x5c")
    if "x5c" in header and not isinstance(header["x5c"], list):
        out.append("the grant header's x5c is not a JSON array; Maskinporten wants an array of base64 certificates")
    aud = claims.get("aud")
    if aud != issuer and aud != [issuer]:
        hint = " (with the trailing slash)" if isinstance(aud, str) and aud.rstrip("/") == issuer.rstrip("/") else ""
        out.append(f"the grant's aud is {aud!r}; Maskinporten wants exactly its issuer {issuer!r}{hint}")
    if not claims.get("iss"):
        out.append("the grant has no iss; Maskinporten wants the client_id there")
    scope = claims.get("scope")
    if not isinstance(scope, str) or not scope.split():
        out.append(f"the grant's scope is {scope!r}; Maskinporten wants a space-separated string of scopes")
    details = claims.get("authorization_details")
    if details is not None and not (isinstance(details, str) and NOT_KEPT.fullmatch(details)):
        try:
            authdetails.checked(claims)
        except GrantError as err:
            out.append(f"the grant's authorization_details break Maskinporten's rules ({err.code}): {err.description}")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not (is_time(iat) and is_time(exp)):  # also keeps 10**400 away from float formatting below
        out.append(f"the grant's iat and exp are {_short(iat)} and {_short(exp)}; Maskinporten wants both, "
                   "as seconds since the epoch")
        return out
    if exp - iat > MAX_LIFETIME:
        out.append(f"the grant lives {exp - iat:g} s (exp − iat); Maskinporten allows at most {MAX_LIFETIME} s")
    if now is not None:
        if iat > now + SKEW:
            out.append(f"the grant's iat is {iat - now:.0f} s in the future; Maskinporten allows {SKEW} s of skew")
        if exp < now - SKEW:
            out.append(f"the grant expired {now - exp:.0f} s before it was sent; make a new grant for every token "
                       "request")
    return out


def retry_problems(entries: list[dict[str, Any]]) -> dict[int, str]:
    """A call sent to an API sooner than its last 429 or 503 answer's Retry-After allowed; by entry seq.

    Only calls of one example are paired (an entry's `example`, raised by the kit when a test enters
    `answer()`/`scenario()` or calls `new_example()`): a Retry-After binds until the sandbox is told to
    answer something else."""
    out: dict[int, str] = {}
    waits: dict[tuple[int, str], tuple[float, float, int]] = {}  # (example, service) -> (when, seconds, status)
    for e in entries:
        api, t = e.get("service"), e.get("t")
        if t is None or api is None:
            continue
        service = (e.get("example", 0), api)
        if service in waits:
            when, seconds, status = waits.pop(service)
            gap = t - when
            if gap < seconds:
                out[e["seq"]] = (f"sent {gap:.2f} s after a {status} answer that said Retry-After: {seconds:g}; "
                                 f"wait at least {seconds:g} s before calling {api} again")
        retry = e.get("retry_after")
        if e.get("status") in (429, 503) and retry:
            try:
                waits[service] = (t, float(retry), e["status"])
            except ValueError:
                pass
    return out
