"""`ske-sandbox ca`: a local CA for `serve --real-hosts`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def days(text: str) -> int:
    from ..localca import MAX_DAYS

    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number of days, got {text!r}") from exc
    if not 1 <= value <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"a CA lives 1 to {MAX_DAYS} days, not {value}")
    return value


def register(sub: Any) -> None:
    p = sub.add_parser("ca", help="make a local CA for --real-hosts: ca.pem, truststore.p12, server certificate")
    p.set_defaults(run=run)
    p.add_argument("--out", type=Path, required=True, help="directory to write the CA into")
    p.add_argument("--force", action="store_true", help="replace a CA already in --out")
    p.add_argument("--days", type=days, default=30, metavar="N",
                   help="how long the CA (and so the server certificate) is valid: 1–825 days (default 30)")


def run(args: argparse.Namespace) -> int:
    from ..localca import PERMITTED_DOMAINS, TRUSTSTORE_PASSWORD, load_ca, make_ca

    files, how = make_ca(args.out, force=args.force, days=args.days)
    until = load_ca(files.directory)[0].not_valid_after_utc
    print(f"{files.cert}: the CA certificate, for clients to trust (PEM); valid until {until:%Y-%m-%d %H:%M} UTC, "
          f"for {', '.join(PERMITTED_DOMAINS)} and loopback addresses only")
    print(f"{files.truststore}: the same as a PKCS#12 truststore for Java and .NET, password {TRUSTSTORE_PASSWORD!r} "
          f"(written by {'cryptography' if how == 'certificate bag' else how})")
    if how == "certificate bag":
        print("  neither keytool nor cryptography ≥ 45 was found: the truststore is a plain certificate bag that "
              ".NET, OpenSSL and curl take; for Java import ca.pem with `keytool -importcert -storetype PKCS12`")
    print(f"{files.leaf_cert}, {files.leaf_key.name}: the server certificate for every real hostname")
    print(f"{files.key}: the CA's private key, which stays with the sandbox: never give it to clients")
    return 0
