"""Tenor testdatasøk: the KQL parser, the search over the population, Tenor's envelope and paging, the links to
each person's API answers, and errors that are 400/404 with a body, never a 500."""

from __future__ import annotations

import datetime as dt
import warnings

import httpx
import jsonschema
import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver import contractschema
from mockserver.population.reports import month_reports
from mockserver.services import TENOR
from mockserver.tenor import kql
from mockserver.tenor.kql import And, Field, KqlError, MatchAll, Nested, Not, Or, Range, Term, ValueOr
from mockserver.tenor.search import searchable_fields
from tests.kit_helpers import AuthorisedClient, app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SOEK = "/tenor/api/testnorge/v2/soek/freg"
NAV = "995277670"
TODAY = dt.date(2026, 11, 27)


@pytest.fixture(scope="module")
def application():
    return app(population=300)


@pytest.fixture(scope="module")
def http(application):
    return TestClient(application, base_url="http://ske-sandbox.test")


@pytest.fixture(scope="module")
def people(application):
    population = application.state.sandbox.population.dated()
    return population, [life for life in population.people() if life.exists]


def hits(http, kql_text: str, **params) -> list[str]:
    """Every id the query finds, paging with the largest page."""
    out, side = [], 0
    while True:
        answer = http.get(SOEK, params={"kql": kql_text, "antall": 100, "side": side, "vis": "id", **params})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        out += [d["id"] for d in body["dokumentListe"]]
        if "nesteSide" not in body:
            assert len(out) == body["treff"]
            return out
        side = body["nesteSide"]


# --- the parser ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "tree"), [
    ("", MatchAll()),
    ("   ", MatchAll()),
    ("personstatus:bosatt", Field("personstatus", Term("bosatt"))),
    ('personstatus: "bosatt"', Field("personstatus", Term("bosatt", quoted=True))),
    ("a:1 or b:2 and c:3", Or((Field("a", Term("1")), And((Field("b", Term("2")), Field("c", Term("3"))))))),
    ("(a:1 OR b:2) AND NOT c:3", And((Or((Field("a", Term("1")), Field("b", Term("2")))),
                                     Not(Field("c", Term("3")))))),
    ("foedselsdato:[1980-01-01 to 1989-12-31]", Field("foedselsdato", Range("1980-01-01", "1989-12-31"))),
    ("foedselsdato:[* TO 2000-01-01]", Field("foedselsdato", Range(None, "2000-01-01"))),
    ("foedselsdato >= 1990-01-01", Field("foedselsdato", Range("1990-01-01", None))),
    ("foedselsdato<1990-01-01", Field("foedselsdato", Range(None, "1990-01-01", high_inclusive=False))),
    ("inntektstype:(loennsinntekt or pensjonEllerTrygd)",
     Field("inntektstype", ValueOr((Term("loennsinntekt"), Term("pensjonEllerTrygd"))))),
    ("fornavn:KA*", Field("fornavn", Term("KA*"))),
    (r"fornavn:KARI\ ANNE", Field("fornavn", Term("KARI ANNE"))),
    ("fornavn:to", Field("fornavn", Term("to"))),
    ("tenorRelasjoner.inntekt:{opplysningspliktig:995277670 and periode:[2025-01 to 2025-03]}",
     Field("tenorRelasjoner.inntekt", Nested(And((Field("opplysningspliktig", Term("995277670")),
                                                 Field("periode", Range("2025-01", "2025-03"))))))),
])
def test_the_parser_reads_what_tenors_clients_send(text, tree):
    got = kql.parse(text)
    assert _without_positions(got) == tree


def _without_positions(node):
    if isinstance(node, Field):
        return Field(node.name, _without_positions(node.value))
    if isinstance(node, (And, Or)):
        return type(node)(tuple(_without_positions(i) for i in node.items))
    if isinstance(node, Not):
        return Not(_without_positions(node.item))
    if isinstance(node, Nested):
        return Nested(_without_positions(node.query))
    return node


