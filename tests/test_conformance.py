"""Real answers for every persona, in JSON and XML, conform to the contracts; the kommune package
filters data as configured."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import jsonschema
import pytest
import yaml

from mockserver.resources import contracts_dir

PAKKE = "kommuneboligsosialeformaal"
SSG_NS = "{urn:no:skatteetaten:datasamarbeid:summertskattegrunnlag:v2}"
IM_NS = "{urn:no:skatteetaten:datasamarbeid:inntekt:v1}"


def validator(contract: str, component: str) -> jsonschema.Validator:
    doc = yaml.safe_load((contracts_dir() / contract).read_text())
    return jsonschema.Draft4Validator({"$ref": f"#/components/schemas/{component}", "components": doc["components"]},
                                      format_checker=jsonschema.FormatChecker())


SSG_SCHEMA = validator("summertskattegrunnlag.yaml", "SummertSkattegrunnlag")
IM_SCHEMA = validator("inntekt.yaml", "InntektResponse")
TD_SCHEMA = validator("sistetilgjengeligeskatteoppgjoer.yaml", "SisteTilgjengeligeSkatteoppgjoer")


@pytest.fixture
def auth(ske_sandbox):
    return {"Authorization": f"Bearer {ske_sandbox.token()}"}


@pytest.mark.slow
def test_every_person_answer_conforms(ske_sandbox, auth):
    population = ske_sandbox.sandbox.population
    people = [life for _, life in zip(range(60), population.people(), strict=False)]
    checked = 0
    for life in people:
        for year in population.settled_years(life):
            if year in life.deleted:
                continue
            r = ske_sandbox.client.get(f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/{year}/{life.fnr}", headers=auth)
            assert r.status_code == 200, (life.fnr, year, r.text)
            assert list(SSG_SCHEMA.iter_errors(r.json())) == []
            checked += 1
        r = ske_sandbox.client.get(f"/inntekt/v1/{PAKKE}/{life.fnr}/inntekter", headers=auth,
                                   params={"fraOgMed": "2025-11", "tilOgMed": "2026-10"})
        if r.status_code == 200:
            assert list(IM_SCHEMA.iter_errors(r.json())) == []
            checked += 1
        else:
            assert r.json()["kode"] in ("IM-007", "IM-008")
        r = ske_sandbox.client.get(f"/sistetilgjengeligeskatteoppgjoer/v1/{life.fnr}", headers=auth)
        if r.status_code == 200:
            assert list(TD_SCHEMA.iter_errors(r.json())) == []
    assert checked > 200


def test_xml_carries_the_same_data_as_json(ske_sandbox, auth):
    path = f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/2024/08888412566"
    as_json = ske_sandbox.client.get(path, headers=auth).json()
    root = ET.fromstring(ske_sandbox.client.get(path, headers={**auth, "Accept": "application/xml"}).content)
    assert root.tag == f"{SSG_NS}summertSkattegrunnlag"
    assert root.find(f"{SSG_NS}personidentifikator").text == "08888412566"
    grunnlag = root.findall(f"{SSG_NS}grunnlag")
    assert [(g.find(f"{SSG_NS}tekniskNavn").text, int(g.find(f"{SSG_NS}beloep").text)) for g in grunnlag] == [
        (g["tekniskNavn"], g["beloep"]) for g in as_json["grunnlag"]]
    assert len(root.findall(f"{SSG_NS}svalbardGrunnlag")) == len(as_json["svalbardGrunnlag"])
    assert root.find(f"{SSG_NS}skjermet").text == "false"

    path = f"/inntekt/v1/{PAKKE}/02879012344/inntekter"
    params = {"fraOgMed": "2026-01", "tilOgMed": "2026-03"}
    as_json = ske_sandbox.client.get(path, headers=auth, params=params).json()
    root = ET.fromstring(ske_sandbox.client.get(path, params=params,
                                                headers={**auth, "Accept": "application/xml"}).content)
    assert root.tag == f"{IM_NS}inntekter"
    oppgaver = root.findall(f"{IM_NS}oppgaveInntektsmottaker")
    assert len(oppgaver) == len(as_json["oppgaveInntektsmottaker"])
    assert [o.find(f"{IM_NS}kalendermaaned").text for o in oppgaver] == [
        o["kalendermaaned"] for o in as_json["oppgaveInntektsmottaker"]]


def test_accept_with_quality_values_picks_the_preferred_format(ske_sandbox, auth):
    path = f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/2024/15838512671"
    r = ske_sandbox.client.get(path, headers={**auth, "Accept": "application/json;q=0.5, application/xml"})
    assert r.headers["content-type"].startswith("application/xml")
    r = ske_sandbox.client.get(path, headers={**auth, "Accept": "*/*"})
    assert r.headers["content-type"].startswith("application/json")


def test_kommune_package_minimises_data(tmp_path):
    """The same person through two packages: the filter file decides what each one sees."""
    from mockserver.maskinporten.registry import demo_client
    from mockserver.settings import Settings
    from mockserver.testkit.kit import SandboxKit
    from mockserver.testkit.plugin import DEFAULT_TODAY

    clients = tmp_path / "clients.yaml"
    clients.write_text(f"consumers:\n  - orgnr: '{demo_client(1).orgnr}'\n"
                       f"    rettighetspakker: [nav, husbankenbostoette]\n")
    box = SandboxKit(Settings(today=DEFAULT_TODAY, population=50, clients_file=clients))
    h = {"Authorization": f"Bearer {box.token()}"}
    fnr = "10906012370"  # high wealth: wages, accounts, home, car
    full = box.client.get(f"/summertskattegrunnlag/v2/oppgjoer/nav/2024/{fnr}", headers=h).json()
    kommune = box.client.get(f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/2024/{fnr}", headers=h).json()
    bostoette = box.client.get(f"/summertskattegrunnlag/v2/oppgjoer/husbankenbostoette/2024/{fnr}", headers=h).json()
    names = {p: {g["tekniskNavn"] for g in body["grunnlag"]} for p, body in
             [("nav", full), ("kommune", kommune), ("bostoette", bostoette)]}
    assert "samletGrunnlagForInntektsskattTilKommuneOgFylkeskommuneStatsskattOgFellesskatt" in names["nav"]
    assert "samletGrunnlagForInntektsskattTilKommuneOgFylkeskommuneStatsskattOgFellesskatt" not in names["kommune"]
    assert names["kommune"] < names["nav"]
    assert "minstefradragIInntekt" not in names["bostoette"]  # no inntektsfradrag for that package
    assert not any("spesifisering" in g for g in bostoette["grunnlag"])
    assert any("spesifisering" in g for g in kommune["grunnlag"])


def test_skjermet_person_keeps_sums_but_loses_geolocating_detail(ske_sandbox, auth):
    body = ske_sandbox.client.get(f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/2024/17819112452", headers=auth).json()
    assert body["skjermet"] is True
    types = {s["type"] for g in body["grunnlag"] for s in g.get("spesifisering", [])}
    assert not types & {"Eiendom", "LoennOgTilsvarendeYtelser", "Kjoeretoey"}
    loenn = "samletLoennsinntektMedTrygdeavgiftspliktOgMedTrekkplikt"
    wage = next(g for g in body["grunnlag"] if g["tekniskNavn"] == loenn)
    assert wage["beloep"] > 0
