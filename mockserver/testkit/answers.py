"""A hand-built answer for the kit's `answer()`, checked against the contract before any client sees it.

A test that forces an answer the real service could never send tests a client against a fiction; unless
the test says the answer is off the contract on purpose, its status, body (schema and documented `kode`)
and required headers must be what the contract documents. Drawn answers (`responses()`) are made from the
same contract and are not checked again.
"""

from __future__ import annotations

from typing import Any

import jsonschema

from .. import contractschema
from ..canned import CannedAnswer

# Headers the server sets on every answer itself, so a canned answer need not carry them.
_SET_BY_SERVER = {"korrelasjonsid", "content-type", "content-length"}
_PLACEHOLDER_ID = "00000000-0000-4000-8000-000000000000"  # stands in for the id the server adds
_FORMATS = jsonschema.FormatChecker()


class OffContractAnswer(ValueError):
    """A hand-built answer the contract does not allow; `problems` names each breach."""

    def __init__(self, api: str, status: int, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"answer() for {api} {status} breaks the contract:\n{lines}\n"
                         "Fix the body, or pass off_contract=True to send it on purpose.")


def _at(path: Any) -> str:
    return "body" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def problems(api: str, canned: CannedAnswer) -> list[str]:
    """Every way `canned` differs from what the contract documents for `api` at its status."""
    try:
        schema = contractschema.response_schema(api, canned.status)
    except contractschema.UnknownApi as exc:
        return [str(exc)]
    body: Any = canned.body
    if canned.status >= 400 and isinstance(body, dict):
        body = {"korrelasjonsid": _PLACEHOLDER_ID, **body}  # the server sets it on every error body
    validator = jsonschema.Draft202012Validator(schema, format_checker=_FORMATS)
    found = [f"{_at(e.absolute_path)}: {e.message}"
             for e in sorted(validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])]
    codes = contractschema.error_codes(api, canned.status) if canned.status >= 400 else []
    kode = body.get("kode") if isinstance(body, dict) else None
    if codes and isinstance(kode, str) and kode not in codes:
        found.append(f"body.kode: {kode!r} is not documented for {canned.status}; {api} documents "
                     f"{', '.join(codes)} for it")
    given = {k.lower(): v for k, v in canned.headers.items()}
    for name, header_schema in contractschema.required_headers(api, canned.status).items():
        if name.lower() in _SET_BY_SERVER:
            continue
        value = given.get(name.lower())
        if value is None:
            found.append(f"header {name}: required at {canned.status}, missing")
        elif header_schema.get("type") == "integer" and not (value.isascii() and value.isdigit()):
            found.append(f"header {name}: {value!r} is not a whole number of seconds")
    return found


def check(api: str, canned: CannedAnswer) -> None:
    """Raise `OffContractAnswer` when `canned` is not an answer `api` could send."""
    found = problems(api, canned)
    if found:
        raise OffContractAnswer(api, canned.status, found)
