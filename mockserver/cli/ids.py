"""`ske-sandbox ids`: valid synthetic numbers for personas and clients files."""

from __future__ import annotations

import argparse
import datetime as dt
import random
from typing import Any

from . import options as opt

MAX_COUNT = 10_000


def register(sub: Any) -> None:
    p = sub.add_parser("ids", help="mint valid synthetic numbers: orgnr, fnr (month + 80) or dnr")
    p.set_defaults(run=run)
    p.add_argument("kind", choices=["orgnr", "fnr", "dnr"])
    opt.count_option(p, 1, f"how many (1–{MAX_COUNT}, default 1)", type=opt.bounded(1, MAX_COUNT, "--count"))
    p.add_argument("--seed", type=int, default=None, help="the same seed gives the same numbers")


def run(args: argparse.Namespace) -> int:
    """Seeded, so a script gets the same numbers every time."""
    from ..identifiers import individual_range, make_orgnr, make_person_number

    rng = random.Random(args.seed)
    out: list[str] = []
    while len(out) < args.count:
        if args.kind == "orgnr":
            out.append(make_orgnr(rng.randrange(20_000_000)))
            continue
        born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(365 * 66))
        low, high = individual_range(born.year)
        number = make_person_number(born, rng.randint(low, high), d_number=args.kind == "dnr")
        if number:
            out.append(number)
    print("\n".join(out))
    return 0
