"""`client new --consumer-orgnr`: a supplier acting for a municipality is registered as production has it
(the municipality holds the rettighetspakke and delegates the scopes; the supplier holds nothing), so a
grant that forgets `consumer_org` is refused here as it is there."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import jwt
import pytest
import yaml
from mp_helpers import (
    BOTH,
    INNTEKT_URL,
    PAKKE,
    SSG,
    SSG_URL,
    MpBox,
    assert_inntekt_data,
    assert_ske_error,
    assert_ssg_data,
    make_settings,
)

from mockserver.cli import main
from mockserver.clock import Clock
from mockserver.configfiles import load
from mockserver.identifiers import make_orgnr

SUPPLIER_ORG = make_orgnr(10_888_001)
KOMMUNE_ORG = make_orgnr(10_888_101)
OTHER_KOMMUNE_ORG = make_orgnr(10_888_201)  # never delegated anything to the supplier


def new_client(out: Path, client_id: str, orgnr: str, *extra: str) -> int:
    return main(["client", "new", "--client-id", client_id, "--orgnr", orgnr, "--out", str(out), *extra])


def grant(box: MpBox, out: Path, client_id: str, **claims: object) -> str:
    now = int(time.time())
    body = {"aud": box.issuer, "iss": client_id, "scope": BOTH, "iat": now, "exp": now + 120,
            "jti": str(uuid.uuid4()), **claims}
    kid = json.loads((out / f"{client_id}.jwk.json").read_text())["kid"]
    return jwt.encode(body, (out / f"{client_id}.key.pem").read_bytes(), algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def supplier(tmp_path: Path, capsys) -> tuple[MpBox, Path, str]:
    assert new_client(tmp_path, "leverandor", SUPPLIER_ORG, "--consumer-orgnr", KOMMUNE_ORG) == 0
    printed = capsys.readouterr().out
    # client new stamps nothing time-bound for a JWK client, but grants are checked on the wall clock
    return MpBox(make_settings(tmp_path / "clients.yaml", clock=Clock())), tmp_path, printed


def test_the_municipality_holds_the_package_and_delegates_to_the_supplier(supplier) -> None:
    box, out, printed = supplier
    doc, _ = load(out / "clients.yaml", "clients", "clients file")  # passes its schema
    assert doc["consumers"] == [{
        "orgnr": KOMMUNE_ORG, "name": f"Consumer {KOMMUNE_ORG}", "rettighetspakker": [PAKKE],
        "delegations": [{"supplier": SUPPLIER_ORG, "scopes": BOTH.split()}],
    }]  # and nothing for the supplier's own org
    assert f"{KOMMUNE_ORG} (the municipality, consumer) holds rettighetspakke {PAKKE}" in printed
    assert f"{SUPPLIER_ORG} (your org, supplier) holds no rettighetspakke" in printed
    assert f"Every grant must carry consumer_org={KOMMUNE_ORG}" in printed
    assert f"iss=leverandor, consumer_org={KOMMUNE_ORG}" in printed


def test_a_supplier_grant_with_consumer_org_reads_data(supplier) -> None:
    box, out, _ = supplier
    r = box.post_grant(grant(box, out, "leverandor", consumer_org=KOMMUNE_ORG))
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["consumer"]["ID"] == f"0192:{KOMMUNE_ORG}"
    assert claims["supplier"]["ID"] == f"0192:{SUPPLIER_ORG}"
    assert_ssg_data(box.api(SSG_URL, token))
    assert_inntekt_data(box.api(INNTEKT_URL, token))


def test_a_supplier_grant_without_consumer_org_is_refused_by_the_data_apis(supplier) -> None:
    box, out, _ = supplier
    r = box.post_grant(grant(box, out, "leverandor"))
    assert r.status_code == 200, r.text  # Maskinporten issues it: the scopes are on the supplier's client
    token = r.json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["consumer"]["ID"] == f"0192:{SUPPLIER_ORG}" and "supplier" not in claims
    assert_ske_error(box.api(SSG_URL, token), 403, "SSG-005", f"Virksomheten {SUPPLIER_ORG} har ikke tilgang")
    assert_ske_error(box.api(INNTEKT_URL, token), 403, "IM-005", f"Virksomheten {SUPPLIER_ORG} har ikke tilgang")


def test_consumer_org_of_a_municipality_without_delegation_is_refused(supplier) -> None:
    box, out, _ = supplier
    r = box.post_grant(grant(box, out, "leverandor", scope=SSG, consumer_org=OTHER_KOMMUNE_ORG))
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == "invalid_scope" and body["error_uri"].endswith("/MP-251"), body
    assert body["error_description"].startswith(
        f"Consumer {OTHER_KOMMUNE_ORG} has not delegated access to the scope {SSG} to supplier {SUPPLIER_ORG}")


def test_a_municipality_registering_itself_holds_the_package_and_is_told_so(tmp_path: Path, capsys) -> None:
    assert new_client(tmp_path, "kommune", KOMMUNE_ORG) == 0
    printed = capsys.readouterr().out
    doc = yaml.safe_load((tmp_path / "clients.yaml").read_text())
    assert doc["consumers"] == [{"orgnr": KOMMUNE_ORG, "name": f"Consumer {KOMMUNE_ORG}",
                                 "rettighetspakker": [PAKKE]}]
    assert f"{KOMMUNE_ORG} (your org, a municipality acting for itself) holds rettighetspakke {PAKKE}" in printed
    assert "grants carry no consumer_org" in printed and "--consumer-orgnr" in printed
    box = MpBox(make_settings(tmp_path / "clients.yaml", clock=Clock()))
    r = box.post_grant(grant(box, tmp_path, "kommune"))
    assert r.status_code == 200, r.text
    assert_ssg_data(box.api(SSG_URL, r.json()["access_token"]))


def test_a_supplier_serving_several_municipalities_reads_for_each(tmp_path: Path, capsys) -> None:
    args = ["--consumer-orgnr", KOMMUNE_ORG, "--consumer-orgnr", OTHER_KOMMUNE_ORG]
    assert new_client(tmp_path, "leverandor", SUPPLIER_ORG, *args) == 0
    assert f"consumer_org=<the municipality served: {KOMMUNE_ORG} or {OTHER_KOMMUNE_ORG}>" in capsys.readouterr().out
    doc, _ = load(tmp_path / "clients.yaml", "clients", "clients file")
    assert [c["orgnr"] for c in doc["consumers"]] == [KOMMUNE_ORG, OTHER_KOMMUNE_ORG]
    box = MpBox(make_settings(tmp_path / "clients.yaml", clock=Clock()))
    for municipality in (KOMMUNE_ORG, OTHER_KOMMUNE_ORG):
        r = box.post_grant(grant(box, tmp_path, "leverandor", consumer_org=municipality))
        assert r.status_code == 200, r.text
        assert_inntekt_data(box.api(INNTEKT_URL, r.json()["access_token"]))


def test_registrations_merge_into_one_municipality_entry(tmp_path: Path, capsys) -> None:
    assert new_client(tmp_path, "kommune", KOMMUNE_ORG, "--scopes", SSG) == 0
    assert new_client(tmp_path, "lev-a", SUPPLIER_ORG, "--consumer-orgnr", KOMMUNE_ORG, "--scopes", SSG) == 0
    assert new_client(tmp_path, "lev-b", SUPPLIER_ORG, "--consumer-orgnr", KOMMUNE_ORG) == 0
    doc, _ = load(tmp_path / "clients.yaml", "clients", "clients file")  # passes its schema
    assert doc["consumers"] == [{
        "orgnr": KOMMUNE_ORG, "name": f"Consumer {KOMMUNE_ORG}", "rettighetspakker": [PAKKE],
        "delegations": [{"supplier": SUPPLIER_ORG, "scopes": BOTH.split()}],
    }]


def test_a_supplier_org_that_holds_the_package_itself_is_warned(tmp_path: Path, capsys) -> None:
    assert new_client(tmp_path, "egen", SUPPLIER_ORG) == 0
    capsys.readouterr()
    assert new_client(tmp_path, "leverandor", SUPPLIER_ORG, "--consumer-orgnr", KOMMUNE_ORG) == 0
    assert "a grant without consumer_org still reads data here" in capsys.readouterr().out


@pytest.mark.parametrize("consumer, message", [
    (SUPPLIER_ORG, "Maskinporten refuses consumer_org equal to the client's org"),
    ("910753614", "consumer orgnr '910753614' must be synthetic"),
])
def test_a_bad_consumer_orgnr_is_refused_before_anything_is_written(tmp_path: Path, capsys, consumer: str,
                                                                   message: str) -> None:
    assert new_client(tmp_path, "leverandor", SUPPLIER_ORG, "--consumer-orgnr", consumer) == 2
    assert message in capsys.readouterr().err
    assert not tmp_path.joinpath("leverandor.key.pem").exists()


@pytest.mark.parametrize("text, message", [
    ("consumers: [just-a-name]\n", "consumers must be a list of entries with orgnr"),
    ("clients: 7\n", "clients must be a list of entries with client_id"),
])
def test_a_clients_file_of_the_wrong_shape_is_refused_with_a_message(tmp_path: Path, capsys, text: str,
                                                                      message: str) -> None:
    (tmp_path / "clients.yaml").write_text(text)
    assert new_client(tmp_path, "leverandor", SUPPLIER_ORG, "--consumer-orgnr", KOMMUNE_ORG) == 2
    assert message in capsys.readouterr().err
    assert (tmp_path / "clients.yaml").read_text() == text
    assert not (tmp_path / "leverandor.key.pem").exists()  # nothing half-made to trip the next run
