"""The kit's Hypothesis strategies: every drawn body is valid against its contract, and the domain edges
(unknown names, absent fields, empty lists, extreme amounts, every documented code) are actually drawn."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from functools import cache

import jsonschema
import pytest
from hypothesis import given, settings

from mockserver import contractschema, variants
from mockserver.testkit.strategies import DrawnResponse, responses

SETTINGS = settings(max_examples=200, deadline=None, database=None, derandomize=True)


@cache
def validator(api: str, status: int) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(contractschema.response_schema(api, status),
                                           format_checker=jsonschema.FormatChecker())


def check(drawn: DrawnResponse) -> None:
    validator(drawn.api, drawn.status).validate(drawn.body)
    if drawn.status >= 400 and drawn.api in contractschema.DATA_APIS:
        assert drawn.body["kode"] in contractschema.error_codes(drawn.api, drawn.status)
        assert drawn.headers["Korrelasjonsid"] == drawn.body["korrelasjonsid"]


@pytest.mark.slow
@pytest.mark.parametrize("api", contractschema.APIS)
@pytest.mark.parametrize("status, examples", [(200, 200), ("error", 200)])
def test_every_drawn_body_is_contract_valid(api, status, examples):
    seen = Counter()

    @settings(SETTINGS, max_examples=examples)
    @given(drawn=responses(api, status))
    def run(drawn):
        check(drawn)
        seen[drawn.status] += 1

    run()
    assert sum(seen.values()) >= examples
    if status == "error":
        assert set(seen) == set(contractschema.error_statuses(api)), "every documented error status is drawn"


@pytest.mark.parametrize("api", contractschema.DATA_APIS)
def test_xml_renders_as_the_sandbox_does(api):
    root, namespace = contractschema.xml_name(api)

    @settings(SETTINGS, max_examples=30)
    @given(drawn=responses(api, "any", media="xml"))
    def run(drawn):
        element = ET.fromstring(drawn.content())
        expected = root if drawn.status == 200 else "feil"
        assert element.tag.endswith("}" + expected)
        assert drawn.headers["Content-Type"].startswith("application/xml")
        if drawn.status == 200:
            assert element.tag == f"{{{namespace}}}{root}"

    run()


def walk(value, key=None):
    yield key, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v, key)


@pytest.mark.slow
def test_domain_edges_are_drawn():
    """Counted over a fixed set of draws: the shapes that broke real clients all occur."""
    found = Counter()
    known = set(variants.known_tekniske_navn())

    @settings(SETTINGS, max_examples=80)
    @given(ssg=responses("summertskattegrunnlag"), inn=responses("inntekt"))
    def run(ssg, inn):
        for key, value in [*walk(ssg.body), *walk(inn.body)]:
            if key == "tekniskNavn":
                found["known name" if value in known else "unknown name"] += 1
            if key == "kategori" and value not in variants.KNOWN_KATEGORI:
                found["unknown kategori"] += 1
            if isinstance(value, int) and not isinstance(value, bool):
                found["zero" if value == 0 else "negative" if value < 0 else "huge" if value >= 2**31 else "n"] += 1
            if isinstance(value, list) and not value:
                found["empty list"] += 1
            if key == variants.UNKNOWN_FIELD:
                found["unknown field"] += 1
        for oppgave in inn.body["oppgaveInntektsmottaker"]:
            if "kalendermaaned" not in oppgave:
                found["oppgave without kalendermaaned"] += 1
        if "grunnlag" not in ssg.body:
            found["no grunnlag"] += 1

    run()
    wanted = {"known name", "unknown name", "unknown kategori", "zero", "negative", "huge", "empty list",
              "unknown field", "oppgave without kalendermaaned", "no grunnlag"}
    assert wanted <= set(found), f"never drawn: {wanted - set(found)}"


def test_every_documented_code_is_drawn():
    codes = Counter()

    @settings(SETTINGS, max_examples=150)
    @given(drawn=responses("summertskattegrunnlag", "error"))
    def run(drawn):
        codes[drawn.body["kode"]] += 1

    run()
    documented = {c for s in contractschema.error_statuses("summertskattegrunnlag")
                  for c in contractschema.error_codes("summertskattegrunnlag", s)}
    assert documented == {f"SSG-{n:03d}" for n in range(1, 12)}
    assert set(codes) == documented


def test_maskinporten_error_pairs_code_and_error():
    pairs = set(contractschema.maskinporten_errors())

    @settings(SETTINGS, max_examples=50)
    @given(drawn=responses("maskinporten", 400))
    def run(drawn):
        check(drawn)
        assert (drawn.body["error_uri"].rsplit("/", 1)[1], drawn.body["error"]) in pairs
        assert drawn.headers["Cache-Control"] == "no-store"

    run()


@pytest.mark.parametrize("args, message", [
    (("skatt",), "unknown API"), (("inntekt", 302), "documents no status 302"),
    (("inntekt", "some"), "status must be"), (("inntekt", 200, "yaml"), "media must be"),
    (("maskinporten", 200, "xml"), "no application/xml body"),
])
def test_bad_arguments_say_what_is_wrong(args, message):
    with pytest.raises(ValueError, match=message):
        responses(*args)


@pytest.mark.subprocess
def test_the_kit_is_not_loaded_with_the_server():
    """`import mockserver` (server, CLI, generated mode) must not pull in Hypothesis or schemathesis."""
    import subprocess
    import sys

    code = ("import sys, mockserver.app, mockserver.cli, mockserver.generated; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('hypothesis', 'hypothesis_jsonschema', 'schemathesis', 'respx', 'pytest') "
            "or m.startswith('mockserver.testkit')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
