"""Every curated persona, driven through the in-process HTTP API (and the CLI), shows its scenario."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal

import pytest

from mockserver.cli import main as cli
from mockserver.population.life import LAANEKASSEN, NAV
from mockserver.population.personas import Persona, load_personas
from mockserver.population.slots import NumberIndex
from mockserver.settings import Settings
from mockserver.testkit.kit import SandboxKit

TODAY = dt.date(2026, 11, 27)
SIZE = 500
PAKKE = "kommuneboligsosialeformaal"
PERSONAS = load_personas()
WORLD = ["--today", TODAY.isoformat(), "--population", str(SIZE)]


@pytest.fixture(scope="module")
def box() -> Iterator[SandboxKit]:
    sandbox = SandboxKit(Settings(today=TODAY, population=SIZE, base_url="http://ske-sandbox.test"))
    with sandbox.client:
        yield sandbox


OPPTAK = "20848997790"


class Api:
    """The two data APIs as a kommune's client calls them."""

    def __init__(self, box: SandboxKit) -> None:
        self.box = box
        self.headers = {"Authorization": f"Bearer {box.token()}", "Accept": "application/json"}

    def ssg(self, fnr: str, year: int):
        return self.box.client.get(f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/{year}/{fnr}", headers=self.headers)

    def inntekt(self, fnr: str, fra: str, til: str | None = None):
        params = {"fraOgMed": fra, "tilOgMed": til or fra}
        return self.box.client.get(f"/inntekt/v1/{PAKKE}/{fnr}/inntekter", params=params, headers=self.headers)

    # -- 200 answers, checked for shape ------------------------------------------------------------
    def grunnlag(self, fnr: str, year: int = 2025) -> dict:
        r = self.ssg(fnr, year)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["personidentifikator"] == fnr and body["inntektsaar"] == str(year)
        assert body["stadie"] == "oppgjoer" and isinstance(body["skjermet"], bool)
        if "skatteoppgjoersdato" in body:  # optional in the contract
            dt.date.fromisoformat(body["skatteoppgjoersdato"])
        assert body.get("ajourholdstidspunkt", "Z").endswith("Z")  # a fully screened answer has none
        for item in body.get("grunnlag", []) + body.get("svalbardGrunnlag", []) + body.get(
                "kildeskattPaaLoennGrunnlag", []):
            assert set(item) <= {"tekniskNavn", "beloep", "kategori", "spesifisering"}
            assert isinstance(item["tekniskNavn"], str) and isinstance(item["beloep"], int)
            assert isinstance(item["kategori"], str)
            for spes in item.get("spesifisering", []):
                assert isinstance(spes["type"], str)
        return body

    def oppgaver(self, fnr: str, fra: str, til: str | None = None) -> list[dict]:
        r = self.inntekt(fnr, fra, til)
        assert r.status_code == 200, r.text
        oppgaver = r.json()["oppgaveInntektsmottaker"]
        assert oppgaver
        for o in oppgaver:
            # inntektsmottaker and kalendermaaned are optional since årsrevisjon 2025
            assert o.get("inntektsmottaker", {"personidentifikator": fnr}) == {"personidentifikator": fnr}
            assert fra <= o.get("kalendermaaned", fra) <= (til or fra)
            assert len(o["opplysningspliktigId"]) == 9 and len(o["virksomhetId"]) == 9
            # forskuddstrekk is left out only in the recorded answer's shape (persona opptak-2025)
            assert ("inntekt" not in o and "mottaksinformasjon" in o) or (
                o["inntekt"] and (o.get("forskuddstrekk") or fnr == OPPTAK))
            for inntekt in o.get("inntekt", []):
                assert isinstance(inntekt["beloep"], float)  # a JSON number with a decimal point
                assert sum(isinstance(v, dict) for v in inntekt.values()) == 1  # exactly one kind
        return oppgaver

    # -- error answers -----------------------------------------------------------------------------
    @staticmethod
    def error(r, status: int, kode: str) -> None:
        assert r.status_code == status, r.text
        body = r.json()
        assert body["kode"] == kode and body["melding"] and body["korrelasjonsid"]


@pytest.fixture
def api(box: SandboxKit) -> Api:
    return Api(box)


def posts(body: dict, key: str = "grunnlag") -> dict[str, dict]:
    return {item["tekniskNavn"]: item for item in body.get(key, [])}


def beskrivelser(oppgaver: list[dict], kind: str) -> set[str]:
    return {i[kind]["beskrivelse"] for o in oppgaver for i in o["inntekt"] if kind in i}


def spes_types(body: dict) -> set[str]:
    return {s["type"] for item in body["grunnlag"] + body.get("svalbardGrunnlag", [])
            for s in item.get("spesifisering", [])}


# -- one check per scenario -----------------------------------------------------------------------------


def ordinary(api: Api, p: Persona) -> None:
    body = api.grunnlag(p.fnr)
    oppgaver = api.oppgaver(p.fnr, "2025-01", "2025-12")
    assert {o["kalendermaaned"] for o in oppgaver} == {f"2025-{m:02d}" for m in range(1, 13)}
    assert beskrivelser(oppgaver, "loennsinntekt") == {"fastloenn", "feriepenger"}
    june = [i for o in oppgaver if o["kalendermaaned"] == "2025-06" for i in o["inntekt"]]
    assert {i["loennsinntekt"]["beskrivelse"] for i in june} == {"fastloenn", "feriepenger"}
    # both APIs tell one story: the year's wage is the sum of the months
    loenn = posts(body)["samletLoennsinntektMedTrygdeavgiftspliktOgMedTrekkplikt"]
    exact = sum(Decimal(str(i["beloep"])) for o in oppgaver for i in o["inntekt"])
    assert loenn["beloep"] == int(exact.quantize(Decimal(1), ROUND_HALF_UP))  # one payer: rounded half up once
    assert [s["type"] for s in loenn["spesifisering"]] == ["LoennOgTilsvarendeYtelser"]


def two_employers(api: Api, p: Persona) -> None:
    oppgaver = api.oppgaver(p.fnr, "2023-01", "2023-12")
    payers: dict[str, set[str]] = {}
    for o in oppgaver:
        payers.setdefault(o["kalendermaaned"], set()).add(o["opplysningspliktigId"])
    assert any(len(ids) == 2 for ids in payers.values()), payers
    body = api.grunnlag(p.fnr, 2023)
    spes = posts(body)["samletLoennsinntektMedTrygdeavgiftspliktOgMedTrekkplikt"]["spesifisering"]
    assert len({s["organisasjonsnummer"] for s in spes}) == 2


def benefit(kind: str, beskrivelse: str, teknisk_navn: str) -> Callable[[Api, Persona], None]:
    def check(api: Api, p: Persona) -> None:
        oppgaver = api.oppgaver(p.fnr, "2025-01", "2025-12")
        months = {o["kalendermaaned"] for o in oppgaver for i in o["inntekt"]
                  if i.get(kind, {}).get("beskrivelse") == beskrivelse}
        assert months == {f"2025-{m:02d}" for m in range(1, 13)}, months
        assert teknisk_navn in posts(api.grunnlag(p.fnr))
        if kind == "ytelseFraOffentlige" or beskrivelse == "alderspensjon":
            # NAV pays under NAV Økonomilinjen's public number, which consumers filter on
            assert {o["opplysningspliktigId"] for o in oppgaver if kind in o["inntekt"][0]} == {NAV.orgnr}

    return check


def pensioner(api: Api, p: Persona) -> None:
    benefit("pensjonEllerTrygd", "alderspensjon", "alderspensjonFraFolketrygden")(api, p)


def self_employed(api: Api, p: Persona) -> None:
    api.error(api.inntekt(p.fnr, "2025-01", "2025-12"), 404, "IM-008")
    grunnlag = posts(api.grunnlag(p.fnr))
    naering = grunnlag["samletPersoninntektFraEnkeltpersonforetakInnenJordbrukReindriftSkiferproduksjonOgAnnenNaering"]
    assert naering["beloep"] > 0
    assert naering["spesifisering"][0]["type"] == "Naeringsopplysninger"
    assert "samletOverskuddAvEnkeltpersonforetakInnenAnnenNaering" in grunnlag
    assert "samletLoennsinntektMedTrygdeavgiftspliktOgMedTrekkplikt" not in grunnlag


def student(api: Api, p: Persona) -> None:
    oppgaver = api.oppgaver(p.fnr, "2025-01", "2025-12")
    timeloenn = [i for o in oppgaver for i in o["inntekt"] if i["loennsinntekt"]["beskrivelse"] == "timeloenn"]
    assert timeloenn and all(i["loennsinntekt"]["antall"] >= 1 for i in timeloenn)
    # hourly rate × hours: amounts with øre
    assert any(i["beloep"] != int(i["beloep"]) for i in timeloenn)
    gjeld = posts(api.grunnlag(p.fnr))["gjeldIInnenlandskeBanker"]
    lenders = {s["organisasjonsnummer"] for s in gjeld["spesifisering"]}
    assert LAANEKASSEN.orgnr in lenders
    assert any("LÅNEKASSE" in s["bankensNavn"] for s in gjeld["spesifisering"])


def kvalifisering(api: Api, p: Persona) -> None:
    benefit("pensjonEllerTrygd", "kvalifiseringstoenad", "kvalifiseringsstoenad")(api, p)


def ssg_008(api: Api, p: Persona) -> None:
    api.error(api.ssg(p.fnr, 2025), 404, "SSG-008")
    api.grunnlag(p.fnr, 2024)
    api.oppgaver(p.fnr, "2025-01", "2025-12")  # the months are there


def ssg_007(api: Api, p: Persona) -> None:
    api.error(api.ssg(p.fnr, 2025), 404, "SSG-007")
    api.error(api.ssg(p.fnr, 2023), 404, "SSG-007")
    api.error(api.inntekt(p.fnr, "2025-01", "2025-12"), 404, "IM-007")


def ssg_011(api: Api, p: Persona) -> None:
    api.error(api.ssg(p.fnr, 2023), 410, "SSG-011")
    api.grunnlag(p.fnr, 2024)
    api.grunnlag(p.fnr, 2022)


def skjermet(api: Api, p: Persona) -> None:
    body = api.grunnlag(p.fnr)
    assert body["skjermet"] is True
    assert not spes_types(body) & {"Eiendom", "LoennOgTilsvarendeYtelser"}
    assert posts(body)["samletLoennsinntektMedTrygdeavgiftspliktOgMedTrekkplikt"]["beloep"] > 0  # sums stay


def im_008(api: Api, p: Persona) -> None:
    api.error(api.inntekt(p.fnr, "2025-01", "2025-12"), 404, "IM-008")
    api.error(api.inntekt(p.fnr, "2021-01"), 404, "IM-008")
    api.grunnlag(p.fnr)


def high_wealth(api: Api, p: Persona) -> None:
    assert posts(api.grunnlag(p.fnr))["bruttoformue"]["beloep"] > 5_000_000


def heavy_debt(api: Api, p: Persona) -> None:
    grunnlag = posts(api.grunnlag(p.fnr))
    assert grunnlag["samletGjeld"]["beloep"] > grunnlag["bruttoformue"]["beloep"]
    assert grunnlag.get("nettoformue", {"beloep": 0})["beloep"] == 0  # a post of 0 is left out


def svalbard(api: Api, p: Persona) -> None:
    body = api.grunnlag(p.fnr)
    sval = posts(body, "svalbardGrunnlag")
    assert "samletLoennsinntektMedTrygdeavgiftspliktOgMedTrekkplikt" in sval
    assert "samletLoennsinntektMedTrygdeavgiftspliktOgMedTrekkplikt" not in posts(body)
    oppgaver = api.oppgaver(p.fnr, "2025-01", "2025-12")
    assert all(i.get("skatteOgAvgiftsregel") == "svalbard" for o in oppgaver for i in o["inntekt"])
    assert all(f["beskrivelse"] == "svalbard" for o in oppgaver for f in o["forskuddstrekk"])


def household(api: Api, p: Persona, capsys: pytest.CaptureFixture[str]) -> None:
    api.grunnlag(p.fnr)
    if not p.spec.get("children"):
        return
    assert cli(["person", p.fnr, "--json", *WORLD]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fnr"] == p.fnr and out["scenario"] == "household"
    members = [out["household"]["spouse"], *out["household"]["children"]]
    assert members == [p.spec["spouse"], *p.spec["children"]] and len(members) == 3
    for fnr in [p.fnr, *members]:
        body = api.grunnlag(fnr)
        assert body["grunnlag"], fnr
    # the spouse points back
    assert cli(["person", p.spec["spouse"], "--json", *WORLD]) == 0
    assert json.loads(capsys.readouterr().out)["household"]["spouse"] == p.fnr


def d_number(api: Api, p: Persona) -> None:
    assert int(p.fnr[:2]) > 40
    oppgaver = api.oppgaver(p.fnr, "2025-01", "2025-12")
    for o in oppgaver:
        for i in o["inntekt"]:
            assert i["loennsinntekt"]["spesifikasjon"]["skattemessigBosattILand"] == "PL"
            assert i["loennsinntekt"]["spesifikasjon"]["opptjeningsland"] == "NO"
    body = api.grunnlag(p.fnr)
    # on the PAYE scheme: the wage is in kildeskattPaaLoennGrunnlag, not in grunnlag
    loenn = "samletLoennsinntektMedTrygdeavgiftspliktOgMedTrekkplikt"
    assert loenn in posts(body, "kildeskattPaaLoennGrunnlag") and loenn not in posts(body)
    assert "minstefradragIInntekt" not in posts(body)


def skjermet_full(api: Api, p: Persona) -> None:
    for year in (2024, 2025):
        body = api.grunnlag(p.fnr, year)
        assert body == {"personidentifikator": p.fnr, "inntektsaar": str(year), "stadie": "oppgjoer",
                        "skjermet": True}


def aarsrevisjon_2025(api: Api, p: Persona) -> None:
    before = api.oppgaver(p.fnr, "2024-01", "2024-12")
    assert all("fordel" in i and "kalendermaaned" in o for o in before for i in o["inntekt"])
    oppgaver = api.oppgaver(p.fnr, "2025-01", "2025-12")
    lines = [i for o in oppgaver for i in o.get("inntekt", [])]
    assert lines and all(set(i) == {"beloep", "loennsinntekt"} for i in lines)
    assert any("kalendermaaned" not in o for o in oppgaver if "inntekt" in o)
    only = [o for o in oppgaver if "inntekt" not in o]
    # the bare oppgave in its recorded shape: ids, month (unless dropped), receiver and mottaksinformasjon
    assert only and all({"opplysningspliktigId", "virksomhetId", "inntektsmottaker", "mottaksinformasjon"} <= set(o)
                        <= {"opplysningspliktigId", "virksomhetId", "kalendermaaned", "inntektsmottaker",
                            "mottaksinformasjon"} for o in only)
    assert any("kalendermaaned" in o for o in only)
    # a consumer that keeps only lines with inngaarIGrunnlagForTrekk == true would lose the whole salary
    assert not [i for i in lines if i.get("inngaarIGrunnlagForTrekk") is True]
    wage = posts(api.grunnlag(p.fnr))["samletLoennsinntektMedTrygdeavgiftspliktOgMedTrekkplikt"]["beloep"]
    assert abs(wage - sum(i["beloep"] for i in lines)) <= 0.5


def opptak_2025(api: Api, p: Persona) -> None:
    """The recorded test-environment answer (docs/shapes.md): January only a bare oppgave, then lean lines of
    35050.0 with no forskuddstrekk, mottaksinformasjon {} in February to April."""
    oppgaver = api.oppgaver(p.fnr, "2025-01", "2025-12")
    january = [o for o in oppgaver if o.get("kalendermaaned") == "2025-01"]
    assert len(january) == 1 and "inntekt" not in january[0]
    assert set(january[0]) == {"opplysningspliktigId", "virksomhetId", "kalendermaaned", "inntektsmottaker",
                               "mottaksinformasjon"}
    paid = [o for o in oppgaver if "inntekt" in o]
    assert len(paid) == 11 and all("forskuddstrekk" not in o and "kalendermaaned" in o for o in paid)
    assert all(o["inntekt"] == [{"beloep": 35050.0, "loennsinntekt": {"beskrivelse": "fastloenn"}}] for o in paid)
    assert [o["kalendermaaned"] for o in paid if o["mottaksinformasjon"] == {}] == ["2025-02", "2025-03", "2025-04"]
    # the reader that keeps only lines with inngaarIGrunnlagForTrekk == true shows 0 kr for a whole year
    assert sum(i["beloep"] for o in paid for i in o["inntekt"] if i.get("inngaarIGrunnlagForTrekk") is True) == 0
    wage = posts(api.grunnlag(p.fnr))["samletLoennsinntektMedTrygdeavgiftspliktOgMedTrekkplikt"]["beloep"]
    assert wage == 11 * 35050


def utkast(api: Api, p: Persona) -> None:
    # the kommune package reads oppgjoer only; the utkast itself is checked with sivilrett in test_fidelity
    r = api.box.client.get(f"/summertskattegrunnlag/v2/utkast/{PAKKE}/2025/{p.fnr}", headers=api.headers)
    api.error(r, 403, "SSG-005")
    assert "reisefradrag" in posts(api.grunnlag(p.fnr))


def uten_skatteoppgjoersdato(api: Api, p: Persona) -> None:
    body = api.grunnlag(p.fnr)
    assert "skatteoppgjoersdato" not in body and body["grunnlag"]


def alle_spesifiseringstyper(api: Api, p: Persona) -> None:
    assert spes_types(api.grunnlag(p.fnr)) == {
        "Konto", "Aksjesparekonto", "LoennOgTilsvarendeYtelser", "Naeringsopplysninger", "Fondskonto", "Eiendom",
        "AndreBeloepKnyttetTilBoligOgEiendeler", "VirtuellEiendel", "KapitalisertFesteavgift",
        "AnnetFinansprodukt", "SkyldigRestskatt", "Kjoeretoey"}
    oppgaver = api.oppgaver(p.fnr, "2025-01", "2025-12")
    fradrag = [f for o in oppgaver for f in o.get("fradrag", [])]
    assert len(fradrag) == 12 and {f["beskrivelse"] for f in fradrag} == {"premieTilPensjonsordninger"}
    assert all(isinstance(f["beloep"], float) and f["beloep"] > 0 for f in fradrag)


CHECKS: dict[str, Callable[..., None]] = {
    "ordinary": ordinary,
    "two-employers": two_employers,
    "unemployed": benefit("ytelseFraOffentlige", "dagpengerVedArbeidsloeshet",
                          "samletLoennsinntektMedTrygdeavgiftspliktOgMedTrekkplikt"),
    "disability": benefit("ytelseFraOffentlige", "ufoeretrygd",
                          "samletUfoeretrygdFraFolketrygdenEksklusiveEktefelletillegg"),
    "aap": benefit("ytelseFraOffentlige", "arbeidsavklaringspenger", "arbeidsavklaringspenger"),
    "pensioner": pensioner,
    "self-employed": self_employed,
    "student": student,
    "kvalifisering": kvalifisering,
    "SSG-008": ssg_008,
    "SSG-007": ssg_007,
    "SSG-011": ssg_011,
    "skjermet": skjermet,
    "IM-008": im_008,
    "high-wealth": high_wealth,
    "heavy-debt": heavy_debt,
    "svalbard": svalbard,
    "household": household,
    "d-number": d_number,
    "skjermet-full": skjermet_full,
    "aarsrevisjon-2025": aarsrevisjon_2025,
    "opptak-2025": opptak_2025,
    "utkast": utkast,
    "uten-skatteoppgjoersdato": uten_skatteoppgjoersdato,
    "alle-spesifiseringstyper": alle_spesifiseringstyper,
}


def test_every_scenario_in_the_file_has_a_check():
    assert {p.scenario for p in PERSONAS} == set(CHECKS)


@pytest.mark.parametrize("persona", PERSONAS, ids=[f"{p.scenario}-{p.fnr}" for p in PERSONAS])
def test_persona_shows_its_scenario(api: Api, persona: Persona, capsys):
    check = CHECKS[persona.scenario]
    if check is household:
        check(api, persona, capsys)
    else:
        check(api, persona)


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p.exists], ids=lambda p: p.fnr)
def test_persona_answers_in_both_apis_for_every_settled_year(api: Api, persona: Persona):
    """Whatever the scenario, the other years behave: 200 or the persona's documented error."""
    for year in range(2021, 2026):
        r = api.ssg(persona.fnr, year)
        if year in (persona.spec.get("deleted") or []):
            api.error(r, 410, "SSG-011")
        elif "last" in (persona.spec.get("no_settlement") or []) and year == TODAY.year - 1:
            api.error(r, 404, "SSG-008")
        else:
            assert r.status_code == 200, (year, r.text)
    api.error(api.ssg(persona.fnr, 2020), 404, "SSG-008")  # before the sandbox's first year


