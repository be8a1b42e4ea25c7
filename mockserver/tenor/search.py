"""The freg source over the sandbox's population: which KQL fields it knows, how a query is checked and run,
and what one hit's document holds.

A query is compiled once against the fields below (an unknown field or a value of the wrong form is a
`SearchError` before anyone is looked at) into a predicate over a person. Relation fields
(`tenorRelasjoner.inntekt:{…}`) match when one of the person's relation documents matches the nested query
as a whole, as Elasticsearch's nested queries do: `{opplysningspliktig:X and periode:[A to B]}` means one
income line from X in that period. Everything is read off the population (lives, the income lines
`month_reports` groups, the settlement calendar): the same data the APIs answer with.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..months import Month, add_months, iter_months, parse_month
from ..population.life import FIRST_MONTH, Life
from ..population.reports import month_lines
from ..population.world import Population
from . import kql

STADIER = ("utkast", "fastsatt", "oppgjoer")
FIRST_YEAR = 2021  # the population's first income year
RELATION_PREFIX = "tenorrelasjoner."


class SearchError(ValueError):
    """A query the sandbox cannot run: answered 400 with the message."""


# --- one person, as the search sees them -------------------------------------------------------------------

@dataclass
class Person:
    life: Life
    population: Population

    @cached_property
    def settled_years(self) -> list[int]:
        return [y for y in self.population.settled_years(self.life) if y not in self.life.deleted]

    def inntekt(self, hint: Hint) -> Iterator[dict[str, str]]:
        """One document per income line a-ordningen has for the person, in the months the hint allows."""
        life, population = self.life, self.population
        if hint.payer is not None and all(s.payer.orgnr != hint.payer for s in life.streams):
            return  # nobody else reports for them: no need to build a month
        last = population.calendar.last_available_month()
        first = max(FIRST_MONTH, hint.first or FIRST_MONTH)
        for month in iter_months(first, min(last, hint.last or last)):
            periode = f"{month[0]:04d}-{month[1]:02d}"
            # the lines month_reports groups into one oppgave per opplysningspliktig, without dressing them
            for stream, beskrivelse, _, _ in month_lines(life, month):
                yield {"periode": periode, "opplysningspliktig": stream.payer.orgnr,
                       "virksomhet": stream.payer.virksomhet, "inntektstype": stream.kind,
                       "beskrivelse": beskrivelse}

    def summert_skattegrunnlag(self, hint: Hint) -> Iterator[dict[str, str]]:
        life, population = self.life, self.population
        years = range(FIRST_YEAR, population.calendar.today.year)
        for year in years if hint.year is None else [hint.year] if hint.year in years else []:
            if year in life.deleted:
                continue
            for stadie in STADIER if hint.stadie is None else [s for s in STADIER if s == hint.stadie]:
                if population.has_document(life, year, stadie):
                    yield {"inntektsaar": str(year), "stadie": stadie, "typeOppgjoer": self.type_oppgjoer}

    def beregnet_skatt(self, hint: Hint) -> Iterator[dict[str, str]]:
        for year in self.settled_years:
            yield {"inntektsaar": str(year), "typeOppgjoer": self.type_oppgjoer}

    @property
    def type_oppgjoer(self) -> str:
        if self.life.svalbard:
            return "svalbard"
        return "kildeskattPaaLoenn" if self.life.kildeskatt_paa_loenn else "fastland"


@dataclass(frozen=True)
class Hint:
    """What a nested query says for sure about the documents it can match: lets the search skip months and
    people it need not look at. None: no limit."""

    first: Month | None = None
    last: Month | None = None
    payer: str | None = None
    year: int | None = None
    stadie: str | None = None


# --- the fields ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldSpec:
    name: str  # as documented
    kind: str  # text | date | month | int
    values: Callable[[Any], list[str]]  # of a Person (top level) or a relation document (a dict)


def _doc(key: str, kind: str = "text") -> FieldSpec:
    return FieldSpec(key, kind, lambda d: [d[key]] if d.get(key) else [])


def _gender(p: Person) -> list[str]:
    return ["mann" if p.life.gender == "M" else "kvinne"]


PERSON_FIELDS: dict[str, FieldSpec] = {f.name.lower(): f for f in (
    FieldSpec("identifikator", "text", lambda p: [p.life.fnr]),
    FieldSpec("id", "text", lambda p: [p.life.fnr]),
    FieldSpec("identifikatorType", "text", lambda p: ["dNummer" if p.life.d_number else "foedselsnummer"]),
    FieldSpec("foedselsdato", "date", lambda p: [p.life.born.isoformat()]),
    FieldSpec("kjoenn", "text", _gender),
    FieldSpec("personstatus", "text", lambda p: ["bosatt"]),
    FieldSpec("adressebeskyttelse", "text", lambda p: ["strengtFortrolig"] if p.life.skjermet else []),
    FieldSpec("fornavn", "text", lambda p: [p.life.first_name.upper()]),
    FieldSpec("etternavn", "text", lambda p: [p.life.last_name.upper()]),
    # the sandbox's own: its named scenarios and each person's one-line story
    FieldSpec("scenario", "text", lambda p: [p.life.scenario] if p.life.scenario else []),
    FieldSpec("story", "text", lambda p: [p.life.story] if p.life.story else []),
)}


@dataclass(frozen=True)
class Relation:
    name: str  # as in tenorRelasjoner.<name>
    title: str  # tenorRelasjonsnavn
    fields: dict[str, FieldSpec]
    docs: Callable[[Person, Hint], Iterator[dict[str, str]]]


RELATIONS: dict[str, Relation] = {r.name.lower(): r for r in (
    Relation("inntekt", "Inntekt A-ordning", {f.name.lower(): f for f in (
        _doc("periode", "month"), _doc("opplysningspliktig"), _doc("virksomhet"), _doc("inntektstype"),
        _doc("beskrivelse"))}, Person.inntekt),
    Relation("summertSkattegrunnlag", "Summert skattegrunnlag", {f.name.lower(): f for f in (
        _doc("inntektsaar", "int"), _doc("stadie"), _doc("typeOppgjoer"))}, Person.summert_skattegrunnlag),
    Relation("beregnetSkatt", "Beregnet skatt", {f.name.lower(): f for f in (
        _doc("inntektsaar", "int"), _doc("typeOppgjoer"))}, Person.beregnet_skatt),
)}


def searchable_fields() -> list[str]:
    """Every field name a query may use, as documented (docs/tenor.md lists the same)."""
    out = [f.name for f in PERSON_FIELDS.values()]
    for r in RELATIONS.values():
        out.append(f"tenorRelasjoner.{r.name}")
        out += [f"tenorRelasjoner.{r.name}.{f.name}" for f in r.fields.values()]
    return out


# --- compiling a query -------------------------------------------------------------------------------------

Predicate = Callable[[Any], bool]
_FORMATS = {"date": (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), "ÅÅÅÅ-MM-DD"),
            "month": (re.compile(r"[0-9]{4}-[0-9]{2}"), "ÅÅÅÅ-MM"),
            "int": (re.compile(r"-?[0-9]{1,9}"), "et heltall")}


def _checked(spec: FieldSpec, text: str) -> str:
    """A value in the field's form, or SearchError."""
    if spec.kind == "text":
        return text
    pattern, form = _FORMATS[spec.kind]
    ok = pattern.fullmatch(text) is not None
    if ok and spec.kind == "date":
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            ok = False
    if ok and spec.kind == "month":
        try:
            parse_month(text)
        except ValueError:
            ok = False
    if not ok:
        raise SearchError(f"Feltet {spec.name} tar verdier på formen {form}, ikke {text!r}")
    return text


