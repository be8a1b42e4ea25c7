"""Fidelity, round two: what real consumer code and recorded answers show about the real services.

One section per fidelity gap consumers ran into; each test fails on the sandbox as it was before and passes now.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from mp_helpers import (
    KOMMUNE,
    ORG_KOMMUNE,
    ORG_X5C,
    T0,
    MpBox,
    assert_ske_error,
    at,
    clients_document,
    make_settings,
    rsa_key,
)

from mockserver.choices import ChoicesError, load_choices
from mockserver.clock import DataCalendar
from mockserver.maskinporten.clientgen import business_certificate, x5c_header
from mockserver.maskinporten.errors import AUTH_FAILED
from mockserver.population.life import KLP, LAANEKASSEN, NAV, PENSJONSKASSE
from mockserver.population.world import Population
from mockserver.resources import contracts_dir, fixtures_dir

SSG = "/summertskattegrunnlag/v2"
IM = "/inntekt/v1"
KARI = "15838512671"
NORA = "17819112452"  # skjermet (partly screened for the kommune package)
ERIK = "01928812312"  # no oppgjør for 2025 yet
SOFIE = "07827941233"  # corrected her return after the utkast
HELD = ["kommuneboligsosialeformaal", "sivilrett", "navsupplerendestoenad", "ssb", "nav", "digisos", "lommebok"]
NOT_SUPPORTED = "Oppgitt inntektsår er ikke støttet."

PAKKER = yaml.safe_load((fixtures_dir() / "rettighetspakker.yaml").read_text())["rettighetspakker"]
# Skatteetaten's lists (docs/api/summertskattegrunnlag.md, docs/api/inntekt.md), lower-cased
SSG_PUBLISHED = {
    "fiskeridirektoratetkontrollmanntall", "fiskeridirektoratetmanntall", "frirettshjelp", "husbankenbostoette",
    "husbankenlaantilskudd", "kommuneboligsosialeformaal", "kommunelangtidsoppholdinstitusjon",
    "kommunepersonligassistanse", "laanekassen", "ldir", "ldirreindriftstilskudd", "ldirtotalregnskap", "nav",
    "navbidrag", "navbilstoenad", "navgravferdstoenad", "navufoeretrygd", "saernamsmann", "spkboliglaan", "ssb",
    "udi", "kommuneforeldrebetaling", "navsupplerendestoenad", "norgesbank", "sivilrett", "sbl",
}
IM_PUBLISHED = {
    "afp", "digisos", "fiskeridirektoratetkontrollmanntall", "fiskeridirektoratetmanntall", "gff", "husbanken",
    "kommuneBoligsosialeFormaal", "laanekassen", "ldir", "ldirReindriftstilskudd", "nav",
    "pensjonskasseetteroppgjoerufoerafp", "pensjonskasseLivsvarigafpanneninntekt",
    "pensjonskasseLivsvarigafpandreytelser", "saernamsmann", "spkBoliglaan", "ssb", "udi", "otp", "sbl",
    "lommebok",  # not in the list, but called by Digdir's wallet connector
}


def _box(tmp_path: Path, today: dt.date = dt.date(2026, 11, 27), choices: dict | None = None) -> MpBox:
    doc = clients_document()
    for consumer in doc["consumers"]:
        if consumer["orgnr"] == ORG_KOMMUNE:
            consumer["rettighetspakker"] = HELD
    path = tmp_path / "clients.yaml"
    path.write_text(yaml.safe_dump(doc))
    extra: dict[str, Any] = {}
    if choices is not None:
        extra["choices_file"] = tmp_path / "choices.yaml"
        extra["choices_file"].write_text(yaml.safe_dump(choices))
    return MpBox(make_settings(path, today=today, **extra))


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MpBox]:
    b = _box(tmp_path_factory.mktemp("fidelity"))
    with b.client:
        yield b


@pytest.fixture(scope="module")
def token(box: MpBox) -> str:
    return box.token(KOMMUNE)


def ssg(box: MpBox, token: str, stadie: str, pakke: str, year: int, fnr: str):
    return box.api(f"{SSG}/{stadie}/{pakke}/{year}/{fnr}", token)


def inntekt(box: MpBox, token: str, pakke: str, fnr: str, fra: str, til: str):
    return box.api(f"{IM}/{pakke}/{fnr}/inntekter?fraOgMed={fra}&tilOgMed={til}", token)


def crowd() -> Population:
    return Population(1, 400, DataCalendar(dt.date(2026, 11, 27)))


def posts(body: dict, key: str = "grunnlag") -> dict[str, int]:
    return {i["tekniskNavn"]: i["beloep"] for i in body.get(key, [])}


# -- 1. every published rettighetspakke is known ------------------------------------------------------


def test_the_fixture_lists_every_published_package_for_its_api():
    ssg_known = {n for n, s in PAKKER.items() if "summertskattegrunnlag" in s["apis"]}
    im_known = {n for n, s in PAKKER.items() if "inntekt" in s["apis"]}
    assert ssg_known == SSG_PUBLISHED
    assert im_known == {n.lower() for n in IM_PUBLISHED}


@pytest.mark.parametrize("pakke", sorted(SSG_PUBLISHED - set(HELD)))
def test_a_published_ssg_package_not_held_is_403(box: MpBox, token: str, pakke: str):
    assert_ske_error(ssg(box, token, "oppgjoer", pakke, 2024, KARI), 403, "SSG-005", pakke)


@pytest.mark.parametrize("pakke", sorted(IM_PUBLISHED - set(HELD) - {"kommuneBoligsosialeFormaal"}))
def test_a_published_inntekt_package_not_held_is_403(box: MpBox, token: str, pakke: str):
    r = inntekt(box, token, pakke, KARI, "2025-01", "2025-03")
    assert_ske_error(r, 403, "IM-005", pakke.lower())


@pytest.mark.parametrize("pakke", ["digisos", "lommebok", "kommuneBoligsosialeFormaal", "nav"])
def test_held_inntekt_packages_answer(box: MpBox, token: str, pakke: str):
    r = inntekt(box, token, pakke, KARI, "2025-01", "2025-03")
    assert r.status_code == 200 and r.json()["oppgaveInntektsmottaker"], r.text


@pytest.mark.parametrize("path, kode", [
    (f"{SSG}/oppgjoer/finnesikke/2024/{KARI}", "SSG-003"),  # nobody publishes it
    (f"{SSG}/oppgjoer/digisos/2024/{KARI}", "SSG-003"),  # published for the Inntekt API only
    (f"{IM}/finnesikke/{KARI}/inntekter?fraOgMed=2025-01", "IM-003"),
    (f"{IM}/sivilrett/{KARI}/inntekter?fraOgMed=2025-01", "IM-003"),  # Summert skattegrunnlag only
])
def test_only_unpublished_names_are_404(box: MpBox, token: str, path: str, kode: str):
    assert_ske_error(box.api(path, token), 404, kode, "Ukjent rettighetspakke")


@pytest.mark.parametrize("pakke, stadier", [
    ("kommuneboligsosialeformaal", {"oppgjoer"}), ("nav", {"oppgjoer"}), ("ssb", {"oppgjoer"}),
    ("navsupplerendestoenad", {"oppgjoer", "utkast"}), ("sivilrett", {"oppgjoer", "utkast", "fastsatt"}),
])
def test_each_package_reads_its_documented_stadier(box: MpBox, token: str, pakke: str, stadier: set[str]):
    for stadie in ("oppgjoer", "utkast", "fastsatt"):
        r = ssg(box, token, stadie, pakke, 2025, KARI)
        if stadie in stadier:
            assert r.status_code == 200 and r.json()["stadie"] == stadie, r.text
        else:
            assert_ske_error(r, 403, "SSG-005", "stadie")


def test_consent_rule_is_documented_for_sbl_only():
    assert {n for n, s in PAKKER.items() if s.get("samtykke")} == {"sbl"}


# -- 2. Inntekt amounts are decimal numbers -----------------------------------------------------------


def test_contract_amounts_are_numbers():
    doc = yaml.safe_load((contracts_dir() / "inntekt.yaml").read_text())["components"]["schemas"]
    assert doc["Inntekt"]["properties"]["beloep"]["type"] == "number"
    assert doc["Forskuddstrekk"]["properties"]["beloep"]["type"] == "number"
    assert doc["Fradrag"]["properties"]["beloep"]["type"] == "number"
    assert doc["InntektKind"]["properties"]["antall"]["type"] == "number"
    ssg_doc = yaml.safe_load((contracts_dir() / "summertskattegrunnlag.yaml").read_text())["components"]["schemas"]
    assert ssg_doc["Grunnlag"]["properties"]["beloep"]["type"] == "integer"  # stays integer


def test_amounts_carry_oere_or_a_decimal_point(box: MpBox, token: str):
    student = inntekt(box, token, "nav", "25880362669", "2025-01", "2025-12")  # timelønn
    lines = [i for o in student.json()["oppgaveInntektsmottaker"] for i in o["inntekt"]]
    assert any(i["beloep"] != int(i["beloep"]) for i in lines)  # hourly rate × hours
    assert all(isinstance(i["loennsinntekt"]["antall"], float) for i in lines
               if i["loennsinntekt"]["beskrivelse"] == "timeloenn")
    ingrid = inntekt(box, token, "nav", "20917912409", "2025-01", "2025-12")  # dagpenger by day rate
    dagpenger = [i for o in ingrid.json()["oppgaveInntektsmottaker"] for i in o["inntekt"]]
    assert any(i["beloep"] != int(i["beloep"]) for i in dagpenger)
    kari = inntekt(box, token, "nav", KARI, "2025-03", "2025-03")
    assert re.search(r'"beloep":\s*-?[0-9]+\.0[,}]', kari.text), kari.text  # whole kroner as n.0
    body = ssg(box, token, "oppgjoer", "nav", 2025, KARI).json()
    assert all(type(i["beloep"]) is int for i in body["grunnlag"])


# -- 3. years not yet supported: SSG-006 with Skatteetaten's text ----------------------------------------


@pytest.mark.parametrize("today, year", [
    (dt.date(2026, 11, 27), 2026),  # the current year
    (dt.date(2026, 11, 27), 2027),  # a future year
    (dt.date(2026, 11, 27), 2016),  # before V2
    (dt.date(2026, 2, 14), 2025),  # the previous year before its code list is out
])
def test_unsupported_year_is_ssg_006_with_the_real_text(tmp_path: Path, today: dt.date, year: int):
    b = _box(tmp_path, today)
    body = assert_ske_error(ssg(b, b.token(KOMMUNE), "oppgjoer", "kommuneboligsosialeformaal", year, KARI),
                            400, "SSG-006", NOT_SUPPORTED)
    assert body["melding"] == NOT_SUPPORTED


def test_previous_year_is_supported_from_mid_february_and_configurable(tmp_path: Path):
    b = _box(tmp_path, dt.date(2026, 2, 15))
    r = ssg(b, b.token(KOMMUNE), "oppgjoer", "kommuneboligsosialeformaal", 2025, KARI)
    assert_ske_error(r, 404, "SSG-008", "")  # supported, but no oppgjør before late March
    later = _box(tmp_path, dt.date(2026, 2, 20), choices={"year_supported_from": "03-01"})
    r = ssg(later, later.token(KOMMUNE), "oppgjoer", "kommuneboligsosialeformaal", 2025, KARI)
    assert_ske_error(r, 400, "SSG-006", NOT_SUPPORTED)


def test_unknown_person_has_the_recorded_text(box: MpBox, token: str):
    body = assert_ske_error(ssg(box, token, "oppgjoer", "nav", 2024, "04847512461"), 404, "SSG-007", "")
    assert body["melding"] == "Fant ikke noen person for gitt personidentifikator."


# -- 4. the shapes the contracts allow --------------------------------------------------------------------


OFFSET_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.(\d{1,6}))?([+-]\d{2}:\d{2})$")


def test_mottaksinformasjon_is_served_with_offsets_and_varying_fractions(box: MpBox, token: str):
    seen_empty, digits, offsets = 0, set(), set()
    for fnr in (KARI, "02879012344", "20917912409", "14825012401", "22848712667"):
        for o in inntekt(box, token, "nav", fnr, "2025-01", "2025-12").json()["oppgaveInntektsmottaker"]:
            info = o["mottaksinformasjon"]
            if not info:
                seen_empty += 1
                continue
            m = OFFSET_TIME.match(info["foersteMottakstidspunkt"])
            assert m, info
            digits.add(len(m.group(2) or ""))
            offsets.add(m.group(3))
            dt.datetime.fromisoformat(info["foersteMottakstidspunkt"])
    assert seen_empty and offsets == {"+01:00", "+02:00"} and len(digits) >= 4
    before = inntekt(box, token, "nav", KARI, "2024-01", "2024-12").json()["oppgaveInntektsmottaker"]
    assert all("mottaksinformasjon" not in o for o in before)  # from 2025 on, as recorded


def test_ajourholdstidspunkt_has_varying_fraction_digits():
    pop = crowd()
    lengths = set()
    for index in range(40):
        life = pop.lookup(pop.numbers.number(index))
        stamp = pop.skattegrunnlag(life, 2024)["ajourholdstidspunkt"]
        m = re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.(\d{1,6}))?Z", stamp)
        assert m, stamp
        lengths.add(len(m.group(1) or ""))
    assert len(lengths) >= 4


def test_a_package_configured_full_gets_a_fully_screened_answer(box: MpBox, token: str):
    assert PAKKER["ssb"]["skjerming"] == "full"
    body = ssg(box, token, "oppgjoer", "ssb", 2025, NORA).json()
    assert body == {"personidentifikator": NORA, "inntektsaar": "2025", "stadie": "oppgjoer", "skjermet": True}
    partly = ssg(box, token, "oppgjoer", "kommuneboligsosialeformaal", 2025, NORA).json()
    assert partly["skjermet"] is True and partly["grunnlag"]  # the kommune package keeps the sums


def test_kildeskatt_paa_loenn_is_in_the_contract_and_served(box: MpBox, token: str):
    doc = yaml.safe_load((contracts_dir() / "summertskattegrunnlag.yaml").read_text())["components"]["schemas"]
    assert "kildeskattPaaLoennGrunnlag" in doc["SummertSkattegrunnlag"]["properties"]
    body = ssg(box, token, "oppgjoer", "nav", 2025, "52859312381").json()
    assert posts(body, "kildeskattPaaLoennGrunnlag")["samletLoennsinntektMedTrygdeavgiftspliktOgMedTrekkplikt"] > 0


# -- 5. utkast and fastsatt are documents of their own ------------------------------------------------


def test_utkast_fastsatt_and_oppgjoer_differ_as_the_return_was_corrected(box: MpBox, token: str):
    docs = {s: ssg(box, token, s, "sivilrett", 2025, SOFIE).json() for s in ("utkast", "fastsatt", "oppgjoer")}
    for stadie, body in docs.items():
        assert body["stadie"] == stadie
        assert ("skatteoppgjoersdato" in body) is (stadie == "oppgjoer")
    assert "reisefradrag" not in posts(docs["utkast"]) and "reisefradrag" in posts(docs["fastsatt"])
    assert posts(docs["utkast"])["alminneligInntektFoerSaerfradrag"] > posts(docs["oppgjoer"])[
        "alminneligInntektFoerSaerfradrag"]
    assert posts(docs["fastsatt"]) == posts(docs["oppgjoer"])
    days = {s: b["ajourholdstidspunkt"][:10] for s, b in docs.items()}
    assert days["utkast"] == "2026-03-12" < days["fastsatt"] < days["oppgjoer"]


def test_utkast_and_fastsatt_exist_before_the_oppgjoer(box: MpBox, token: str):
    assert_ske_error(ssg(box, token, "oppgjoer", "sivilrett", 2025, ERIK), 404, "SSG-008", "")
    assert ssg(box, token, "utkast", "sivilrett", 2025, ERIK).status_code == 200
    assert ssg(box, token, "fastsatt", "sivilrett", 2025, ERIK).status_code == 200


def test_no_utkast_before_the_draft_date(tmp_path: Path):
    early = _box(tmp_path, dt.date(2026, 3, 11))
    r = ssg(early, early.token(KOMMUNE), "utkast", "sivilrett", 2025, KARI)
    assert_ske_error(r, 404, "SSG-008", "")
    on_time = _box(tmp_path, dt.date(2026, 3, 12))
    assert ssg(on_time, on_time.token(KOMMUNE), "utkast", "sivilrett", 2025, KARI).status_code == 200


# -- 6. public payers under their public organisation numbers -------------------------------------------


def test_public_payers_are_nav_spk_klp_and_laanekassen(box: MpBox, token: str):
    assert (NAV.orgnr, PENSJONSKASSE.orgnr, KLP.orgnr, LAANEKASSEN.orgnr) == (
        "995277670", "982583462", "938708606", "960885406")
    pop = crowd()
    payers = {s.payer.orgnr for i in range(300) for s in pop.lookup(pop.numbers.number(i)).streams}
    assert {NAV.orgnr, PENSJONSKASSE.orgnr, KLP.orgnr} <= payers
    ingrid = inntekt(box, token, "digisos", "20917912409", "2025-01", "2025-12").json()["oppgaveInntektsmottaker"]
    assert {o["opplysningspliktigId"] for o in ingrid} == {"995277670"}
    student = ssg(box, token, "oppgjoer", "nav", 2025, "25880362669").json()
    lenders = {s["organisasjonsnummer"] for i in student["grunnlag"] for s in i.get("spesifisering", [])
               if s["type"] == "Konto" and "gjeld" in s}
    assert "960885406" in lenders


# -- 7. Maskinporten as shipping client libraries use it -----------------------------------------------


def _kid_and_x5c(b: MpBox, orgnr: str = ORG_KOMMUNE, valid_from: float = T0 - 3600, **claims: Any):
    cert = business_certificate(rsa_key(KOMMUNE.key_name), orgnr, "SANDKASSE", at(valid_from))
    return b.post_grant(b.grant(KOMMUNE, headers={"kid": KOMMUNE.kid, "x5c": x5c_header(cert)}, **claims))


def test_a_grant_with_both_kid_and_x5c_is_verified_with_the_certificate(box: MpBox):
    r = _kid_and_x5c(box)
    assert r.status_code == 200, r.text
    claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    assert claims["client_amr"] == "virksomhetssertifikat"
    other_org = _kid_and_x5c(box, orgnr=ORG_X5C)
    assert other_org.status_code == 400 and other_org.json()["error_uri"].endswith("MP-122")
    expired = _kid_and_x5c(box, valid_from=T0 + 86400)  # not valid yet
    assert expired.status_code == 400 and expired.json()["error_uri"].endswith("MP-120")
    assert AUTH_FAILED in expired.json()["error_description"]


def test_pid_in_the_grant_is_carried_into_the_token(box: MpBox):
    claims = jwt.decode(box.token(KOMMUNE, pid=KARI), options={"verify_signature": False})
    assert claims["pid"] == KARI
    assert "pid" not in jwt.decode(box.token(KOMMUNE), options={"verify_signature": False})
    for bad in ("12345678901", 15838512671, "1583851267"):
        r = box.post_grant(box.grant(KOMMUNE, pid=bad))
        assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
        assert "pid" in r.json()["error_description"]


# -- the choices file ---------------------------------------------------------------------------------


def test_a_bad_choices_file_is_refused_with_a_reason(tmp_path: Path):
    bad = tmp_path / "choices.yaml"
    bad.write_text(json.dumps({"no_such_choice": 1}))
    with pytest.raises(ChoicesError, match="no_such_choice"):
        load_choices(bad)
    bad.write_text(json.dumps({"year_supported_from": "februar"}))
    with pytest.raises(ChoicesError, match="cannot read"):
        load_choices(bad)


def test_the_built_in_personas_meet_their_schema():
    """A start reads the shipped personas without the schema check: this is that check."""
    from mockserver.configfiles import load
    from mockserver.resources import fixtures_dir

    doc, _ = load(fixtures_dir() / "personas.yaml", "personas", "personas")
    assert len(doc["personas"]) >= 20


def test_every_persona_is_listed_in_the_readme():
    from mockserver.population.personas import load_personas

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    rows = set(re.findall(r"^\| `(\d{11})` \| `([^`]+)` \|", readme, re.MULTILINE))
    assert {(p.fnr, p.scenario) for p in load_personas()} == rows


@pytest.mark.parametrize("entry, fragment", [
    ({"skjermet": "helt"}, r"personas\[0\]\.skjermet: 'helt' is not one of"),
    ({"inntekt": "2025"}, r"personas\[0\]\.inntekt: '2025' is not one of aarsrevisjon2025, opptak2025"),
    ({"skatteoppgjoersdato": True}, r"personas\[0\]\.skatteoppgjoersdato: False was expected"),
    ({"pensjonspremie": 2}, r"personas\[0\]\.pensjonspremie: 2 is not between 0 and 0.5"),
])
def test_a_persona_with_an_unknown_shape_is_refused(tmp_path: Path, entry: dict, fragment: str):
    from mockserver.population.personas import PersonaError, load_personas

    path = tmp_path / "personas.yaml"
    path.write_text(yaml.safe_dump({"personas": [{"fnr": KARI, **entry}]}))
    with pytest.raises(PersonaError, match=fragment):
        load_personas(path)


@pytest.mark.parametrize("doc", [{"utkast_dates": {2030: "snart"}}, {"mottaksinformasjon_from": "2025"},
                                 {"submission_deadline": "31-04"}])
def test_choices_are_checked_when_loaded(tmp_path: Path, doc: dict):
    path = tmp_path / "choices.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ChoicesError):
        load_choices(path)


def test_serve_with_a_bad_choices_file_exits_2(tmp_path: Path, capsys):
    from mockserver.cli import main as cli

    path = tmp_path / "choices.yaml"
    path.write_text("year_supported_from: [1, 2]\n")
    assert cli(["serve", "--choices", str(path)]) == 2
    assert "choices" in capsys.readouterr().err


def test_the_2025_code_list_follows_the_latest_aarsrevisjon():
    """Four names added for 2025, and six more names out as of 26.01.2026 (summertskattegrunnlag.md)."""
    from mockserver.population.codes import year_list

    names = set(year_list(2025).kategori)
    assert {"livsvarigAvtalefestetPensjonIOffentligSektor", "ungdomsprogramytelse",
            "oppjustertTilleggTilLatentTapPaaAksjeAndelMvVedUtflyttingUtenUtsattBetalingAvSkatt",
            "oppjustertTilleggTilLatentGevinstPaaAksjeAndelMvVedUtflyttingUtenUtsattBetalingAvSkatt"} <= names
    assert not names & {"inntektsfoeringAvNegativSaldo", "oppjustertTilleggTilTapVedSalgAvAndelINOKUS",
                        "overskuddAvEnkeltpersonforetakInnenAnnenNaeringUtenTrygdeavgiftsplikt",
                        "saerskiltInntektsfradragIBarnsInntekt", "tapVedSalgAvAndelINOKUS",
                        "ufoeretrygdFoerAlderspensjon"}
