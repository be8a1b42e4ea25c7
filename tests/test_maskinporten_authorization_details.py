"""Maskinporten's newer grants: `authorization_details` of type `urn:altinn:systemuser` (system users) and
`urn:altinn:consent` (Altinn 3 consents), the MP-301/302/303 answers to bad ones, what the Skatteetaten APIs
make of such tokens, and `/tokeninfo` (RFC 7662) as Digdir documents it."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from mp_helpers import (
    FNR,
    INNTEKT,
    INNTEKT_URL,
    KOMMUNE,
    ORG_DELEGATED,
    ORG_KOMMUNE,
    ORG_SUPPLIER,
    PAKKE,
    SSG,
    SSG_URL,
    SUPPLIER,
    T0,
    TRACE_ID,
    MpBox,
    assert_ske_error,
    b64url,
    clients_document,
    frozen_clock,
    make_settings,
    pem,
    rsa_key,
)

from mockserver.clock import Clock
from mockserver.identifiers import make_orgnr
from mockserver.maskinporten.authdetails import consent_request, systemuser_request
from mockserver.maskinporten.registry import Registry, RegistryError
from mockserver.maskinporten.routes import CLIENT_ASSERTION_TYPE
from mockserver.maskinporten.tokens import org

ORG_CUSTOMER = make_orgnr(10_555_701)  # approved the vendor's system as a system user
ORG_NO_SYSTEM_USER = make_orgnr(10_555_801)
CONSENT_ID = "0a7d59f8-8c62-4312-9fb4-62456664c96f"
EXPIRED_ID = "5b9e3c1a-2f4d-4e6b-8a7c-9d0e1f2a3b4c"
OTHER_FNR = "02879012344"
SBL_SSG_URL = f"/summertskattegrunnlag/v2/oppgjoer/sbl/2024/{FNR}"
SBL_INNTEKT_URL = f"/inntekt/v1/sbl/{FNR}/inntekter?fraOgMed=2026-01"
TOKENINFO = "/maskinporten/tokeninfo"


def document() -> dict[str, Any]:
    doc = clients_document()
    doc["consumers"] += [{"orgnr": ORG_CUSTOMER, "name": "Kundeby kommune", "rettighetspakker": [PAKKE]},
                         {"orgnr": ORG_KOMMUNE, "rettighetspakker": ["sbl"]}]
    doc["system_users"] = [
        {"client_id": SUPPLIER.client_id, "orgnr": ORG_CUSTOMER},
        {"client_id": SUPPLIER.client_id, "orgnr": ORG_DELEGATED, "external_ref": "kunde-42",
         "id": "3f0c8a4e-5b1d-4c7e-9a2f-1d2e3f4a5b6c", "system_id": f"{ORG_SUPPLIER}_fagsystem"},
    ]
    doc["consents"] = [
        {"id": CONSENT_ID, "from": FNR, "to": ORG_KOMMUNE, "valid_to": "2027-12-31T23:00:00Z",
         "consented": "2026-11-01T08:00:00Z", "resource": "ske-sandbox-samtykke", "metadata": {"inntektsaar": "2024"}},
        {"id": EXPIRED_ID, "from": FNR, "to": ORG_KOMMUNE, "valid_to": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},
    ]
    return doc


def write(directory: Path, doc: dict[str, Any]) -> Path:
    path = directory / "clients.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture
def box(tmp_path: Path) -> MpBox:
    return MpBox(make_settings(write(tmp_path, document())))


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def refused(box: MpBox, code: str, error: str, client: Any = SUPPLIER, scope: str = SSG, **claims: Any) -> str:
    r = box.post_grant(box.grant(client, scope, **claims))
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == error and body["error_uri"] == f"{box.issuer}errors/{code}", body
    assert TRACE_ID.search(body["error_description"]), body
    return str(body["error_description"])


# --- system users --------------------------------------------------------------------------------------
def test_a_system_user_grant_gets_the_documented_token(box: MpBox) -> None:
    response = box.token_response(SUPPLIER, SSG, authorization_details=[systemuser_request(ORG_CUSTOMER)])
    claims = claims_of(response["access_token"])
    (detail,) = claims["authorization_details"]
    assert set(detail) == {"type", "systemuser_id", "systemuser_org", "system_id"}
    assert detail["type"] == "urn:altinn:systemuser"
    assert detail["systemuser_org"] == {"authority": "iso6523-actorid-upis", "ID": f"0192:{ORG_CUSTOMER}"}
    assert [str(uuid.UUID(i)) for i in detail["systemuser_id"]] == detail["systemuser_id"] and detail["systemuser_id"]
    assert detail["system_id"] == f"{ORG_SUPPLIER}_{SUPPLIER.client_id}"
    # the vendor is the consumer; the customer is only in systemuser_org
    assert claims["consumer"] == org(ORG_SUPPLIER) and "supplier" not in claims
    assert claims["scope"] == SSG and response["scope"] == SSG


def test_the_system_user_id_is_the_same_on_every_start(tmp_path: Path) -> None:
    ids = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        registry = Registry.build(1, write(tmp_path / name, document()))
        ids.append([u.id for u in registry.system_users_for(SUPPLIER.client_id, ORG_CUSTOMER)])
    assert ids[0] == ids[1] and len(ids[0]) == 1


def test_an_external_ref_of_the_system_user_request_must_be_sent(box: MpBox) -> None:
    token = box.token(SUPPLIER, SSG, authorization_details=[systemuser_request(ORG_DELEGATED, "kunde-42")])
    (detail,) = claims_of(token)["authorization_details"]
    assert detail["systemuser_id"] == ["3f0c8a4e-5b1d-4c7e-9a2f-1d2e3f4a5b6c"]
    assert detail["system_id"] == f"{ORG_SUPPLIER}_fagsystem"
    text = refused(box, "MP-303", "invalid_altinn_customer_configuration",
                   authorization_details=[systemuser_request(ORG_DELEGATED)])
    assert "no externalRef" in text
    text = refused(box, "MP-303", "invalid_altinn_customer_configuration",
                   authorization_details=[systemuser_request(ORG_DELEGATED, "kunde-43")])
    assert "'kunde-43'" in text
    # a system user requested without one has the customer's orgnr as its reference (Altinn's default)
    box.token(SUPPLIER, SSG, authorization_details=[systemuser_request(ORG_CUSTOMER, ORG_CUSTOMER)])


def test_no_system_user_for_the_customer_is_mp_303(box: MpBox) -> None:
    text = refused(box, "MP-303", "invalid_altinn_customer_configuration",
                   authorization_details=[systemuser_request(ORG_NO_SYSTEM_USER)])
    assert ORG_NO_SYSTEM_USER in text
    # another client of the same org is another system: its customers' system users are not this one's
    refused(box, "MP-303", "invalid_altinn_customer_configuration", client=KOMMUNE,
            authorization_details=[systemuser_request(ORG_CUSTOMER)])


def test_a_system_user_with_consumer_org_is_refused(box: MpBox) -> None:
    text = refused(box, "MP-011", "invalid_request", consumer_org=ORG_DELEGATED,
                   authorization_details=[systemuser_request(ORG_CUSTOMER)])
    assert "consumer_org" in text


SU = {"type": "urn:altinn:systemuser", "systemuser_org": {"authority": "iso6523-actorid-upis",
                                                          "ID": f"0192:{ORG_CUSTOMER}"}}
CO = {"type": "urn:altinn:consent", "id": CONSENT_ID, "from": f"urn:altinn:person:identifier-no:{FNR}"}


@pytest.mark.parametrize(("details", "code", "fragment"), [
    ([{"type": "urn:altinn:fullmakt"}], "MP-301", "Unknown authorization details type"),
    ([{"systemuser_org": SU["systemuser_org"]}], "MP-301", "Unknown authorization details type"),
    ([{**SU, "systemuserorg": SU["systemuser_org"]}], "MP-302", "systemuserorg"),
    ([{**SU, "externalref": "x"}], "MP-302", "externalref"),
    ([{**CO, "to": ORG_KOMMUNE}], "MP-302", "to"),
    (SU, "MP-303", "JSON array"),
    ([], "MP-303", "JSON array"),
    (["urn:altinn:systemuser"], "MP-303", "JSON object"),
    ([SU, SU], "MP-303", "one element per grant"),
    ([{**SU, "systemuser_org": {"authority": "iso6523-actorid-upis", "id": f"0192:{ORG_CUSTOMER}"}}], "MP-303",
     "systemuser_org"),
    ([{**SU, "systemuser_org": {"authority": "iso6523-actorid-upis", "ID": ORG_CUSTOMER}}], "MP-303",
     "systemuser_org"),
    ([{**SU, "systemuser_org": f"0192:{ORG_CUSTOMER}"}], "MP-303", "systemuser_org"),
    ([{**SU, "externalRef": 42}], "MP-303", "externalRef"),
    ([{**SU, "externalRef": "x" * 256}], "MP-303", "externalRef"),
    ([{**SU, "externalRef": " "}], "MP-303", "externalRef"),
    ([{**CO, "id": "not-a-uuid"}], "MP-303", "UUID"),
    ([{**CO, "id": None}], "MP-303", "UUID"),
    ([{**CO, "id": "0a7d59f88c62-4312-9fb4-62456664c96f-"}], "MP-303", "UUID"),
    ([{**CO, "id": "{0a7d59f8-8c62-4312-9fb4-62456664c96f}"}], "MP-303", "UUID"),
    ([{**CO, "from": FNR}], "MP-303", "from must be"),
    ([{**CO, "from": "urn:altinn:person:identifier-no:15838512672"}], "MP-303", "from must be"),
    ([{"type": "urn:altinn:consent", "id": CONSENT_ID}], "MP-303", "from must be"),
])
def test_bad_authorization_details_get_the_documented_code(box: MpBox, details: Any, code: str,
                                                           fragment: str) -> None:
    text = refused(box, code, "invalid_authorization_details", client=KOMMUNE, authorization_details=details)
    assert fragment in text
    # the journal's verdict names the rule the grant broke, not only that it was refused
    entry = box.sandbox.journal.entries()[-1]
    assert entry["conforms"] is False
    if str(entry["grant"]["claims"]["authorization_details"]).endswith("bytes, not kept>"):
        return  # too large for the journal to keep (256 bytes): the verdict says only that it was refused
    assert any(f"authorization_details break Maskinporten's rules ({code})" in p for p in entry["problems"]), entry


def test_a_good_element_conforms_even_when_altinn_has_no_match(box: MpBox) -> None:
    """The request was right; only the sandbox's world lacks the system user: the verdict says refused."""
    refused(box, "MP-303", "invalid_altinn_customer_configuration",
            authorization_details=[systemuser_request(ORG_NO_SYSTEM_USER)])
    entry = box.sandbox.journal.entries()[-1]
    assert not any("authorization_details" in p for p in entry["problems"]), entry
    box.token(SUPPLIER, SSG, authorization_details=[systemuser_request(ORG_CUSTOMER)])
    assert box.sandbox.journal.entries()[-1]["conforms"] is True


