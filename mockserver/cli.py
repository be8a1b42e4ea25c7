"""`ske-sandbox` command line: serve, conformance, demo-client, people, person, client new, ca."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .services import CONTRACTS


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from exc


def _latency(text: str) -> tuple[float, float]:
    from .dataapi import parse_latency

    try:
        return parse_latency(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from exc
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is outside 1–65535 (0 picks a free port)")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from exc
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("fault rate must be between 0 and 1")
    return value


def _network_faults(text: str) -> tuple[str, ...]:
    from .netfaults import parse_list

    try:
        return parse_list(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _population_size(text: str) -> int:
    from .population.slots import NumberIndex

    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from exc
    if not 0 <= value <= NumberIndex.capacity():
        raise argparse.ArgumentTypeError(f"population must be between 0 and {NumberIndex.capacity():,}")
    return value


def _env(name: str, default: str | None = None) -> str | None:
    """An option's default from SKE_SANDBOX_<NAME>, so a container (or a CI service, which takes no
    arguments) is configured by its environment; argparse still checks the value with the option's type."""
    return os.environ.get(f"SKE_SANDBOX_{name}") or default


def _world_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=_env("SEED", "1"),
                   help="seed of the synthetic world (default 1; env SKE_SANDBOX_SEED)")
    p.add_argument("--today", type=_date, default=_env("TODAY"),
                   help="data calendar date YYYY-MM-DD (default: the real date; env SKE_SANDBOX_TODAY)")
    p.add_argument("--population", type=_population_size, default=5000,
                   help="size of the generated crowd (default 5000, at most 1,288,000)")
    p.add_argument("--personas", type=Path, help="YAML file with extra personas")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ske-sandbox", description=__doc__)
    parser.add_argument("--version", action="version", version=f"ske-sandbox {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the sandbox HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, help="port to listen on; 0 picks a free one (default 8080, or 443 "
                       "with --real-hosts)")
    serve.add_argument("--public-url", default=_env("PUBLIC_URL"),
                       help="address clients use, if not http://HOST:PORT (sets the issuer; "
                            "env SKE_SANDBOX_PUBLIC_URL)")
    serve.add_argument("--real-hosts", action="store_true",
                       help="serve TLS for the real hostnames (test.maskinporten.no, …) with the CA of --ca")
    serve.add_argument("--ca", type=Path, default=_env("CA"),
                       help="CA directory from `ske-sandbox ca` (with --real-hosts; env SKE_SANDBOX_CA)")
    _world_options(serve)
    serve.add_argument("--clients", type=Path, help="YAML file of Maskinporten clients and consumer grants")
    serve.add_argument("--rettighetspakker", type=Path, help="YAML file of rettighetspakke filters")
    serve.add_argument("--choices", type=Path, help="YAML file of the sandbox's choices where the record is silent")
    serve.add_argument("--key-file", type=Path, help="PEM RSA private key to sign tokens with")
    serve.add_argument("--rotate-keys", action="store_true", help="publish a second (next) signing key")
    serve.add_argument("--latency", type=_latency, help="added latency, e.g. 50ms..400ms")
    serve.add_argument("--fault-rate", type=_rate, default=0.0, help="share of calls that fail (seeded)")
    serve.add_argument("--network-fault-rate", type=_rate, default=0.0,
                       help="share of data-API calls broken below HTTP (seeded): connection reset, no answer, "
                            "cut body, … as --network-faults lists")
    serve.add_argument("--network-faults", type=_network_faults, metavar="LIST",
                       default="reset,empty,truncated,malformed-chunk",
                       help="comma-separated faults --network-fault-rate draws from, as the scenario header names "
                            "them: reset, empty, truncated, malformed-chunk, trickle:<n>ms|<n>s "
                            "(default: the first four)")
    serve.add_argument("--enforce-concurrency", action="store_true",
                       help="answer 429 past 5 concurrent calls per API per consumer org")
    serve.add_argument("--responses", choices=("personas", "generated"), default="personas",
                       help="answer data-API calls from the synthetic people (default), or with seeded, "
                            "contract-valid generated variants (same seed and request, same body)")
    serve.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug",
                                                                      "trace"])
    serve.add_argument("--ready-file", type=Path,
                       help="write the address, port and base URLs as JSON here once the server answers")
    serve.add_argument("--http", choices=("h11", "httptools"), default="h11",
                       help="HTTP parser: h11 (default) enforces the head-size limit and head timeout; httptools "
                            "costs about half the CPU per call but has no head limit (for load tests on loopback)")
    serve.add_argument("--admin-token", default=os.environ.get("SKE_SANDBOX_ADMIN_TOKEN") or None,
                       help="token the control API /__sandbox/* wants (env SKE_SANDBOX_ADMIN_TOKEN); "
                       "required when bound to anything but loopback")

    demo = sub.add_parser("demo-client", help="the built-in Maskinporten client of a seed")
    demo.add_argument("--seed", type=int, default=_env("SEED", "1"), help="default 1; env SKE_SANDBOX_SEED")
    demo.add_argument("--json", action="store_true")
    demo.add_argument("--out", type=Path, help="write PEM key, JWK, .p12 and JSON into this folder")

    people = sub.add_parser("people", help="list the synthetic people")
    _world_options(people)
    people.add_argument("--json", action="store_true")
    people.add_argument("--limit", type=int, default=30)
    people.add_argument("--scenario", help="only personas of this scenario (e.g. SSG-008, pensioner)")
    people.add_argument("--search", help="text to find in number, name or story")
    people.add_argument("--url", help="ask this running sandbox instead (its seed, data calendar and personas)")

    person = sub.add_parser("person", help="one person's story, years and months")
    person.add_argument("fnr")
    _world_options(person)
    person.add_argument("--json", action="store_true")
    person.add_argument("--url", help="ask this running sandbox instead (its seed, data calendar and personas)")

    ca = sub.add_parser("ca", help="make a local CA for --real-hosts: ca.pem, truststore.p12, server certificate")
    ca.add_argument("--out", type=Path, required=True, help="directory to write the CA into")
    ca.add_argument("--force", action="store_true", help="replace a CA already in --out")

    conformance = sub.add_parser(
        "conformance", help="check the requests clients made to a running sandbox against the contracts")
    conformance.add_argument("--url", default="http://127.0.0.1:8080", help="the running sandbox's address")
    conformance.add_argument("--junit", type=Path, help="also write a JUnit XML report to this file")
    conformance.add_argument("--admin-token", default=os.environ.get("SKE_SANDBOX_ADMIN_TOKEN") or None,
                             help="the server's admin token, if it has one (env SKE_SANDBOX_ADMIN_TOKEN)")

    client = sub.add_parser("client", help="Maskinporten client tools")
    csub = client.add_subparsers(dest="client_command", required=True)
    new = csub.add_parser("new", help="generate a key pair (or certificate) and a clients-file entry")
    new.add_argument("--client-id", required=True)
    new.add_argument("--orgnr", required=True)
    new.add_argument("--x5c", action="store_true", help="make a business certificate instead of a JWK")
    new.add_argument("--scopes", default="skatteetaten:summertskattegrunnlag skatteetaten:inntekt")
    new.add_argument("--out", type=Path, required=True)
    new.add_argument("--force", action="store_true", help="replace files and a registration that exist")

    ids = sub.add_parser("ids", help="mint valid synthetic numbers: orgnr, fnr (month + 80) or dnr")
    ids.add_argument("kind", choices=["orgnr", "fnr", "dnr"])
    ids.add_argument("--count", type=int, default=1, choices=range(1, 10_001), metavar="N",
                     help="how many (1–10000, default 1)")
    ids.add_argument("--seed", type=int, default=None, help="the same seed gives the same numbers")

    verify = sub.add_parser("verify", help="check a stand-in of the APIs (your mock, proxy or recorded "
                            "fixtures server) against the contracts with schemathesis")
    verify.add_argument("url", help="where the stand-in listens, e.g. http://127.0.0.1:9000")
    verify.add_argument("--contract", action="append", choices=CONTRACTS, dest="contracts",
                        help="contract to check (repeatable; default: all)")
    verify.add_argument("--base-path", action="append", type=_base_path, default=[], metavar="NAME=PATH",
                        help="where the stand-in serves a contract, e.g. inntekt=/v1 (default: the sandbox's "
                             "layout, /inntekt/v1 etc.)")
    verify.add_argument("--token", help="bearer token sent as Authorization on every request")
    verify.add_argument("--junit", type=Path, help="write a JUnit XML report here")
    verify.add_argument("--max-examples", type=_positive, default=50, help="requests per operation (50)")
    verify.add_argument("--seed", type=int, default=0, help="seed of the generated requests (0)")
    return parser




