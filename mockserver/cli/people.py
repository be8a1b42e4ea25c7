"""`ske-sandbox people` and `ske-sandbox person`: who lives in the sandbox, from the world's options or from
a running server (`--url`), so the CLI never disagrees with a server."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from . import options as opt

ASK_SERVER = "ask this running sandbox instead (its seed, data calendar and personas)"


def register(sub: Any) -> None:
    people = sub.add_parser("people", help="list the synthetic people")
    people.set_defaults(run=run_people)
    opt.world_options(people)
    people.add_argument("--json", action="store_true", help="print them as JSON")
    opt.count_option(people, 30, "how many to list (default 30)", "--limit")
    people.add_argument("--scenario", help="only personas of this scenario (e.g. SSG-008, pensioner)")
    people.add_argument("--search", help="text to find in number, name or story")
    opt.url_option(people, ASK_SERVER)

    person = sub.add_parser("person", help="one person's story, years and months")
    person.set_defaults(run=run_person)
    person.add_argument("fnr")
    opt.world_options(person)
    person.add_argument("--json", action="store_true", help="print it as JSON")
    opt.url_option(person, ASK_SERVER)


def _ask(url: str, **params: str | int | None) -> list[dict[str, Any]]:
    import httpx

    r = httpx.get(f"{url.rstrip('/')}/__sandbox/people", params={k: v for k, v in params.items() if v is not None},
                  timeout=60)
    r.raise_for_status()
    rows: list[dict[str, Any]] = r.json()
    return rows


def run_people(args: argparse.Namespace) -> int:
    if args.url:
        rows = _ask(args.url, limit=args.count, scenario=args.scenario, search=args.search)
    else:
        population = opt.population(args)
        rows = []
        for life in population.people(scenario=args.scenario, search=args.search):
            rows.append(population.summary(life))
            if len(rows) >= args.count:
                break
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        years = ",".join(map(str, r["years"])) or "-"
        print(f"{r['fnr']}  {r['scenario'] or '':14s} {r['name'][:28]:28s} år: {years:24s} {r['story'][:60]}")
    return 0


def _from_server(args: argparse.Namespace) -> int:
    found = [p for p in _ask(args.url, search=args.fnr, limit=5) if p["fnr"] == args.fnr]
    if not found:
        print(f"ske-sandbox: nobody at {args.url} has {args.fnr}", file=sys.stderr)
        return 1
    p = found[0]
    print(json.dumps(p, ensure_ascii=False, indent=2) if args.json else
          f"{p['name']} ({p['fnr']}) {p.get('scenario') or ''}\n  {p.get('story', '')}\n"
          f"  år med skatteoppgjør: {', '.join(map(str, p['years'])) or 'ingen'}")
    return 0


def run_person(args: argparse.Namespace) -> int:
    from ..identifiers import InvalidIdentifier, parse_person_number
    from ..months import month_text

    try:
        parse_person_number(args.fnr)
    except InvalidIdentifier as exc:
        print(f"ske-sandbox: {args.fnr}: {exc}", file=sys.stderr)
        return 2
    if args.url:
        return _from_server(args)
    population = opt.population(args)
    life = population.lookup(args.fnr)
    if life is None:
        print(f"ske-sandbox: nobody in this sandbox has {args.fnr} (seed {args.seed}, "
              f"population {args.population})", file=sys.stderr)
        return 1
    summary = population.summary(life)
    summary["household"] = {"spouse": life.spouse, "children": life.children}
    summary["income"] = [
        {"kind": s.kind, "beskrivelse": s.beskrivelse, "payer": s.payer.name, "orgnr": s.payer.orgnr,
         "from": month_text(s.start), "to": month_text(s.end) if s.end else None}
        for s in life.streams
    ]
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    print(f"{life.name} ({life.fnr}{', D-nummer' if life.d_number else ''}), født {life.born}")
    print(f"  {life.story}")
    for inc in summary["income"]:
        print(f"  {inc['kind']}/{inc['beskrivelse']} fra {inc['payer']} ({inc['orgnr']}) {inc['from']}–"
              f"{inc['to'] or ''}")
    print(f"  år med skatteoppgjør: {', '.join(map(str, summary['years'])) or 'ingen'}")
    months = summary["months"]
    print(f"  måneder i a-ordningen: {months[0] + '–' + months[-1] if months else 'ingen'} ({len(months)})")
    return 0