def test_a_tokeninfo_call_without_client_authentication_does_not_conform(box: MpBox) -> None:
    box.client.post(TOKENINFO, data={"token": box.token()})
    entry = box.sandbox.journal.entries()[-1]
    assert entry["conforms"] is False
    assert any("does not authenticate the client" in p for p in entry["problems"]), entry


# --- consents ------------------------------------------------------------------------------------------
def test_a_consent_grant_gets_the_documented_token(box: MpBox) -> None:
    token = box.token(KOMMUNE, SSG, authorization_details=[consent_request(CONSENT_ID, FNR)])
    claims = claims_of(token)
    (detail,) = claims["authorization_details"]
    assert detail == {
        "type": "urn:altinn:consent", "id": CONSENT_ID, "from": f"urn:altinn:person:identifier-no:{FNR}",
        "to": {"authority": "iso6523-actorid-upis", "ID": f"0192:{ORG_KOMMUNE}"},
        "consented": "2026-11-01T08:00:00.000000+00:00", "validTo": "2027-12-31T23:00:00.000000+00:00",
        "consentRights": [{"action": ["consent"],
                           "resource": [{"type": "urn:altinn:resource", "value": "ske-sandbox-samtykke"}],
                           "metadata": {"inntektsaar": "2024"}}],
    }
    assert claims["consumer"] == detail["to"]  # Digdir: consumer must equal to


