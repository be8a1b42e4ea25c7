"""`ske-sandbox drift FILE.har`: real answers (a HAR of calls to the real test or production hosts) held to
the contracts and compared with what the sandbox answers for the same kind of call."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from . import options as opt


def register(sub: Any) -> None:
    p = sub.add_parser("drift", help="check a HAR of real answers against the contracts and compare them with "
                       "the sandbox's answers to the same kind of call")
    p.set_defaults(run=run)
    p.add_argument("har", type=Path, metavar="FILE.har", help="a HAR 1.2 file (browser, proxy, WireMock, "
                   "`ske-sandbox record`)")
    opt.url_option(p, "compare with this running sandbox instead of one built in-process")
    opt.admin_token_options(p, "the running sandbox's admin token, if it has one (with --url)")
    p.add_argument("--seed", type=int, default=opt.env("SEED", "1"),
                   help="seed of the in-process sandbox (default 1; env SKE_SANDBOX_SEED)")
    p.add_argument("--today", type=opt.date,
                   help="data calendar of the in-process sandbox (default: the day the HAR's first call was made)")
    opt.file_option(p, "personas", help="extra personas for the in-process sandbox")
    p.add_argument("--person", metavar="FNR|SCENARIO",
                   help="the sandbox person (a number, or a persona's scenario) to compare a real answer with data "
                        "against (default: the `ordinary` persona)")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    p.add_argument("--json-file", type=Path, metavar="FILE", help="also write the report as JSON to this file")
    p.add_argument("--junit", type=Path, metavar="FILE", help="also write a JUnit XML report")
    p.add_argument("--fail-on-difference", action="store_true",
                   help="exit 1 on a difference from the sandbox too, not only on a contract violation")


def _today(args: argparse.Namespace, exchanges: list[Any]) -> dt.date:
    if args.today is not None:
        return args.today  # type: ignore[no-any-return]
    started = [e.started for e in exchanges if e.started is not None]
    return min(started).date() if started else dt.date.today()


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every real answer kept its contract, 1 when one did not (or, with --fail-on-difference,
    when one differs from the sandbox's), 2 when the HAR or the sandbox cannot be read."""
    from ..drift import ask
    from ..drift.check import check
    from ..drift.har import HarError, read
    from ..drift.redact import redact_text
    from ..drift.report import as_json, as_text, counts, write_junit

    try:
        exchanges = read(args.har)
    except HarError as exc:
        print(f"ske-sandbox: {exc}", file=sys.stderr)
        return 2
    if args.url:
        opt.token_from_file(args)
        side = ask.remote(args.url, args.admin_token, args.person)
    else:
        side = ask.in_process(args.seed, _today(args, exchanges), args.person, args.personas_file)
    findings = check(exchanges, side)
    report = as_json(findings)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(redact_text(as_text(findings)))
    if args.json_file is not None:
        args.json_file.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if args.junit is not None:
        write_junit(findings, args.junit)
    n = counts(findings)
    return 1 if n["contract_violations"] or (args.fail_on_difference and n["differences"]) else 0