@pytest.mark.parametrize(("text", "position", "words"), [
    ("personstatus:bosatt and", 23, "ventet et feltnavn"),
    ("(personstatus:bosatt", 20, "ventet ')'"),
    ("foedselsdato:[1980-01-01 1990-01-01]", 25, "ventet 'to'"),
    ("Kari", 0, "fritekstsøk"),
    ('"Kari Nordmann"', 0, "fritekstsøk"),
    ("personstatus:bosatt kjoenn:mann", 20, "mangler 'and' eller 'or'"),
    ('fornavn:"KARI', 8, "lukkes aldri"),
    ("fornavn:", 8, "ventet en verdi"),
    ("tenorRelasjoner.inntekt:{periode:2025-01", 40, "ventet '}'"),
    ("fornavn:KARI\\", 12, "omvendt skråstrek"),
    ("foedselsdato >= 19*", 13, "jokertegn"),
])
def test_a_query_outside_the_grammar_says_where_and_what_was_expected(text, position, words):
    with pytest.raises(KqlError) as caught:
        kql.parse(text)
    assert caught.value.position == position
    assert words in str(caught.value) and f"tegn {position + 1}" in str(caught.value)


def test_depth_and_length_are_bounded():
    with pytest.raises(KqlError, match="dypere enn"):
        kql.parse("(" * 1000 + "a:1" + ")" * 1000)
    with pytest.raises(KqlError, match="dypere enn"):
        kql.parse("not " * 500 + "a:1")
    with pytest.raises(KqlError, match="lengre enn"):
        kql.parse("a:" + "x" * kql.MAX_LENGTH)
    assert kql.parse("(" * kql.MAX_DEPTH + "a:1" + ")" * kql.MAX_DEPTH) == Field("a", Term("1"), kql.MAX_DEPTH)


KQL_ALPHABET = st.sampled_from(list('()[]{}:<>="*\\ ') + ["and ", "or ", "not ", " to ", "fornavn", "foedselsdato",
                                                         "tenorRelasjoner.inntekt", "periode", "2025-01", "1990-01-01",
                                                         "x", "995277670", "\n", "ø"])


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(st.text(max_size=60), st.lists(KQL_ALPHABET, max_size=25).map("".join)))
def test_the_parser_answers_any_text_with_a_tree_or_a_kql_error(text):
    try:
        kql.parse(text)
    except KqlError as exc:
        assert 0 <= exc.position <= len(text)


# suppressed: a shared module-scoped client is the point (building the app per example would be the test's cost)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=40), st.lists(KQL_ALPHABET, max_size=12).map("".join)),
       antall=st.one_of(st.none(), st.text(max_size=4), st.integers(-5, 200).map(str)),
       side=st.one_of(st.none(), st.text(max_size=3), st.integers(-1, 30).map(str)),
       vis=st.one_of(st.none(), st.text(alphabet="*.,abidtenorMRjs ", max_size=20)),
       skjul=st.one_of(st.none(), st.text(alphabet="*.,abidtenorMRjs ", max_size=20)))
def test_no_kql_string_or_parameter_gets_a_500(small_http, text, antall, side, vis, skjul):
    params = {"kql": text, "vis": vis if vis is not None else "*"}
    for name, value in (("antall", antall), ("side", side), ("skjul", skjul)):
        if value is not None:
            params[name] = value
    answer = small_http.get(SOEK, params=params)
    assert answer.status_code in (200, 400), answer.text
    body = answer.json()
    if answer.status_code == 400:
        assert body["status"] == 400 and body["error"] == "Bad Request" and body["message"]
    else:
        assert {"treff", "rader", "offset", "seed", "dokumentListe", "fasetter"} <= set(body)


@pytest.fixture(scope="module")
def small_http():
    return TestClient(app(population=20), base_url="http://ske-sandbox.test")


# --- the search matches the population -----------------------------------------------------------------------

