"""Hypothesis strategies for every documented answer of the contracts, for property tests of client code.

    from mockserver.testkit.strategies import responses

    @given(drawn=responses("inntekt", status=200, media="xml"))
    def test_parser_survives(drawn): parse(drawn.content())

Bodies come from the contracts' schemas (`contracts/`), narrowed by `mockserver.variants` to what breaks
clients: unknown code-list names, optional fields left out, empty lists, amounts at the edges, and every
documented error code with its status. Objects and lists are composed here with Hypothesis' own
collection strategies and each leaf is drawn by hypothesis-jsonschema: its object strategy re-canonicalises
nested schemas on every draw, which costs seconds per example for bodies as deep as Inntekt's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jsonschema
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from hypothesis_jsonschema import from_schema

from .. import contractschema, variants
from ..representation import JSON, XML, encode_json, to_xml

MEDIA = {"json": JSON, "xml": XML, JSON: JSON, XML: XML}
MASKINPORTEN_ISSUERS = ("https://test.maskinporten.no/", "https://maskinporten.no/")


@dataclass(frozen=True)
class DrawnResponse:
    """One generated answer: what a real service could send for `api` at `status`."""

    status: int
    body: dict[str, Any]
    media: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    api: str = "summertskattegrunnlag"

    def content(self) -> bytes:
        """The body on the wire, rendered as the sandbox renders it (XML root and namespace included)."""
        if self.media == XML:
            root, namespace = contractschema.xml_name(self.api, self.status)
            return to_xml(root, namespace, self.body, contractschema.xml_items(self.api, self.status))
        return encode_json(self.body)


def _names(fmt: str) -> SearchStrategy[str]:
    known = variants.name_lists()[fmt]
    return st.one_of(st.sampled_from(known), st.from_regex(variants.UNKNOWN_NAME, fullmatch=True),
                     st.text(max_size=30))


def _leaf(schema: dict[str, Any]) -> SearchStrategy[Any]:
    fmt = schema.get("format", "")
    if fmt.startswith(variants.NAME_FORMAT):
        return _names(fmt)
    if fmt == "uuid":
        return st.uuids().map(str)
    return from_schema(schema)


def strategy_for(schema: dict[str, Any]) -> SearchStrategy[Any]:
    """A strategy for a (refined) JSON Schema: objects, lists and choices composed, leaves drawn."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([strategy_for(sub) for sub in schema["anyOf"]])
    if "oneOf" in schema:  # exactly one branch may match; the contracts' branches differ by `type`
        checks = [jsonschema.Draft202012Validator(sub) for sub in schema["oneOf"]]
        return st.one_of([strategy_for(sub) for sub in schema["oneOf"]]).filter(
            lambda v: sum(c.is_valid(v) for c in checks) == 1)
    if isinstance(schema.get("type"), list):
        return st.one_of([strategy_for({**schema, "type": t}) for t in schema["type"]])
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {k: strategy_for(v) for k, v in props.items() if k in required},
            optional={k: strategy_for(v) for k, v in props.items() if k not in required},
        )
    if schema.get("type") == "array":
        return st.lists(strategy_for(schema.get("items", {})), min_size=schema.get("minItems", 0),
                        max_size=schema.get("maxItems", variants.MAX_ITEMS))
    return _leaf(schema)


def _headers(api: str, status: int, media: str, kid: str) -> SearchStrategy[dict[str, str]]:
    base = {"Content-Type": "application/xml; charset=utf-8" if media == XML else JSON}
    documented = contractschema.response_headers(api, status)
    if "Cache-Control" in documented:
        base["Cache-Control"] = "no-store"
    if "Korrelasjonsid" in documented:
        base["Korrelasjonsid"] = kid
    if "Retry-After" not in documented:
        return st.just(base)
    return st.integers(0, 120).map(lambda s: {**base, "Retry-After": str(s)})


@lru_cache(maxsize=128)
def _one_status(api: str, status: int, media: str) -> SearchStrategy[DrawnResponse]:
    schema = variants.refine(contractschema.response_schema(api, status, JSON))
    body = strategy_for(schema)
    if status >= 400 and api in contractschema.DATA_APIS:  # Skatteetaten's {kode, melding, korrelasjonsid}
        codes = contractschema.error_codes(api, status)
        body = st.builds(lambda b, kode: {**b, "kode": kode}, body, st.sampled_from(codes))
    elif status == 400:  # Maskinporten: the OAuth `error` goes with the MP code in `error_uri`
        pairs = contractschema.maskinporten_errors()
        body = st.builds(lambda b, pair, issuer: {**b, "error": pair[1], "error_uri": f"{issuer}errors/{pair[0]}"},
                         body, st.sampled_from(pairs), st.sampled_from(MASKINPORTEN_ISSUERS))

    def drawn(b: dict[str, Any], kid: str) -> SearchStrategy[DrawnResponse]:
        kid = b.get("korrelasjonsid", kid)  # on errors the header repeats the body's id
        return _headers(api, status, media, kid).map(lambda h: DrawnResponse(status, b, media, h, api))

    return st.tuples(body, st.uuids().map(str)).flatmap(lambda t: drawn(*t))


def responses(api: str, status: int | str = 200, media: str = "json") -> SearchStrategy[DrawnResponse]:
    """Contract-valid answers of `api` ("summertskattegrunnlag", "inntekt",
    "sistetilgjengeligeskatteoppgjoer", "maskinporten", or a feed's page of events: "skatteoppgjoerhendelser",
    "inntekthendelser") at `status`: a number (200, 404, …), "error"
    (any documented error status, each with its documented codes) or "any"; media "json" or "xml"."""
    if api not in contractschema.APIS:
        raise contractschema.UnknownApi(f"unknown API {api!r}; expected one of {', '.join(contractschema.APIS)}")
    if media not in MEDIA:
        raise ValueError(f"media must be 'json' or 'xml', not {media!r}")
    media_type = MEDIA[media]
    if status == "any":
        chosen = contractschema.statuses(api)
    elif status == "error":
        chosen = contractschema.error_statuses(api)
    else:
        try:
            chosen = [int(status)]
        except (TypeError, ValueError):
            raise ValueError(f"status must be a number, 'error' or 'any', not {status!r}") from None
    for s in chosen:
        if media_type not in contractschema.media_types(api, s):
            raise contractschema.UnknownApi(f"{api} {s} has no {media_type} body")
    return st.one_of([_one_status(api, s, media_type) for s in chosen])


__all__ = ["DrawnResponse", "responses", "strategy_for"]
