"""Property tests: the unmodified client against every answer the contracts allow, drawn by the kit's
strategies and served under the real hostnames — unknown codes, absent optional fields, empty lists,
extreme amounts, XML and JSON alike. At least 200 examples per operation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from kommune_client import Config, KommuneClient, ServiceError

from mockserver.testkit.strategies import responses

# hundreds of generated examples; every test also fails on a request that broke its contract (a drawn
# error answer is forced by answer(), so only the client's requests are judged)
pytestmark = [pytest.mark.slow, pytest.mark.ske_sandbox_conform]

# The fixtures are per test, not per example, on purpose: each example serves its answer inside its own
# `with answer(...)` block, which starts a new example for the Retry-After check too; what carries over
# between examples (the client's cached token, the journal) does not change what an example checks.
PROPERTY = settings(max_examples=200, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
KARI = "15838512671"


@pytest.fixture
def client(ske_sandbox_shared) -> Iterator[KommuneClient]:
    demo = ske_sandbox_shared.demo_client
    # A drawn 429 or 503 says Retry-After: the client waits it out on the sandbox's clock, which the
    # conformance check reads too, so the wait is real to the check and costs no time.
    clock = ske_sandbox_shared.sandbox.clock
    offset = clock.offset
    yield KommuneClient(Config(demo.client_id, demo.kid, demo.private_key_pem),
                        today=lambda: ske_sandbox_shared.today, clock=clock.now, sleep=clock.advance)
    clock.offset = offset  # the shared sandbox's clock back where it was for the next test


@PROPERTY
@given(drawn=responses("summertskattegrunnlag", status=200))
def test_any_valid_tax_basis_is_summed_by_kategori(ske_sandbox_shared, client, drawn):
    with ske_sandbox_shared.answer("summertskattegrunnlag", drawn):
        body = client.skattegrunnlag(KARI, 2025)
    sums = client.sums_by_kategori(body)
    assert sum(sums.values()) == sum(int(p["beloep"]) for p in drawn.body.get("grunnlag", []) if p.get("kategori"))


@PROPERTY
@given(drawn=responses("inntekt", status=200))
def test_any_valid_income_answer_is_read(ske_sandbox_shared, client, drawn):
    with ske_sandbox_shared.answer("inntekt", drawn):
        oppgaver = client.inntekter(KARI, [(2026, 8), (2026, 10)])
    assert len(oppgaver) == len(drawn.body.get("oppgaveInntektsmottaker", []))


@PROPERTY
@given(drawn=responses("sistetilgjengeligeskatteoppgjoer", status="any"))
def test_any_answer_of_siste_tilgjengelige_is_a_year_none_or_a_clear_error(ske_sandbox_shared, client, drawn):
    with ske_sandbox_shared.answer("sistetilgjengeligeskatteoppgjoer", drawn):
        try:
            year = client.latest_year(KARI)
        except ServiceError as exc:
            assert str(drawn.status) in str(exc)
            return
    assert year is None or year == int(drawn.body["sisteTilgjengeligePeriode"])