def _key(spec: FieldSpec, text: str) -> Any:
    return int(text) if spec.kind == "int" else text


def _value_predicate(spec: FieldSpec, value: kql.Value) -> Callable[[list[str]], bool]:
    if isinstance(value, kql.Term):
        if value.is_exists:
            return bool
        if value.has_wildcard:
            pattern = re.compile(".*".join(re.escape(p) for p in value.text.split("*")), re.IGNORECASE | re.DOTALL)
            return lambda values: any(pattern.fullmatch(v) for v in values)
        wanted = _checked(spec, value.text).casefold()
        if spec.kind == "int":
            number = int(wanted)
            return lambda values: any(int(v) == number for v in values)
        return lambda values: any(v.casefold() == wanted for v in values)
    if isinstance(value, kql.Range):
        if spec.kind == "text":
            raise SearchError(f"Feltet {spec.name} er tekst og kan ikke søkes med intervall")
        low = None if value.low is None else _key(spec, _checked(spec, value.low))
        high = None if value.high is None else _key(spec, _checked(spec, value.high))

        def within(values: list[str]) -> bool:
            for v in values:
                k = _key(spec, v)
                if low is not None and (k < low or (k == low and not value.low_inclusive)):
                    continue
                if high is not None and (k > high or (k == high and not value.high_inclusive)):
                    continue
                return True
            return False
        return within
    if isinstance(value, kql.ValueAnd):
        parts = [_value_predicate(spec, v) for v in value.items]
        return lambda values: all(p(values) for p in parts)
    if isinstance(value, kql.ValueOr):
        parts = [_value_predicate(spec, v) for v in value.items]
        return lambda values: any(p(values) for p in parts)
    if isinstance(value, kql.ValueNot):
        inner = _value_predicate(spec, value.item)
        return lambda values: not inner(values)
    raise SearchError(f"Feltet {spec.name} har ingen relasjonsdokumenter; {{…}} gjelder tenorRelasjoner.*")


