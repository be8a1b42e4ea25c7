"""Outcome coverage: which documented outcomes of each contract operation a client's calls met, and whether
those a requirement file names were met.

The outcomes of an operation are read from its contract (services.SERVICES, each service's contract):
`200` with data; each documented error status (`404`, `410`, `429`, `503`, …); each documented code
(`SSG-008`, `IM-007`, for Maskinporten's token endpoint the `MP-nnn` codes and `refused`, any refused
grant); and `json` / `xml` when the 200 answer comes in both. A forced answer (a scenario, a canned
answer) counts as met: the client met it, which is what a suite wants to know. Written once, used by
`ske-sandbox coverage`, the pytest plugin and `GET /__sandbox/report`.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import contractschema
from ..configfiles import ConfigError, Location, load, where
from ..representation import NotAcceptable, choose_media_type
from ..services import SERVICES, Service
from .operations import operation_of, operations

SCHEMA = "requirements"
REFUSED = "refused"  # Maskinporten refused the grant, whatever the MP code


@dataclass(frozen=True)
class Outcome:
    id: str  # "200", "404", "SSG-008", "MP-110", "refused", "json", "xml"
    what: str  # in words, for tables


@dataclass(frozen=True)
class OperationOutcomes:
    service: str
    operation: str  # the contract's operationId
    method: str
    template: str
    outcomes: tuple[Outcome, ...]

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(o.id for o in self.outcomes)


def _meanings(service: Service) -> dict[str, str]:
    if service.errors is not None:
        return {kode: meaning for kode, _, meaning in service.errors.table()}
    errors: dict[str, list[str]] = {}
    for code, error in contractschema.maskinporten_errors():
        errors.setdefault(code, []).append(error)
    return {code: "refused with " + " or ".join(names) for code, names in errors.items()}


def _outcomes_of(service: Service, method: str, template: str) -> tuple[Outcome, ...]:
    codes = contractschema.documented_codes(service.name, template, method)
    meanings = _meanings(service)
    out = [Outcome("200", "answered 200 with data")] if 200 in codes else []
    media = contractschema.success_media_types(service.name, template, method) if 200 in codes else []
    if len(media) > 1:  # the client chooses by Accept: each format is an outcome of its own
        out += [Outcome(m.split("/")[-1], f"a 200 answer in {m}") for m in media]
    for status in sorted(s for s in codes if s >= 400):
        out.append(Outcome(str(status), f"answered {status}"))
    if contractschema.is_token_operation(service.name, template, method):
        out.append(Outcome(REFUSED, "the grant refused (any MP code)"))
    seen = {o.id for o in out}
    for status in sorted(codes):
        for code in codes[status]:
            if code not in seen:
                seen.add(code)
                out.append(Outcome(code, meanings.get(code, f"answered {code}")))
    return tuple(out)


@functools.cache
def catalogue() -> tuple[OperationOutcomes, ...]:
    """Every operation of every registered service, with its documented outcomes."""
    return tuple(OperationOutcomes(service.name, op.operation_id, op.method, op.template,
                                   _outcomes_of(service, op.method, op.template))
                 for service in SERVICES for op in operations(service.name))


def outcomes_met(entry: dict[str, Any]) -> tuple[tuple[str, str], tuple[str, ...]] | None:
    """((service, operationId), outcome ids) of one journal entry; None for a call to no operation."""
    service = str(entry.get("service") or "")
    op = operation_of(service, str(entry.get("method") or ""), str(entry.get("path") or ""))
    if op is None:
        return None
    status, outcome = entry.get("status"), entry.get("outcome")
    ids: list[str] = []
    if status == 200 and entry.get("forced_by") != "network-fault":  # a cut 200 brought no data
        ids.append("200")
        accept = (entry.get("headers") or {}).get("accept")
        try:
            ids.append(choose_media_type(accept).split("/")[-1])
        except NotAcceptable:
            pass
    if isinstance(status, int) and status >= 400:
        ids.append(str(status))
        if status == 400 and contractschema.is_token_operation(service, op.template, op.method):
            ids.append(REFUSED)
    if isinstance(outcome, str) and outcome != str(status):
        ids.append(outcome)
    return (service, op.operation_id), tuple(ids)


class Tally:
    """Outcomes met, counted by (service, operationId, outcome id); fed journal entries, test by test."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self.calls = 0

    def add(self, entries: Iterable[dict[str, Any]]) -> Tally:
        for entry in entries:
            met = outcomes_met(entry)
            self.calls += 1
            if met is not None:
                (service, operation), ids = met
                self.counts.update((service, operation, i) for i in ids)
        return self


# --- requirement files -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Requirement:
    service: str
    outcome: str
    why: str
    operation: str | None = None  # an operationId; None: any operation of the service

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.service, self.operation, self.outcome) if p)


@dataclass(frozen=True)
class Requirements:
    items: tuple[Requirement, ...]
    title: str = ""
    source: str = ""


