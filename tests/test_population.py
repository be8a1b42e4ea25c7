"""The synthetic population: identity, internal consistency of both APIs' data, determinism, calendar."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.clock import DataCalendar
from mockserver.identifiers import (
    is_synthetic_orgnr,
    is_synthetic_person_number,
    is_valid_orgnr,
    parse_person_number,
    person_check_digits,
)
from mockserver.population import codes
from mockserver.population.life import PUBLIC_BODIES, Life, employer
from mockserver.population.personas import load_personas
from mockserver.population.reports import month_reports
from mockserver.population.settlement import settlement_date
from mockserver.population.slots import D_NUMBER_SHARE, NumberIndex
from mockserver.population.world import Population

TODAY = dt.date(2026, 11, 27)
CAPACITY = NumberIndex.capacity()
YEARS = range(2021, 2026)
PERSONA_FNRS = [p.fnr for p in load_personas() if p.exists]
ROOT = Path(__file__).resolve().parent.parent

seeds = st.integers(min_value=0, max_value=2**31)
indexes = st.integers(min_value=0, max_value=CAPACITY - 1)


@lru_cache(maxsize=8)
def population(seed: int, size: int = CAPACITY, today: dt.date = TODAY) -> Population:
    return Population(seed, size, DataCalendar(today))


@st.composite
def people(draw: st.DrawFn) -> Life:
    """Anyone: a curated persona (seed 1) or a crowd member of any seed anywhere in the number space."""
    if draw(st.integers(0, 3)) == 0:
        pop = population(1)
        return pop.lookup(draw(st.sampled_from(PERSONA_FNRS)))
    pop = population(draw(st.integers(0, 5)))
    life = pop.lookup(pop.numbers.number(draw(indexes)))
    assert life is not None
    return life


def kind_of(inntekt: dict) -> str:
    kinds = [k for k, v in inntekt.items() if isinstance(v, dict)]
    assert len(kinds) == 1, inntekt
    return kinds[0]


def posts(items: list[dict]) -> dict[str, int]:
    names = [i["tekniskNavn"] for i in items]
    assert len(names) == len(set(names)), f"tekniskNavn repeated: {names}"
    return {i["tekniskNavn"]: i["beloep"] for i in items}


# -- identity -----------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(seeds, indexes)
def test_number_index_round_trips(seed, index):
    idx = NumberIndex(seed)
    fnr = idx.number(index)
    assert is_synthetic_person_number(fnr)
    assert parse_person_number(fnr).d_number is (index % D_NUMBER_SHARE == D_NUMBER_SHARE - 1)
    assert idx.index(fnr) == index


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 5), st.integers(1, 3000), st.data())
def test_lookup_finds_exactly_the_crowd(seed, size, data):
    pop = population(seed, size)
    index = data.draw(st.integers(0, size - 1), label="index")
    fnr = pop.numbers.number(index)
    life = pop.lookup(fnr)
    assert life is not None and life.fnr == fnr
    assert pop.index_of(fnr) == index
    assert life.born == parse_person_number(fnr).born
    outside = pop.numbers.number(data.draw(st.integers(size, CAPACITY - 1), label="outside"))
    assert pop.lookup(outside) is None  # a valid synthetic number nobody in this population has


def test_lookup_of_numbers_no_slot_makes():
    pop = population(1, 1000)
    assert pop.lookup("15838512671").name == "Kari Nordmann"  # persona
    assert pop.lookup("04847512461") is None  # persona that does not exist (SSG-007)
    assert pop.lookup("01019012345") is None  # invalid check digits never reach the builder
    # a real-format number (month without + 80) of someone born on a date the crowd uses
    real = next(f"{n}{k}" for i in range(100, 110) if (k := person_check_digits(n := f"010190{i}")))
    assert pop.numbers.index(real) is None and pop.lookup(real) is None


# -- one story, two APIs ------------------------------------------------------------------------------


def half_up(kroner: Decimal) -> int:
    return int(kroner.quantize(Decimal(1), ROUND_HALF_UP))


@settings(max_examples=60, deadline=None)
@given(people(), st.sampled_from(list(YEARS)))
def test_monthly_reports_add_up_to_the_yearly_basis(life, year):
    """The rounding rule: each payer's year of monthly amounts (with øre) is rounded half up to whole kroner;
    a yearly post is the sum of those. PAYE wages sit in kildeskattPaaLoennGrunnlag."""
    yl = codes.year_list(year)
    per_payer: dict[tuple[str, str, str], Decimal] = {}
    for month in range(1, 13):
        for report in month_reports(life, (year, month)):
            for inntekt in report.get("inntekt", []):
                kind = kind_of(inntekt)
                concept = codes.yearly_concept(kind, inntekt[kind]["beskrivelse"])
                assert concept is not None, inntekt
                where = "svalbardGrunnlag" if inntekt.get("skatteOgAvgiftsregel") == "svalbard" else "grunnlag"
                if where == "grunnlag" and concept == "loenn" and life.kildeskatt_paa_loenn:
                    where = "kildeskattPaaLoennGrunnlag"
                key = (where, concept, report["opplysningspliktigId"])
                per_payer[key] = per_payer.get(key, Decimal(0)) + Decimal(str(inntekt["beloep"]))
    monthly: dict[tuple[str, str], int] = {}
    for (where, concept, _), total in per_payer.items():
        monthly[(where, concept)] = monthly.get((where, concept), 0) + half_up(total)
    body = population(1).skattegrunnlag(life, year)
    lists = {key: posts(body.get(key, [])) for key in ("grunnlag", "svalbardGrunnlag", "kildeskattPaaLoennGrunnlag")}
    for (where, concept), total in monthly.items():
        name = yl.name(concept)
        assert name is not None, f"{concept} has no tekniskNavn in {year}"
        assert lists[where].get(name, 0) == total, (life.fnr, year, concept)
        # the rounding never moves a post by more than half a krone per payer
        exact = sum(v for (w, c, _), v in per_payer.items() if (w, c) == (where, concept))
        payers = sum(1 for (w, c, _) in per_payer if (w, c) == (where, concept))
        assert abs(total - exact) <= Decimal("0.5") * payers
    # and nothing in the yearly basis claims a monthly income that was never reported
    for concept in {c for c in codes.MONTHLY_TO_YEARLY.values()} | {"loenn"}:
        name = yl.name(concept)
        for where, items in lists.items():
            assert items.get(name, 0) == monthly.get((where, concept), 0)


@settings(max_examples=80, deadline=None)
@given(people(), st.sampled_from(list(YEARS)))
def test_wealth_sums_are_sums_of_their_posts(life, year):
    items = population(1).skattegrunnlag(life, year)["grunnlag"]
    by_name = posts(items)
    brutto = sum(i["beloep"] for i in items if i["kategori"] == "formue")
    gjeld = sum(i["beloep"] for i in items if i["kategori"] == "formuesfradrag")
    assert by_name.get("bruttoformue", 0) == brutto
    assert by_name.get("samletGjeld", 0) == gjeld
    assert by_name.get("nettoformue", 0) == max(0, brutto - gjeld)
    assert all(i["beloep"] != 0 for i in items), "a post of 0 is left out"


@settings(max_examples=80, deadline=None)
@given(people(), st.sampled_from(list(YEARS)))
def test_every_teknisk_navn_is_in_the_years_list_with_its_kategori(life, year):
    yl = codes.year_list(year)
    body = population(1).skattegrunnlag(life, year)
    for item in body["grunnlag"] + body.get("svalbardGrunnlag", []):
        assert item["tekniskNavn"] in yl.kategori, f"{item['tekniskNavn']} is not in the {year} list"
        assert item["kategori"] == yl.kategori[item["tekniskNavn"]]
        assert isinstance(item["beloep"], int)


@settings(max_examples=50, deadline=None)
@given(people())
def test_every_monthly_beskrivelse_is_valid_in_its_month(life):
    for year in range(2021, 2027):
        for month in range(1, 13):
            for report in month_reports(life, (year, month)):
                # both optional since årsrevisjon 2025, and left out in the aarsrevisjon-2025 persona's reports
                assert report.get("kalendermaaned", f"{year:04d}-{month:02d}") == f"{year:04d}-{month:02d}"
                assert report.get("inntektsmottaker", {"personidentifikator": life.fnr}) == {
                    "personidentifikator": life.fnr}
                for inntekt in report.get("inntekt", []):
                    kind = kind_of(inntekt)
                    assert codes.beskrivelse_valid(kind, inntekt[kind]["beskrivelse"], year, month), inntekt


def orgnrs_in(obj) -> list[str]:
    """Every organisation number anywhere in a payload."""
    found = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in ("opplysningspliktigId", "virksomhetId", "organisasjonsnummer") and isinstance(value, str):
                found.append(value)
            else:
                found += orgnrs_in(value)
    elif isinstance(obj, list):
        for value in obj:
            found += orgnrs_in(value)
    return found


@settings(max_examples=60, deadline=None)
@given(people())
def test_every_private_orgnr_in_the_data_is_synthetic(life):
    """Private employers and banks are synthetic; public payers (NAV, SPK, KLP, Lånekassen) appear under
    their real, public organisation numbers, and nothing else real ever does."""
    pop = population(1)
    found = []
    for year in YEARS:
        found += orgnrs_in(pop.skattegrunnlag(life, year))
        for month in range(1, 13):
            reports = month_reports(life, (year, month))
            found += orgnrs_in(reports)
            for r in reports:
                if r["opplysningspliktigId"] not in PUBLIC_BODIES:
                    assert r["opplysningspliktigId"] != r["virksomhetId"], "enhet and underenhet share a number"
    orgs = {s.payer for s in life.streams} | {a.bank for a in life.accounts} | {d.lender for d in life.debts}
    found += [o.orgnr for o in orgs] + [o.virksomhet for o in orgs]
    private = [o for o in found if o not in PUBLIC_BODIES]
    assert all(is_synthetic_orgnr(o) for o in private), [o for o in private if not is_synthetic_orgnr(o)]


def test_public_payers_carry_their_public_organisation_numbers():
    from mockserver.population import life as L

    assert (L.NAV.orgnr, L.PENSJONSKASSE.orgnr, L.KLP.orgnr, L.LAANEKASSEN.orgnr) == (
        "995277670", "982583462", "938708606", "960885406")
    assert all(is_valid_orgnr(o) and not is_synthetic_orgnr(o) for o in PUBLIC_BODIES)
    pop = population(1)
    nav_paid = [r for fnr in ("20917912409", "09856812380", "12927712464", "14825012401")
                for m in range(1, 13) for r in month_reports(pop.lookup(fnr), (2025, m))]
    assert nav_paid and {r["opplysningsplitigId"] if False else r["opplysningspliktigId"] for r in nav_paid
                         if "ytelseFraOffentlige" in r["inntekt"][0] or r["inntekt"][0].get("pensjonEllerTrygd", {})
                         .get("beskrivelse") == "alderspensjon"} == {"995277670"}


def test_the_business_register_gives_each_number_to_one_organisation():
    from mockserver.population import life as L

    orgs = [employer(n) for n in range(3000)] + L.BANKS + [L.NAV, L.PENSJONSKASSE, L.KLP, L.LAANEKASSEN,
                                                             L.KOMMUNE_NAV]
    owner: dict[str, str] = {}
    for org in orgs:
        # a public payer reports from its own number; private ones from an underenhet of their own
        assert org.orgnr != org.virksomhet or org.orgnr in L.PUBLIC_BODIES, org
        for number in (org.orgnr, org.virksomhet):
            assert owner.setdefault(number, org.name) == org.name, f"{number} is both {owner[number]} and {org.name}"


@settings(max_examples=80, deadline=None)
@given(people(), st.sampled_from(list(YEARS)))
def test_settlement_dates_fall_between_21_march_and_31_october_the_year_after(life, year):
    day = settlement_date(life, year)
    assert dt.date(year + 1, 3, 21) <= day <= dt.date(year + 1, 10, 31)
    body = population(1).skattegrunnlag(life, year)
    if life.uten_skatteoppgjoersdato:  # the persona whose oppgjør leaves the optional date out
        assert "skatteoppgjoersdato" not in body
    else:
        assert body["skatteoppgjoersdato"] == day.isoformat()
    assert body["ajourholdstidspunkt"].startswith(day.isoformat() + "T")
    assert body["inntektsaar"] == str(year) and body["personidentifikator"] == life.fnr


# -- determinism --------------------------------------------------------------------------------------

SNAPSHOT = """
import datetime as dt, json, sys
from mockserver.clock import DataCalendar
from mockserver.population.world import Population
from mockserver.population.reports import month_reports
pop = Population({seed}, {size}, DataCalendar(dt.date(2026, 11, 27)))
out = {{}}
for fnr in {fnrs!r}:
    life = pop.lookup(fnr)
    out[fnr] = {{
        "name": life.name, "story": life.story,
        "skattegrunnlag": {{y: pop.skattegrunnlag(life, y) for y in range(2021, 2026)}},
        "months": {{f"{{y}}-{{m:02d}}": month_reports(life, (y, m)) for y in range(2021, 2027) for m in range(1, 13)}},
    }}
