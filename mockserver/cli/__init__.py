"""`ske-sandbox` command line: serve, conformance, coverage, verify, drift, record, demo-client, people, ids, ca.

(Also `person` and `client new`.)

One module per command; each adds its parser with `register(sub)` and sets `run`, which returns the exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from . import ca, client, conformance, coverage, demo_client, drift, ids, people, record, serve, verify

COMMANDS = (serve, conformance, coverage, verify, drift, record, demo_client, people, client, ids, ca)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ske-sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"ske-sandbox {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from ..admintoken import TokenFileError
    from ..choices import ChoicesError
    from ..configfiles import ConfigError
    from ..localca import CAError
    from ..rettighetspakker import PakkeError

    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
        return code
    except (ConfigError, PakkeError, ChoicesError, CAError, TokenFileError, OSError) as exc:
        # a bad configuration file is the user's to fix: say what is wrong, no traceback
        print(f"ske-sandbox: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        # the commands that ask a sandbox import httpx themselves; `serve` starts without it
        httpx = sys.modules.get("httpx")
        if httpx is not None and isinstance(exc, httpx.HTTPError):
            print(f"ske-sandbox: cannot ask the sandbox: {exc}", file=sys.stderr)
            return 2
        raise
