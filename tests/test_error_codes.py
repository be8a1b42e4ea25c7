"""Every documented error code of each API: the request that produces it, the exact status and body,
in JSON and in XML."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import pytest

from mockserver.maskinporten.registry import demo_client
from mockserver.settings import Settings
from mockserver.testkit.plugin import DEFAULT_TODAY

FEIL_NS = "{urn:no:skatteetaten:datasamarbeid:feil:v1}"
SSG = "/summertskattegrunnlag/v2"
IM = "/inntekt/v1"
TD = "/sistetilgjengeligeskatteoppgjoer/v1"
PAKKE = "kommuneboligsosialeformaal"
KARI = "15838512671"
NOBODY = "04847512461"


@pytest.fixture
def ske_sandbox_settings(tmp_path) -> Settings:
    # The demo municipality also holds `sbl`, so asking for it without consent gives the consent code.
    clients = tmp_path / "clients.yaml"
    clients.write_text(f"consumers:\n  - orgnr: '{demo_client(1).orgnr}'\n    rettighetspakker: [sbl]\n")
    return Settings(today=DEFAULT_TODAY, population=200, base_url="http://ske-sandbox.test", clients_file=clients)


# (code, status, method path, extra headers, with token)
CASES = [
    ("SSG-001", 500, f"{SSG}/oppgjoer/{PAKKE}/2024/{KARI}", {"Ske-Sandbox-Scenario": "SSG-001"}, True),
    ("SSG-002", 500, f"{SSG}/oppgjoer/{PAKKE}/2024/{KARI}", {"Ske-Sandbox-Scenario": "SSG-002"}, True),
    ("SSG-003", 404, f"{SSG}/oppgjoer/{PAKKE}/2024", {}, True),
    ("SSG-003", 404, f"{SSG}/oppgjoer/kommuneboligsosial/2024/{KARI}", {}, True),
    ("SSG-004", 401, f"{SSG}/oppgjoer/{PAKKE}/2024/{KARI}", {}, False),
    ("SSG-005", 403, f"{SSG}/utkast/{PAKKE}/2024/{KARI}", {}, True),
    ("SSG-005", 403, f"{SSG}/oppgjoer/nav/2024/{KARI}", {}, True),
    ("SSG-006", 400, f"{SSG}/oppgjoer/{PAKKE}/2024/15838512672", {}, True),
    ("SSG-006", 400, f"{SSG}/oppgjoer/{PAKKE}/24/{KARI}", {}, True),
    ("SSG-006", 400, f"{SSG}/oppgjoer/{PAKKE}/2016/{KARI}", {}, True),
    ("SSG-006", 400, f"{SSG}/endelig/{PAKKE}/2024/{KARI}", {}, True),
    ("SSG-006", 400, f"{SSG}/oppgjoer/{PAKKE}/2024/{KARI}", {"Ske-Sandbox-Scenario": "nonsense"}, True),
    ("SSG-007", 404, f"{SSG}/oppgjoer/{PAKKE}/2024/{NOBODY}", {}, True),
    ("SSG-008", 404, f"{SSG}/oppgjoer/{PAKKE}/2025/01928812312", {}, True),
    ("SSG-008", 404, f"{SSG}/oppgjoer/{PAKKE}/2019/{KARI}", {}, True),
    ("SSG-009", 406, f"{SSG}/oppgjoer/{PAKKE}/2024/{KARI}", {"Accept": "text/html"}, True),
    ("SSG-010", 403, f"{SSG}/oppgjoer/sbl/2024/{KARI}", {}, True),
    ("SSG-011", 410, f"{SSG}/oppgjoer/{PAKKE}/2023/28817212346", {}, True),
    ("IM-001", 500, f"{IM}/{PAKKE}/{KARI}/inntekter?fraOgMed=2026-01", {"Ske-Sandbox-Scenario": "IM-001"}, True),
    ("IM-002", 500, f"{IM}/{PAKKE}/{KARI}/inntekter?fraOgMed=2026-01", {"Ske-Sandbox-Scenario": "IM-002"}, True),
    ("IM-003", 404, f"{IM}/{PAKKE}/{KARI}/oppgave/inntekt?fraOgMed=2026-01", {}, True),
    ("IM-004", 401, f"{IM}/{PAKKE}/{KARI}/inntekter?fraOgMed=2026-01", {}, False),
    ("IM-005", 403, f"{IM}/nav/{KARI}/inntekter?fraOgMed=2026-01", {}, True),
    ("IM-006", 400, f"{IM}/{PAKKE}/{KARI}/inntekter", {}, True),
    ("IM-006", 400, f"{IM}/{PAKKE}/{KARI}/inntekter?fraOgMed=2026-13", {}, True),
    ("IM-006", 400, f"{IM}/{PAKKE}/{KARI}/inntekter?fraOgMed=2026-05&tilOgMed=2026-01", {}, True),
    ("IM-006", 400, f"{IM}/{PAKKE}/{KARI}/inntekter?fraOgMed=2024-01&tilOgMed=2025-06", {}, True),
    ("IM-006", 400, f"{IM}/{PAKKE}/1583851267/inntekter?fraOgMed=2026-01", {}, True),
    ("IM-007", 404, f"{IM}/{PAKKE}/{NOBODY}/inntekter?fraOgMed=2026-01", {}, True),
    ("IM-008", 404, f"{IM}/{PAKKE}/06869612306/inntekter?fraOgMed=2026-01&tilOgMed=2026-06", {}, True),
    ("IM-008", 404, f"{IM}/{PAKKE}/{KARI}/inntekter?fraOgMed=2026-11", {}, True),
    ("IM-009", 406, f"{IM}/{PAKKE}/{KARI}/inntekter?fraOgMed=2026-01", {"Accept": "text/csv"}, True),
    ("IM-010", 403, f"{IM}/sbl/{KARI}/inntekter?fraOgMed=2026-01", {}, True),
    ("TD-001", 500, f"{TD}/{KARI}", {"Ske-Sandbox-Scenario": "TD-001"}, True),
    ("TD-002", 401, f"{TD}/{KARI}", {}, False),
    ("TD-003", 400, f"{TD}/1234", {}, True),
    ("TD-004", 404, f"{TD}/{NOBODY}", {}, True),
    ("TD-005", 406, f"{TD}/{KARI}", {"Accept": "image/png"}, True),
    ("TD-006", 404, f"{TD}/{KARI}/ressurs/skattegrunnlag", {}, True),
]


def _call(box, path: str, headers: dict[str, str], with_token: bool, accept: str | None = None):
    h = dict(headers)
    if with_token:
        h["Authorization"] = f"Bearer {box.token()}"
    if accept and "Accept" not in h:
        h["Accept"] = accept
    return box.client.get(path, headers=h)


@pytest.mark.parametrize("code,status,path,headers,with_token", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_error_code_json(ske_sandbox, code, status, path, headers, with_token):
    r = _call(ske_sandbox, path, headers, with_token)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"kode", "melding", "korrelasjonsid"}
    assert body["kode"] == code
    assert body["melding"]
    assert str(uuid.UUID(body["korrelasjonsid"])) == body["korrelasjonsid"]
    assert r.headers["korrelasjonsid"] == body["korrelasjonsid"]


@pytest.mark.parametrize("code,status,path,headers,with_token",
                         [c for c in CASES if "Accept" not in c[3]],
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES) if "Accept" not in c[3]])
def test_error_code_xml(ske_sandbox, code, status, path, headers, with_token):
    r = _call(ske_sandbox, path, headers, with_token, accept="application/xml")
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(r.content)
    assert root.tag == f"{FEIL_NS}feil"
    assert [child.tag for child in root] == [f"{FEIL_NS}kode", f"{FEIL_NS}melding", f"{FEIL_NS}korrelasjonsid"]
    assert root.find(f"{FEIL_NS}kode").text == code
    assert root.find(f"{FEIL_NS}korrelasjonsid").text == r.headers["korrelasjonsid"]


def test_every_documented_code_is_in_the_table():
    from mockserver.inntekt.errors import IM as im
    from mockserver.sistetilgjengeligeskatteoppgjoer.errors import TD as td
    from mockserver.summertskattegrunnlag.errors import SSG as ssg

    documented = {c for cat in (ssg, im, td) for c, _, _ in cat.table()}
    assert documented == {c[0] for c in CASES}


def test_a_sandbox_fault_answers_the_api_error_not_a_bare_500(ske_sandbox, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("simulated defect")

    monkeypatch.setattr(ske_sandbox.sandbox.population, "skattegrunnlag", broken)
    r = _call(ske_sandbox, f"{SSG}/oppgjoer/{PAKKE}/2024/{KARI}", {}, True)
    assert r.status_code == 500
    assert r.json()["kode"] == "SSG-001"


def test_consent_header_lets_sbl_through(ske_sandbox):
    r = _call(ske_sandbox, f"{SSG}/oppgjoer/sbl/2024/{KARI}", {"AltinnSamtykke": "samtykke-token"}, True)
    assert r.status_code == 200


def test_rettighetspakke_is_case_insensitive(ske_sandbox):
    r = _call(ske_sandbox, f"{SSG}/oppgjoer/kommuneBoligsosialeFormaal/2024/{KARI}", {}, True)
    assert r.status_code == 200
    r = _call(ske_sandbox, f"{IM}/kommuneBoligsosialeFormaal/{KARI}/inntekter?fraOgMed=2026-01", {}, True)
    assert r.status_code == 200


@pytest.mark.parametrize("path,code", [
    ("/inntekt/v1/pakke/12%0A34/inntekter?fraOgMed=2026-01", "IM-003"),
    ("/summertskattegrunnlag/v2/oppgjoer/x%0Ay/2024/15838512671", "SSG-003"),
    ("/sistetilgjengeligeskatteoppgjoer/v1/158%0A38512671", "TD-006"),
])
def test_paths_no_route_can_match_still_get_the_api_code(ske_sandbox, path, code):
    r = ske_sandbox.client.get(path)
    assert r.status_code == 404
    assert r.json()["kode"] == code
    assert r.headers["korrelasjonsid"] == r.json()["korrelasjonsid"]
