"""pytest plugin (entry point `ske_sandbox`): test unmodified client code against the sandbox, in-process.

    def test_my_client(ske_sandbox):
        person = ske_sandbox.persona("ordinary")
        summary = my_client.household_summary(person.fnr)   # calls https://…skatteetaten-test.no as it is
        assert summary.income > 0
        ske_sandbox.assert_requests_conform()

While the fixture is in use, every httpx call (and every `requests` call, with `responses` installed) to
Maskinporten's and Skatteetaten's real hostnames is answered by the sandbox; other hosts are untouched.

Configuration: override the `ske_sandbox_settings` fixture, or set in pytest's ini file
`ske_sandbox_clients` (your clients file, as `serve --clients-file`), `ske_sandbox_seed`, `ske_sandbox_today`,
`ske_sandbox_environment` (test or prod). `ske_sandbox_shared` is the same kit built once per session
(state reset for every test), for suites of hundreds of tests.

At the end of a session that used the kit, a summary says which documented outcomes the calls met (see
conformance/coverage.py); `--ske-sandbox-require-file FILE` (or `ske_sandbox_require_file`) fails the
session when an outcome the file requires was never met.

Nothing heavy is imported until a fixture is used, so installing the package never slows other suites.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..settings import Settings
    from .kit import SandboxKit

DEFAULT_TODAY = dt.date(2026, 11, 27)
INI = {
    "ske_sandbox_clients": "Maskinporten clients file (YAML) for the ske_sandbox fixture, as `serve --clients-file`",
    "ske_sandbox_seed": "seed of the ske_sandbox fixture's synthetic world (default 1)",
    "ske_sandbox_today": "data calendar date of the ske_sandbox fixture, YYYY-MM-DD (default 2026-11-27)",
    "ske_sandbox_environment": "environment the real hostnames answer as: test (default) or prod",
    "ske_sandbox_assert_conform": "true: every test using the sandbox fails if a request broke its contract",
    "ske_sandbox_require_file": "requirement file (YAML): the session fails if an outcome it names was never met",
}
MARKER = "ske_sandbox_conform: fail the test if any request it made broke its contract"
TALLY = pytest.StashKey[Any]()  # coverage.Tally of every test that used the kit
REQUIREMENTS = pytest.StashKey[Any]()  # coverage.Requirements, when a requirement file is named


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    path = config.getoption("ske_sandbox_require_file") or config.getini("ske_sandbox_require_file")
    if path:
        from ..configfiles import ConfigError
        from ..conformance.coverage import load_requirements

        file = Path(path) if Path(path).is_absolute() else config.rootpath / path
        try:
            config.stash[REQUIREMENTS] = load_requirements(file)
        except ConfigError as exc:
            raise pytest.UsageError(f"ske-sandbox requirement file: {exc}") from None


def pytest_addoption(parser: pytest.Parser) -> None:
    for name, help_text in INI.items():
        parser.addini(name, help_text, default=None)
    parser.getgroup("ske-sandbox").addoption(
        "--ske-sandbox-require-file", dest="ske_sandbox_require_file", metavar="FILE", default=None,
        help="requirement file (YAML) of outcomes the suite's calls must meet; the session fails when one "
             "never was (overrides the ini option ske_sandbox_require_file)")


def _tally(kit: SandboxKit, config: pytest.Config) -> None:
    """Count what this test's calls met before the journal is cleared for the next test."""
    from ..conformance.coverage import Tally

    tally = config.stash.get(TALLY, None)
    if tally is None:
        tally = config.stash[TALLY] = Tally()
    tally.add(kit.sandbox.journal.entries())


def _judged(config: pytest.Config) -> bool:
    """Whether the session ran tests whose calls a requirement file can be held to (not --collect-only)."""
    return not config.option.collectonly


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    tally, requirements = config.stash.get(TALLY, None), config.stash.get(REQUIREMENTS, None)
    if tally is None and (requirements is None or not _judged(config)):  # the kit was not used
        return
    from ..conformance.coverage import Tally, compact, coverage

    cov = coverage(tally or Tally(), requirements)
    terminalreporter.write_sep("-", "ske-sandbox outcome coverage")
    terminalreporter.write_line(compact(cov))
    if cov.missing:
        terminalreporter.write_line("ske-sandbox: the session fails: required outcomes never met: "
                                    + ", ".join(r.name for r in cov.missing), red=True)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A required outcome never met fails an otherwise green session."""
    requirements = session.config.stash.get(REQUIREMENTS, None)
    if requirements is None or exitstatus != 0 or not _judged(session.config):
        return
    from ..conformance.coverage import Tally, coverage

    if coverage(session.config.stash.get(TALLY, None) or Tally(), requirements).missing:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _settings(config: pytest.Config) -> Settings:
    from ..settings import Settings

    clients = config.getini("ske_sandbox_clients")
    today = config.getini("ske_sandbox_today")
    seed = config.getini("ske_sandbox_seed")
    return Settings(
        today=dt.date.fromisoformat(today) if today else DEFAULT_TODAY,
        seed=int(seed) if seed else 1,
        population=1000,
        base_url="http://ske-sandbox.test",
        clients_file=(config.rootpath / clients) if clients and not Path(clients).is_absolute()
        else (Path(clients) if clients else None),
    )


def _check_at_end(request: pytest.FixtureRequest) -> bool:
    flag = str(request.config.getini("ske_sandbox_assert_conform") or "").strip().lower()
    return flag in ("1", "true", "yes") or request.node.get_closest_marker("ske_sandbox_conform") is not None


def _run(kit: SandboxKit, request: pytest.FixtureRequest) -> Iterator[SandboxKit]:
    kit.begin()
    try:
        yield kit
        if _check_at_end(request):
            kit.assert_requests_conform()
    finally:
        _tally(kit, request.config)
        kit.end()


def _environment(config: pytest.Config) -> Any:
    from ..environments import PROD, TEST

    name = config.getini("ske_sandbox_environment") or "test"
    if name not in ("test", "prod"):
        raise pytest.UsageError(f"ske_sandbox_environment must be test or prod, not {name!r}")
    return PROD if name == "prod" else TEST


@pytest.fixture
def ske_sandbox_settings(request: pytest.FixtureRequest) -> Settings:
    """Override in your conftest to change seed, today, population or the clients file."""
    return _settings(request.config)


@pytest.fixture(scope="session")
def ske_sandbox_session_settings(request: pytest.FixtureRequest) -> Settings:
    """Settings of `ske_sandbox_shared`; override at session scope."""
    return _settings(request.config)


@pytest.fixture
def ske_sandbox(ske_sandbox_settings: Settings, request: pytest.FixtureRequest) -> Iterator[SandboxKit]:
    """A sandbox of its own for this test, with the real hostnames routed to it."""
    from .kit import SandboxKit

    yield from _run(SandboxKit(ske_sandbox_settings, _environment(request.config)), request)


@pytest.fixture(scope="session")
def _ske_sandbox_built(ske_sandbox_session_settings: Settings, request: pytest.FixtureRequest) -> SandboxKit:
    from .kit import SandboxKit

    return SandboxKit(ske_sandbox_session_settings, _environment(request.config))


@pytest.fixture
def ske_sandbox_shared(_ske_sandbox_built: SandboxKit, request: pytest.FixtureRequest) -> Iterator[SandboxKit]:
    """The sandbox built once per session; its state (used grants, journal, scenarios) is fresh per test."""
    yield from _run(_ske_sandbox_built, request)
