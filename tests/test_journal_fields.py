"""Every key a journal entry can carry is documented: in the control API's JournalEntry schema (which the
entries the server hands out then match) and in docs/testkit.md. Entries of many kinds are recorded —
token calls good and bad, data calls, a forced scenario, a delay, a 429 in a new example, a network fault,
a refused call — and no key of theirs, at any depth, may be missing from the schema."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from test_kit_routing import GRANT_TYPE, IM_URL, SSG_URL, vendor_grant  # noqa: I001

from mockserver.journal_limits import KNOWN_CLAIMS

ROOT = Path(__file__).resolve().parents[1]
CONTROL = yaml.safe_load((ROOT / "mockserver" / "control" / "openapi.yaml").read_text())
ENTRY = CONTROL["components"]["schemas"]["JournalEntry"]
GOOD = {"fraOgMed": "2026-08", "tilOgMed": "2026-10"}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = CONTROL
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def undocumented(value: Any, schema: dict[str, Any], at: str = "entry") -> list[str]:
    """Keys of `value` (at any depth) that the schema does not list, where it lists an object's keys."""
    schema = _resolve(schema)
    if "oneOf" in schema:
        fits = [s for s in map(_resolve, schema["oneOf"]) if jsonschema.Draft202012Validator(s).is_valid(value)]
        return undocumented(value, fits[0], at) if fits else [f"{at}: fits no documented form"]
    out: list[str] = []
    if isinstance(value, dict):
        props, extra = schema.get("properties"), schema.get("additionalProperties")
        for key, sub in value.items():
            if props is not None and key in props:
                out += undocumented(sub, props[key], f"{at}.{key}")
            elif isinstance(extra, dict):
                out += undocumented(sub, extra, f"{at}.{key}")
            elif props is not None and "propertyNames" not in schema:
                out.append(f"{at}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            out += undocumented(item, schema["items"], f"{at}[{i}]")
    return out


@pytest.fixture
def entries(ske_sandbox) -> list[dict[str, Any]]:
    """The server's journal (as GET /__sandbox/journal hands it out) after calls of every kind."""
    with httpx.Client() as http:
        r = http.post("https://test.maskinporten.no/token",
                      data={"grant_type": GRANT_TYPE, "assertion": vendor_grant(ske_sandbox)})
        token = r.json()["access_token"]
        http.post("https://test.maskinporten.no/token", data={"grant_type": GRANT_TYPE, "assertion": "not-a-jwt"})
        http.get("https://test.maskinporten.no/.well-known/oauth-authorization-server")
        auth = {"Authorization": f"Bearer {token}"}
        assert http.get(SSG_URL, headers=auth).status_code == 200
        assert http.get(IM_URL, params=GOOD).status_code == 401  # refused: no token
        assert http.get(IM_URL, params=GOOD, headers={**auth, "Accept": "application/xml"}).status_code == 200
        with ske_sandbox.scenario("SSG-008"):
            assert http.get(SSG_URL, headers=auth).status_code == 404
        with ske_sandbox.scenario("slow:1ms", api="inntekt"):
            assert http.get(IM_URL, params=GOOD, headers=auth).status_code == 200
        with ske_sandbox.scenario("429", api="inntekt"):
            assert http.get(IM_URL, params=GOOD, headers=auth).status_code == 429
        with ske_sandbox.scenario("reset", api="inntekt"), pytest.raises(httpx.TransportError):
            http.get(IM_URL, params=GOOD, headers=auth)
    assert ske_sandbox.client.delete("/maskinporten/token").status_code == 405  # no code, no JSON: outcome null
    r = ske_sandbox.client.get("/__sandbox/journal")
    assert r.status_code == 200
    return r.json()


def test_every_key_of_every_recorded_entry_is_in_the_schema(entries):
    assert len(entries) == 11
    validator = jsonschema.Draft202012Validator({"components": CONTROL["components"],
                                                 "$ref": "#/components/schemas/JournalEntry"})
    for entry in entries:
        assert undocumented(entry, ENTRY) == [], entry
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(entry)]
        assert errors == [], entry


def test_the_calls_recorded_use_every_documented_key(entries):
    """The other way round: a documented key no kind of call produces would be a stale promise."""
    seen = {key for entry in entries for key in entry}
    assert seen == set(ENTRY["properties"])
    forced = [e for e in entries if e.get("forced_by") == "network-fault"]
    assert forced and forced[0]["status"] is None
    assert entries[-1]["outcome"] is None and entries[-1]["environment"] == "sandbox"


def test_the_undocumented_key_check_can_fail():
    assert undocumented({"seq": 1, "surprise": True}, ENTRY) == ["entry.surprise"]
    assert undocumented({"headers": {"authorization": {"scheme": "Bearer", "claims": None, "x": 1}}}, ENTRY) == [
        "entry.headers.authorization.x"]


def test_the_documented_claims_are_the_ones_kept():
    claims = CONTROL["components"]["schemas"]["JournalClaims"]["propertyNames"]["enum"]
    assert claims == list(KNOWN_CLAIMS)


def test_the_docs_page_describes_every_key():
    text = (ROOT / "docs" / "testkit.md").read_text()
    section = text[text.index("## The journal"):]
    section = section[:section.index("\n## ", 1)] if "\n## " in section[1:] else section
    described = set(re.findall(r"^\| `([a-z_]+)`", section, flags=re.MULTILINE))
    assert described >= set(ENTRY["properties"]), set(ENTRY["properties"]) - described
