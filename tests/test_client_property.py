"""A municipal client driven end to end over generated answers: any contract-valid answer, 200 per API.

The client code below is written as a vendor writes it (plain HTTP calls, JSON parsing); the sandbox
answers each call with a drawn body through `Sandbox.responder`, after real auth and validation. A
robust reader passes; a fragile one (it assumes `kalendermaaned` is always there, as the contract no
longer promises) is caught.
"""

from __future__ import annotations

import pytest
from hypothesis import Phase, given, settings
from kit_helpers import FNR, PAKKE, app, client

from mockserver.canned import CannedAnswer
from mockserver.testkit.strategies import DrawnResponse, responses

pytestmark = pytest.mark.slow  # hundreds of generated examples

APP = app()
HTTP = client(APP)
SANDBOX = APP.state.sandbox
EXAMPLES = settings(max_examples=200, deadline=None, database=None, derandomize=True)


class ServiceError(Exception):
    def __init__(self, status: int, kode: str) -> None:
        super().__init__(f"{status} {kode}")
        self.status, self.kode = status, kode


def _json(r) -> dict | None:
    """None where the API documents 'nothing there' (404, 410); a ServiceError for other errors."""
    if r.status_code in (404, 410):
        return None
    if r.status_code != 200:
        raise ServiceError(r.status_code, r.json().get("kode", "?"))
    return r.json()


def latest_year(http, fnr: str) -> int | None:
    body = _json(http.get(f"/sistetilgjengeligeskatteoppgjoer/v1/{fnr}"))
    return None if body is None else int(body["sisteTilgjengeligePeriode"])


def yearly_income(http, fnr: str, year: int) -> int | None:
    body = _json(http.get(f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/{year}/{fnr}"))
    if body is None or body.get("skjermet"):
        return None
    return sum(g.get("beloep", 0) for g in body.get("grunnlag", []) if g.get("kategori") == "inntekt")


def monthly_income(http, fnr: str, fra: str, til: str) -> dict[str, int]:
    body = _json(http.get(f"/inntekt/v1/{PAKKE}/{fnr}/inntekter", params={"fraOgMed": fra, "tilOgMed": til}))
    months: dict[str, int] = {}
    for oppgave in (body or {}).get("oppgaveInntektsmottaker", []):
        month = oppgave.get("kalendermaaned", "ukjent")
        months[month] = months.get(month, 0) + sum(i.get("beloep", 0) for i in oppgave.get("inntekt", []))
    return months


def fragile_monthly_income(http, fnr: str, fra: str, til: str) -> dict[str, int]:
    body = _json(http.get(f"/inntekt/v1/{PAKKE}/{fnr}/inntekter", params={"fraOgMed": fra, "tilOgMed": til}))
    months: dict[str, int] = {}
    for oppgave in (body or {}).get("oppgaveInntektsmottaker", []):
        months[oppgave["kalendermaaned"]] = sum(i.get("beloep", 0) for i in oppgave.get("inntekt", []))
    return months


def answering(drawn: DrawnResponse) -> None:
    SANDBOX.responder = lambda api, request: CannedAnswer.from_drawn(drawn) if api == drawn.api else None


def documented(call, drawn: DrawnResponse):
    """Run the client call; a ServiceError is fine when it repeats the documented code it was given."""
    answering(drawn)
    try:
        return call()
    except ServiceError as err:
        assert drawn.status not in (200, 404, 410) and err.kode == drawn.body["kode"]
        return None


@EXAMPLES
@given(drawn=responses("sistetilgjengeligeskatteoppgjoer", "any"))
def test_latest_year_reader(drawn):
    year = documented(lambda: latest_year(HTTP, FNR), drawn)
    if drawn.status == 200:
        assert year == int(drawn.body["sisteTilgjengeligePeriode"])


@EXAMPLES
@given(drawn=responses("summertskattegrunnlag", "any"))
def test_yearly_income_reader(drawn):
    total = documented(lambda: yearly_income(HTTP, FNR, 2024), drawn)
    if drawn.status == 200 and not drawn.body["skjermet"]:
        assert isinstance(total, int)


@EXAMPLES
@given(drawn=responses("inntekt", "any"))
def test_monthly_income_reader(drawn):
    months = documented(lambda: monthly_income(HTTP, FNR, "2026-01", "2026-03"), drawn)
    if drawn.status == 200:
        assert sum(months.values()) == sum(i.get("beloep", 0) for o in drawn.body["oppgaveInntektsmottaker"]
                                           for i in o.get("inntekt", []))


def test_a_fragile_reader_is_caught():
    @settings(EXAMPLES, max_examples=200, phases=[Phase.generate])  # finding it is the point; no shrinking
    @given(drawn=responses("inntekt", 200))
    def fragile(drawn):
        documented(lambda: fragile_monthly_income(HTTP, FNR, "2026-01", "2026-03"), drawn)

    with pytest.raises(KeyError, match="kalendermaaned"):
        fragile()