def _unknown(name: str, known: Iterable[str]) -> SearchError:
    return SearchError(f"Feltet {name!r} kan ikke søkes i sandkassen; søkbare felt: {', '.join(known)}")


def compile_query(query: kql.Query) -> Callable[[Person], bool]:
    """The predicate of a parsed query over people, or SearchError."""
    return _compile(query, None)


def _compile(query: kql.Query, relation: Relation | None) -> Predicate:
    if isinstance(query, kql.MatchAll):
        return lambda _: True
    if isinstance(query, kql.And):
        parts = [_compile(q, relation) for q in query.items]
        return lambda x: all(p(x) for p in parts)
    if isinstance(query, kql.Or):
        parts = [_compile(q, relation) for q in query.items]
        return lambda x: any(p(x) for p in parts)
    if isinstance(query, kql.Not):
        inner = _compile(query.item, relation)
        return lambda x: not inner(x)
    return _field(query, relation)


def _field(query: kql.Field, relation: Relation | None) -> Predicate:
    name = query.name.lower()
    if relation is not None:  # inside {…}: the relation's own fields
        doc_spec = relation.fields.get(name)
        if doc_spec is None:
            raise _unknown(query.name, [f.name for f in relation.fields.values()])
        doc_test = _value_predicate(doc_spec, query.value)
        return lambda doc: doc_test(doc_spec.values(doc))
    if name.startswith(RELATION_PREFIX):
        rel_name, _, sub = name[len(RELATION_PREFIX):].partition(".")
        rel = RELATIONS.get(rel_name)
        if rel is None:
            raise _unknown(query.name, searchable_fields())
        if sub:  # tenorRelasjoner.inntekt.periode:x is tenorRelasjoner.inntekt:{periode:x}
            return _relation(rel, kql.Nested(kql.Field(sub, query.value, query.position)))
        return _relation(rel, query.value)
    spec = PERSON_FIELDS.get(name)
    if spec is None:
        raise _unknown(query.name, searchable_fields())
    test = _value_predicate(spec, query.value)
    return lambda person: test(spec.values(person))


def _relation(rel: Relation, value: kql.Value) -> Predicate:
    if isinstance(value, kql.Term) and value.is_exists:
        return lambda person: next(rel.docs(person, Hint()), None) is not None
    if not isinstance(value, kql.Nested):
        raise SearchError(f"tenorRelasjoner.{rel.name} søkes med {{felt:verdi …}} eller *")
    inner = _compile(value.query, rel)
    hint = _hint(value.query)
    return lambda person: any(inner(doc) for doc in rel.docs(person, hint))


def _hint(query: kql.Query) -> Hint:
    """Limits every matching document obeys, when the nested query is (an `and` of) clauses that set them: a
    periode range or month, an opplysningspliktig, an inntektsaar, a stadie. Called after the query compiled,
    so the values have the field's form."""
    clauses = query.items if isinstance(query, kql.And) else (query,)
    first = last = None
    payer = stadie = None
    year = None
    for clause in clauses:
        if not isinstance(clause, kql.Field):
            continue
        name, value = clause.name.lower(), clause.value
        term = value if isinstance(value, kql.Term) and not value.has_wildcard and not value.is_exists else None
        if name == "inntektsaar" and term is not None:
            year = int(term.text)
        elif name == "stadie" and term is not None:
            stadie = term.text.lower()
        elif name == "opplysningspliktig" and term is not None:
            payer = term.text
        elif name == "periode" and term is not None:
            first = last = parse_month(term.text)
        elif name == "periode" and isinstance(value, kql.Range):
            first = parse_month(value.low) if value.low else None
            last = parse_month(value.high) if value.high else None
            if first is not None and not value.low_inclusive:
                first = add_months(first, 1)
            if last is not None and not value.high_inclusive:
                last = add_months(last, -1)
    return Hint(first, last, payer, year, stadie)


# --- running it ----------------------------------------------------------------------------------------------

def run(population: Population, query: kql.Query, seed: int,
        checkpoint: Callable[[], None] | None = None) -> list[Person]:
    """Everyone the query matches: personas in file order, then the crowd; a seed other than 0 shuffles.
    `checkpoint` is called before each person (it raises to give the search up)."""
    predicate = compile_query(query)
    found = [person for life in population.people(checkpoint=checkpoint) if life.exists
             for person in (Person(life, population),) if predicate(person)]
    if seed:
        random.Random(seed).shuffle(found)
    return found


# --- one hit's document --------------------------------------------------------------------------------------

