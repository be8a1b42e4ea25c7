"""A recorded real answer held to `contracts/`: documented status, body schema, documented `kode`.

The schemas and documented codes come from `mockserver.contractschema`, the one reading of the contracts
the sandbox has; jsonschema does the validating. XML bodies are compared but not schema-checked.
"""

from __future__ import annotations

from typing import Any

import jsonschema

from .. import contractschema
from ..services import MASKINPORTEN
from .classify import Call

_FORMATS = jsonschema.FormatChecker()


def _at(path: Any) -> str:
    return "body" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def violations(call: Call, status: int, body: Any, media: str) -> list[str]:
    """How a real answer breaks its contract; empty when it keeps it (or is not JSON)."""
    api, op = call.service.name, call.operation
    token = call.service is MASKINPORTEN and op.operation_id == "token"
    documented = contractschema.documented_codes(api, op.template, op.method)
    if status not in documented:
        return [f"status {status} is not documented for {op.method} {op.template}; the contract documents "
                f"{', '.join(map(str, sorted(documented)))}"]
    if "json" not in media.lower() and body is None:
        return []
    try:
        schema = contractschema.response_schema(api, status, "application/json",
                                                template=None if token else op.template)
    except contractschema.UnknownApi:
        return []  # the contract documents no JSON body for this status
    validator = jsonschema.Draft202012Validator(schema, format_checker=_FORMATS)
    found = [f"{_at(e.absolute_path)}: {e.message}"
             for e in sorted(validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])]
    codes = documented.get(status) or []
    kode = body.get("kode") if isinstance(body, dict) else None
    if not token and codes and isinstance(kode, str) and kode not in codes:
        found.append(f"body.kode: {kode!r} is not documented for {status}; the contract documents "
                     f"{', '.join(codes)}")
    return found