def test_a_consent_that_does_not_hold_is_mp_303(box: MpBox) -> None:
    unknown = str(uuid.UUID(int=7))
    assert "No consent" in refused(box, "MP-303", "invalid_authorization_details", client=KOMMUNE,
                                   authorization_details=[consent_request(unknown, FNR)])
    assert "No consent" in refused(box, "MP-303", "invalid_authorization_details", client=KOMMUNE,
                                   authorization_details=[consent_request(CONSENT_ID, OTHER_FNR)])
    assert "expired" in refused(box, "MP-303", "invalid_authorization_details", client=KOMMUNE,
                                authorization_details=[consent_request(EXPIRED_ID, FNR)])
    # given to the municipality, asked for by a vendor acting for itself
    assert f"not to the consumer {ORG_SUPPLIER}" in refused(
        box, "MP-303", "invalid_authorization_details", authorization_details=[consent_request(CONSENT_ID, FNR)])


# --- the Skatteetaten APIs -----------------------------------------------------------------------------
def test_the_data_apis_refuse_a_system_user_token(box: MpBox) -> None:
    token = box.token(SUPPLIER, f"{SSG} {INNTEKT}", authorization_details=[systemuser_request(ORG_CUSTOMER)])
    assert_ske_error(box.api(SSG_URL, token), 403, "SSG-005", "Systembruker")
    assert_ske_error(box.api(INNTEKT_URL, token), 403, "IM-005", "Systembruker")
    # an API that documents no 403 answers its authentication code
    assert_ske_error(box.api(f"/sistetilgjengeligeskatteoppgjoer/v1/{FNR}", token), 401, "TD-002", "Systembruker")
    # the same vendor with the customer's delegation instead reads the data
    delegated = box.token(SUPPLIER, SSG, consumer_org=ORG_DELEGATED)
    assert box.api(SSG_URL, delegated).status_code == 200