def kildedata(person: Person) -> str:
    """A small Folkeregister-shaped record, as Tenor's `tenorMetadata.kildedata` carries the source's own."""
    life = person.life
    record: dict[str, Any] = {
        "identifikasjonsnummer": [{"foedselsEllerDNummer": life.fnr, "status": "iBruk",
                                   "identifikatortype": "dNummer" if life.d_number else "foedselsnummer"}],
        "navn": [{"fornavn": life.first_name, "etternavn": life.last_name}],
        "foedsel": [{"foedselsdato": life.born.isoformat()}],
        "kjoenn": [{"kjoenn": _gender(person)[0]}],
        "status": [{"status": "bosatt"}],
    }
    if life.skjermet:
        record["adressebeskyttelse"] = [{"graderingsnivaa": "strengtFortrolig"}]
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def relations(person: Person) -> dict[str, list[dict[str, Any]]]:
    """tenorRelasjoner: income per opplysningspliktig (with its months), and the years of each tax relation."""
    out: dict[str, list[dict[str, Any]]] = {}
    payers: dict[str, dict[str, Any]] = {}
    for doc in person.inntekt(Hint()):
        entry = payers.setdefault(doc["opplysningspliktig"], {
            "tenorRelasjonsnavn": RELATIONS["inntekt"].title, "opplysningspliktig": doc["opplysningspliktig"],
            "inntektstype": [], "perioder": []})
        if doc["inntektstype"] not in entry["inntektstype"]:
            entry["inntektstype"].append(doc["inntektstype"])
        if doc["periode"] not in entry["perioder"]:
            entry["perioder"].append(doc["periode"])
    if payers:
        out["inntekt"] = list(payers.values())
    for rel in (RELATIONS["summertskattegrunnlag"], RELATIONS["beregnetskatt"]):
        docs = [{"tenorRelasjonsnavn": rel.title, **d} for d in rel.docs(person, Hint())]
        if docs:
            out[rel.name] = docs
    return out


def document(person: Person, with_relations: bool) -> dict[str, Any]:
    """Every field of a hit; relations only when asked for (they read every month of a-ordningen)."""
    life = person.life
    first, last = life.first_name.upper(), life.last_name.upper()
    doc: dict[str, Any] = {
        "id": life.fnr,
        "identifikator": [life.fnr],
        "identifikatorType": "dNummer" if life.d_number else "foedselsnummer",
        "fornavn": first,
        "etternavn": last,
        "visningnavn": f"{first} {last}",
        "foedselsdato": life.born.isoformat(),
        "kjoenn": _gender(person)[0],
        "personstatus": "bosatt",
    }
    if life.skjermet:
        doc["adressebeskyttelse"] = "strengtFortrolig"
    if with_relations:
        doc["tenorRelasjoner"] = relations(person)
    doc["tenorMetadata"] = {"id": life.fnr, "kildedata": kildedata(person)}
    if life.scenario:
        doc["scenario"] = life.scenario
    if life.story:
        doc["story"] = life.story
    return doc


# --- vis and skjul -------------------------------------------------------------------------------------------

def paths(values: Iterable[str]) -> list[list[str]]:
    """`vis`/`skjul` values (comma separated, repeated) as dotted paths."""
    return [p.strip().split(".") for v in values for p in v.split(",") if p.strip()]


def pick(node: Any, path: list[str]) -> Any:
    """The part of `node` on `path` (`*` any key; lists are walked through); None when nothing is there."""
    if not path:
        return node
    if isinstance(node, list):
        items = [pick(item, path) for item in node]
        kept = [i for i in items if i is not None]
        return kept or None
    if not isinstance(node, dict):
        return None
    head, rest = path[0], path[1:]
    keys = list(node) if head == "*" else [head] if head in node else []
    out = {}
    for key in keys:
        sub = pick(node[key], rest)
        if sub is not None:
            out[key] = sub
    return out or None


def merge(into: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    for key, value in part.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        elif isinstance(value, list) and isinstance(into.get(key), list) and len(value) == len(into[key]) \
                and all(isinstance(v, dict) for v in value + into[key]):
            for a, b in zip(into[key], value, strict=True):
                merge(a, b)
        else:
            into[key] = value
    return into


def drop(node: Any, path: list[str]) -> None:
    """Remove what lies on `path` from `node`, in place."""
    if isinstance(node, list):
        for item in node:
            drop(item, path)
        return
    if not isinstance(node, dict) or not path:
        return
    head, rest = path[0], path[1:]
    for key in list(node) if head == "*" else [head] if head in node else []:
        if rest:
            drop(node[key], rest)
        else:
            del node[key]


def project(doc: dict[str, Any], shown: list[list[str]], hidden: list[list[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in shown:
        part = pick(doc, path)
        if isinstance(part, dict):
            merge(out, json.loads(json.dumps(part)))  # a copy: `drop` must not reach into the document
    for path in hidden:
        drop(out, path)
    return out
