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
    opt.admin_token_options(p, "the server's admin token, if it has one")


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every journaled request conformed, 1 when some did not, 2 when the journal is unreachable."""
    import httpx

    from ..conformance.report import junit, paragraphs

    opt.token_from_file(args)
    url = f"{args.url.rstrip('/')}/__sandbox/journal"
    try:
        r = httpx.get(url, timeout=30, headers={"X-Ske-Sandbox-Admin": args.admin_token} if args.admin_token else {})
        r.raise_for_status()
        entries = r.json()
    except (httpx.HTTPError, ValueError) as exc:
        print(f"ske-sandbox: cannot read the journal at {url}: {exc}", file=sys.stderr)
        return 2
    bad = [e for e in entries if not e.get("conforms", True)]
    if args.junit:
        junit(entries, args.junit)
    if bad:
        print(paragraphs(bad), end="\n\n")
    print(f"{len(entries)} request(s) journaled, {len(bad)} did not conform")
    return 1 if bad else 0
