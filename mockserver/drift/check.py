"""A HAR's real answers, each checked against its contract and compared with the sandbox's answer to the
same kind of call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .ask import Answer, SandboxSide
from .classify import Unclassified, answer_class, classify, json_body
from .compare import Difference, compare
from .contract import violations
from .har import Exchange
from .redact import redact_text


@dataclass
class Finding:
    """What drift says about one recorded exchange. Its texts are redacted (the sandbox's synthetic numbers too,
    as `as_dict` gives them)."""

    index: int
    method: str
    url: str
    status: int
    service: str = ""
    operation: str = ""
    klass: str = ""
    violations: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    sandbox: Answer | None = None
    skipped: str = ""  # why the exchange was not compared (not a call of any contract)

    @property
    def title(self) -> str:
        return f"{self.method} {self.url} (answered {self.status})"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "method": self.method, "url": self.url, "status": self.status,
                               "service": self.service, "operation": self.operation, "class": self.klass,
                               "contract_violations": self.violations,
                               "differences": [d.as_dict() for d in self.differences]}
        if self.sandbox is not None:
            person = self.sandbox.person
            out["sandbox"] = {"url": redact_text(self.sandbox.url), "status": self.sandbox.status,
                              "person": redact_text(person) if person else None, "forced": self.sandbox.forced}
        if self.skipped:
            out["skipped"] = self.skipped
        return out


def _redacted(d: Difference) -> Difference:
    return Difference(d.kind, redact_text(d.path), redact_text(d.real), redact_text(d.sandbox))


def check_exchange(index: int, exchange: Exchange, side: SandboxSide) -> Finding:
    shown = exchange.redacted()
    finding = Finding(index, exchange.method, shown.url, exchange.status)
    try:
        call = classify(exchange.method, exchange.url)
    except Unclassified as exc:
        finding.skipped = redact_text(str(exc))
        return finding
    real = json_body(exchange.response_body)
    finding.service, finding.operation = call.service.name, call.operation.operation_id
    finding.klass = redact_text(answer_class(exchange.status, real))
    media = exchange.response_mime or exchange.header("content-type", response=True) or ""
    finding.violations = [redact_text(v) for v in violations(call, exchange.status, real, media)]
    answer = side.ask(call, answer_class(exchange.status, real), exchange.header("accept"),
                      exchange.header("altinnsamtykke") is not None, real)
    finding.sandbox = answer
    # both sides redacted alike, so a token or a masked number is the same shape on both
    real_shown = json_body(shown.response_body)
    sandbox_shown = json_body(redact_text(answer.body))
    found = compare(exchange.status, real_shown, answer.status, sandbox_shown, media, answer.media)
    finding.differences = [_redacted(d) for d in found]
    return finding


def check(exchanges: list[Exchange], side: SandboxSide) -> list[Finding]:
    return [check_exchange(i, e, side) for i, e in enumerate(exchanges)]
