"""The client's test suite, written only with the ske_sandbox kit: the client runs unmodified, calling
Skatteetaten's and Maskinporten's real test hostnames, and the kit answers in-process.

`KOMMUNE_CLIENT_VARIANT=<name>` runs the same suite against a deliberately broken variant (broken.py), and
`KOMMUNE_CLIENT_VARIANT=all` against every one of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import broken
import pytest
from kommune_client import Config, KommuneClient, ServiceError

from mockserver.testkit import ERROR_CODES

VARIANT = os.environ.get("KOMMUNE_CLIENT_VARIANT", "")
CLIENT_CLASSES = broken.VARIANTS if VARIANT == "all" else [getattr(broken, VARIANT, KommuneClient)]
pytestmark = pytest.mark.ske_sandbox_conform  # every test also fails on a request that broke its contract


@pytest.fixture
def ske_sandbox(ske_sandbox_shared):
    return ske_sandbox_shared  # one sandbox for the whole suite, state fresh per test


@pytest.fixture(params=CLIENT_CLASSES, ids=lambda cls: cls.__name__)
def client(ske_sandbox, request) -> Iterator[KommuneClient]:
    demo = ske_sandbox.demo_client
    # The client waits out Retry-After on the sandbox's clock, which the journal reads too: moving the clock
    # instead of sleeping keeps the suite fast, and the conformance check still sees every wait.
    clock = ske_sandbox.sandbox.clock
    offset = clock.offset
    yield request.param(Config(demo.client_id, demo.kid, demo.private_key_pem), today=lambda: ske_sandbox.today,
                        clock=clock.now, sleep=clock.advance)
    clock.offset = offset  # the shared sandbox's clock back where it was for the next test


def test_reads_the_last_two_settled_years_and_three_complete_months(client, ske_sandbox):
    kari = ske_sandbox.persona("ordinary")
    summary = client.person(kari.fnr)
    assert sorted(summary.years) == [2024, 2025]
    assert summary.income(2025) > 0, (
        f"{kari.name}'s 2025 oppgjør has income (kategori 'inntekt'), but the client summed {summary.years[2025]}")
    assert sorted(summary.monthly_income) == ["2026-08", "2026-09", "2026-10"]  # data calendar 2026-11-27


def test_household_of_four(client, ske_sandbox):
    hanne = ske_sandbox.persona("household")
    household = client.household([hanne.fnr, *hanne.household])
    assert len(household.members) == 4
    assert household.income_last_three_months > 0


def test_no_income_reported_is_an_answer_not_an_error(client, ske_sandbox):
    henrik = ske_sandbox.persona("IM-008")  # nothing in a-ordningen: 404 IM-008 for every period
    assert client.person(henrik.fnr).monthly_income == {}


def test_a_year_without_oppgjoer_is_skipped(client, ske_sandbox):
    kari = ske_sandbox.persona("ordinary")
    with ske_sandbox.scenario("SSG-008"):
        summary = client.person(kari.fnr)
    assert summary.years == {} and sorted(summary.missing_years) == [2024, 2025]


def test_a_deleted_year_is_skipped(client, ske_sandbox):
    kari = ske_sandbox.persona("ordinary")
    with ske_sandbox.scenario("SSG-011"):
        assert sorted(client.person(kari.fnr).missing_years) == [2024, 2025]


def test_rate_limiting_is_retried_after_the_delay_the_service_asks_for(client, ske_sandbox):
    kari = ske_sandbox.persona("ordinary")
    with ske_sandbox.scenario("429", api="inntekt"), pytest.raises(ServiceError, match="429"):
        client.person(kari.fnr)
    assert [e["status"] for e in ske_sandbox.journal if e["service"] == "inntekt"] == [429, 429, 429]


def test_the_token_is_reused_until_it_expires(client, ske_sandbox):
    kari = ske_sandbox.persona("ordinary")
    client.person(kari.fnr)
    client.person(kari.fnr)
    assert sum(e["service"] == "maskinporten" for e in ske_sandbox.journal) == 1


# the codes of the three APIs this client calls (it does not follow the event feeds)
CALLED = ("summertskattegrunnlag", "inntekt", "sistetilgjengeligeskatteoppgjoer")


@pytest.mark.parametrize("code", [c.kode for c in ERROR_CODES.values() if c.status >= 500 and c.api in CALLED]
                         + ["SSG-007", "IM-007"])
def test_a_documented_error_is_reported_with_its_code(client, ske_sandbox, code):
    kari = ske_sandbox.persona("ordinary")
    with ske_sandbox.scenario(code), pytest.raises(ServiceError, match=code):
        client.person(kari.fnr)


def test_nobody_settled_yet_means_no_years(client, ske_sandbox):
    kari = ske_sandbox.persona("ordinary")
    with ske_sandbox.scenario("TD-004"):
        assert client.person(kari.fnr).years == {}
