"""The service registry: each real service listed once, and everything that routes, names or checks a service
reads it."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

from mockserver import contractschema, services
from mockserver.app import create_app
from mockserver.environments import PROD, REAL_HOSTS, TEST
from mockserver.months import add_months, last_months, month_text, months_between, parse_month
from mockserver.resources import contracts_dir
from mockserver.testkit.errors import ERROR_CODES

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PACKAGE = Path(services.__file__).resolve().parent


def test_every_contract_file_is_a_registered_service():
    assert {p.stem for p in contracts_dir().glob("*.yaml")} == set(services.CONTRACTS) == set(services.NAMES)


@pytest.mark.parametrize("service", services.SERVICES, ids=lambda s: s.name)
def test_each_service_is_mounted_under_its_prefix_and_both_real_hosts(service):
    app = create_app(population=50)
    mounted = {getattr(r, "path", None) for r in app.routes}
    assert service.prefix in mounted
    assert REAL_HOSTS[service.hosts["test"]] == (TEST, service.name)
    assert TEST.base_url(service.name) == f"https://{service.hosts['test']}{service.base_path or '/'}"
    if "prod" in service.hosts:
        assert REAL_HOSTS[service.hosts["prod"]] == (PROD, service.name)
    else:  # Tenor: one host, reached with test tokens
        assert service.name not in PROD.hosts


@pytest.mark.parametrize("service", services.DATA_APIS, ids=lambda s: s.name)
def test_a_data_apis_unknown_url_answers_its_own_code(service):
    answer = TestClient(create_app(population=50)).get(service.prefix + "/no/such/path")
    assert answer.status_code == 404
    assert answer.json()["kode"].startswith(service.errors.prefix + "-")


def test_error_codes_and_scopes_come_from_the_registry():
    assert {a for c in ERROR_CODES.values() for a in c.apis} == set(services.DATA_API_NAMES)
    # one prefix per API, but the two event feeds share FA
    assert {p: [s.name for s in apis] for p, apis in services.ERROR_PREFIXES.items() if len(apis) > 1} == {
        "FA": ["skatteoppgjoerhendelser", "inntekthendelser"]}
    assert sum(map(len, services.ERROR_PREFIXES.values())) == len(services.DATA_APIS)
    assert services.MASKINPORTEN.scopes == frozenset() and not services.MASKINPORTEN.is_data_api
    assert contractschema.APIS[-1] == "maskinporten"


@pytest.mark.parametrize(("path", "hit"), [
    ("/inntekt", ("inntekt", "/")),
    ("/inntekt/v1/x", ("inntekt", "/v1/x")),
    ("/inntektx/v1", None),
    ("/maskinporten/token", ("maskinporten", "/token")),
    ("/", None),
    ("", None),
    ("/inntekt/", ("inntekt", "/")),
    ("/tenor/api/testnorge/v2/soek", ("tenor", "/api/testnorge/v2/soek")),
    ("/__sandbox/reset", None),
])
def test_split_path_matches_whole_segments_only(path, hit):
    got = services.split_path(path)
    assert (None if got is None else (got[0].name, got[1])) == hit


def test_every_prefix_is_one_path_segment():
    """split_path looks a path's service up by its first segment."""
    assert all(s.prefix.count("/") == 1 and len(s.prefix) > 1 for s in services.SERVICES)


def test_an_unknown_name_is_a_clear_error():
    with pytest.raises(services.UnknownService, match="expected one of maskinporten"):
        services.named("skattemelding")


def _names_in_literals(tree: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def test_no_module_but_the_registry_spells_out_the_list_of_services():
    """A module that names every service in string literals keeps its own copy of the list."""
    every = set(services.NAMES)
    copies = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
              if p.name != "services.py" and every <= _names_in_literals(ast.parse(p.read_text()))]
    assert copies == []


def test_month_arithmetic():
    assert add_months((2025, 12), 1) == (2026, 1) and add_months((2025, 1), -1) == (2024, 12)
    assert months_between((2025, 11), (2026, 2)) == [(2025, 11), (2025, 12), (2026, 1), (2026, 2)]
    assert months_between((2026, 2), (2025, 11)) == []
    assert last_months((2026, 1), 3) == [(2025, 11), (2025, 12), (2026, 1)]
    assert month_text(parse_month("2026-09")) == "2026-09"
    for bad in ("2026-13", "2026-1", "26-01", "2026/01", ""):
        with pytest.raises(ValueError):
            parse_month(bad)
