"""`ske-sandbox coverage`: which documented outcomes a running sandbox's clients met, held to a requirement
file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import options as opt


def register(sub: Any) -> None:
    p = sub.add_parser("coverage",
                       help="list the documented outcomes (200, codes, statuses, JSON/XML) clients of a running "
                            "sandbox met, and fail on required ones never met")
    p.set_defaults(run=run)
    opt.url_option(p, "the running sandbox's address (default http://127.0.0.1:8080)", "http://127.0.0.1:8080")
    opt.file_option(p, "require", help="requirement file (YAML): the outcomes the suite must meet, per API "
                    "(see fixtures/requirements-kommuneboligsosialeformaal.yaml)")
    p.add_argument("--junit", type=Path, help="also write a JUnit XML report (one test case per required outcome)")
    opt.github_option(p)
    opt.admin_token_options(p, "the server's admin token, if it has one")
    opt.session_option(p)


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every required outcome was met, 1 when one never was, 2 when the requirement file is bad
    (ConfigError, reported by the CLI) or the journal is unreachable."""
    from ..conformance import coverage
    from ..conformance.verdict import as_junit, github_coverage
    from .remote import JournalUnreadable, read_journal

    opt.token_from_file(args)
    requirements = coverage.load_requirements(args.require_file) if args.require_file else None
    try:
        entries = read_journal(args.url, args.admin_token, args.session)
    except JournalUnreadable as exc:
        print(f"ske-sandbox: {exc}", file=sys.stderr)
        return 2
    cov = coverage.of_entries(entries, requirements)
    if args.junit:
        args.junit.write_bytes(as_junit(None, cov))
    if args.github and cov.missing:
        print("\n".join(github_coverage(cov)))
    print(coverage.table(cov))
    return 1 if cov.missing else 0
