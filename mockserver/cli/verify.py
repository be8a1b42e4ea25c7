"""`ske-sandbox verify`: hold another stand-in of the APIs (a mock, proxy or recorded-fixtures server) to
the contracts, with schemathesis."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..services import CONTRACTS
from . import options as opt


def register(sub: Any) -> None:
    p = sub.add_parser("verify", help="check a stand-in of the APIs (your mock, proxy or recorded "
                       "fixtures server) against the contracts with schemathesis")
    p.set_defaults(run=run)
    opt.url_option(p, "where the stand-in listens, e.g. http://127.0.0.1:9000")
    # the address as a bare argument, as earlier releases took it
    p.add_argument("positional_url", nargs="?", default=None, help=argparse.SUPPRESS)
    p.add_argument("--contract", action="append", choices=CONTRACTS, dest="contracts",
                   help="contract to check (repeatable; default: all)")
    p.add_argument("--base-path", action="append", type=opt.base_path, default=[], metavar="NAME=PATH",
                   help="where the stand-in serves a contract, e.g. inntekt=/v1 (default: the sandbox's "
                        "layout, /inntekt/v1 etc.)")
    p.add_argument("--token", help="bearer token sent as Authorization on every request")
    p.add_argument("--junit", type=Path, help="write a JUnit XML report here")
    opt.count_option(p, 50, "requests per operation (default 50)", "--max-examples")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated requests (0)")


def run(args: argparse.Namespace) -> int:
    url = args.url or args.positional_url
    if not url:
        print("ske-sandbox: verify needs --url URL, the stand-in's address", file=sys.stderr)
        return 2
    try:
        from ..testkit.verify import Unreachable, verify
    except ImportError as exc:
        print(f"ske-sandbox: verify needs the test kit: pip install 'ske-sandbox[testkit]' ({exc})", file=sys.stderr)
        return 2
    try:
        report = verify(url, args.contracts, token=args.token, base_paths=dict(args.base_path),
                        max_examples=args.count, seed=args.seed)
    except Unreachable as exc:
        print(f"ske-sandbox: {exc}", file=sys.stderr)
        return 2
    print(report.summary(), flush=True)
    if args.junit:
        report.junit(args.junit)
    return 1 if report.failed else 0