def test_identifikator_finds_exactly_that_person(http, people):
    _, lives = people
    fnr = lives[5].fnr
    assert hits(http, f"identifikator:{fnr}") == [fnr]
    assert hits(http, f'id: "{fnr}"') == [fnr]
    assert hits(http, f"identifikator:{fnr[:6]}*") == [life.fnr for life in lives if life.fnr.startswith(fnr[:6])]


def test_foedselsdato_ranges_and_comparisons(http, people):
    _, lives = people
    in_80s = [life.fnr for life in lives if dt.date(1980, 1, 1) <= life.born <= dt.date(1989, 12, 31)]
    assert in_80s and hits(http, "foedselsdato:[1980-01-01 to 1989-12-31]") == in_80s
    assert hits(http, "foedselsdato >= 1980-01-01 and foedselsdato <= 1989-12-31") == in_80s
    before = [life.fnr for life in lives if life.born < dt.date(1960, 1, 1)]
    assert hits(http, "foedselsdato:[* to 1959-12-31]") == before
    assert hits(http, "foedselsdato < 1960-01-01") == before


def test_income_from_a_payer_in_a_period_is_one_income_line_of_the_population(http, people):
    """The query a vendor's script sends: people NAV paid in the first quarter of 2026."""
    population, lives = people
    months = [(2026, 1), (2026, 2), (2026, 3)]
    paid = [life.fnr for life in lives
            if any(r["opplysningspliktigId"] == NAV and r.get("inntekt")
                   for m in months for r in month_reports(life, m, population.choices))]
    query = f"tenorRelasjoner.inntekt:{{opplysningspliktig:{NAV} and periode:[2026-01 to 2026-03]}}"
    assert paid and hits(http, query) == paid
    assert hits(http, f"tenorRelasjoner.inntekt.opplysningspliktig:{NAV}") == [
        life.fnr for life in lives if any(r["opplysningspliktigId"] == NAV and r.get("inntekt")
                                          for m in population.reported_months(life)
                                          for r in month_reports(life, m, population.choices))]
    # a nested query is about one line: NAV's line must itself be pensjonEllerTrygd, not just any line
    pension = [life.fnr for life in lives
               if any(r["opplysningspliktigId"] == NAV and any("pensjonEllerTrygd" in i for i in r.get("inntekt", ()))
                      for m in months for r in month_reports(life, m, population.choices))]
    assert hits(http, f"tenorRelasjoner.inntekt:{{opplysningspliktig:{NAV} and periode:[2026-01 to 2026-03] "
                      f"and inntektstype:pensjonEllerTrygd}}") == pension
    assert set(pension) < set(paid)


def test_months_not_yet_complete_are_not_searched(http, people):
    """A-ordningen's month is complete on the 10th of the next: on 27 November, October is the last."""
    assert hits(http, "tenorRelasjoner.inntekt:{periode:2026-11}") == []
    assert hits(http, "tenorRelasjoner.inntekt:{periode:2026-10}")


def test_oppgjoer_by_year_follows_the_settlement_calendar(http, people):
    population, lives = people
    settled = [life.fnr for life in lives if population.has_settlement(life, 2024) and 2024 not in life.deleted]
    assert settled and hits(http, "tenorRelasjoner.summertSkattegrunnlag:{inntektsaar:2024 and stadie:oppgjoer}") \
        == settled
    assert hits(http, "tenorRelasjoner.beregnetSkatt:{inntektsaar:2024}") == settled
    assert hits(http, "tenorRelasjoner.beregnetSkatt:{inntektsaar:2026}") == []  # the year is not over


def test_strengt_fortrolig_persons_are_found(http, people):
    """The real Tenor cannot find them; the sandbox can."""
    _, lives = people
    protected = [life.fnr for life in lives if life.skjermet]
    assert protected
    assert hits(http, "adressebeskyttelse:strengtFortrolig") == protected
    assert hits(http, "adresseBeskyttelse:*") == protected
    assert len(hits(http, "not adressebeskyttelse:*")) == len(lives) - len(protected)


