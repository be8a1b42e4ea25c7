"""The yearly summert skattegrunnlag read off the same life as the monthly reports.

Posts are built by meaning (see codes.CONCEPTS) and named with the year's own tekniskNavn. Sums are
computed from the posts themselves, so `bruttoformue` is always the sum of the `formue` posts. Monthly
amounts carry øre; each payer's yearly sum is rounded half up to whole kroner (`reports.round_kroner`), and
a post is the sum of those rounded amounts, so the yearly basis stays integer as Skatteetaten's is.

Three documents per year: the utkast (pre-filled draft), the fastsatt (what the person submitted) and the
oppgjoer. A share of people added a deduction (reisefradrag) after the draft, so their utkast differs.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from ..choices import Choices
from .codes import YEARS, YearList, year_list, yearly_concept
from .life import Life
from .reports import round_kroner, stream_amounts

# Minstefradrag: 46 % of wage-like income up to the year's cap (pension income has its own rate).
MINSTEFRADRAG_CAP = {2021: 106_750, 2022: 109_950, 2023: 104_450, 2024: 92_000, 2025: 92_000}
PRIMARY_HOME_SHARE = 0.25  # formuesverdi of a primary home, share of market value


def settlement_window(year: int) -> tuple[dt.date, dt.date]:
    """The first and last day an income year's oppgjør can be ready: 21 March and 31 October the year after."""
    return dt.date(year + 1, 3, 21), dt.date(year + 1, 10, 31)


def settlement_date(life: Life, year: int) -> dt.date:
    """When the year's oppgjør was ready, a day in the year's `settlement_window`."""
    return settlement_day(life.settlement_seed, year)


def settlement_day(settlement_seed: str, year: int) -> dt.date:
    """`settlement_date` from the life's seed alone, so a feed can order everyone without building lives."""
    rng = random.Random(f"{settlement_seed}:oppgjoer:{year}")
    start, end = settlement_window(year)
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def submission_date(life: Life, year: int, choices: Choices) -> dt.date:
    """When the person's return was fastsatt: after the first utkast, by the deadline, before the oppgjør."""
    rng = random.Random(f"{life.settlement_seed}:levert:{year}")
    first = choices.first_utkast(year)
    month, day = (int(x) for x in choices.submission_deadline.split("-"))
    last = min(dt.date(year + 1, month, day), settlement_date(life, year) - dt.timedelta(days=1))
    return first + dt.timedelta(days=rng.randrange(max(1, (last - first).days + 1)))


def utkast_differs(life: Life, year: int, choices: Choices) -> bool:
    if life.utkast_differs is not None:
        return life.utkast_differs
    return random.Random(f"{life.settlement_seed}:rettet:{year}").random() < choices.utkast_differs_share


def ajourhold(life: Life, year: int, day: dt.date | None = None) -> str:
    """A UTC timestamp on the document's day with 0–6 fraction digits (trailing zeros dropped), as real
    answers vary ("2024-02-20T08:38:37.72Z", "2026-02-09T09:15:08.726Z")."""
    return ajourhold_at(life.settlement_seed, year, day or settlement_date(life, year), day)


def ajourhold_at(settlement_seed: str, year: int, day: dt.date, drawn_for: dt.date | None = None) -> str:
    """`ajourhold` from the life's seed alone; `drawn_for` is the day the draw is keyed by (None when the
    caller left the day to the settlement)."""
    rng = random.Random(f"{settlement_seed}:ajourhold:{year}:{drawn_for}")
    fraction = f"{rng.randrange(10 ** 6):06d}"[:rng.randrange(0, 7)].rstrip("0")
    return f"{day.isoformat()}T{rng.randrange(6, 20):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}" \
           f"{'.' + fraction if fraction else ''}Z"


def code_list_for(year: int) -> YearList:
    return year_list(min(max(year, YEARS[0]), YEARS[-1]))


def yearly_flows(life: Life, year: int) -> dict[str, dict[str, int]]:
    """concept -> {payer orgnr: that year's monthly amounts summed, in whole kroner}; `svalbard:` prefix for
    Svalbard."""
    oere: dict[str, dict[str, int]] = {}
    for stream in life.streams:
        for month in range(1, 13):
            for beskrivelse, beloep, _ in stream_amounts(stream, (year, month)):
                concept = yearly_concept(stream.kind, beskrivelse)
                if concept is None:
                    continue
                key = f"svalbard:{concept}" if stream.svalbard else concept
                per_payer = oere.setdefault(key, {})
                per_payer[stream.payer.orgnr] = per_payer.get(stream.payer.orgnr, 0) + beloep
    return {key: {org: round_kroner(v) for org, v in per_payer.items()} for key, per_payer in oere.items()}


def _payer_names(life: Life) -> dict[str, str]:
    return {s.payer.orgnr: s.payer.name for s in life.streams}


class _Builder:
    def __init__(self, yl: YearList) -> None:
        self.yl = yl
        self.items: list[dict[str, Any]] = []

    def add(self, concept: str, beloep: int, spesifisering: list[dict[str, Any]] | None = None) -> None:
        name = self.yl.name(concept)
        if name is None or beloep == 0:
            return
        item: dict[str, Any] = {"tekniskNavn": name, "beloep": int(beloep)}
        if spesifisering:
            item["spesifisering"] = spesifisering
        item["kategori"] = self.yl.kategori.get(name, "")
        self.items.append(item)

    def total(self, kategori: str) -> int:
        return sum(i["beloep"] for i in self.items if i["kategori"] == kategori)


