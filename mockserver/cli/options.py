"""Argument types and option groups the commands share, written once.

Flags are named one way: a file is `--NAME-file`, a server is `--url`, "how many" is `--count`. Older
spellings (`--clients`, `--personas`, `--limit`, `--max-examples`, …) are still read, hidden from `--help`,
for one release.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..services import CONTRACTS


def env(name: str, default: str | None = None) -> str | None:
    """An option's default from SKE_SANDBOX_<NAME>, so a container (or a CI service, which takes no
    arguments) is configured by its environment; argparse still checks the value with the option's type."""
    return os.environ.get(f"SKE_SANDBOX_{name}") or default


def _whole(text: str, what: str = "a whole number") -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from exc


def date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from exc


def latency(text: str) -> tuple[float, float]:
    from ..dataapi.durations import parse_latency

    try:
        return parse_latency(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def port(text: str) -> int:
    value = _whole(text, "a port number")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is outside 1–65535 (0 picks a free port)")
    return value


def rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from exc
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("fault rate must be between 0 and 1")
    return value


def network_faults(text: str) -> tuple[str, ...]:
    from ..netfaults import parse_list

    try:
        return parse_list(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


SWITCH = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def switch(text: str) -> bool:
    """On or off, as a flag's environment variable says it (1/0, true/false, yes/no, on/off)."""
    value = SWITCH.get(text.strip().lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"expected 1 or 0 (on/off, true/false, yes/no), got {text!r}")
    return value


def switch_option(p: argparse.ArgumentParser, flag: str, env_name: str, help: str) -> None:
    """`--FLAG` to turn something on, defaulting to SKE_SANDBOX_<ENV_NAME> (checked like the flag's value:
    a bad one stops the command with argparse's message); `--FLAG=off` overrides the variable."""
    p.add_argument(flag, nargs="?", const="1", default=env(env_name, "0"), type=switch, metavar="on|off",
                   help=f"{help} (env SKE_SANDBOX_{env_name}=1)")


def bounded(low: int, high: int, what: str = "") -> Callable[[str], int]:
    """A whole number in low..high, with a message naming the range."""
    def parse(text: str) -> int:
        value = _whole(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what or 'the value'} must be between {low:,} and {high:,}")
        return value
    return parse


def positive(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def population_size(text: str) -> int:
    from ..population.slots import NumberIndex

    return bounded(0, NumberIndex.capacity(), "population")(text)


def base_path(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or name not in CONTRACTS or not path.startswith("/"):
        raise argparse.ArgumentTypeError(f"expected NAME=/path with NAME one of {', '.join(CONTRACTS)}, got {text!r}")
    return name, path


def with_old_spelling(p: argparse.ArgumentParser, new: str, *old: str, **kwargs: Any) -> None:
    """`new`, and its former spellings read into the same place but left out of --help."""
    action = p.add_argument(new, **kwargs)
    hidden = {k: v for k, v in kwargs.items() if k not in ("default", "help", "metavar")}
    for spelling in old:
        p.add_argument(spelling, dest=action.dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS, **hidden)


def file_option(p: argparse.ArgumentParser, name: str, *old: str, help: str, env_name: str | None = None) -> None:
    """`--NAME-file FILE` (the one spelling of a file option), with its former spellings hidden."""
    default = env(env_name) if env_name else None
    text = help + (f" (env SKE_SANDBOX_{env_name})" if env_name else "")
    with_old_spelling(p, f"--{name}-file", *old, type=Path, default=default, metavar="FILE", help=text)


def count_option(p: argparse.ArgumentParser, default: int, help: str, *old: str,
                 type: Callable[[str], int] = positive) -> None:
    with_old_spelling(p, "--count", *old, type=type, default=default, metavar="N", help=help)


def url_option(p: argparse.ArgumentParser, help: str, default: str | None = None) -> None:
    p.add_argument("--url", default=default, help=help)


def github_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--github", action="store_true",
                   help="also print GitHub Actions annotations (`::error title=…::…`), one per failure")


def world_options(p: argparse.ArgumentParser) -> None:
    """The synthetic world: its seed, data calendar, size and extra personas."""
    p.add_argument("--seed", type=int, default=env("SEED", "1"),
                   help="seed of the synthetic world (default 1; env SKE_SANDBOX_SEED)")
    p.add_argument("--today", type=date, default=env("TODAY"),
                   help="data calendar date YYYY-MM-DD (default: the real date; env SKE_SANDBOX_TODAY)")
    p.add_argument("--population", type=population_size, default=5000,
                   help="size of the generated crowd (default 5000, at most 1,288,000)")
    file_option(p, "personas", "--personas", help="YAML file with extra personas")


def admin_token_options(p: argparse.ArgumentParser, what: str) -> None:
    file_option(p, "admin-token", help=f"{what}, read from this file; wins over --admin-token",
                env_name="ADMIN_TOKEN_FILE")
    p.add_argument("--admin-token", default=env("ADMIN_TOKEN"), metavar="TOKEN",
                   help=f"{what}, given as is (env SKE_SANDBOX_ADMIN_TOKEN); other users see it in `ps`, so "
                   "prefer --admin-token-file")


def session_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--session", default=env("SESSION"), type=session, metavar="ID",
                   help="read only the calls sent with `Ske-Sandbox-Session: ID` (a CI job's own, on a shared "
                        "sandbox; needs no admin token) (env SKE_SANDBOX_SESSION)")


def session(text: str) -> str:
    from ..tenants import SESSION_PATTERN, SESSION_RULE

    if not SESSION_PATTERN.fullmatch(text):
        raise argparse.ArgumentTypeError(f"a session id is {SESSION_RULE}")
    return text


def token_from_file(args: argparse.Namespace) -> None:
    """--admin-token-file, when given, sets the token (over --admin-token)."""
    if args.admin_token_file is not None:
        from ..admintoken import read_token_file

        args.admin_token = read_token_file(args.admin_token_file)


def population(args: argparse.Namespace) -> Any:
    """The world the options describe, built here for the commands that read it without a server."""
    from ..clock import DataCalendar
    from ..population.world import Population

    return Population(args.seed, args.population, DataCalendar(args.today or dt.date.today()), args.personas_file)
