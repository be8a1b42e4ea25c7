"""`ske-sandbox serve`: the sandbox's HTTP server."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import sys
from pathlib import Path
from typing import Any

from .. import __version__
from . import options as opt

WILDCARDS = ("0.0.0.0", "::", "")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the sandbox HTTP server")
    p.set_defaults(run=run)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=opt.port, help="port to listen on; 0 picks a free one (default 8080, or 443 "
                   "with --real-hosts)")
    p.add_argument("--public-url", default=opt.env("PUBLIC_URL"),
                   help="address clients use, if not http://HOST:PORT (sets the issuer; env SKE_SANDBOX_PUBLIC_URL)")
    p.add_argument("--real-hosts", action="store_true",
                   help="serve TLS for the real hostnames (test.maskinporten.no, …) with the CA of --ca")
    p.add_argument("--ca", type=Path, default=opt.env("CA"),
                   help="CA directory from `ske-sandbox ca` (with --real-hosts; env SKE_SANDBOX_CA)")
    opt.world_options(p)
    opt.file_option(p, "clients", "--clients", help="YAML file of Maskinporten clients and consumer grants")
    opt.file_option(p, "rettighetspakker", "--rettighetspakker", help="YAML file of rettighetspakke filters")
    opt.file_option(p, "choices", "--choices", help="YAML file of the sandbox's choices where the record is silent")
    opt.file_option(p, "key", help="PEM RSA private key to sign tokens with")
    p.add_argument("--rotate-keys", action="store_true", help="publish a second (next) signing key")
    p.add_argument("--latency", type=opt.latency, help="added latency, e.g. 50ms..400ms")
    p.add_argument("--fault-rate", type=opt.rate, default=0.0, help="share of calls that fail (seeded)")
    p.add_argument("--network-fault-rate", type=opt.rate, default=0.0,
                   help="share of data-API calls broken below HTTP (seeded): connection reset, no answer, "
                        "cut body, … as --network-faults lists")
    p.add_argument("--network-faults", type=opt.network_faults, metavar="LIST",
                   default="reset,empty,truncated,malformed-chunk",
                   help="comma-separated faults --network-fault-rate draws from, as the scenario header names "
                        "them: reset, empty, truncated, malformed-chunk, trickle:<n>ms|<n>s (default: the first four)")
    p.add_argument("--enforce-concurrency", action="store_true",
                   help="answer 429 past 5 concurrent calls per API per consumer org")
    p.add_argument("--responses", choices=("personas", "generated"), default="personas",
                   help="answer data-API calls from the synthetic people (default), or with seeded, "
                        "contract-valid generated variants (same seed and request, same body)")
    p.add_argument("--log-level", default="warning", choices=LOG_LEVELS, help="server log level (default warning)")
    opt.file_option(p, "require", help="requirement file (YAML) of outcomes GET /__sandbox/report holds the "
                    "journal to, as `coverage --require-file`", env_name="REQUIRE_FILE")
    opt.switch_option(p, "--metrics", "METRICS", "serve Prometheus metrics at GET /metrics: calls by API, outcome "
                      "code and contract verdict, latency, tokens issued, replayed grants refused")
    opt.file_option(p, "ready", help="write the address, port and base URLs as JSON here once the server answers")
    p.add_argument("--http", choices=("h11", "httptools"), default="httptools",
                   help="HTTP parser: httptools (default, llhttp) or h11 (pure Python, about 1.5x the CPU per "
                        "call); both keep the head-size limit, the head timeout and idle shedding")
    p.add_argument("--workers", type=opt.bounded(0, 64, "--workers"), default=opt.env("WORKERS", "1"),
                   help="server processes sharing one socket and one state (default 1; 0: one per core); "
                        "more than one keeps the state in a SQLite file unless --state says otherwise "
                        "(env SKE_SANDBOX_WORKERS)")
    p.add_argument("--state", default=opt.env("STATE"), metavar="URL",
                   help="where the state workers and replicas share lives: memory: (default, one process), "
                        "sqlite:///PATH or redis://HOST:PORT/DB (env SKE_SANDBOX_STATE)")
    opt.admin_token_options(p, "token the control API /__sandbox/* wants; required when bound to anything "
                            "but loopback")


def bind(host: str, port: int) -> socket.socket:
    """Bind before the app is built, so `--port 0` gives the real port to the issuer and base URLs."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def url(host: str, port: int, scheme: str = "http") -> str:
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def real_hosts_tls(args: argparse.Namespace) -> dict[str, Path]:
    """The certificate and key for --real-hosts: the leaf of the CA directory (made if absent)."""
    if not args.real_hosts:
        return {}
    from ..localca import CAError, CAFiles, ensure_leaf, unconstrained_warning

    if args.ca is None:
        raise CAError("--real-hosts needs --ca DIR (make one with `ske-sandbox ca --out DIR`)")
    cert, key = ensure_leaf(CAFiles(args.ca))
    warning = unconstrained_warning(args.ca)
    if warning:
        print(f"ske-sandbox: warning: {warning}", file=sys.stderr, flush=True)
    return {"ssl_certfile": cert, "ssl_keyfile": key}