sys.stdout.write(json.dumps(out, ensure_ascii=False, sort_keys=True))
"""


def snapshot_in_process(seed: int, size: int, fnrs: list[str]) -> str:
    pop = Population(seed, size, DataCalendar(TODAY))
    out = {}
    for fnr in fnrs:
        life = pop.lookup(fnr)
        out[fnr] = {
            "name": life.name, "story": life.story,
            "skattegrunnlag": {y: pop.skattegrunnlag(life, y) for y in range(2021, 2026)},
            "months": {f"{y}-{m:02d}": month_reports(life, (y, m)) for y in range(2021, 2027) for m in range(1, 13)},
        }
    return json.dumps(out, ensure_ascii=False, sort_keys=True)


@pytest.mark.subprocess
def test_same_seed_gives_the_same_people_in_another_process():
    seed, size = 7, 1000
    idx = NumberIndex(seed)
    fnrs = [idx.number(i) for i in (0, 19, 123, 999)] + ["15838512671"]
    here = snapshot_in_process(seed, size, fnrs)
    env = {**os.environ, "PYTHONHASHSEED": "4242"}  # a different str hash must not matter
    there = subprocess.run([sys.executable, "-c", SNAPSHOT.format(seed=seed, size=size, fnrs=fnrs)],
                           cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120).stdout
    assert there == here
    assert len(json.loads(here)) == 5


@settings(max_examples=40, deadline=None)
@given(seeds, seeds)
def test_different_seeds_give_different_people(a, b):
    if a == b:
        return
    first_a = [NumberIndex(a).number(i) for i in range(20)]
    first_b = [NumberIndex(b).number(i) for i in range(20)]
    assert first_a != first_b
    assert len(set(first_a) & set(first_b)) <= 2
    # and one number means a different life under another seed
    pa, pb = Population(a, 20, DataCalendar(TODAY)), Population(b, 20, DataCalendar(TODAY))
    fnr = first_a[0]
    la, lb = pa._build(fnr), pb._build(fnr)
    assert (la.name, la.streams, la.accounts) != (lb.name, lb.streams, lb.accounts)


def test_moving_today_never_rewrites_an_earlier_year():
    """The data calendar decides which years and months are out, not what an earlier year held."""
    now, later = Population(1, 400, DataCalendar(TODAY)), Population(1, 400, DataCalendar(dt.date(2029, 1, 5)))
    for i in range(400):
        fnr = now.numbers.number(i)
        a, b = now.lookup(fnr), later.lookup(fnr)
        assert (a.name, a.streams, a.accounts, a.debts, a.home) == (b.name, b.streams, b.accounts, b.debts, b.home)
        assert now.skattegrunnlag(a, 2023) == later.skattegrunnlag(b, 2023)
        assert month_reports(a, (2024, 6)) == month_reports(b, (2024, 6))


# -- size, personas, listing -------------------------------------------------------------------------


@pytest.mark.parametrize("size", [-1, -5000, CAPACITY + 1, 10**9])
def test_population_size_out_of_bounds_is_refused(size):
    with pytest.raises(ValueError, match="population must be between 0 and"):
        Population(1, size)


@pytest.mark.parametrize("size", [0, 1, CAPACITY])
def test_population_size_bounds_are_accepted(size):
    pop = Population(1, size, DataCalendar(TODAY))
    assert pop.size == size
    assert len(pop) == len(pop.personas) + size
    if size == CAPACITY:
        assert pop.lookup(pop.numbers.number(CAPACITY - 1)) is not None


def test_a_persona_shadows_the_crowd_member_with_its_number(tmp_path):
    crowd = Population(3, 10, DataCalendar(TODAY))
    taken = crowd.numbers.number(4)
    before = crowd.lookup(taken)
    extra = tmp_path / "extra.yaml"
    extra.write_text(yaml.safe_dump({"personas": [{
        "fnr": taken, "scenario": "shadow", "first_name": "Skygge", "last_name": "Persona",
        "archetype": "pensioner", "story": "Tar et nummer fra mengden."}]}))
    pop = Population(3, 10, DataCalendar(TODAY), personas_file=extra)
    listed = [life.fnr for life in pop.people()]
    assert listed.count(taken) == 1
    assert len(listed) == len(pop) == len(pop.personas) + 10 - 1
    life = pop.lookup(taken)
    assert life.name == "Skygge Persona" and life.scenario == "shadow"
    assert (life.name, life.streams) != (before.name, before.streams)
    assert [lf.fnr for lf in pop.people(scenario="shadow")] == [taken]


def test_people_lists_personas_first_then_the_crowd_by_index():
    pop = population(1, 50)
    listed = [life.fnr for life in pop.people()]
    assert listed[:len(pop.personas)] == list(pop.personas)
    assert listed[len(pop.personas):] == [pop.numbers.number(i) for i in range(50)]
    assert len(listed) == len(set(listed)) == len(pop)


# -- the data calendar --------------------------------------------------------------------------------


def test_in_early_april_only_some_have_last_years_settlement():
    pop = Population(1, 600, DataCalendar(dt.date(2026, 4, 1)))
    crowd = [pop.lookup(pop.numbers.number(i)) for i in range(600)]
    settled_2025 = [life for life in crowd if pop.has_settlement(life, 2025)]
    assert 0 < len(settled_2025) < len(crowd) // 4  # the first oppgjør come on 21 March
    assert all(settlement_date(life, 2025) <= dt.date(2026, 4, 1) for life in settled_2025)
    assert all(pop.has_settlement(life, 2024) for life in crowd)
    assert not any(pop.has_settlement(life, 2026) for life in crowd)
    unsettled = next(life for life in crowd if life not in settled_2025)
    assert pop.settled_years(unsettled) == [2021, 2022, 2023, 2024]


def test_in_early_april_months_after_february_are_unavailable():
    pop = Population(1, 100, DataCalendar(dt.date(2026, 4, 1)))
    assert pop.calendar.last_available_month() == (2026, 2)
    assert pop.month_available((2026, 2))
    assert not pop.month_available((2026, 3))
    assert not pop.month_available((2026, 4))
    assert not pop.month_available((2020, 12))  # before the sandbox's first month
    for i in range(30):
        months = pop.reported_months(pop.lookup(pop.numbers.number(i)))
        assert not months or months[-1] <= (2026, 2)


@pytest.mark.parametrize("today, available", [
    (dt.date(2026, 4, 9), False), (dt.date(2026, 4, 10), True), (dt.date(2026, 5, 1), True)])
def test_a_month_is_complete_on_the_tenth_of_the_next(today, available):
    cal = DataCalendar(today)
    assert cal.month_available(2026, 3) is available
    assert cal.last_available_month() == ((2026, 3) if available else (2026, 2))


def test_december_is_complete_on_the_tenth_of_january():
    assert DataCalendar(dt.date(2026, 1, 10)).last_available_month() == (2025, 12)
    assert DataCalendar(dt.date(2026, 1, 9)).last_available_month() == (2025, 11)


def test_crowd_households_are_symmetric_adult_pairs():
    import datetime as _dt

    from mockserver.clock import DataCalendar as _Calendar
    from mockserver.identifiers import parse_person_number as _parse
    from mockserver.population.world import Population as _Population

    population = _Population(5, 600, _Calendar(_dt.date(2026, 11, 27)))
    married = 0
    for index in range(600):
        fnr = population.numbers.number(index)
        life = population.lookup(fnr)
        if life is None or life.spouse is None:
            continue
        married += 1
        partner = population.lookup(life.spouse)
        assert partner is not None and partner.spouse == fnr
        assert population.index_of(life.spouse) == index ^ 1
        assert _parse(fnr).born.year <= 2006 and _parse(life.spouse).born.year <= 2006
    assert 150 <= married <= 400