def load_requirements(path: Path) -> Requirements:
    """A requirement file, checked against schemas/requirements.schema.json and the contracts; ConfigError
    (`file:line: path: problem`) names every mistake."""
    doc, lines = load(path, SCHEMA, "the requirement file")
    by_service: dict[str, list[OperationOutcomes]] = {}
    for operation_outcomes in catalogue():
        by_service.setdefault(operation_outcomes.service, []).append(operation_outcomes)
    problems: list[str] = []
    items: list[Requirement] = []

    def bad(at: Location, text: str) -> None:
        problems.append(f"{where(path, lines, at)}: {text}")

    for service, entries in doc.get("require", {}).items():
        if service not in by_service:
            bad(("require", service), f"unknown API {service!r} (known: {', '.join(by_service)})")
            continue
        seen: set[tuple[str | None, str]] = set()
        for i, entry in enumerate(entries):
            at: Location = ("require", service, i)
            operation, outcome = entry.get("operation"), str(entry["outcome"])
            ops = by_service[service]
            if operation is not None:
                ops = [o for o in ops if o.operation == operation]
                if not ops:
                    names = ", ".join(o.operation for o in by_service[service])
                    bad((*at, "operation"), f"{service} has no operation {operation!r} (its operations: {names})")
                    continue
            known = sorted({i for o in ops for i in o.ids})
            if outcome not in known:
                bad((*at, "outcome"), f"{outcome!r} is not a documented outcome of {service}"
                    f"{' ' + operation if operation else ''} (its outcomes: {', '.join(known)})")
                continue
            if (operation, outcome) in seen:
                bad((*at, "outcome"), f"{outcome!r} is required twice for {service}")
                continue
            seen.add((operation, outcome))
            items.append(Requirement(service, outcome, str(entry["why"]).strip(), operation))
    if problems:
        raise ConfigError("\n".join(problems))
    return Requirements(tuple(items), str(doc.get("title", "")), str(path))


# --- the verdict ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    service: str
    operation: str
    outcome: Outcome
    calls: int
    required: Requirement | None = None


@dataclass(frozen=True)
class Coverage:
    rows: tuple[Row, ...]  # every documented outcome of every operation
    required: tuple[tuple[Requirement, int], ...]  # each requirement with the calls that met it
    calls: int  # calls journaled

    @property
    def missing(self) -> list[Requirement]:
        return [r for r, n in self.required if n == 0]

    @property
    def met(self) -> list[Row]:
        return [r for r in self.rows if r.calls]


def coverage(tally: Tally, requirements: Requirements | None = None) -> Coverage:
    counts = tally.counts
    reqs = requirements.items if requirements else ()
    rows = []
    for ops in catalogue():
        for o in ops.outcomes:
            req = next((r for r in reqs if r.service == ops.service and r.outcome == o.id
                        and r.operation in (None, ops.operation)), None)
            rows.append(Row(ops.service, ops.operation, o, counts[(ops.service, ops.operation, o.id)], req))
    required = tuple((r, sum(row.calls for row in rows if row.required == r)) for r in reqs)
    return Coverage(tuple(rows), required, tally.calls)


def of_entries(entries: Iterable[dict[str, Any]], requirements: Requirements | None = None) -> Coverage:
    return coverage(Tally().add(entries), requirements)


def table(cov: Coverage, everything: bool = True) -> str:
    """Met and unmet outcomes, one line each; required ones first. `everything=False`: required and met only."""
    shown = [r for r in cov.rows if r.required] + [r for r in cov.rows if not r.required]
    shown = [r for r in shown if everything or r.required or r.calls]
    width = max([len(f"{r.service} {r.operation}") for r in shown] + [15])
    lines = [f"{'':7} {'API / operation':{width}} {'outcome':9} {'calls':>5}  why it is required"]
    for r in shown:
        mark = "met" if r.calls else ("MISSING" if r.required else "-")
        why = r.required.why if r.required else ""
        lines.append(f"{mark:7} {r.service + ' ' + r.operation:{width}} {r.outcome.id:9} {r.calls:>5}  {why}".rstrip())
    return "\n".join(lines) + "\n" + summary(cov)


def compact(cov: Coverage) -> str:
    """The required outcomes as in `table`, then one line per operation called: what was met, what not."""
    lines = []
    if cov.required:
        lines.append(table(Coverage(tuple(r for r in cov.rows if r.required), cov.required, cov.calls),
                           everything=False).rsplit("\n", 1)[0])
    by_op: dict[tuple[str, str], list[Row]] = {}
    for row in cov.rows:
        by_op.setdefault((row.service, row.operation), []).append(row)
    for (service, operation), rows in by_op.items():
        met = [f"{r.outcome.id} ({r.calls})" for r in rows if r.calls]
        if met:
            unmet = [r.outcome.id for r in rows if not r.calls]
            lines.append(f"{service} {operation}: met {', '.join(met)}"
                         + (f"; not met {', '.join(unmet)}" if unmet else ""))
    return "\n".join(lines + [summary(cov)])


def summary(cov: Coverage) -> str:
    met = len(cov.met)
    text = f"{met} of {len(cov.rows)} documented outcomes met by {cov.calls} call(s)"
    if cov.required:
        done = len(cov.required) - len(cov.missing)
        text += f"; {done} of {len(cov.required)} required outcomes met"
        if cov.missing:
            text += " — never met: " + ", ".join(r.name for r in cov.missing)
    return text
