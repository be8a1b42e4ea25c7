"""Domain-aware narrowing of the contracts' response schemas, for generated answers.

A schema generator left alone draws random text for `tekniskNavn` and rarely hits 0 or a huge amount.
The refinements below steer it to what breaks real clients: names from the code lists mixed with
names no list contains (the lists change every year), unknown `kategori` values, amounts at the
edges, and a field the client has never seen. Every refinement is a subset of the contract's own
schema, so whatever is drawn from it stays contract-valid. Used by both the Hypothesis strategies
(testkit) and the seeded `serve --responses generated` mode.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from .resources import fixtures_dir

KNOWN_KATEGORI = ("inntekt", "formue", "inntektsfradrag", "formuesfradrag",
                  "verdsettingsrabattSomGirGjeldsreduksjon", "oppjusteringAvEierinntekter", "-")
# Names no code list holds: the lists are camelCase words, none of them begins with "ukjent".
UNKNOWN_NAME = "^ukjent[A-Z][a-zA-Z]{2,24}$"
UNKNOWN_FIELD = "nyttFeltFraAarsrevisjon"
EXTREME_INTEGERS = (0, 1, -1, 2**31 - 1, 2**31, -(2**31) - 1, 10**12, -(10**12), 2**53 - 1, -(2**53 - 1))
PLAIN_INTEGERS = {"type": "integer", "minimum": -2_000_000, "maximum": 20_000_000}
MAX_ITEMS = 3  # keeps a drawn body small enough for hundreds of examples in seconds


@lru_cache(maxsize=1)
def known_tekniske_navn() -> tuple[str, ...]:
    doc = json.loads((fixtures_dir() / "summertskattegrunnlag-tekniskenavn.json").read_text(encoding="utf-8"))
    return tuple(sorted({row["tekniskNavn"] for year, rows in doc.items() if year.isdigit() for row in rows}))


@lru_cache(maxsize=1)
def known_beskrivelser() -> tuple[str, ...]:
    doc = json.loads((fixtures_dir() / "inntekt-beskrivelser.json").read_text(encoding="utf-8"))
    names = {row["verdi"] for key, rows in doc.items() if not key.startswith(("_", "aarsrevisjon"))
             and isinstance(rows, list) for row in rows if isinstance(row, dict) and "verdi" in row}
    return tuple(sorted(names))


# A code-list field is marked with a format of our own: validators ignore unknown formats, and a generator
# maps it to "known name, unknown name or any text" without carrying a 400-item enum through the schema.
NAME_FORMAT = "ske-sandbox-name:"


def name_lists() -> dict[str, tuple[str, ...]]:
    """Known values of each code-list field, by the format `refine` marks the field with."""
    return {NAME_FORMAT + "tekniskNavn": known_tekniske_navn(), NAME_FORMAT + "beskrivelse": known_beskrivelser(),
            NAME_FORMAT + "kategori": KNOWN_KATEGORI}


def _integer(schema: dict[str, Any]) -> dict[str, Any]:
    low, high = schema.get("minimum"), schema.get("maximum")
    edges = [n for n in EXTREME_INTEGERS if (low is None or n >= low) and (high is None or n <= high)]
    plain = {**PLAIN_INTEGERS, **{k: v for k, v in schema.items() if k in ("minimum", "maximum")}}
    return {"anyOf": [{"enum": edges}, plain]} if edges else schema


def refine(schema: Any, field: str | None = None) -> Any:
    """The contract schema narrowed to domain-shaped values; `field` is the property it describes."""
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") == "string" and "enum" not in schema and "pattern" not in schema \
            and "format" not in schema:
        if field in ("tekniskNavn", "beskrivelse", "kategori"):
            return {**schema, "format": NAME_FORMAT + field}
        return {**schema, "maxLength": min(schema.get("maxLength", 40), 40)}
    if schema.get("type") == "integer" and "enum" not in schema:
        return _integer(schema)
    out = dict(schema)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in out:
            out[key] = [refine(sub, field) for sub in out[key]]
    if out.get("type") == "array":
        out["items"] = refine(out.get("items", {}), field)
        out["maxItems"] = min(out.get("maxItems", MAX_ITEMS), max(MAX_ITEMS, out.get("minItems", 0)))
    if "properties" in out:
        props = {name: refine(sub, name) for name, sub in out["properties"].items()}
        if "additionalProperties" not in out:
            # the contract allows unknown fields: offer one with a readable name instead of random keys
            props.setdefault(UNKNOWN_FIELD, {"type": "string", "maxLength": 20})
            out["additionalProperties"] = False
        out["properties"] = props
    return out