def grunnlag(
    life: Life, year: int, corrected: bool = True, choices: Choices | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The year's lists by field name: grunnlag, and svalbardGrunnlag / kildeskattPaaLoennGrunnlag when the
    person has any. `corrected=False` gives the utkast of a person who added a deduction afterwards."""
    yl = code_list_for(year)
    years_on = year - 2021
    flows = yearly_flows(life, year)
    names = _payer_names(life)
    main, sval, kpl = _Builder(yl), _Builder(yl), _Builder(yl)

    for concept, per_payer in flows.items():
        target, concept_name = (sval, concept[9:]) if concept.startswith("svalbard:") else (main, concept)
        if concept_name == "loenn" and life.kildeskatt_paa_loenn and target is main:
            target = kpl  # PAYE: 25 % on the gross wage, no deductions, a basis of its own
        spes = None
        if concept_name == "loenn":
            spes = [{"type": "LoennOgTilsvarendeYtelser", "arbeidsgiversNavn": names[org],
                     "organisasjonsnummer": org, "beloep": v} for org, v in sorted(per_payer.items())]
        target.add(concept_name, sum(per_payer.values()), spes)

    if life.naering:
        amount = round(life.naering * (1.03 ** years_on))
        spes = [{"type": "Naeringsopplysninger", "naeringstype": "annenNaering",
                 "naeringsinntektTilordnetInnehaver": amount}]
        main.add("naering", amount, spes)
        main.add("naeringsoverskudd", amount, spes)

    kontoer: list[dict[str, Any]] = []
    for acc in life.accounts:
        rng = random.Random(f"{life.settlement_seed}:{acc.kontonummer}:{year}")
        innskudd = round(acc.innskudd * (1.03 ** years_on) * rng.uniform(0.85, 1.15))
        kontoer.append({"type": "Konto", "kontonummer": acc.kontonummer, "bankensNavn": acc.bank.name,
                        "organisasjonsnummer": acc.bank.orgnr, "innskudd": innskudd,
                        "opptjenteRenter": round(innskudd * acc.rate)})
    main.add("renteinntekt", sum(k["opptjenteRenter"] for k in kontoer), kontoer)
    main.add("innskudd", sum(k["innskudd"] for k in kontoer), kontoer)

    if life.home:
        marked = round(life.home.markedsverdi * (1.04 ** years_on))
        formue = round(marked * PRIMARY_HOME_SHARE)
        eiendom = {"type": "Eiendom", "kommunenummer": life.home.kommunenummer,
                   "gaardsnummer": str(life.home.gaardsnummer), "bruksnummer": str(life.home.bruksnummer),
                   "formuesverdi": formue, "beregnetMarkedsverdiForBolig": marked, "eierandel": 100}
        main.add("primaerbolig", formue, [eiendom])
    if life.vehicles:
        biler: list[dict[str, Any]] = []
        for v in life.vehicles:
            value = round(v.verdi * (0.88 ** years_on))
            biler.append({"type": "Kjoeretoey", "registreringsnummer": v.registreringsnummer,
                          "fabrikatnavn": v.fabrikatnavn,
                          "aarForFoerstegangsregistrering": str(v.aarForFoerstegangsregistrering),
                          "formuesverdi": value, "antattMarkedsverdi": round(value / 0.75)})
        main.add("kjoeretoey", sum(b["formuesverdi"] for b in biler), biler)

    laan: list[dict[str, Any]] = []
    for d in life.debts:
        gjeld = max(0, d.gjeld - d.yearly_repayment * years_on)
        if gjeld:
            laan.append({"type": "Konto", "kontonummer": d.kontonummer, "bankensNavn": d.lender.name,
                         "organisasjonsnummer": d.lender.orgnr, "gjeld": gjeld,
                         "paaloepteRenter": round(gjeld * d.rate)})
    main.add("gjeld", sum(k["gjeld"] for k in laan), laan)
    main.add("gjeldsrenter", sum(k["paaloepteRenter"] for k in laan), laan)

    for asset in life.assets:
        main.add(asset.concept, int(asset.spesifisering[asset.field]), [dict(asset.spesifisering)])

    wage_like = sum(sum(flows.get(c, {}).values()) for c in ("loenn", "aap", "ufoeretrygd"))
    if life.kildeskatt_paa_loenn:
        wage_like -= sum(flows.get("loenn", {}).values())
    if corrected and wage_like and utkast_differs(life, year, choices or Choices()):
        main.add("reisefradrag", round(wage_like * 0.03))
    pension = sum(sum(flows.get(c, {}).values()) for c in ("alderspensjon", "annenPensjon"))
    minstefradrag = min(round(wage_like * 0.46 + pension * 0.40), MINSTEFRADRAG_CAP.get(year, 92_000))
    main.add("minstefradrag", minstefradrag)

    brutto = main.total("formue")
    samlet_gjeld = main.total("formuesfradrag")
    main.add("bruttoformue", brutto)
    main.add("samletGjeld", samlet_gjeld)
    main.add("nettoformue", max(0, brutto - samlet_gjeld))
    alminnelig = main.total("inntekt") - main.total("inntektsfradrag")
    # the overskudd and personinntekt posts describe one business income: count it once
    alminnelig -= sum(i["beloep"] for i in main.items if i["tekniskNavn"] == yl.name("naering"))
    main.add("alminneligInntekt", alminnelig)
    main.add("grunnlagSkatt", max(0, alminnelig))

    if sval.items:
        sval.add("svalbardSkatt", sval.total("inntekt"))
    out = {"grunnlag": main.items}
    if sval.items:
        out["svalbardGrunnlag"] = sval.items
    if kpl.items:
        out["kildeskattPaaLoennGrunnlag"] = kpl.items
    return out
