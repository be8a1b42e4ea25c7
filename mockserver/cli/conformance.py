"""`ske-sandbox conformance`: a running sandbox's journal as a CI verdict."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import options as opt


def register(sub: Any) -> None:
    p = sub.add_parser("conformance",
                       help="check the requests clients made to a running sandbox against the contracts")
    p.set_defaults(run=run)
    opt.url_option(p, "the running sandbox's address (default http://127.0.0.1:8080)", "http://127.0.0.1:8080")
    p.add_argument("--junit", type=Path, help="also write a JUnit XML report to this file")
    opt.github_option(p)
    opt.admin_token_options(p, "the server's admin token, if it has one")
    opt.session_option(p)


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every journaled request conformed, 1 when some did not, 2 when the journal is unreachable."""
    from ..conformance.report import junit, paragraphs
    from ..conformance.verdict import github_conformance
    from .remote import JournalUnreadable, read_journal

    opt.token_from_file(args)
    try:
        entries = read_journal(args.url, args.admin_token, args.session)
    except JournalUnreadable as exc:
        print(f"ske-sandbox: {exc}", file=sys.stderr)
        return 2
    bad = [e for e in entries if not e.get("conforms", True)]
    if args.junit:
        junit(entries, args.junit)
    if args.github and bad:
        print("\n".join(github_conformance(entries)))
    if bad:
        print(paragraphs(bad), end="\n\n")
    print(f"{len(entries)} request(s) journaled, {len(bad)} did not conform")
    return 1 if bad else 0