def test_a_consent_token_stands_for_the_altinn_samtykke_header(box: MpBox) -> None:
    plain = box.token(KOMMUNE, f"{SSG} {INNTEKT}")
    assert_ske_error(box.api(SBL_SSG_URL, plain), 403, "SSG-010", "samtykke")
    token = box.token(KOMMUNE, f"{SSG} {INNTEKT}", authorization_details=[consent_request(CONSENT_ID, FNR)])
    r = box.api(SBL_SSG_URL, token)
    assert r.status_code == 200 and r.json()["personidentifikator"] == FNR, r.text
    r = box.api(SBL_INNTEKT_URL, token)
    assert r.status_code == 200 and r.json()["oppgaveInntektsmottaker"], r.text
    other = f"/summertskattegrunnlag/v2/oppgjoer/sbl/2024/{OTHER_FNR}"
    assert_ske_error(box.api(other, token), 403, "SSG-010", f"ikke av personen {OTHER_FNR}")


def test_a_consent_token_past_valid_to_is_refused_by_the_api(tmp_path: Path) -> None:
    clock = Clock(source=lambda: T0)
    doc = document()
    doc["consents"][0]["valid_to"] = dt.datetime.fromtimestamp(T0 + 60, dt.UTC).isoformat()
    b = MpBox(make_settings(write(tmp_path, doc), clock=clock))
    token = b.token(KOMMUNE, SSG, authorization_details=[consent_request(CONSENT_ID, FNR)])
    assert b.api(SBL_SSG_URL, token).status_code == 200
    clock.advance(61)
    assert_ske_error(b.api(SBL_SSG_URL, token), 403, "SSG-010", "gikk ut")