# -- the command line ----------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", sorted({p.scenario for p in PERSONAS}))
def test_people_by_scenario_lists_exactly_its_personas(scenario, capsys):
    assert cli(["people", "--scenario", scenario, "--json", *WORLD]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["fnr"] for r in rows} == {p.fnr for p in PERSONAS if p.scenario == scenario}
    assert all(r["scenario"] == scenario for r in rows)


def test_people_search_finds_kari_nordmann(capsys):
    assert cli(["people", "--search", "Nordmann", "--json", *WORLD]) == 0
    rows = json.loads(capsys.readouterr().out)
    kari = [r for r in rows if r["fnr"] == "15838512671"]
    assert kari and kari[0]["name"] == "Kari Nordmann" and kari[0]["scenario"] == "ordinary"
    assert all("nordmann" in " ".join([r["fnr"], r["name"], r["story"], r["scenario"] or ""]).lower()
               for r in rows)


def test_person_json_tells_years_and_months(capsys):
    assert cli(["person", "01928812312", "--json", *WORLD]) == 0  # SSG-008: no 2025 oppgjør
    out = json.loads(capsys.readouterr().out)
    assert out["years"] == [2021, 2022, 2023, 2024]
    assert out["months"][0] == "2021-01" and out["months"][-1] == "2026-10"


@pytest.mark.parametrize("fnr", [
    "04847512461",  # persona SSG-007: a valid number nobody has
    NumberIndex(1).number(SIZE + 10),  # a crowd number just outside the population
])
def test_person_unknown_exits_1(fnr, capsys):
    assert cli(["person", fnr, *WORLD]) == 1
    err = capsys.readouterr().err
    assert fnr in err and "nobody" in err


@pytest.mark.parametrize("fnr, reason", [
    ("15838512672", "kontrollsiffer"),
    ("1583851267", "11 siffer"),
    ("1583851267X", "11 siffer"),
    ("ABCDEFGHIJK", "11 siffer"),
])
def test_person_invalid_exits_2(fnr, reason, capsys):
    assert cli(["person", fnr, *WORLD]) == 2
    err = capsys.readouterr().err
    assert fnr in err and reason in err
