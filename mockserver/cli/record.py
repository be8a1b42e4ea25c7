"""`ske-sandbox record --upstream URL`: a forwarding proxy to the real test environment (or any upstream)
that writes a redacted HAR for `ske-sandbox drift`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import options as opt


def register(sub: Any) -> None:
    p = sub.add_parser("record", help="forward calls to an upstream (the real test environment) and write them "
                       "as a redacted HAR file")
    p.set_defaults(run=run)
    p.add_argument("--upstream", required=True, metavar="URL",
                   help="where calls go, e.g. https://inntekt.api.skatteetaten-test.no (one host per proxy)")
    p.add_argument("--har-file", type=Path, default=Path("ske-sandbox-recording.har"), metavar="FILE",
                   help="the HAR file to write (default ske-sandbox-recording.har)")
    p.add_argument("--host", default="127.0.0.1", help="where the proxy listens (default 127.0.0.1)")
    p.add_argument("--port", type=opt.port, default=8090, help="(default 8090)")
    p.add_argument("--cert-file", type=Path, metavar="FILE",
                   help="your TLS client certificate (PEM) for the upstream, if it wants one")
    p.add_argument("--key-file", type=Path, metavar="FILE", help="its private key (PEM), if not in --cert-file")
    p.add_argument("--ca-file", type=Path, metavar="FILE",
                   help="CA bundle to verify the upstream with (default: the system's)")
    p.add_argument("--flush-seconds", type=float, default=5.0, metavar="S",
                   help="rewrite the file at most this often while recording (default 5)")


def run(args: argparse.Namespace) -> int:
    import httpx
    import uvicorn

    from ..drift.proxy import Recording, proxy_app, tls_context

    if not args.upstream.startswith(("http://", "https://")):
        print(f"ske-sandbox: --upstream must be an http(s) URL, got {args.upstream!r}", file=sys.stderr)
        return 2
    verify = tls_context(args.ca_file, args.cert_file, args.key_file)
    client = httpx.AsyncClient(verify=verify, timeout=60, follow_redirects=False)
    recording = Recording(args.har_file, args.upstream, args.flush_seconds)
    print(f"ske-sandbox record: http://{args.host}:{args.port} → {args.upstream}, writing {args.har_file}", flush=True)

    def stopped(done: Recording) -> None:
        print(f"ske-sandbox record: {len(done.exchanges)} call(s) written to {done.out}", flush=True)

    uvicorn.run(proxy_app(recording, client, stopped), host=args.host, port=args.port, log_level="warning")
    return 0