def test_wildcards_not_and_value_groups(http, people):
    _, lives = people
    assert hits(http, "fornavn:KA*") == [life.fnr for life in lives if life.first_name.upper().startswith("KA")]
    assert hits(http, "etternavn:*SEN") == [life.fnr for life in lives if life.last_name.upper().endswith("SEN")]
    women = [life.fnr for life in lives if life.gender == "F"]
    assert hits(http, "not kjoenn:mann") == women == hits(http, "kjoenn:KVINNE")
    assert hits(http, "kjoenn:(mann or kvinne)") == [life.fnr for life in lives]
    assert hits(http, "personstatus:bosatt and identifikatorType:dNummer") == [life.fnr for life in lives
                                                                               if life.d_number]


def test_the_sandbox_extras_scenario_and_story(http, people):
    _, lives = people
    assert hits(http, "scenario:skjermet") == [life.fnr for life in lives if life.scenario == "skjermet"]
    assert hits(http, "story:*pensjon*") == [life.fnr for life in lives if "pensjon" in life.story.lower()]


# --- the envelope, paging, vis -------------------------------------------------------------------------------

def test_the_envelope_is_tenors_and_valid_per_the_contract(http):
    answer = http.get(SOEK, params={"kql": "personstatus:bosatt", "antall": 3, "vis": "*"})
    body = answer.json()
    jsonschema.validate(body, contractschema.response_schema("tenor", 200))
    assert list(body) == ["treff", "rader", "offset", "nesteSide", "seed", "dokumentListe", "fasetter"]
    assert (body["rader"], body["offset"], body["nesteSide"], body["seed"]) == (3, 0, 1, 0)
    doc = body["dokumentListe"][0]
    assert {"id", "identifikator", "fornavn", "etternavn", "visningnavn", "foedselsdato", "kjoenn", "personstatus",
            "tenorRelasjoner", "tenorMetadata", "_links"} <= set(doc)
    assert doc["tenorMetadata"]["id"] == doc["id"] and '"foedselsEllerDNummer"' in doc["tenorMetadata"]["kildedata"]
    assert doc["tenorRelasjoner"]["inntekt"][0]["tenorRelasjonsnavn"] == "Inntekt A-ordning"


def test_paging_walks_every_hit_once_and_a_seed_reorders(http, people):
    _, lives = people
    everyone = [life.fnr for life in lives]
    seen, side = [], 0
    while True:
        body = http.get(SOEK, params={"antall": 7, "side": side, "vis": "id"}).json()
        assert body["offset"] == side * 7 and body["rader"] == len(body["dokumentListe"]) <= 7
        seen += [d["id"] for d in body["dokumentListe"]]
        if "nesteSide" not in body:
            break
        assert body["nesteSide"] == side + 1
        side = body["nesteSide"]
    assert seen == everyone and body["treff"] == len(everyone)
    past = http.get(SOEK, params={"antall": 7, "side": side + 5}).json()
    assert (past["rader"], past["dokumentListe"], past["treff"]) == (0, [], len(everyone))
    shuffled = hits(http, "", seed=42)
    assert sorted(shuffled) == sorted(everyone) and shuffled != everyone and hits(http, "", seed=42) == shuffled
    assert http.get(SOEK, params={"seed": 42}).json()["seed"] == 42


def test_vis_skjul_and_nokkelinformasjon_choose_the_fields(http):
    def first(**params):
        return http.get(SOEK, params={"kql": "personstatus:bosatt", "antall": 1, **params}).json()["dokumentListe"][0]

    assert set(first()) == {"tenorMetadata", "_links"} and set(first()["tenorMetadata"]) == {"id"}
    assert set(first(vis=["fornavn", "etternavn", "id"])) == {"fornavn", "etternavn", "id", "_links"}
    assert set(first(vis="fornavn,etternavn")) == {"fornavn", "etternavn", "_links"}
    names = first(vis="tenorRelasjoner.*.tenorRelasjonsnavn")["tenorRelasjoner"]
    assert all(set(item) == {"tenorRelasjonsnavn"} for items in names.values() for item in items)
    assert "kildedata" not in first(vis="*", skjul="*.kildedata")["tenorMetadata"]
    assert {"visningnavn", "personstatus", "foedselsdato"} <= set(first(nokkelinformasjon="true"))
    assert "tenorRelasjoner" not in first(vis="id,fornavn")  # relations are built only when asked for


