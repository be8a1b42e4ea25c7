"""Verdicts in words: one paragraph per non-conforming request, and a JUnit XML file for a CI's test view."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any


class NonConformingRequests(AssertionError):
    """Raised by `assert_requests_conform()`; its message is the paragraphs."""


def title(entry: dict[str, Any]) -> str:
    answer = f"{entry.get('status')}" + (f" {entry['outcome']}" if entry.get("outcome") not in (None, "200") else "")
    return f"{entry.get('method')} {entry.get('url')} (answered {answer})"


def paragraph(entry: dict[str, Any]) -> str:
    problems = entry.get("problems") or []
    return f"{title(entry)} does not conform: " + "; ".join(problems) + "."


def paragraphs(entries: list[dict[str, Any]]) -> str:
    n = len(entries)
    head = f"{n} request{'s' if n != 1 else ''} did not conform to the contracts:\n\n"
    return head + "\n\n".join(paragraph(e) for e in entries)


def junit(entries: list[dict[str, Any]], path: Path, suite: str = "ske-sandbox conformance") -> None:
    """One test case per request; a failure for each that did not conform."""
    bad = [e for e in entries if not e.get("conforms")]
    root = ET.Element("testsuites", tests=str(len(entries)), failures=str(len(bad)))
    junit_suite(root, entries, suite)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def junit_suite(root: ET.Element, entries: list[dict[str, Any]], suite: str = "ske-sandbox conformance") -> None:
    """The `testsuite` of the requests under `root`."""
    bad = [e for e in entries if not e.get("conforms")]
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(entries)), failures=str(len(bad)), errors="0")
    for e in entries:
        case = ET.SubElement(ts, "testcase", classname=f"ske-sandbox.{e.get('service')}", name=title(e))
        if not e.get("conforms"):
            failure = ET.SubElement(case, "failure", message="; ".join(e.get("problems") or []),
                                    type="NonConformingRequest")
            failure.text = paragraph(e)