def _base_path(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or name not in CONTRACTS or not path.startswith("/"):
        raise argparse.ArgumentTypeError(f"expected NAME=/path with NAME one of {', '.join(CONTRACTS)}, got {text!r}")
    return name, path


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _population(args: argparse.Namespace):
    from .clock import DataCalendar
    from .population.world import Population

    return Population(args.seed, args.population, DataCalendar(args.today or dt.date.today()), args.personas)


WILDCARDS = ("0.0.0.0", "::", "")


def _bind(host: str, port: int) -> socket.socket:
    """Bind before the app is built, so `--port 0` gives the real port to the issuer and base URLs."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _url(host: str, port: int, scheme: str = "http") -> str:
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app
    from .hardening import WiredHttpTools, is_loopback, uvicorn_options
    from .settings import Settings

    if args.admin_token == "auto":  # a container's default: guarded, with a token only its logs know
        args.admin_token = secrets.token_urlsafe(18)
        print(f"ske-sandbox: control API token for this run: {args.admin_token}", file=sys.stderr, flush=True)
    tls = _real_hosts_tls(args)
    if args.port is None:
        args.port = 443 if args.real_hosts else 8080
    scheme = "https" if tls else "http"
    if not args.admin_token and not is_loopback(args.host):
        print(f"ske-sandbox: bound to {args.host}, the control API (reset, journal, demo key) would be open to "
              "the network; start with --admin-token TOKEN (or SKE_SANDBOX_ADMIN_TOKEN)", file=sys.stderr)
        return 2
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        print(f"ske-sandbox: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    # on a wildcard bind, this machine reaches the server as localhost
    listening = _url("localhost" if args.host in WILDCARDS else args.host, port, scheme)
    public = args.public_url or listening
    if args.public_url is None and args.host in WILDCARDS:
        print(f"ske-sandbox: warning: bound to {args.host or '*'} without --public-url; the issuer is "
              f"{public}/maskinporten/ — set --public-url to the address clients use", file=sys.stderr)
    settings = Settings(
        seed=args.seed, today=args.today, population=args.population,
        base_url=public, clients_file=args.clients,
        personas_file=args.personas, rettighetspakker_file=args.rettighetspakker, key_file=args.key_file,
        rotate_keys=args.rotate_keys, latency=args.latency, fault_rate=args.fault_rate,
        enforce_concurrency=args.enforce_concurrency, choices_file=args.choices, admin_token=args.admin_token,
        network_fault_rate=args.network_fault_rate, network_faults=args.network_faults,
    )
    app = create_app(settings)
    sandbox = app.state.sandbox
    if args.responses == "generated":
        from .generated import GeneratedResponder

        sandbox.responder = GeneratedResponder(args.seed)
    print(f"ske-sandbox {__version__}  seed={args.seed}  today={sandbox.population.calendar.today}  "
          f"population={args.population}  responses={args.responses}", flush=True)
    for name, url in sandbox.base_urls().items():
        print(f"  {name:34s} {url}", flush=True)
    print(f"  {'demo page':34s} {settings.base_url.rstrip('/')}/", flush=True)
    if tls:
        from .environments import TEST

        print(f"  real hostnames over TLS (trust {args.ca / 'ca.pem'}), e.g. {TEST.issuer}", flush=True)
    guard = "wants the admin token" if args.admin_token else "answers on loopback only, no admin token"
    print(f"  {'control API /__sandbox/':34s} {guard}; cross-origin changes refused", flush=True)
    ready = {"url": public, "listening": listening, "port": port, "issuer": sandbox.issuer,
             "base_urls": sandbox.base_urls(), "pid": os.getpid()}

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:  # the socket accepts connections: say so, machine-readably
                print(f"ske-sandbox listening on {listening}", flush=True)
                if args.ready_file:
                    args.ready_file.write_text(json.dumps(ready, indent=2) + "\n")

    options = uvicorn_options(settings)
    if args.http == "httptools":  # faster, without the guarded h11 protocol's head limit and timeout
        options = {k: v for k, v in options.items() if k not in ("http", "h11_max_incomplete_event_size")}
        options["http"] = WiredHttpTools
    config = uvicorn.Config(app, log_level=args.log_level, access_log=False, **options, **tls)
    Announcing(config).run(sockets=[sock])
    return 0


def _real_hosts_tls(args: argparse.Namespace) -> dict[str, str]:
    """uvicorn's TLS options for --real-hosts: the leaf certificate of the CA directory (made if absent)."""
    if not args.real_hosts:
        return {}
    from .localca import CAError, CAFiles, ensure_leaf

    if args.ca is None:
        raise CAError("--real-hosts needs --ca DIR (make one with `ske-sandbox ca --out DIR`)")
    cert, key = ensure_leaf(CAFiles(args.ca))
    return {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}


def cmd_ca(args: argparse.Namespace) -> int:
    from .localca import TRUSTSTORE_PASSWORD, make_ca

    files, how = make_ca(args.out, force=args.force)
    print(f"{files.cert}: the CA certificate, for clients to trust (PEM)")
    print(f"{files.truststore}: the same as a PKCS#12 truststore for Java and .NET, password {TRUSTSTORE_PASSWORD!r} "
          f"(written by {'cryptography' if how == 'certificate bag' else how})")
    if how == "certificate bag":
        print("  neither keytool nor cryptography ≥ 45 was found: the truststore is a plain certificate bag that "
              ".NET, OpenSSL and curl take; for Java import ca.pem with `keytool -importcert -storetype PKCS12`")
    print(f"{files.leaf_cert}, {files.leaf_key.name}: the server certificate for every real hostname")
    print(f"{files.key}: the CA's private key, which stays with the sandbox")
    return 0


def cmd_demo_client(args: argparse.Namespace) -> int:
    from .maskinporten.registry import demo_client

    demo = demo_client(args.seed)
    if args.out:
        from .maskinporten.clientgen import write_demo_files

        for path in write_demo_files(demo, args.out):
            print(f"wrote {path}")
        return 0
    if args.json:
        print(json.dumps(demo.as_dict(), indent=2))
    else:
        print(f"client_id: {demo.client_id}\norgnr:     {demo.orgnr}\nkid:       {demo.kid}\n"
              f"scopes:    {' '.join(demo.scopes)}\n\n{demo.private_key_pem}")
    return 0


def _ask(url: str, **params: object) -> list[dict]:
    """People from a running sandbox's control API, so the CLI never disagrees with the server."""
    import httpx

    r = httpx.get(f"{url.rstrip('/')}/__sandbox/people", params={k: v for k, v in params.items() if v is not None},
                  timeout=60)
    r.raise_for_status()
    return r.json()


def cmd_people(args: argparse.Namespace) -> int:
    if args.url:
        rows = _ask(args.url, limit=args.limit, scenario=args.scenario, search=args.search)
    else:
        population = _population(args)
        rows = []
        for life in population.people(scenario=args.scenario, search=args.search):
            rows.append(population.summary(life))
            if len(rows) >= args.limit:
                break
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        years = ",".join(map(str, r["years"])) or "-"
        print(f"{r['fnr']}  {r['scenario'] or '':14s} {r['name'][:28]:28s} år: {years:24s} {r['story'][:60]}")
    return 0


def cmd_person(args: argparse.Namespace) -> int:
    from .identifiers import InvalidIdentifier, parse_person_number

    try:
        parse_person_number(args.fnr)
    except InvalidIdentifier as exc:
        print(f"ske-sandbox: {args.fnr}: {exc}", file=sys.stderr)
        return 2
    if args.url:
        found = [p for p in _ask(args.url, search=args.fnr, limit=5) if p["fnr"] == args.fnr]
        if not found:
            print(f"ske-sandbox: nobody at {args.url} has {args.fnr}", file=sys.stderr)
            return 1
        p = found[0]
        print(json.dumps(p, ensure_ascii=False, indent=2) if args.json else
              f"{p['name']} ({p['fnr']}) {p.get('scenario') or ''}\n  {p.get('story', '')}\n"
              f"  år med skatteoppgjør: {', '.join(map(str, p['years'])) or 'ingen'}")
        return 0
    population = _population(args)
    life = population.lookup(args.fnr)
    if life is None:
        print(f"ske-sandbox: nobody in this sandbox has {args.fnr} (seed {args.seed}, "
              f"population {args.population})", file=sys.stderr)
        return 1
    summary = population.summary(life)
    summary["household"] = {"spouse": life.spouse, "children": life.children}
    summary["income"] = [
        {"kind": s.kind, "beskrivelse": s.beskrivelse, "payer": s.payer.name, "orgnr": s.payer.orgnr,
         "from": f"{s.start[0]:04d}-{s.start[1]:02d}",
         "to": f"{s.end[0]:04d}-{s.end[1]:02d}" if s.end else None}
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


def cmd_client_new(args: argparse.Namespace) -> int:
    from .maskinporten.clientgen import ClientGenError, generate, next_steps

    try:
        made = generate(args.client_id, args.orgnr, args.out, x5c=args.x5c, scopes=args.scopes.split(),
                        force=args.force)
    except ClientGenError as exc:
        print(f"ske-sandbox: {exc}", file=sys.stderr)
        return 2
    for path in made.written:
        print(f"wrote {path}")
    print(next_steps(made, args.orgnr))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        from .testkit.verify import Unreachable, verify
    except ImportError as exc:
        print(f"ske-sandbox: verify needs the test kit: pip install 'ske-sandbox[testkit]' ({exc})", file=sys.stderr)
        return 2
    try:
        report = verify(args.url, args.contracts, token=args.token, base_paths=dict(args.base_path),
                        max_examples=args.max_examples, seed=args.seed)
    except Unreachable as exc:
        print(f"ske-sandbox: {exc}", file=sys.stderr)
        return 2
    print(report.summary(), flush=True)
    if args.junit:
        report.junit(args.junit)
    return 1 if report.failed else 0


def cmd_ids(args: argparse.Namespace) -> int:
    """Valid synthetic numbers for personas and clients files (seeded, so a script gets the same ones)."""
    import random

    from .identifiers import individual_range, make_orgnr, make_person_number

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


def cmd_conformance(args: argparse.Namespace) -> int:
    """Exit 0 when every journaled request conformed, 1 when some did not, 2 when the journal is unreachable."""
    import httpx

    from .conformance.report import junit, paragraphs

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


COMMANDS = {"serve": cmd_serve, "conformance": cmd_conformance, "demo-client": cmd_demo_client, "people": cmd_people,
            "person": cmd_person, "client": cmd_client_new, "ids": cmd_ids, "verify": cmd_verify, "ca": cmd_ca}


def httpx_errors() -> type[Exception]:
    import httpx

    return httpx.HTTPError


def main(argv: Sequence[str] | None = None) -> int:
    from .choices import ChoicesError
    from .configfiles import ConfigError
    from .localca import CAError
    from .rettighetspakker import PakkeError

    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except httpx_errors() as exc:
        print(f"ske-sandbox: cannot ask the sandbox: {exc}", file=sys.stderr)
        return 2
    except (ConfigError, PakkeError, ChoicesError, CAError, OSError) as exc:
        # a bad configuration file is the user's to fix: say what is wrong, no traceback
        print(f"ske-sandbox: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