# --- links to the person's API answers -----------------------------------------------------------------------

def test_each_row_links_to_the_persons_answers_and_they_answer(application, people):
    population, _ = people
    authorised = AuthorisedClient(application)
    body = authorised.get(SOEK, params={"kql": f"tenorRelasjoner.inntekt:{{opplysningspliktig:{NAV}}}",
                                        "antall": 2}).json()
    assert body["rader"] == 2
    for doc in body["dokumentListe"]:
        links, fnr = doc["_links"], doc["tenorMetadata"]["id"]
        assert links["person"]["href"] == f"http://ske-sandbox.test/person/{fnr}"
        years = [link["inntektsaar"] for link in links["summertskattegrunnlag"]]
        assert years == population.settled_years(population.lookup(fnr))
        for href in (links["sistetilgjengeligeskatteoppgjoer"]["href"], links["inntekt"]["href"],
                     links["summertskattegrunnlag"][-1]["href"]):
            assert href.startswith("http://ske-sandbox.test/")
            answer = authorised.get(href)
            assert answer.status_code == 200, (href, answer.text)
        assert authorised.get(links["inntekt"]["href"]).json()["oppgaveInntektsmottaker"]


def test_called_by_its_real_name_it_links_to_the_real_test_hosts(application):
    real = TestClient(application, base_url=f"https://{TENOR.hosts['test']}")
    answer = real.get("/api/testnorge/v2/soek/freg", params={"kql": "personstatus:bosatt", "antall": 1},
                      headers={"Authorization": "Bearer any"})
    assert answer.status_code == 200
    links = answer.json()["dokumentListe"][0]["_links"]
    assert links["sistetilgjengeligeskatteoppgjoer"]["href"].startswith(
        "https://sistetilgjengeligeskatteoppgjoer.api.skatteetaten-test.no/v1/")
    assert links["inntekt"]["href"].startswith("https://inntekt.api.skatteetaten-test.no/v1/kommuneboligsosialeformaal/")


def test_the_journal_notes_what_the_real_tenor_wants_of_the_token():
    """The sandbox answers without a token; the journal says that the real one would not."""
    client = TestClient(app(population=5), base_url="http://127.0.0.1:8080")
    assert client.get(SOEK, params={"kql": "personstatus:bosatt", "antall": 1}).status_code == 200
    other_scope = jwt.encode({"scope": "skatteetaten:inntekt", "iss": "x"}, "k" * 32, algorithm="HS256")
    assert client.get(SOEK, headers={"Authorization": f"Bearer {other_scope}"}).status_code == 200
    entries = [e for e in client.get("/__sandbox/journal").json() if e["service"] == "tenor"]
    assert [e["status"] for e in entries] == [200, 200]
    assert any("Authorization header is missing" in p for p in entries[0]["problems"])
    assert any("wants skatteetaten:testnorge/testdata.read" in p for p in entries[1]["problems"])


