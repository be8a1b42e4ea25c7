"""`serve --responses generated`: every data-API call gets a seeded, contract-valid variant.

Like a dynamic mock, but reproducible and shaped by the domain: the body is drawn from the contract's
200 schema (narrowed by `variants`) with a `random.Random` seeded by the server seed, the API and the
request's path and query. The same call gives byte-identical bodies in any process; another path
gives another variant. Where the contract has the request's own values (personidentifikator,
inntektsaar, stadie, the months asked for), the body carries them.

A plain seeded walk over the schema, not Hypothesis: Hypothesis cannot be seeded per call through its
public API, and its generation mixes in constants found in the loaded modules, which differ between
processes.
"""

from __future__ import annotations

import datetime as dt
import random
import string
import uuid
from typing import Any

import rstr
from starlette.requests import Request

from . import contractschema, variants
from .canned import CannedAnswer
from .hendelser.feed import MAX_SEKVENSNUMMER
from .months import month_text, months_between, parse_month
from .sandbox import population_of

Hint = Any  # a fixed value, or a function of the call's Random
_TEXT = string.ascii_letters + string.digits + " -.,æøåÆØÅ"
OPTIONAL_PRESENT = 0.6
EMPTY_LIST = 0.1


def instance(schema: dict[str, Any], rng: random.Random, hints: dict[str, Hint] | None = None,
             field: str | None = None) -> Any:
    """One value valid against `schema` (the subset of JSON Schema the contracts use)."""
    hints = hints or {}
    if field in hints:
        hint = hints[field]
        return hint(rng) if callable(hint) else hint
    if "enum" in schema:
        return rng.choice(schema["enum"])
    for key in ("anyOf", "oneOf"):  # the contracts' oneOf branches exclude each other by their `type` enum
        if key in schema:
            return instance(rng.choice(schema[key]), rng, hints, field)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = rng.choice([k for k in kind if k != "null"] or ["null"])
    if kind == "object" or "properties" in schema:
        required = set(schema.get("required", ()))
        return {name: instance(sub, rng, hints, name) for name, sub in schema.get("properties", {}).items()
                if name in required or rng.random() < OPTIONAL_PRESENT}
    if kind == "array":
        low = schema.get("minItems", 0)
        high = max(low, schema.get("maxItems", variants.MAX_ITEMS))
        size = low if rng.random() < EMPTY_LIST else rng.randint(min(low + 1, high), high)
        return [instance(schema.get("items", {}), rng, hints, field) for _ in range(size)]
    if kind == "integer":
        return rng.randint(schema.get("minimum", -(10**6)), schema.get("maximum", 10**7))
    if kind == "number":
        return round(rng.uniform(schema.get("minimum", 0), schema.get("maximum", 1000)), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "string" or kind is None:
        return _string(schema, rng)
    return None


def _string(schema: dict[str, Any], rng: random.Random) -> str:
    fmt = schema.get("format", "")
    if fmt in variants.name_lists():
        roll = rng.random()
        if roll < 0.6:
            return rng.choice(variants.name_lists()[fmt])
        if roll < 0.9:
            return rstr.Rstr(rng).xeger(variants.UNKNOWN_NAME)
        return _text(rng, schema.get("maxLength", 30))
    if fmt == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if fmt == "date":
        return (dt.date(2017, 1, 1) + dt.timedelta(days=rng.randint(0, 4000))).isoformat()
    if fmt == "date-time":
        moment = dt.datetime(2017, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randint(0, 4000 * 86400))
        return moment.isoformat().replace("+00:00", "Z")
    if "pattern" in schema:
        return rstr.Rstr(rng).xeger(schema["pattern"])
    return _text(rng, schema.get("maxLength", 30), schema.get("minLength", 0))


def _text(rng: random.Random, longest: int, shortest: int = 0) -> str:
    return "".join(rng.choice(_TEXT) for _ in range(rng.randint(shortest, max(shortest, longest))))


def _months(request: Request) -> list[str]:
    q = request.query_params  # validated by the route already
    fra = parse_month(q.get("fraOgMed", ""))
    til = parse_month(q["tilOgMed"]) if "tilOgMed" in q else fra
    return [month_text(m) for m in months_between(fra, til)]


FEED_GAP = 20  # the largest step between two generated sequence numbers


def _feed_page(rng: random.Random, item: dict[str, Any], fra: int, antall: int) -> list[dict[str, Any]]:
    """Up to `antall` events from `fra` on, their sequence numbers rising with gaps as a feed's do."""
    items: list[dict[str, Any]] = []
    number = fra
    for _ in range(rng.randint(0, min(antall, variants.MAX_ITEMS))):
        number += rng.randint(0, FEED_GAP) if items else 0
        if number > MAX_SEKVENSNUMMER:
            break
        items.append(instance(item, rng, {"sekvensnummer": max(number, 1)}))
        number += 1
    return items


def hints_for(api: str, request: Request, template: str = "", schema: dict[str, Any] | None = None) -> dict[str, Hint]:
    """The request's own values, where the contract's answer repeats them."""
    p = request.path_params
    if template == "/hendelser" and schema is not None:  # an event feed's page
        q = request.query_params  # validated by the route already
        item, fra, antall = schema["properties"]["hendelser"]["items"], int(q["fraSekvensnummer"]), int(q["antall"])
        return {"hendelser": lambda rng: _feed_page(rng, item, fra, antall)}
    if template == "/hendelser/start":
        return {}
    hints: dict[str, Hint] = {"personidentifikator": p.get("personidentifikator")}
    if api == "summertskattegrunnlag":
        hints |= {"inntektsaar": p["inntektsaar"], "stadie": p["stadie"]}
    elif api == "inntekt":
        months = _months(request)
        hints["kalendermaaned"] = lambda rng: rng.choice(months)
    elif api == "sistetilgjengeligeskatteoppgjoer":
        this_year = population_of(request).calendar.today.year
        hints |= {"ressursId": "skattegrunnlag",
                  "sisteTilgjengeligePeriode": lambda rng: str(rng.randint(2017, this_year - 1))}
    return hints


class GeneratedResponder:
    """The `Sandbox.responder` of `serve --responses generated`."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.schemas = {(api, template): variants.refine(contractschema.response_schema(api, 200, template=template))
                        for api in contractschema.DATA_APIS for template in contractschema.templates(api)}

    @staticmethod
    def template(api: str, request: Request) -> str:
        """The contract path a call was routed to. Only the feeds have several, and theirs have no parameters,
        so the longest one the path ends with is it."""
        found = contractschema.templates(api)
        if len(found) == 1:
            return found[0]
        return max((t for t in found if request.url.path.endswith(t)), key=len, default=found[0])

    def body(self, api: str, request: Request) -> dict[str, Any]:
        query = "&".join(f"{k}={v}" for k, v in sorted(request.query_params.multi_items()))
        rng = random.Random(f"{self.seed}|{api}|{request.url.path}|{query}")  # str seeds hash the same everywhere
        template = self.template(api, request)
        schema = self.schemas[api, template]
        return instance(schema, rng, hints_for(api, request, template, schema))

    def __call__(self, api: str, request: Request) -> CannedAnswer | None:
        if api not in contractschema.DATA_APIS:
            return None
        return CannedAnswer(200, self.body(api, request))

