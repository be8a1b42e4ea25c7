"""`ske-sandbox client new`: a key pair (or business certificate) and its clients-file entry."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("client", help="Maskinporten client tools")
    csub = p.add_subparsers(dest="client_command", required=True)
    new = csub.add_parser("new", help="generate a key pair (or certificate) and a clients-file entry")
    new.set_defaults(run=run_new)
    new.add_argument("--client-id", required=True)
    new.add_argument("--orgnr", required=True, help="the client's own org (the certificate's, a supplier's)")
    new.add_argument("--consumer-orgnr", metavar="ORGNR", action="append", default=[],
                     help="register a supplier acting for this municipality (repeat for several): it holds the "
                     "rettighetspakke and delegates the scopes to --orgnr, and grants carry consumer_org=ORGNR; "
                     "without it the client's own org holds the package")
    new.add_argument("--x5c", action="store_true", help="make a business certificate instead of a JWK")
    new.add_argument("--scopes", default="skatteetaten:summertskattegrunnlag skatteetaten:inntekt")
    new.add_argument("--out", type=Path, required=True, help="folder for the key, JWK or certificate and clients.yaml")
    new.add_argument("--force", action="store_true", help="replace files and a registration that exist")


def run_new(args: argparse.Namespace) -> int:
    from ..maskinporten.clientgen import ClientGenError, generate, next_steps

    try:
        made = generate(args.client_id, args.orgnr, args.out, x5c=args.x5c, scopes=args.scopes.split(),
                        force=args.force, consumer_orgnrs=args.consumer_orgnr)
    except ClientGenError as exc:
        print(f"ske-sandbox: {exc}", file=sys.stderr)
        return 2
    for path in made.written:
        print(f"wrote {path}")
    print(next_steps(made))
    return 0
