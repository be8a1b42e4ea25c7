"""A person's life: who they are and what flows of money and wealth they have.

Both APIs read the same life, so the monthly a-ordningen reports and the yearly tax basis tell one
story. Everything is derived from a `random.Random` seeded by text (stable across processes).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..identifiers import make_orgnr, mod11
from ..months import Month, add_months

FIRST_MONTH = (2021, 1)



@dataclass(frozen=True)
class Org:
    orgnr: str
    name: str
    virksomhet: str  # the underenhet that employs (virksomhetId)


if TYPE_CHECKING:
    from faker import Faker


@lru_cache(maxsize=1)
def _faker() -> Faker:
    from faker import Faker  # a third of the import time; the first person built pays it, not start-up

    return Faker("no_NO")


def employer(n: int) -> Org:
    """Employer number n of the synthetic business register (same n, same company, any seed).

    Enheter and underenheter come from two disjoint ranges with even steps, so no number is shared.
    """
    fake = _faker()
    fake.seed_instance(1_000_003 + n)
    word = fake.last_name().upper()
    kind = ("AS", "AS", "AS", "SA", "ASA", "DA")[n % 6]
    trade = ("BYGG", "HELSE", "TRANSPORT", "DATA", "HANDEL", "SERVICE", "MAT", "EIENDOM")[n % 8]
    return Org(make_orgnr(3_100_000 + 2 * n), f"{word} {trade} {kind}", make_orgnr(3_200_000 + 2 * n))


# An organisation's underenhet is make_orgnr(n + 3): make_orgnr(n) is built from n..n+2, so never the same.
BANKS = [
    Org(make_orgnr(12_000_000 + 17 * i), name, make_orgnr(12_000_003 + 17 * i))
    for i, name in enumerate([
        "FORSIKTIG EMPATISK TIGER SPAREBANK", "ROLIG SKAPENDE GIRAFF BANK ASA", "TRYGG FJORD SPAREBANK",
        "NORDLIG LYS BANK ASA", "STILLE ELV SPAREBANK", "HØYT FJELL BANK ASA",
    ])
]
# Public payers appear under their real organisation numbers (public register data, not personal data):
# consumers key on them, e.g. NAV's digisos backend filters NAV benefits on 995277670. Whether these bodies
# report from a separate underenhet is not public; the sandbox reports virksomhetId = opplysningspliktigId.
NAV = Org("995277670", "NAV ØKONOMILINJEN", "995277670")
PENSJONSKASSE = Org("982583462", "STATENS PENSJONSKASSE", "982583462")
KLP = Org("938708606", "KOMMUNAL LANDSPENSJONSKASSE", "938708606")
LAANEKASSEN = Org("960885406", "STATENS LÅNEKASSE FOR UTDANNING", "960885406")
PUBLIC_BODIES = frozenset(o.orgnr for o in (NAV, PENSJONSKASSE, KLP, LAANEKASSEN))
# The municipality's NAV office has no settled number of its own here, so it stays synthetic.
KOMMUNE_NAV = Org(make_orgnr(13_000_300), "NAV SOSIALTJENESTE SANDKASSE", make_orgnr(13_000_303))


@dataclass(frozen=True)
class IncomeStream:
    """One payer paying one kind of income every month of a spell."""

    kind: str  # loennsinntekt | ytelseFraOffentlige | pensjonEllerTrygd
    beskrivelse: str
    payer: Org
    monthly: int  # in the first year of the spell; grows yearly
    start: Month
    end: Month | None = None  # inclusive
    trekk: float = 0.3
    fordel: str = "kontantytelse"
    svalbard: bool = False
    holiday_pay: bool = False  # June feriepenger for wage streams
    naturalytelse: int = 0  # monthly kroner of a company car (fordel naturalytelse) beside the wage
    utgiftsgodtgjoerelse: bool = False  # a taxable part of a mileage allowance, some kilometres each month

    def active(self, month: Month) -> bool:
        return self.start <= month and (self.end is None or month <= self.end)


@dataclass(frozen=True)
class Account:
    bank: Org
    kontonummer: str
    innskudd: int  # balance at the end of 2021
    rate: float


@dataclass(frozen=True)
class Debt:
    lender: Org
    kontonummer: str
    gjeld: int  # at the end of 2021
    rate: float
    yearly_repayment: int


@dataclass(frozen=True)
class Home:
    kommunenummer: str
    gaardsnummer: int
    bruksnummer: int
    markedsverdi: int  # 2021


@dataclass(frozen=True)
class Vehicle:
    registreringsnummer: str
    fabrikatnavn: str
    aarForFoerstegangsregistrering: int
    verdi: int  # 2021


@dataclass(frozen=True)
class Asset:
    """A wealth item with its own spesifisering type (aksjesparekonto, virtual currency, restskatt ...)."""

    concept: str  # codes.CONCEPTS key of the post it adds to
    spesifisering: dict[str, Any]
    field: str  # the spesifisering field holding the amount


@dataclass
class Life:
    fnr: str
    first_name: str
    last_name: str
    born: dt.date
    gender: str
    d_number: bool
    story: str = ""
    scenario: str | None = None
    streams: list[IncomeStream] = field(default_factory=list)
    naering: int = 0  # yearly næringsinntekt in 2021
    accounts: list[Account] = field(default_factory=list)
    debts: list[Debt] = field(default_factory=list)
    home: Home | None = None
    vehicles: list[Vehicle] = field(default_factory=list)
    spouse: str | None = None
    children: list[str] = field(default_factory=list)
    skjermet: bool = False
    skjermet_helt: bool = False  # fully screened whatever the package (only parameters + skjermet)
    kildeskatt_paa_loenn: bool = False  # on the PAYE scheme: wages in kildeskattPaaLoennGrunnlag
    inntekt_sparse: bool = False  # årsrevisjon 2025 shapes: optional fields and kalendermaaned left out
    inntekt_opptak: bool = False  # the recorded test-environment answer's shape (docs/shapes.md)
    crowd_shapes: bool = False  # the crowd-wide optional shapes of the choices file apply (not to personas)
    utkast_differs: bool | None = None  # None: seeded; True/False: persona says
    uten_skatteoppgjoersdato: bool = False
    pensjonspremie: float = 0.0  # share of wage withheld as premieTilPensjonsordninger (Inntekt fradrag)
    assets: list[Asset] = field(default_factory=list)
    svalbard: bool = False
    no_settlement: frozenset[int] = frozenset()  # years without oppgjoer (SSG-008)
    deleted: frozenset[int] = frozenset()  # years whose basis is gone (SSG-011)
    settlement_seed: str = ""
    exists: bool = True  # False only for listing entries of numbers nobody has

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def _growth(year: int, rate: float = 0.04) -> float:
    return (1 + rate) ** (year - FIRST_MONTH[0])


def monthly_amount(stream: IncomeStream, month: Month) -> int:
    return round(stream.monthly * _growth(month[0], 0.04 if stream.kind == "loennsinntekt" else 0.03))


_KONTO_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _kontonummer(rng: random.Random) -> str:
    """11 digits with a valid mod-11 control digit, as Norwegian account numbers have."""
    while True:
        first10 = f"{rng.randrange(1000, 9999)}{rng.randrange(100000, 999999)}"
        k = mod11([int(c) for c in first10], _KONTO_WEIGHTS)
        if k is not None:
            return first10 + str(k)


ARCHETYPES = (
    ("employee", 56), ("two-employers", 10), ("unemployed", 6), ("disability", 6), ("aap", 4),
    ("self-employed", 7), ("kvalifisering", 3), ("no-income", 2), ("part-time", 6),
)


def archetype_for(rng: random.Random, age: int) -> str:
    if age >= 67:
        return "pensioner"
    if age <= 24 and rng.random() < 0.7:
        return "student"
    total = sum(w for _, w in ARCHETYPES)
    pick = rng.randrange(total)
    for name, weight in ARCHETYPES:
        if pick < weight:
            return name
        pick -= weight
    raise AssertionError("unreachable")


def build_life(
    *, fnr: str, born: dt.date, gender: str, d_number: bool, key: str, archetype: str | None = None,
    calendar_year: int = 2026, overrides: dict | None = None, perks: tuple[float, float] | None = None,
) -> Life:
    """Derive a whole life from a text key; `archetype`/`overrides` come from curated personas. `perks` are
    the shares of wage streams with a company car and with a taxable mileage allowance (the crowd's)."""
    rng = random.Random(key)
    fake = _faker()
    fake.seed_instance(rng.getrandbits(48))
    first = fake.first_name_male() if gender == "M" else fake.first_name_female()
    life = Life(
        fnr=fnr, first_name=first, last_name=fake.last_name(), born=born, gender=gender, d_number=d_number,
        settlement_seed=key,
    )
    age = calendar_year - born.year
    kind = archetype or archetype_for(rng, age)
    overrides = overrides or {}
    _incomes(life, kind, rng, overrides)
    _wealth(life, kind, rng, age, overrides.get("wealth"))
    if perks is not None:
        life.streams = [_with_perks(s, random.Random(f"{key}:fordel:{i}"), perks)
                        for i, s in enumerate(life.streams)]
    return life


def _with_perks(stream: IncomeStream, rng: random.Random, perks: tuple[float, float]) -> IncomeStream:
    """A wage stream with a company car and/or a mileage allowance, by the shares; its own Random, so the
    rest of the life is drawn as without perks."""
    if stream.kind != "loennsinntekt":
        return stream
    car, mileage = rng.random() < perks[0], rng.random() < perks[1]
    value = rng.randrange(2_500, 7_500, 50)
    return replace(stream, naturalytelse=value if car else 0, utgiftsgodtgjoerelse=mileage)


def _wage_stream(rng: random.Random, monthly: int, start: Month = FIRST_MONTH, end: Month | None = None,
                 beskrivelse: str = "fastloenn", svalbard: bool = False) -> IncomeStream:
    return IncomeStream("loennsinntekt", beskrivelse, employer(rng.randrange(20_000)), monthly, start, end,
                        trekk=round(rng.uniform(0.22, 0.36), 2), svalbard=svalbard, holiday_pay=True)


def _incomes(life: Life, kind: str, rng: random.Random, o: dict) -> None:
    monthly = int(o.get("monthly") or rng.randrange(28_000, 72_000, 50))
    s = life.streams
    if kind == "employee":
        s.append(_wage_stream(rng, monthly, svalbard=bool(o.get("svalbard"))))
        life.svalbard = bool(o.get("svalbard"))
    elif kind == "two-employers":
        s.append(_wage_stream(rng, round(monthly * 0.6)))
        s.append(_wage_stream(rng, round(monthly * 0.4), start=(2022, rng.randrange(1, 13)),
                              beskrivelse="timeloenn"))
    elif kind == "part-time":
        s.append(_wage_stream(rng, round(monthly * 0.5), beskrivelse="timeloenn"))
    elif kind == "unemployed":
        lost = (2024, rng.randrange(3, 12))
        s.append(_wage_stream(rng, monthly, end=add_months(lost, -1)))
        s.append(IncomeStream("ytelseFraOffentlige", "dagpengerVedArbeidsloeshet", NAV,
                              round(monthly * 0.62), lost, None, trekk=0.25))
    elif kind == "disability":
        s.append(IncomeStream("ytelseFraOffentlige", "ufoeretrygd", NAV, rng.randrange(19_000, 26_000, 10),
                              FIRST_MONTH, None, trekk=0.2))
    elif kind == "aap":
        s.append(IncomeStream("ytelseFraOffentlige", "arbeidsavklaringspenger", NAV,
                              rng.randrange(16_000, 24_000, 10), FIRST_MONTH, None, trekk=0.2))
    elif kind == "pensioner":
        s.append(IncomeStream("pensjonEllerTrygd", "alderspensjon", NAV, rng.randrange(17_000, 32_000, 10),
                              FIRST_MONTH, None, trekk=0.18))
        if rng.random() < 0.5:
            kasse = PENSJONSKASSE if rng.random() < 0.5 else KLP
            s.append(IncomeStream("pensjonEllerTrygd", "ufoerepensjonFraAndreEnnFolketrygden", kasse,
                                  rng.randrange(3_000, 9_000, 10), FIRST_MONTH, None, trekk=0.25))
    elif kind == "student":
        s.append(_wage_stream(rng, rng.randrange(6_000, 14_000, 50), beskrivelse="timeloenn"))
    elif kind == "kvalifisering":
        s.append(IncomeStream("pensjonEllerTrygd", "kvalifiseringstoenad", KOMMUNE_NAV,
                              rng.randrange(14_000, 19_000, 10), FIRST_MONTH, None, trekk=0.1))
    elif kind == "self-employed":
        life.naering = int(o.get("naering") or rng.randrange(250_000, 900_000, 100))
    elif kind != "no-income":
        raise ValueError(f"unknown archetype {kind!r}")
    if kind != "self-employed" and o.get("naering"):
        life.naering = int(o["naering"])  # a side business next to the main income


def _wealth(life: Life, kind: str, rng: random.Random, age: int, wealth: str | None) -> None:
    bank = BANKS[rng.randrange(len(BANKS))]
    scale = 12 if wealth == "high" else 1
    life.accounts.append(Account(bank, _kontonummer(rng), rng.randrange(2_000, 180_000) * scale,
                                 round(rng.uniform(0.005, 0.04), 4)))
    if wealth == "high" or rng.random() < 0.3:
        other = BANKS[(BANKS.index(bank) + 1) % len(BANKS)]
        life.accounts.append(Account(other, _kontonummer(rng), rng.randrange(10_000, 400_000) * scale,
                                     round(rng.uniform(0.01, 0.045), 4)))
    forced = wealth in ("high", "heavy-debt", "homeowner", "diverse")
    owner = forced or (kind not in ("student", "no-income") and rng.random() < 0.65)
    if owner:
        value = rng.randrange(2_000_000, 6_500_000, 1000) * (3 if wealth == "high" else 1)
        life.home = Home(f"{rng.choice([301, 1103, 4601, 5001, 1804, 3905, 4204]):04d}",
                         rng.randrange(1, 300), rng.randrange(1, 900), value)
        share = rng.uniform(0.5, 0.85) if wealth != "high" else 0.1
        if wealth == "heavy-debt":
            share = 1.15
        life.debts.append(Debt(bank, _kontonummer(rng), round(value * share), round(rng.uniform(0.03, 0.06), 4),
                               round(value * share / 25)))
    if wealth == "heavy-debt":
        life.debts.append(Debt(BANKS[-1], _kontonummer(rng), rng.randrange(250_000, 600_000, 1000), 0.18, 12_000))
    if kind == "student" or (age < 35 and rng.random() < 0.4):
        life.debts.append(Debt(LAANEKASSEN, _kontonummer(rng), rng.randrange(80_000, 520_000, 1000), 0.045,
                               18_000))
    if wealth == "diverse":
        life.assets.extend(_diverse_assets(rng, bank))
    if wealth == "diverse" or (rng.random() < (0.9 if wealth == "high" else 0.55)
                               and kind not in ("student", "no-income")):
        make = rng.choice(["TOYOTA", "VOLKSWAGEN", "TESLA", "VOLVO", "SKODA", "FORD", "BMW"])
        year = rng.randrange(2008, 2021)
        letters = rng.choice(["EL", "EK", "DN", "BT", "SU", "KR", "VH"])
        life.vehicles.append(Vehicle(f"{letters}{rng.randrange(10000, 99999)}", make, year,
                                     rng.randrange(40_000, 420_000, 500)))


def _diverse_assets(rng: random.Random, bank: Org) -> list[Asset]:
    """One of each spesifisering type the rest of the population does not have."""
    def amount(lo: int, hi: int) -> int:
        return rng.randrange(lo, hi, 100)

    return [
        Asset("aksjesparekonto", {"type": "Aksjesparekonto", "finansinstitusjonNavn": bank.name,
                                  "finansinstitusjonOrganisasjonsnummer": bank.orgnr,
                                  "kontonummer": _kontonummer(rng), "formuesverdiForKontanter": amount(5_000, 60_000)},
              "formuesverdiForKontanter"),
        Asset("fondskonto", {"type": "Fondskonto", "forsikringsselskapetsNavn": f"{bank.name} FORSIKRING",
                             "kontonummer": _kontonummer(rng), "formuesverdiForKontanterMv": amount(2_000, 40_000)},
              "formuesverdiForKontanterMv"),
        Asset("virtuellValuta", {"type": "VirtuellEiendel", "formuesverdiForVirtuellEiendel": amount(1_000, 90_000),
                                 "gjelderFlereVirtuelleEiendeler": True}, "formuesverdiForVirtuellEiendel"),
        Asset("annetFinansprodukt", {"type": "AnnetFinansprodukt", "finansproduktetsNavn": "CFD-KONTO",
                                     "kontofoerersNavn": bank.name, "kontonummer": _kontonummer(rng),
                                     "finansprodukttype": "contractForDifference",
                                     "formuesverdiForAnnetFinansprodukt": amount(1_000, 30_000)},
              "formuesverdiForAnnetFinansprodukt"),
        Asset("oevrigFormue", {"type": "AndreBeloepKnyttetTilBoligOgEiendeler",
                               "formuesverdiForAnnenFormue": amount(10_000, 80_000),
                               "beskrivelseForAnnenFormue": "Campingvogn"}, "formuesverdiForAnnenFormue"),
        Asset("kapitalisertFesteavgift", {"type": "KapitalisertFesteavgift",
                                          "gjeldsfradragForKapitalisertFesteavgift": amount(20_000, 90_000)},
              "gjeldsfradragForKapitalisertFesteavgift"),
        Asset("skyldigRestskatt", {"type": "SkyldigRestskatt", "samletSkyldigRestskatt": amount(3_000, 25_000)},
              "samletSkyldigRestskatt"),
    ]
