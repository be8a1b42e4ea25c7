"""How start-up, memory and person look-up scale with the population size.

    .venv/bin/python bench/population.py            # N = 1,000 / 100,000 / 1,000,000, 3 runs each
    .venv/bin/python bench/population.py --runs 5 --sizes 1000 1000000

Every run is a fresh Python process, so nothing is cached between runs. In the child:

- start-up: wall time of `create_app(Settings(population=N, today=2026-11-27))`, imports excluded
  (they are the same for every N and are shown separately);
- of which population: a second `Population(seed, N, calendar)` built in the same process (most of
  start-up is the seeded RSA key generation of the token signer and the demo client, the same for any N);
- peak RSS: `resource.getrusage(RUSAGE_SELF).ru_maxrss` right after start-up;
- cold look-up: `population.lookup(fnr)` + `population.skattegrunnlag(life, 2025)` for up to 2,000
  distinct random indexes (index -> fnr via `population.numbers.number(i)`, outside the timing), after
  one warm-up look-up that pays the one-off costs (Faker locale, code lists);
- cached look-up: the same call again for the same people (the life is in the LRU cache; the
  yearly body is still computed).

Runs interleave the sizes. Per N, each figure is the median over the runs (look-up times: the median
of the per-run medians). The ratios compare with the first N measured in the same invocation.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOOKUPS = 2000
YEAR = 2025


def child(n: int, run: int) -> dict:
    started = time.perf_counter()
    import datetime as dt
    import random
    import resource

    sys.path.insert(0, str(ROOT))
    from mockserver.app import create_app
    from mockserver.settings import Settings

    imported = time.perf_counter()
    app = create_app(Settings(population=n, today=dt.date(2026, 11, 27)))
    ready = time.perf_counter()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    population = app.state.sandbox.population
    from mockserver.population.world import Population

    t = time.perf_counter()
    Population(population.seed, n, population.calendar)
    population_s = time.perf_counter() - t
    rng = random.Random(f"bench:{n}:{run}")
    picks = rng.sample(range(n), min(LOOKUPS + 1, n))
    warm, picks = picks[0], picks[1:]
    population.skattegrunnlag(population.lookup(population.numbers.number(warm)), YEAR)

    fnrs = [population.numbers.number(i) for i in picks]
    cold, cached = [], []
    for fnr in fnrs:
        t = time.perf_counter()
        life = population.lookup(fnr)
        population.skattegrunnlag(life, YEAR)
        cold.append(time.perf_counter() - t)
    for fnr in fnrs:
        t = time.perf_counter()
        life = population.lookup(fnr)
        population.skattegrunnlag(life, YEAR)
        cached.append(time.perf_counter() - t)
    t = time.perf_counter()
    for i in picks:
        population.numbers.number(i)
    per_number = (time.perf_counter() - t) / len(picks)
    return {
        "n": n,
        "import_s": imported - started,
        "startup_s": ready - imported,
        "population_s": population_s,
        "rss_mib": rss_kib / 1024,
        "lookups": len(fnrs),
        "cold_ms": statistics.median(cold) * 1000,
        "cached_ms": statistics.median(cached) * 1000,
        "number_us": per_number * 1e6,
    }


def run_child(n: int, run: int) -> dict:
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(n), "--run", str(run)],
                         cwd=ROOT, capture_output=True, text=True, check=True, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--run", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.run)))
        return 0

    began = time.perf_counter()
    # runs interleave the sizes (1k, 100k, 1M, 1k, ...) so a busy moment on the machine hits all N alike
    results: dict[int, list[dict]] = {n: [] for n in args.sizes}
    for r in range(args.runs):
        for n in args.sizes:
            results[n].append(run_child(n, r))
    rows = []
    for n in args.sizes:
        runs = results[n]
        row = {"n": n, "lookups": runs[0]["lookups"]}
        for key in ("import_s", "startup_s", "population_s", "rss_mib", "cold_ms", "cached_ms", "number_us"):
            row[key] = statistics.median(r[key] for r in runs)
        row["startup_all"] = [round(r["startup_s"], 3) for r in runs]
        rows.append(row)

    print(f"population bench: {args.runs} fresh processes per N, median shown; python {sys.version.split()[0]}")
    print(f"{'N':>10} {'import s':>9} {'startup s':>10} {'popul. ms':>10} {'peak RSS MiB':>13} {'look-ups':>9} "
          f"{'cold ms':>8} {'cached ms':>10} {'fnr µs':>7}   startup per run")
    for r in rows:
        print(f"{r['n']:>10,} {r['import_s']:>9.3f} {r['startup_s']:>10.3f} {r['population_s'] * 1000:>10.2f} "
              f"{r['rss_mib']:>13.1f} {r['lookups']:>9,} "
              f"{r['cold_ms']:>8.3f} {r['cached_ms']:>10.3f} {r['number_us']:>7.1f}   {r['startup_all']}")
    base = rows[0]
    label = f"{base['n']:,}"
    print()
    for r in rows[1:]:
        name = f"{r['n']:,}"
        print(f"N={name} / N={label}:  "
              f"startup {r['startup_s'] / base['startup_s']:.2f}x   "
              f"population {r['population_s'] / base['population_s']:.2f}x   "
              f"peak RSS {r['rss_mib'] / base['rss_mib']:.2f}x   "
              f"cold look-up {r['cold_ms'] / base['cold_ms']:.2f}x   "
              f"cached look-up {r['cached_ms'] / base['cached_ms']:.2f}x")
    print(f"\ntotal bench time {time.perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
