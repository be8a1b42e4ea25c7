"""`ske-sandbox demo-client`: the built-in Maskinporten client of a seed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from . import options as opt


def register(sub: Any) -> None:
    p = sub.add_parser("demo-client", help="the built-in Maskinporten client of a seed")
    p.set_defaults(run=run)
    p.add_argument("--seed", type=int, default=opt.env("SEED", "1"), help="default 1; env SKE_SANDBOX_SEED")
    p.add_argument("--json", action="store_true", help="print it as JSON")
    p.add_argument("--out", type=Path, help="write PEM key, JWK, .p12 and JSON into this folder")


def run(args: argparse.Namespace) -> int:
    from ..maskinporten.registry import demo_client

    demo = demo_client(args.seed)
    if args.out:
        from ..maskinporten.clientgen import write_demo_files

        for path in write_demo_files(demo, args.out):
            print(f"wrote {path}")
        return 0
    if args.json:
        print(json.dumps(demo.as_dict(), indent=2))
    else:
        print(f"client_id: {demo.client_id}\norgnr:     {demo.orgnr}\nkid:       {demo.kid}\n"
              f"scopes:    {' '.join(demo.scopes)}\n\n{demo.private_key_pem}")
    return 0