def _settings(args: argparse.Namespace, public: str, tracer_provider: Any = None) -> Any:
    from ..settings import Settings

    return Settings(
        seed=args.seed, today=args.today, population=args.population,
        base_url=public, clients_file=args.clients_file,
        personas_file=args.personas_file, rettighetspakker_file=args.rettighetspakker_file, key_file=args.key_file,
        rotate_keys=args.rotate_keys, latency=args.latency, fault_rate=args.fault_rate,
        enforce_concurrency=args.enforce_concurrency, choices_file=args.choices_file, admin_token=args.admin_token,
        network_fault_rate=args.network_fault_rate, network_faults=args.network_faults,
        require_file=args.require_file, state=args.state, metrics=args.metrics,
        tracer_provider=tracer_provider,
    )


def tracer_provider() -> Any:
    """The OpenTelemetry tracer provider the OTEL_* variables ask for, else None (and nothing imported).
    TracingError when the packages that would send them are missing."""
    from ..observability import TracingError, tracing_wanted

    if not tracing_wanted(os.environ):
        return None
    try:
        from ..observability.tracing import provider_from_env
    except ImportError as exc:
        raise TracingError(f"the OTEL_* variables ask for traces, but OpenTelemetry is not installed ({exc.name}); "
                           "install ske-sandbox[otel]") from exc
    return provider_from_env(os.environ)


def _announce(args: argparse.Namespace, sandbox: Any, tls: dict[str, Path]) -> None:
    print(f"ske-sandbox {__version__}  seed={args.seed}  today={sandbox.population.calendar.today}  "
          f"population={args.population}  responses={args.responses}", flush=True)
    for name, base in sandbox.base_urls().items():
        print(f"  {name:34s} {base}", flush=True)
    print(f"  {'demo page':34s} {sandbox.settings.base_url.rstrip('/')}/", flush=True)
    if tls:
        from ..environments import TEST

        print(f"  real hostnames over TLS (trust {args.ca / 'ca.pem'}), e.g. {TEST.issuer}", flush=True)
    guard = "want the admin token" if args.admin_token else "answer on loopback only, no admin token"
    print(f"  {'control API, journal and token pages':34s} {guard}; cross-origin changes refused", flush=True)
    if args.metrics:
        print(f"  {'Prometheus metrics':34s} {sandbox.settings.base_url.rstrip('/')}/metrics", flush=True)
    if sandbox.settings.tracer_provider is not None:
        print(f"  {'OpenTelemetry traces':34s} on, as the OTEL_* variables say", flush=True)


