"""Drift in the forms a person and a CI read: text, JSON, JUnit XML.

The JUnit file has two suites: the real answers held to the contracts (written by the conformance
command's own writer, one case per exchange, a failure per broken contract) and the differences from the
sandbox (a failing case per difference; a passing one for an exchange without any).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ..conformance.report import junit_suite
from .check import Finding

CONTRACT_SUITE = "ske-sandbox drift: real answers against the contracts"
DIFFERENCE_SUITE = "ske-sandbox drift: differences from the sandbox"


def counts(findings: list[Finding]) -> dict[str, int]:
    compared = [f for f in findings if not f.skipped]
    return {"exchanges": len(findings), "compared": len(compared), "skipped": len(findings) - len(compared),
            "contract_violations": sum(len(f.violations) for f in compared),
            "differences": sum(len(f.differences) for f in compared)}


def as_text(findings: list[Finding]) -> str:
    lines: list[str] = []
    for f in findings:
        if f.skipped:
            lines += [f"{f.title}", f"  not compared: {f.skipped}", ""]
            continue
        if not f.violations and not f.differences:
            continue
        lines.append(f"{f.title}: {f.service} {f.operation}, {f.klass}")
        if f.sandbox is not None:
            who = f", person {f.sandbox.person}" if f.sandbox.person else ""
            forced = f", forced {f.sandbox.forced}" if f.sandbox.forced else ""
            lines.append(f"  compared with the sandbox's {f.sandbox.status} to {f.sandbox.url}{who}{forced}")
        lines += [f"  contract: {v}" for v in f.violations]
        lines += [f"  differs: {d.text()}" for d in f.differences]
        lines.append("")
    n = counts(findings)
    lines.append(f"{n['exchanges']} exchange(s), {n['compared']} compared ({n['skipped']} not a call of any "
                 f"contract): {n['contract_violations']} contract violation(s), {n['differences']} difference(s)")
    return "\n".join(lines)


def as_json(findings: list[Finding]) -> dict[str, Any]:
    return {"summary": counts(findings), "exchanges": [f.as_dict() for f in findings]}


def _entry(f: Finding) -> dict[str, Any]:
    """A finding in the shape the conformance writer reads."""
    return {"method": f.method, "url": f.url, "status": f.status, "service": f.service,
            "outcome": f.klass if f.status >= 400 else None,
            "conforms": not f.violations, "problems": f.violations}


def as_junit(findings: list[Finding]) -> bytes:
    compared = [f for f in findings if not f.skipped]
    cases = sum(max(1, len(f.differences)) for f in compared)
    differences = sum(len(f.differences) for f in compared)
    root = ET.Element("testsuites", name="ske-sandbox drift", tests=str(len(compared) + cases),
                      failures=str(sum(bool(f.violations) for f in compared) + differences))
    junit_suite(root, [_entry(f) for f in compared], CONTRACT_SUITE)
    suite = ET.SubElement(root, "testsuite", name=DIFFERENCE_SUITE, tests=str(cases), failures=str(differences),
                          errors="0")
    for f in compared:
        classname = f"ske-sandbox.drift.{f.service}"
        if not f.differences:
            ET.SubElement(suite, "testcase", classname=classname, name=f"{f.title}: as the sandbox answers")
        for d in f.differences:
            case = ET.SubElement(suite, "testcase", classname=classname, name=f"{f.title}: {d.kind} {d.path}".strip())
            failure = ET.SubElement(case, "failure", type="SandboxDifference", message=d.text())
            failure.text = f"{f.title}\n{d.text()}"
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_junit(findings: list[Finding], path: Path) -> None:
    path.write_bytes(as_junit(findings))