# --- /tokeninfo ----------------------------------------------------------------------------------------
def client_assertion(box: MpBox, client: Any = KOMMUNE, **claims: Any) -> str:
    body = {"aud": box.issuer, "iss": client.client_id, "sub": client.client_id, "iat": box.now(),
            "exp": box.now() + 60, "jti": str(uuid.uuid4()), **claims}
    return jwt.encode(body, pem(client.key), algorithm="RS256", headers={"kid": client.kid})


def tokeninfo(box: MpBox, token: str | None, **form: str | None) -> Any:
    data = {"token": token, "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": client_assertion(box), **form}
    return box.client.post(TOKENINFO, data={k: v for k, v in data.items() if v is not None})


def test_tokeninfo_answers_active_with_the_tokens_claims(box: MpBox) -> None:
    token = box.token(SUPPLIER, SSG, authorization_details=[systemuser_request(ORG_CUSTOMER)])
    r = tokeninfo(box, token)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store", r.text
    body = r.json()
    claims = claims_of(token)
    assert body == {"active": True, **claims, "expires_in": claims["exp"] - T0}
    assert body["token_type"] == "Bearer" and body["client_id"] == SUPPLIER.client_id
    assert body["authorization_details"][0]["type"] == "urn:altinn:systemuser"
    # the journal holds the call to the contract's tokeninfo operation, and finds it conforming
    (entry,) = [e for e in box.sandbox.journal.entries() if e["path"] == "/tokeninfo"]
    assert entry["conforms"] is True and entry["outcome"] == "active", entry
    assert set(entry["form"]) >= {"token", "client_assertion"} and token not in str(entry)


def test_tokeninfo_answers_inactive_for_anything_but_a_live_token(tmp_path: Path) -> None:
    clock = Clock(source=lambda: T0)
    b = MpBox(make_settings(write(tmp_path, document()), clock=clock))
    token = b.token()
    header, payload, _ = token.split(".")
    foreign = jwt.encode(claims_of(token), pem(rsa_key("foreign")), algorithm="RS256",
                         headers={"kid": jwt.get_unverified_header(token)["kid"]})
    unsigned = b64url({"alg": "none", "kid": jwt.get_unverified_header(token)["kid"]})
    huge_exp = b64url(b'{"exp":1e400}')
    hostile = [b64url({"kid": [1]}) + ".e30.x", b64url(b"\xff\xfe") + ".e30.", "x" * 5000, "....",
               f"{unsigned}.{huge_exp}."]
    for bad in ("not-a-token", foreign, f"{header}.{payload}.", token[:-4] + "AAAA", *hostile):
        r = tokeninfo(b, bad)
        assert r.status_code == 200 and r.json() == {"active": False}, (bad, r.text)
    assert tokeninfo(b, token).json()["active"] is True
    clock.advance(b.sandbox.registry.clients[KOMMUNE.client_id].access_token_lifetime)
    assert tokeninfo(b, token).json() == {"active": False}