def _server_options(args: argparse.Namespace, settings: Any, tls: dict[str, Path]) -> dict[str, Any]:
    from ..hardening import uvicorn_options

    options = uvicorn_options(settings, args.http)
    if tls:  # TLS through a gate that bounds and counts handshakes (see tlsgate)
        from ..tlsgate import tls_options

        options = tls_options(options, tls["ssl_certfile"], tls["ssl_keyfile"])
    return options


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from ..app import create_app
    from ..guard import is_loopback
    from ..observability import TracingError

    opt.token_from_file(args)
    if args.admin_token == "auto":  # a container's default: guarded, with a token only its logs know
        args.admin_token = secrets.token_urlsafe(18)
        print(f"ske-sandbox: control API token for this run: {args.admin_token}", file=sys.stderr, flush=True)
    tls = real_hosts_tls(args)
    if args.port is None:
        args.port = 443 if args.real_hosts else 8080
    if not args.admin_token and not is_loopback(args.host):
        print(f"ske-sandbox: bound to {args.host}, the control API (reset, journal, demo key) would be open to "
              "the network; start with --admin-token-file PATH (or --admin-token TOKEN)", file=sys.stderr)
        return 2
    problem = _choose_state(args)
    if problem:
        print(f"ske-sandbox: {problem}", file=sys.stderr)
        return 2
    try:
        provider = tracer_provider()
    except TracingError as exc:  # a cluster may set OTEL_* for every pod: serve on, say why there are no traces
        print(f"ske-sandbox: warning: {exc}; serving without traces", file=sys.stderr, flush=True)
        provider = None
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(f"ske-sandbox: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    # on a wildcard bind, this machine reaches the server as localhost
    listening = url("localhost" if args.host in WILDCARDS else args.host, port, "https" if tls else "http")
    public = args.public_url or listening
    if args.public_url is None and args.host in WILDCARDS:
        print(f"ske-sandbox: warning: bound to {args.host or '*'} without --public-url; the issuer is "
              f"{public}/maskinporten/ — set --public-url to the address clients use", file=sys.stderr)
    settings = _settings(args, public, provider)
    from ..state import StoreError

    try:
        app = create_app(settings)
        app.sandbox.store.check()
    except StoreError as exc:
        print(f"ske-sandbox: cannot use the shared state: {exc}", file=sys.stderr)
        return 2
    sandbox = app.state.sandbox
    if args.responses == "generated":
        from ..generated import GeneratedResponder

        sandbox.responder = GeneratedResponder(args.seed)
    _announce(args, sandbox, tls)
    ready = {"url": public, "listening": listening, "port": port, "issuer": sandbox.issuer,
             "base_urls": sandbox.base_urls(), "pid": os.getpid()}

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:  # the socket accepts connections: say so, machine-readably
                print(f"ske-sandbox listening on {listening}", flush=True)
                if args.ready_file:
                    args.ready_file.write_text(json.dumps(ready, indent=2) + "\n")

    config = uvicorn.Config(app, log_level=args.log_level, access_log=False, **_server_options(args, settings, tls))
    if args.workers == 1:
        try:
            Announcing(config).run(sockets=[sock])
        finally:
            if provider is not None:
                provider.shutdown()  # sends the spans still batched
        return 0
    from ..workers import supervise, wait_until_listening

    def announce() -> None:
        if wait_until_listening(sock):
            print(f"  {args.workers} workers share one socket and the state {sandbox.store.url}", flush=True)
            print(f"ske-sandbox listening on {listening}", flush=True)
            if args.ready_file:
                args.ready_file.write_text(json.dumps({**ready, "workers": args.workers}, indent=2) + "\n")

    sandbox.store.close()  # each worker opens its own connection
    try:
        return supervise(args.workers, lambda: uvicorn.Server(config).run(sockets=[sock]), announce)
    finally:
        if getattr(args, "state_folder", None):  # the SQLite file made for this run
            import shutil

            shutil.rmtree(args.state_folder, ignore_errors=True)


def _choose_state(args: argparse.Namespace) -> str | None:
    """Settle --workers and --state together; a message when they cannot go together."""
    from ..workers import cores

    if args.workers == 0:
        args.workers = cores()
    memory = args.state in (None, "memory", "memory:", "memory://")
    if args.workers > 1 and memory:
        if args.state is not None:
            return f"--workers {args.workers} cannot share memory: use sqlite:///PATH or redis://HOST:PORT/DB"
        import tempfile

        # in memory (tmpfs) where the machine has one: the state lives as long as the server does
        shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        args.state_folder = tempfile.mkdtemp(prefix="ske-sandbox-state-", dir=shm)
        args.state = f"sqlite://{args.state_folder}/state.db"
    return None
