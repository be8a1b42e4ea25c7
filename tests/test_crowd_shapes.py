"""Optional shapes across the crowd (docs/shapes.md): over the default crowd and every month of 2025, each
shape the contracts allow and production serves is met by at least 2 % of the crowd's answers, by many
people and not only by a persona, measured with the four consumer-shaped readers of `consumers.py` where a
consumer notices the shape; a rate set to 0 in a choices file removes its shape; every answer measured
conforms to its contract."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from consumers import ConsumerCrash, social_assistance_months, strict_yearly, tolerant_yearly, wallet_months
from test_contracts import _doc, schema_validator

from mockserver.choices import Choices, load_choices
from mockserver.clock import DataCalendar
from mockserver.inntekt.model import inntekter
from mockserver.population.world import Population
from mockserver.rettighetspakker import load_pakker
from mockserver.skatteetaten_errors import SkeError
from mockserver.summertskattegrunnlag.model import skattegrunnlag

TODAY = dt.date(2026, 11, 27)
CROWD = 400  # "some hundreds of people": every month of 2025 for each
SCREENED_CROWD = 1000  # the oppgjør answers: a screened person is one person, so more people
MONTHS = [(2025, m) for m in range(1, 13)]
YEARS = (2024, 2025)
PAKKE = load_pakker()["kommuneboligsosialeformaal"]
MIN_SHARE = 0.02
MIN_PEOPLE = 5  # met by this many different crowd people at least: not one persona's shape
OPPTAK = "20848997790"

Body = dict[str, Any]
LEAN_KEYS = {"beloep", "loennsinntekt", "ytelseFraOffentlige", "pensjonEllerTrygd", "naeringsinntekt"}


def _lines(body: Body) -> list[Body]:
    return [line for o in body["oppgaveInntektsmottaker"] for line in o.get("inntekt", [])]


def _crashes(reader: Callable[[Body], Any], body: Body) -> bool:
    try:
        reader(body)
    except ConsumerCrash:
        return True
    return False


def _shows_zero(body: Body) -> bool:
    """The social-assistance reader shows 0 kr for a month that had income, and says nothing."""
    if _crashes(social_assistance_months, body) or not _lines(body):
        return False
    read = social_assistance_months(body)
    return sum(read.months.values()) == 0 and read.dropped_kroner > 0


# shape -> (detector over one answer, the choices that make it; None where no rate makes it)
INNTEKT_SHAPES: dict[str, tuple[Callable[[Body], bool], tuple[str, ...] | None]] = {
    # the social-assistance reader crashes on a month it cannot parse
    "kalendermaaned absent": (lambda b: _crashes(social_assistance_months, b), ("kalendermaaned_absent_share",)),
    # ... and so does the wallet connector when the oppgave has income lines
    "kalendermaaned absent on income": (lambda b: _crashes(wallet_months, b), ("kalendermaaned_absent_share",)),
    "fordel absent": (lambda b: any("fordel" not in i for i in _lines(b)),
                      ("fordel_absent_share", "recorded_shape_share")),
    "utloeserArbeidsgiveravgift absent": (lambda b: any("utloeserArbeidsgiveravgift" not in i for i in _lines(b)),
                                          ("utloeser_arbeidsgiveravgift_absent_share", "recorded_shape_share")),
    # the social-assistance reader silently leaves the line out
    "inngaarIGrunnlagForTrekk absent": (
        lambda b: not _crashes(social_assistance_months, b) and social_assistance_months(b).dropped_kroner > 0,
        ("inngaar_i_grunnlag_for_trekk_absent_share", "recorded_shape_share")),
    # the recorded answer's shape: the social-assistance reader shows 0 kr for the month
    "recorded shape (0 kr)": (_shows_zero, ("recorded_shape_share", "inngaar_i_grunnlag_for_trekk_absent_share")),
    # ... as the recorded answer has it: every line only beloep and its kind
    "recorded shape (lean lines)": (lambda b: bool(_lines(b)) and all(set(i) <= LEAN_KEYS for i in _lines(b)),
                                    ("recorded_shape_share",)),
    "mottaksinformasjon with foersteMottakstidspunkt": (
        lambda b: any("foersteMottakstidspunkt" in o.get("mottaksinformasjon", {})
                      for o in b["oppgaveInntektsmottaker"]), None),
    "mottaksinformasjon empty": (lambda b: any(o.get("mottaksinformasjon") == {} for o in b["oppgaveInntektsmottaker"]),
                                 ("mottaksinformasjon_empty_share",)),
    # an oppgave with month, receiver and mottaksinformasjon and no income lines (the wallet skips it)
    "bare oppgave": (lambda b: any("inntekt" not in o and {"kalendermaaned", "inntektsmottaker",
                                                            "mottaksinformasjon"} <= set(o)
                                   for o in b["oppgaveInntektsmottaker"]), ("bare_oppgave_share",)),
    "naturalytelse beside kontantytelse": (
        lambda b: {"naturalytelse", "kontantytelse"} <= {i.get("fordel") for i in _lines(b)}, ("naturalytelse_share",)),
    "utgiftsgodtgjoerelse beside kontantytelse": (
        lambda b: {"utgiftsgodtgjoerelse", "kontantytelse"} <= {i.get("fordel") for i in _lines(b)},
        ("utgiftsgodtgjoerelse_share",)),
    # øre: the social-assistance reader's integer binding drops them
    "øre": (lambda b: not _crashes(social_assistance_months, b) and social_assistance_months(b).truncated_lines > 0,
            None),
}
SSG_SHAPES: dict[str, tuple[Callable[[Body], bool], tuple[str, ...] | None]] = {
    # the strict plugin crashes; the tolerant reader sees a screened person without posts
    "fully screened": (lambda b: _crashes(strict_yearly, b) and tolerant_yearly(b).skjermet
                       and not tolerant_yearly(b).posts, ("skjermet_helt_share",)),
    "partly screened": (lambda b: not _crashes(strict_yearly, b) and strict_yearly(b).skjermet, ("skjermet_share",)),
}


@dataclass
class Tally:
    answers: int = 0
    met: dict[str, int] = field(default_factory=dict)
    people: dict[str, set[str]] = field(default_factory=dict)

    def add(self, fnr: str, body: Body, shapes: dict[str, tuple[Callable[[Body], bool], Any]]) -> None:
        self.answers += 1
        for name, (detect, _) in shapes.items():
            if detect(body):
                self.met[name] = self.met.get(name, 0) + 1
                self.people.setdefault(name, set()).add(fnr)

    def share(self, name: str) -> float:
        return self.met.get(name, 0) / self.answers


INNTEKT_CHECK = schema_validator(_doc("inntekt.yaml"), "InntektResponse")
SSG_CHECK = schema_validator(_doc("summertskattegrunnlag.yaml"), "SummertSkattegrunnlag")


def measure(pop: Population, size: int, check: bool = False, apis: str = "both") -> tuple[Tally, Tally]:
    """Every crowd answer (personas left out) for each month of 2025 and the oppgjør of 2024 and 2025."""
    monthly, yearly = Tally(), Tally()
    for index in range(size):
        fnr = pop.numbers.number(index)
        if fnr in pop.personas:
            continue
        for month in MONTHS if apis != "summert" else []:
            try:
                body = inntekter(pop, PAKKE, fnr, [month])
            except SkeError:
                continue
            if check:
                assert not list(INNTEKT_CHECK.iter_errors(body)), (fnr, month)
            monthly.add(fnr, body, INNTEKT_SHAPES)
        for year in YEARS if apis != "inntekt" else ():
            try:
                body = skattegrunnlag(pop, PAKKE, "oppgjoer", year, fnr)
            except SkeError:
                continue
            # the yearly schema is large: every screened answer, and a sample of the others
            if check and (body["skjermet"] or index % 10 == 0):
                assert not list(SSG_CHECK.iter_errors(body)), (fnr, year)
            yearly.add(fnr, body, SSG_SHAPES)
    return monthly, yearly


def crowd(choices: Choices | None = None, seed: int = 1) -> Population:
    return Population(seed, SCREENED_CROWD, DataCalendar(TODAY), choices=choices)


@pytest.fixture(scope="module")
def default_tally() -> tuple[Tally, Tally]:
    pop = crowd()
    monthly, _ = measure(pop, CROWD, check=True, apis="inntekt")
    _, yearly = measure(pop, SCREENED_CROWD, check=True, apis="summert")
    return monthly, yearly


@pytest.mark.parametrize("shape", list(INNTEKT_SHAPES))
def test_each_inntekt_shape_is_met_across_the_crowd(default_tally: tuple[Tally, Tally], shape: str):
    monthly, _ = default_tally
    assert monthly.answers > 3000
    assert monthly.share(shape) >= MIN_SHARE, (shape, monthly.met.get(shape), monthly.answers)
    assert len(monthly.people[shape]) >= MIN_PEOPLE


@pytest.mark.parametrize("shape", list(SSG_SHAPES))
def test_each_summert_shape_is_met_across_the_crowd(default_tally: tuple[Tally, Tally], shape: str):
    _, yearly = default_tally
    assert yearly.answers > 1500
    assert yearly.share(shape) >= MIN_SHARE, (shape, yearly.met.get(shape), yearly.answers)
    assert len(yearly.people[shape]) >= MIN_PEOPLE


SMALL = 150


@pytest.fixture(scope="module")
def small_tally() -> tuple[Tally, Tally]:
    return measure(crowd(), SMALL)


ZEROED = [(name, keys) for name, (_, keys) in {**INNTEKT_SHAPES, **SSG_SHAPES}.items() if keys]


@pytest.mark.parametrize("shape, keys", ZEROED, ids=[name for name, _ in ZEROED])
def test_a_rate_of_zero_in_the_choices_file_removes_the_shape(
        tmp_path: Path, small_tally: tuple[Tally, Tally], shape: str, keys: tuple[str, ...]):
    path = tmp_path / "choices.yaml"
    path.write_text(yaml.safe_dump({key: 0 for key in keys}))
    summert = shape in SSG_SHAPES
    monthly, yearly = measure(crowd(load_choices(path)), SMALL, apis="summert" if summert else "inntekt")
    tally = yearly if summert else monthly
    assert tally.answers and tally.met.get(shape, 0) == 0, tally.people.get(shape)
    assert small_tally[summert].met.get(shape, 0) > 0  # it was there at the default rate


@pytest.mark.parametrize("value", [-0.1, 1.5, "often", True])
def test_a_rate_out_of_range_is_refused(tmp_path: Path, value: Any):
    from mockserver.choices import ChoicesError

    path = tmp_path / "choices.yaml"
    path.write_text(yaml.safe_dump({"fordel_absent_share": value}))
    with pytest.raises(ChoicesError, match="fordel_absent_share must be a number between 0 and 1"):
        load_choices(path)


def test_the_same_seed_draws_the_same_shapes_and_another_seed_others():
    first, second, other = crowd(), crowd(), crowd(seed=2)
    assert [inntekter(first, PAKKE, first.numbers.number(i), MONTHS) for i in range(30)] == [
        inntekter(second, PAKKE, second.numbers.number(i), MONTHS) for i in range(30)]

    def screened(pop: Population) -> list[int]:
        return [i for i in range(CROWD) if pop.lookup(pop.numbers.number(i)).skjermet]

    assert screened(first) == screened(second) != screened(other)


def test_before_2025_every_oppgave_has_the_full_shape():
    pop = crowd()
    for index in range(120):
        life = pop.lookup(pop.numbers.number(index))
        for month in [(2024, m) for m in range(1, 13)]:
            from mockserver.population.reports import month_reports

            for o in month_reports(life, month, pop.choices):
                assert "kalendermaaned" in o and "inntekt" in o
                assert all({"fordel", "utloeserArbeidsgiveravgift", "inngaarIGrunnlagForTrekk"} <= set(i)
                           for i in o["inntekt"])


def test_the_recorded_answer_persona_reads_as_the_consumers_read_it(ske_sandbox):
    """The persona opptak-2025 over HTTP: the social-assistance reader shows 0 kr for every month of 2025 (the
    lines lack inngaarIGrunnlagForTrekk), the wallet connector reads 35050 for February to December."""
    client = ske_sandbox.client
    headers = {"Authorization": f"Bearer {ske_sandbox.token()}", "Accept": "application/json"}
    r = client.get(f"/inntekt/v1/kommuneboligsosialeformaal/{OPPTAK}/inntekter",
                   params={"fraOgMed": "2025-01", "tilOgMed": "2025-12"}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    social = social_assistance_months(body)
    assert social.months == {} and social.dropped_kroner == 11 * 35050
    assert wallet_months(body).months == {f"2025-{m:02d}": 35050 for m in range(2, 13)}


def test_a_crowd_shape_is_served_over_http_as_measured(ske_sandbox):
    """The measurement reads the rooms' models; the served answer is the same body."""
    pop = ske_sandbox.sandbox.population
    headers = {"Authorization": f"Bearer {ske_sandbox.token()}", "Accept": "application/json"}
    detect = INNTEKT_SHAPES["kalendermaaned absent"][0]
    for index in range(pop.size):
        fnr = pop.numbers.number(index)
        if fnr in pop.personas:
            continue
        for month in MONTHS:
            try:
                body = inntekter(pop, PAKKE, fnr, [month])
            except SkeError:
                continue
            if detect(body):
                r = ske_sandbox.client.get(f"/inntekt/v1/kommuneboligsosialeformaal/{fnr}/inntekter",
                                           params={"fraOgMed": f"{month[0]}-{month[1]:02d}"}, headers=headers)
                assert r.status_code == 200 and r.json() == body
                with pytest.raises(ConsumerCrash):
                    social_assistance_months(r.json())
                return
    pytest.fail("no crowd answer without kalendermaaned")
