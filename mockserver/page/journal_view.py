"""The journal as the page shows it: newest first, readable times, filters, and the contract verdict when
entries carry one (`conforms`, `problems`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..services import DATA_APIS
from ..services import SERVICES as REGISTRY

SERVICES = {service.name: service.short_title for service in REGISTRY}  # the filter's choices
_STATUS_OF_CODE = {code: status for s in DATA_APIS if s.errors for code, status, _ in s.errors.table()}


@dataclass(frozen=True)
class Row:
    at: str
    method: str
    target: str
    service: str
    status: int | None
    outcome: str
    consumer: str
    client: str
    conforms: bool | None
    problems: list[str]


def status_of(entry: dict[str, Any]) -> int | None:
    """The HTTP status: recorded by newer journals; else read off the outcome code."""
    status = entry.get("status")
    if isinstance(status, int):
        return status
    outcome = str(entry.get("outcome", ""))
    if outcome.isdigit():
        return int(outcome)
    if outcome == "token":
        return 200
    if outcome.startswith("MP-"):
        return 400
    return _STATUS_OF_CODE.get(outcome)


def row(entry: dict[str, Any]) -> Row:
    at = entry.get("at")
    when = (dt.datetime.fromtimestamp(at, dt.UTC).strftime("%H:%M:%S") if isinstance(at, int | float) else "")
    query = entry.get("query") or ""
    problems = entry.get("problems") or []
    return Row(
        at=when, method=str(entry.get("method", "")),
        target=f"{entry.get('path', '')}{'?' + query if query else ''}",
        service=str(entry.get("service", "")), status=status_of(entry), outcome=str(entry.get("outcome", "")),
        consumer=str(entry.get("consumer") or ""), client=str(entry.get("client_id") or entry.get("client") or ""),
        conforms=entry.get("conforms") if isinstance(entry.get("conforms"), bool) else None,
        problems=[str(p) for p in problems] if isinstance(problems, list) else [str(problems)],
    )


def rows(entries: list[dict[str, Any]], service: str = "", status: str = "", client: str = "") -> list[Row]:
    out = []
    for entry in reversed(entries):
        r = row(entry)
        if service and r.service != service:
            continue
        if status and not _status_matches(r, status):
            continue
        if client and client not in (r.consumer, r.client):
            continue
        out.append(r)
    return out


def _status_matches(r: Row, wanted: str) -> bool:
    """'200', '4xx' / '5xx', or an outcome code such as SSG-008."""
    if r.status is not None and len(wanted) == 3 and wanted.endswith("xx"):
        return str(r.status)[0] == wanted[0]
    return wanted in (str(r.status), r.outcome)


def has_verdicts(entries: list[dict[str, Any]]) -> bool:
    return any("conforms" in e for e in entries)
