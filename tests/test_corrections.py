"""Corrected a-meldinger: a corrected month gets a second Inntekt feed event a month after the first, and from
that day the Inntekt API answers the corrected month (more tax withheld), while Summert skattegrunnlag's yearly
sums stay as they were."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from kit_helpers import PAKKE
from test_kit_routing import sync_token

from mockserver.months import add_months, month_text
from mockserver.population.corrections import correction_day, is_corrected
from mockserver.settings import Settings

INNTEKT_FEED = "https://inntekthendelser.api.skatteetaten-test.no/v1/hendelser"
IM = "https://inntekt.api.skatteetaten-test.no/v1/" + PAKKE
SSG = "https://summertskattegrunnlag.api.skatteetaten-test.no/v2/oppgjoer/" + PAKKE
MONTH = (2025, 6)  # corrections registered on 2025-08-10


@pytest.fixture
def ske_sandbox_settings() -> Settings:
    return Settings(seed=1, population=300, today=dt.date(2025, 7, 20))


@pytest.fixture
def http(ske_sandbox):
    with httpx.Client() as client:
        client.headers["Authorization"] = f"Bearer {sync_token(ske_sandbox, client)}"
        yield client


def events_for(http, month: str) -> list[dict]:
    out, fra = [], 1
    while items := http.get(INNTEKT_FEED, params={"fraSekvensnummer": fra, "antall": 1000}).json()["hendelser"]:
        out += [i for i in items if i["gjelderPeriode"] == month]
        fra = items[-1]["sekvensnummer"] + 1
    return out


def month_answer(http, fnr: str) -> dict:
    r = http.get(f"{IM}/{fnr}/inntekter", params={"fraOgMed": month_text(MONTH), "tilOgMed": month_text(MONTH)})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_corrected_month_gets_a_second_event_and_a_changed_answer(ske_sandbox, http):
    before = events_for(http, month_text(MONTH))
    reported = {e["identifikator"] for e in before}
    corrected = sorted(f for f in reported if is_corrected(1, f, MONTH))
    assert corrected, "some of 300 people's June 2025 was corrected"
    assert all(len([e for e in before if e["identifikator"] == f]) == 1 for f in corrected)
    fnr = corrected[0]
    original = month_answer(http, fnr)

    ske_sandbox.travel_to(correction_day(MONTH))  # 2025-08-10
    after = [e for e in events_for(http, month_text(MONTH)) if e["identifikator"] == fnr]
    assert len(after) == 2 and after[1]["sekvensnummer"] > after[0]["sekvensnummer"]
    assert after[1]["registreringstidspunkt"].startswith("2025-08-10")
    assert "hendelsetype" not in after[1] or not after[1]["hendelsetype"]  # Inntekt's feed leaves it empty
    changed = month_answer(http, fnr)
    assert changed != original
    strip = [{k: v for k, v in o.items() if k != "forskuddstrekk"} for o in original["oppgaveInntektsmottaker"]]
    assert strip == [{k: v for k, v in o.items() if k != "forskuddstrekk"}
                     for o in changed["oppgaveInntektsmottaker"]], "only the tax withheld changes"
    withheld = [sum(t["beloep"] for t in o.get("forskuddstrekk", [])) for o in (original, changed)
                for o in o["oppgaveInntektsmottaker"]]
    assert sum(withheld[len(withheld) // 2:]) < sum(withheld[:len(withheld) // 2])  # more withheld

    uncorrected = next(f for f in sorted(reported) if not is_corrected(1, f, MONTH))
    assert len([e for e in events_for(http, month_text(MONTH)) if e["identifikator"] == uncorrected]) == 1


def test_the_yearly_basis_is_the_same_with_or_without_the_correction(ske_sandbox, http):
    fnr = next(f for f in (e["identifikator"] for e in events_for(http, month_text(MONTH)))
               if is_corrected(1, f, MONTH))
    ske_sandbox.travel_to("2026-11-27")  # 2025 settled for everyone, the correction long made
    with_correction = http.get(f"{SSG}/2025/{fnr}").content
    # a sandbox that never corrected anything answers 2025 alike: SSG carries no tax withheld
    from mockserver.population import corrections

    share = corrections.SHARE_PER_10000
    corrections.SHARE_PER_10000 = 0
    try:
        ske_sandbox.sandbox.caches.clear()
        without = http.get(f"{SSG}/2025/{fnr}").content
    finally:
        corrections.SHARE_PER_10000 = share
    strip = lambda body: body.split(b'"korrelasjonsid"')[0]  # noqa: E731
    assert strip(with_correction) == strip(without)


def test_the_correction_day_follows_the_month():
    assert correction_day((2025, 6)) == dt.date(2025, 8, 10)
    assert correction_day((2025, 12)) == dt.date(2026, 2, 10)
    assert add_months((2025, 12), 2) == (2026, 2)