# --- errors ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("params", "words"), [
    ({"kql": "foedselsdato:[1980-01-01 to"}, "tegn 28"),
    ({"kql": "bogus:1"}, "søkbare felt: identifikator"),
    ({"kql": "tenorRelasjoner.inntekt:{forskuddstrekk:x}"}, "søkbare felt: periode, opplysningspliktig"),
    ({"kql": "foedselsdato:1990"}, "ÅÅÅÅ-MM-DD"),
    ({"kql": "foedselsdato:1990-02-30"}, "ÅÅÅÅ-MM-DD"),
    ({"kql": "tenorRelasjoner.inntekt:{periode:2025-13}"}, "ÅÅÅÅ-MM"),
    ({"kql": "fornavn:[A to B]"}, "intervall"),
    ({"kql": "tenorRelasjoner.inntekt:995277670"}, "{felt:verdi"),
    ({"kql": "fornavn:{x:1}"}, "relasjonsdokumenter"),
    ({"antall": "0"}, "antall må være et heltall fra 1 til 100"),
    ({"antall": "101"}, "antall"),
    ({"antall": "ti"}, "antall"),
    ({"side": "-1"}, "side"),
    ({"seed": "1.5"}, "seed"),
    ({"nokkelinformasjon": "ja"}, "nokkelinformasjon"),
])
def test_a_query_the_sandbox_cannot_run_is_400_with_a_message(http, params, words):
    answer = http.get(SOEK, params=params)
    assert answer.status_code == 400
    body = answer.json()
    jsonschema.validate(body, contractschema.response_schema("tenor", 400))
    assert body["path"] == "/api/testnorge/v2/soek/freg" and words in body["message"]
    assert dt.datetime.fromisoformat(body["timestamp"]).tzinfo is not None


def test_unknown_sources_and_paths_are_404(http):
    answer = http.get("/tenor/api/testnorge/v2/soek/brreg-er-fr", params={"kql": "dagligLeder:*"})
    assert answer.status_code == 404 and "freg" in answer.json()["message"]
    other = http.post("/tenor/api/testnorge/v2/soek/freg")
    assert other.status_code in (404, 405)
    lost = http.get("/tenor/api/testnorge/v1/soek/freg")
    assert lost.status_code == 404 and lost.json()["path"] == "/api/testnorge/v1/soek/freg"


def test_every_documented_field_is_searchable(http):
    for name in searchable_fields():
        assert http.get(SOEK, params={"kql": f"{name}:*", "antall": 1}).status_code == 200, name


def test_a_vendor_script_finds_people_by_tenors_real_name_and_reads_their_income(ske_sandbox):
    """What a script does against the real test environment, unchanged: Tenor for people NAV paid last
    quarter, then the Inntekt API at the link each hit carries."""
    token = ske_sandbox.token(real_hosts=True)
    query = f"tenorRelasjoner.inntekt:{{opplysningspliktig:{NAV} and periode:[2026-07 to 2026-09]}}"
    with httpx.Client() as client:
        found = client.get(f"https://{TENOR.hosts['test']}/api/testnorge/v2/soek/freg",
                           params={"kql": query, "antall": 3, "vis": "id"}).json()
        assert found["rader"] == 3 and found["treff"] >= 3
        for doc in found["dokumentListe"]:
            href = doc["_links"]["inntekt"]["href"]
            assert href.startswith("https://inntekt.api.skatteetaten-test.no/v1/")
            answer = client.get(href, headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200
            assert any(o["opplysningspliktigId"] == NAV for o in answer.json()["oppgaveInntektsmottaker"])


def test_a_remembered_hit_list_follows_the_calendar_and_new_personas():
    """Paging reads a remembered hit list; moving the data calendar or adding a persona is seen at once."""
    application = app(population=30)
    sandbox, client = application.state.sandbox, TestClient(application, base_url="http://ske-sandbox.test")
    november = "tenorRelasjoner.inntekt:{periode:2026-11}"
    assert hits(client, november) == []
    sandbox.set_today("2026-12-10")  # November is complete on the 10th
    assert hits(client, november)
    sandbox.restore_today()
    assert hits(client, november) == []
    before = hits(client, "fornavn:ZELDA")
    persona, _, _ = sandbox.add_persona({"first_name": "Zelda", "last_name": "Tenor", "scenario": "zelda"})
    assert hits(client, "fornavn:ZELDA") == [*before, persona.fnr]
    assert hits(client, "scenario:zelda") == [persona.fnr]
