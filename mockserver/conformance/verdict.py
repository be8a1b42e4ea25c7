"""Conformance and coverage together, in the forms a CI reads: JSON, JUnit XML (one case per request, one
per required outcome), Markdown (for `$GITHUB_STEP_SUMMARY`) and GitHub annotations (`::error` lines)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from .coverage import Coverage
from .report import junit_suite, paragraph, title

MAX_LISTED = 50  # non-conforming requests spelled out in Markdown; the count covers the rest


def ok(entries: list[dict[str, Any]], cov: Coverage) -> bool:
    return not cov.missing and all(e.get("conforms", True) for e in entries)


def as_json(entries: list[dict[str, Any]], cov: Coverage) -> dict[str, Any]:
    bad = [e for e in entries if not e.get("conforms", True)]
    return {
        "ok": ok(entries, cov),
        "conformance": {
            "requests": len(entries),
            "nonconforming": [{"seq": e.get("seq"), "method": e.get("method"), "url": e.get("url"),
                               "status": e.get("status"), "outcome": e.get("outcome"),
                               "problems": e.get("problems") or []} for e in bad],
        },
        "coverage": {
            "calls": cov.calls,
            "required": [{"api": r.service, "operation": r.operation, "outcome": r.outcome, "why": r.why,
                          "calls": n, "met": n > 0} for r, n in cov.required],
            "missing": [r.name for r in cov.missing],
            "operations": _operations(cov),
        },
    }


def _operations(cov: Coverage) -> list[dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for row in cov.rows:
        op = out.setdefault((row.service, row.operation), {"api": row.service, "operation": row.operation,
                                                            "met": {}, "unmet": []})
        if row.calls:
            op["met"][row.outcome.id] = row.calls
        else:
            op["unmet"].append(row.outcome.id)
    return list(out.values())


def as_junit(entries: list[dict[str, Any]] | None, cov: Coverage) -> bytes:
    """Two suites: the requests (a failure per non-conforming one; left out for None) and the required
    outcomes (a failure per one never met; without requirements, the outcomes that were met)."""
    requests = entries or []
    bad = sum(not e.get("conforms", True) for e in requests)
    cases = [(r.name, r.why, n) for r, n in cov.required] if cov.required else \
        [(f"{row.service} {row.operation} {row.outcome.id}", row.outcome.what, row.calls) for row in cov.met]
    missing = sum(n == 0 for _, _, n in cases)
    root = ET.Element("testsuites", name="ske-sandbox", tests=str(len(requests) + len(cases)),
                      failures=str(bad + missing))
    if entries is not None:
        junit_suite(root, entries)
    suite = ET.SubElement(root, "testsuite", name="ske-sandbox coverage", tests=str(len(cases)),
                          failures=str(missing), errors="0")
    for name, why, calls in cases:
        case = ET.SubElement(suite, "testcase", classname="ske-sandbox.coverage", name=name)
        ET.SubElement(case, "system-out").text = f"{why} ({calls} call(s))"
        if not calls:
            ET.SubElement(case, "failure", message=f"{name} was never met: {why}",
                          type="UnmetOutcome").text = f"No journaled call met {name}. Required because: {why}"
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def as_markdown(entries: list[dict[str, Any]], cov: Coverage) -> str:
    bad = [e for e in entries if not e.get("conforms", True)]
    lines = ["## ske-sandbox verdict", "",
             f"{'✅' if ok(entries, cov) else '❌'} {len(entries)} request(s) journaled, {len(bad)} did not conform"
             + (f"; {len(cov.required) - len(cov.missing)} of {len(cov.required)} required outcomes met"
                if cov.required else ""), ""]
    if bad:
        lines += ["### Requests that did not conform", ""]
        lines += [f"- {_cell(paragraph(e))}" for e in bad[:MAX_LISTED]]
        if len(bad) > MAX_LISTED:
            lines.append(f"- … and {len(bad) - MAX_LISTED} more")
        lines.append("")
    if cov.required:
        lines += ["### Required outcomes", "", "| | API | outcome | calls | why |", "|---|---|---|---:|---|"]
        for r, n in cov.required:
            api = r.service + (f" {r.operation}" if r.operation else "")
            lines.append(f"| {'✅' if n else '❌'} | {api} | {r.outcome} | {n} | {_cell(r.why)} |")
        lines.append("")
    lines += ["### Outcomes met per operation", "", "| API | operation | met | not met |", "|---|---|---|---|"]
    for op in _operations(cov):
        met = ", ".join(f"{k} ({v})" for k, v in op["met"].items()) or "—"
        lines.append(f"| {op['api']} | {op['operation']} | {met} | {', '.join(op['unmet']) or '—'} |")
    return "\n".join(lines) + "\n"


def _escape(text: str, property: bool = False) -> str:
    """GitHub workflow-command escaping: data escapes %, CR and LF; a property also : and ,."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property else text


def annotation(title_text: str, message: str) -> str:
    return f"::error title={_escape(title_text, True)}::{_escape(message)}"


def github_conformance(entries: list[dict[str, Any]]) -> list[str]:
    return [annotation("Request broke its contract", f"{title(e)}: " + "; ".join(e.get("problems") or []))
            for e in entries if not e.get("conforms", True)]


def github_coverage(cov: Coverage) -> list[str]:
    return [annotation("Required outcome never met", f"{r.name}: {r.why}") for r in cov.missing]
