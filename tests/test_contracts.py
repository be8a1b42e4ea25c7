"""The contracts are valid OpenAPI, and Skatteetaten's published examples conform to them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate

from mockserver.resources import contracts_dir

CONTRACTS = sorted(contracts_dir().glob("*.yaml"))
EXAMPLES_LOCAL = Path(__file__).resolve().parent / "published_examples"


def _doc(name: str) -> dict:
    return yaml.safe_load((contracts_dir() / name).read_text())


def schema_validator(doc: dict, component: str) -> jsonschema.Validator:
    schema = {"$ref": f"#/components/schemas/{component}", "components": doc["components"]}
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def test_there_is_a_contract_per_service():
    assert {p.stem for p in CONTRACTS} == {
        "maskinporten", "summertskattegrunnlag", "inntekt", "sistetilgjengeligeskatteoppgjoer",
        "skatteoppgjoerhendelser", "inntekthendelser", "tenor"}


@pytest.mark.parametrize("path", CONTRACTS, ids=[p.stem for p in CONTRACTS])
def test_contract_is_valid_openapi(path):
    validate(yaml.safe_load(path.read_text()))


PUBLISHED = [
    ("summertskattegrunnlag-2023-v2.json", "summertskattegrunnlag.yaml", "SummertSkattegrunnlag"),
    ("inntekt-example.json", "inntekt.yaml", "InntektResponse"),
    ("sistetilgjengeligeskatteoppgjoer-example.json", "sistetilgjengeligeskatteoppgjoer.yaml",
     "SisteTilgjengeligeSkatteoppgjoer"),
    ("hendelser-inntekt-example.json", "inntekthendelser.yaml", "Hendelser"),
    # the skattemelding fastsatt feed's item: Skatteetaten documents the skatteoppgjør feed's as the same shape
    ("hendelser-skattemelding-fastsatt-example.json", "skatteoppgjoerhendelser.yaml", "Hendelser"),
    ("hendelser-start-example.json", "skatteoppgjoerhendelser.yaml", "Sekvensnummer"),
    ("hendelser-start-example.json", "inntekthendelser.yaml", "Sekvensnummer"),
    ("feil-example.json", "summertskattegrunnlag.yaml", "Feil"),
    ("feil-example.json", "inntekt.yaml", "Feil"),
]


@pytest.mark.parametrize("example,contract,component", PUBLISHED, ids=[f"{p[0]}:{p[1]}" for p in PUBLISHED])
def test_published_example_conforms(example, contract, component):
    body = json.loads((EXAMPLES_LOCAL / example).read_text())
    errors = list(schema_validator(_doc(contract), component).iter_errors(body))
    assert errors == []


def test_a_v1_shaped_body_does_not_conform_to_v2():
    """The contract is not vacuous: V1's kategori array is rejected by the V2 schema."""
    body = json.loads((EXAMPLES_LOCAL / "summertskattegrunnlag-2023-v2.json").read_text())
    body["grunnlag"][0]["kategori"] = ["inntekt"]
    assert list(schema_validator(_doc("summertskattegrunnlag.yaml"), "SummertSkattegrunnlag").iter_errors(body))


def test_the_examples_are_the_published_bytes():
    """SHA256SUMS holds the digests of Skatteetaten's published examples as downloaded; an edited copy
    would let a contract drift from what the service really answers."""
    listed = dict(line.split()[::-1] for line in (EXAMPLES_LOCAL / "SHA256SUMS").read_text().splitlines())
    present = {p.name for p in EXAMPLES_LOCAL.iterdir() if p.name != "SHA256SUMS"}
    assert set(listed) == present
    for name, digest in listed.items():
        assert hashlib.sha256((EXAMPLES_LOCAL / name).read_bytes()).hexdigest() == digest, name