@pytest.mark.parametrize(("form", "code", "error"), [
    ({"token": None}, "MP-011", "invalid_request"),
    ({"token": ""}, "MP-011", "invalid_request"),
    ({"client_assertion": None}, "MP-011", "invalid_client"),
    ({"client_assertion_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}, "MP-011", "invalid_client"),
    ({"client_assertion": "x.y.z"}, "MP-011", "invalid_client"),
])
def test_tokeninfo_refuses_a_bad_request(box: MpBox, form: dict[str, Any], code: str, error: str) -> None:
    r = tokeninfo(box, **{"token": box.token(), **form})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"] == error and body["error_uri"].endswith(code) and TRACE_ID.search(body["error_description"])


def test_tokeninfo_checks_the_client_assertion_as_a_grant(box: MpBox) -> None:
    token = box.token()
    wrong_aud = client_assertion(box, aud="https://test.maskinporten.no/")
    r = tokeninfo(box, token, client_assertion=wrong_aud)
    assert r.status_code == 400 and r.json()["error"] == "invalid_client" and r.json()["error_uri"].endswith("MP-110")
    reused = client_assertion(box)
    assert tokeninfo(box, token, client_assertion=reused).status_code == 200
    r = tokeninfo(box, token, client_assertion=reused)
    assert r.status_code == 400 and r.json()["error_uri"].endswith("MP-012")
    forged = jwt.encode(claims_of(client_assertion(box)), pem(rsa_key("forger")), algorithm="RS256",
                        headers={"kid": KOMMUNE.kid})
    r = tokeninfo(box, token, client_assertion=forged)
    assert r.status_code == 400 and r.json()["error_uri"].endswith("MP-124")
    r = box.client.post(TOKENINFO, json={"token": token})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_the_error_uris_of_the_new_codes_explain_them(box: MpBox) -> None:
    for code, error in (("MP-301", "invalid_authorization_details"), ("MP-302", "invalid_authorization_details"),
                        ("MP-303", "invalid_altinn_customer_configuration")):
        r = box.client.get(f"/maskinporten/errors/{code}")
        assert r.status_code == 200 and error in r.text and code in r.text, r.text


def test_discovery_names_the_authorization_details_types(box: MpBox) -> None:
    meta = box.client.get("/maskinporten/.well-known/oauth-authorization-server").json()
    assert meta["authorization_details_types_supported"] == ["urn:altinn:systemuser", "urn:altinn:consent"]
    assert "introspection_endpoint" not in meta  # Digdir's published metadata names none


# --- the clients file ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("change", "fragment"), [
    (lambda d: d["system_users"].append({"client_id": "nobody", "orgnr": ORG_CUSTOMER}), "not a client"),
    (lambda d: d["system_users"].append({"client_id": SUPPLIER.client_id, "orgnr": "123"}), "orgnr"),
    (lambda d: d["consents"].append({**d["consents"][0]}), "used twice"),
    (lambda d: d["consents"].append({**d["consents"][0], "id": "nope"}), "id"),
    (lambda d: d["consents"].append({**d["consents"][0], "id": str(uuid.UUID(int=9)), "from": "15838512672"}),
     "fødselsnummer"),
    (lambda d: d["consents"].append({**d["consents"][0], "id": str(uuid.UUID(int=9)), "valid_to": "soon"}),
     "ISO 8601"),
    (lambda d: d["consents"].append({"id": str(uuid.UUID(int=9)), "from": FNR}), "to"),
])
def test_a_bad_system_user_or_consent_entry_is_named(tmp_path: Path, change: Any, fragment: str) -> None:
    doc = document()
    change(doc)
    with pytest.raises(RegistryError) as info:
        Registry.build(1, write(tmp_path, doc))
    assert fragment in str(info.value) and "clients.yaml:" in str(info.value)


def test_the_kit_asks_for_a_system_user_token(tmp_path: Path) -> None:
    """The pytest kit's grant takes authorization_details like any claim; the demo client, a system."""
    from mockserver.testkit.kit import SandboxKit

    doc = {"system_users": [{"client_id": "ske-sandbox-demo-1", "orgnr": ORG_CUSTOMER}]}
    kit = SandboxKit(make_settings(write(tmp_path, doc), clock=frozen_clock()))
    token = kit.token(authorization_details=[systemuser_request(ORG_CUSTOMER)])
    assert claims_of(token)["authorization_details"][0]["systemuser_org"]["ID"] == f"0192:{ORG_CUSTOMER}"
