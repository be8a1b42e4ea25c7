"""The two event feeds, Skatteoppgjør hendelser and Inntekt hendelser: called under their real hostnames, in
JSON and XML, refusing bad input with FA codes, and telling the same story as the data APIs."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest
import yaml
from hypothesis import given, settings
from kit_helpers import PAKKE, kit
from test_kit_routing import sync_token

from mockserver import contractschema, control, localca, services, variants
from mockserver.environments import REAL_HOSTS
from mockserver.months import add_months, iter_months, month_text, parse_month
from mockserver.page.tryit import scenario_choices
from mockserver.population.life import FIRST_MONTH
from mockserver.population.settlement import settlement_date
from mockserver.services import INNTEKTHENDELSER, SKATTEOPPGJOERHENDELSER
from mockserver.testkit import ERROR_CODES
from mockserver.testkit.strategies import responses

OPPGJOER = "https://skatteoppgjoerhendelser.api.skatteetaten-test.no/v1/hendelser"
INNTEKT = "https://inntekthendelser.api.skatteetaten-test.no/v1/hendelser"
SSG = "https://summertskattegrunnlag.api.skatteetaten-test.no/v2/oppgjoer/" + PAKKE
IM = "https://inntekt.api.skatteetaten-test.no/v1/" + PAKKE
NS = "{urn:no:skatteetaten:datasamarbeid:hendelser:v1}"
DELETED = ("28817212346", "2023")  # the persona SSG-011: its 2023 basis is gone


@pytest.fixture
def http(ske_sandbox):
    with httpx.Client() as client:
        client.headers["Authorization"] = f"Bearer {sync_token(ske_sandbox, client)}"
        yield client


def page(http, url: str, fra: int, antall: int = 1000) -> list[dict]:
    r = http.get(url, params={"fraSekvensnummer": fra, "antall": antall})
    assert r.status_code == 200, r.text
    return r.json()["hendelser"]


def start(http, url: str, dato: str) -> int:
    r = http.get(url + "/start", params={"dato": dato})
    assert r.status_code == 200, r.text
    return r.json()["sekvensnummer"]


def whole_feed(http, url: str, antall: int) -> list[dict]:
    """Everything, read as a client does: from 1, each page from the last number + 1, until a page is empty."""
    out, fra = [], 1
    while items := page(http, url, fra, antall):
        assert len(items) <= antall
        out += items
        fra = items[-1]["sekvensnummer"] + 1
    return out


@pytest.mark.parametrize("url", [OPPGJOER, INNTEKT])
def test_a_page_in_json_and_in_xml_carries_the_same_events(http, url):
    items = page(http, url, 1, 25)
    assert len(items) == 25
    first = items[0]
    assert {"sekvensnummer", "identifikator", "gjelderPeriode", "registreringstidspunkt",
            "ajourholdstidspunkt"} <= set(first)
    assert ("hendelsetype" in first) == (url == OPPGJOER)  # the Inntekt feed leaves the type out
    r = http.get(url, params={"fraSekvensnummer": 1, "antall": 25}, headers={"Accept": "application/xml"})
    assert r.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(r.content)
    assert root.tag == NS + "hendelser"
    as_xml = [{child.tag.removeprefix(NS): child.text for child in e} for e in root]
    assert [e.tag for e in root] == [NS + "hendelse"] * 25
    assert as_xml == [{k: str(v) for k, v in item.items()} for item in items]


@pytest.mark.parametrize("url", [OPPGJOER, INNTEKT])
def test_sequence_numbers_rise_with_gaps_and_so_does_registreringstidspunkt(ske_sandbox, http, url):
    items = page(http, url, 1)
    numbers = [i["sekvensnummer"] for i in items]
    assert numbers[:1] == [1] and numbers == sorted(set(numbers))
    steps = {b - a for a, b in zip(numbers, numbers[1:], strict=False)}
    assert 11 in steps and max(steps) > 11  # the documented step, and gaps
    times = [i["registreringstidspunkt"] for i in items]
    assert times == sorted(times)
    ske_sandbox.assert_requests_conform()  # the calls a following client makes are what the contract wants


@pytest.mark.parametrize(("url", "params", "status", "kode"), [
    (OPPGJOER, {"antall": "10"}, 400, "FA-004"),
    (OPPGJOER, {"fraSekvensnummer": "1"}, 400, "FA-004"),
    (OPPGJOER, {"fraSekvensnummer": "1", "antall": "0"}, 400, "FA-004"),
    (INNTEKT, {"fraSekvensnummer": "1", "antall": "1001"}, 400, "FA-004"),
    (INNTEKT, {"fraSekvensnummer": "-1", "antall": "10"}, 400, "FA-004"),
    (INNTEKT, {"fraSekvensnummer": "1.5", "antall": "10"}, 400, "FA-004"),
    (INNTEKT, {"fraSekvensnummer": str(2**63), "antall": "10"}, 400, "FA-004"),
    (INNTEKT, {"fraSekvensnummer": "ett", "antall": "10"}, 400, "FA-004"),
])
def test_bad_paging_is_fa_004(http, url, params, status, kode):
    r = http.get(url, params=params)
    assert (r.status_code, r.json()["kode"]) == (status, kode)
    assert r.json()["melding"]


@pytest.mark.parametrize(("dato", "status", "kode"), [
    ("2025-13-01", 400, "FA-004"), ("2025-1-1", 400, "FA-004"), ("2025-02-30", 400, "FA-004"),
    ("i morgen", 400, "FA-004"), ("2026-11-28", 404, "FA-005"), ("9999-12-31", 404, "FA-005"),
])
def test_a_bad_or_future_start_date_is_refused(http, dato, status, kode):
    for url in (OPPGJOER, INNTEKT):
        r = http.get(url + "/start", params={"dato": dato})
        assert (r.status_code, r.json()["kode"]) == (status, kode), r.text


def test_token_accept_and_url_errors_carry_fa_codes(ske_sandbox, http):
    assert httpx.get(OPPGJOER, params={"fraSekvensnummer": 1, "antall": 1}).json()["kode"] == "FA-003"
    r = http.get(OPPGJOER, params={"fraSekvensnummer": 1, "antall": 1}, headers={"Accept": "text/csv"})
    assert (r.status_code, r.json()["kode"]) == (406, "FA-006")
    r = http.get(INNTEKT + "/slutt")
    assert (r.status_code, r.json()["kode"]) == (404, "FA-002")
    for method in ("POST", "DELETE", "TRACE"):  # the feed's own paths are there, for GET only
        r = http.request(method, INNTEKT + "/start")
        assert (r.status_code, r.headers["allow"], r.json()["kode"]) == (405, "GET", "FA-002")
    with httpx.Client() as client:  # a token for Inntekt only does not open the skatteoppgjør feed
        token = ske_sandbox.token(["skatteetaten:inntekt"], real_hosts=True)
        client.headers["Authorization"] = f"Bearer {token}"
        assert client.get(INNTEKT, params={"fraSekvensnummer": 1, "antall": 1}).status_code == 200
        r = client.get(OPPGJOER, params={"fraSekvensnummer": 1, "antall": 1})
        assert (r.status_code, r.json()["kode"]) == (401, "FA-003")
    assert {e["service"] for e in ske_sandbox.journal} >= {"skatteoppgjoerhendelser", "inntekthendelser"}


def test_an_fa_scenario_reaches_both_feeds(ske_sandbox, http):
    with ske_sandbox.scenario("FA-001"):
        for url in (OPPGJOER, INNTEKT):
            r = http.get(url, params={"fraSekvensnummer": 1, "antall": 1})
            assert (r.status_code, r.json()["kode"]) == (500, "FA-001")
    assert http.get(OPPGJOER, params={"fraSekvensnummer": 1, "antall": 1}).status_code == 200


def test_start_splits_the_feed_at_the_day(http):
    for url, dato in ((OPPGJOER, "2025-06-01"), (INNTEKT, "2025-06-10")):
        number = start(http, url, dato)
        after = page(http, url, number, 50)
        assert after and all(i["registreringstidspunkt"][:10] >= dato for i in after)
        before = page(http, url, start(http, url, "2025-05-01"))
        earlier = [i for i in before if i["sekvensnummer"] < number]
        assert earlier and all(i["registreringstidspunkt"][:10] < dato for i in earlier)
        r = http.get(url + "/start")  # no date: where the feed begins
        assert r.json() == {"sekvensnummer": 1}


def test_events_answer_as_the_data_apis_do(http):
    """A NY event's year is served by Summert skattegrunnlag, a SLETTET one is 410; an Inntekt event's month
    is served by the Inntekt API."""
    for item in page(http, OPPGJOER, start(http, OPPGJOER, "2025-04-01"), 15):
        assert item["hendelsetype"] == "NY"
        r = http.get(f"{SSG}/{item['gjelderPeriode']}/{item['identifikator']}")
        assert r.status_code == 200, r.text
        body = r.json()
        if body["skjermet"] and "grunnlag" not in body:  # fully screened: only the call's parameters
            assert set(body) == {"personidentifikator", "inntektsaar", "stadie", "skjermet"}
        else:
            assert body["ajourholdstidspunkt"] == item["ajourholdstidspunkt"]
    year_2023 = page(http, OPPGJOER, start(http, OPPGJOER, "2024-03-21"))
    (gone,) = [i for i in year_2023 if (i["identifikator"], i["gjelderPeriode"]) == DELETED]
    assert gone["hendelsetype"] == "SLETTET"
    r = http.get(f"{SSG}/{gone['gjelderPeriode']}/{gone['identifikator']}")
    assert (r.status_code, r.json()["kode"]) == (410, "SSG-011")
    for item in page(http, INNTEKT, start(http, INNTEKT, "2026-03-01"), 15):
        r = http.get(f"{IM}/{item['identifikator']}/inntekter", params={"fraOgMed": item["gjelderPeriode"]})
        assert r.status_code == 200, r.text
        months = {o.get("kalendermaaned", item["gjelderPeriode"]) for o in r.json()["oppgaveInntektsmottaker"]}
        assert months == {item["gjelderPeriode"]}


def _client(box):
    box.client.headers["Authorization"] = f"Bearer {box.token(real_hosts=True)}"
    return box.client


def test_the_oppgjoer_feed_is_the_worlds_settled_and_deleted_years_read_page_by_page():
    box = kit(population=40)
    http, population = _client(box), box.sandbox.population
    today = population.calendar.today
    expected = set()
    for life in population.people():
        for year in range(2021, today.year):
            if not life.exists or settlement_date(life, year) > today:
                continue
            if year in life.deleted:
                expected.add((life.fnr, str(year), "SLETTET"))
            elif population.has_settlement(life, year):
                expected.add((life.fnr, str(year), "NY"))
    in_pages = whole_feed(http, OPPGJOER, 37)
    assert in_pages == whole_feed(http, OPPGJOER, 1000)  # page size changes nothing: no duplicates, no holes
    got = [(i["identifikator"], i["gjelderPeriode"], i["hendelsetype"]) for i in in_pages]
    assert len(got) == len(set(got)) and set(got) == expected
    assert ("01928812312", str(today.year - 1), "NY") not in expected  # the persona with no oppgjør for last year


def test_the_inntekt_feed_is_the_worlds_reported_months_and_some_corrections():
    box = kit(population=25)
    http, population = _client(box), box.sandbox.population
    last = population.calendar.last_available_month()
    expected = {(life.fnr, f"{y:04d}-{m:02d}") for life in population.people() if life.exists
                for y, m in iter_months(FIRST_MONTH, last) if (y, m) in population.reported_months(life)}
    items = whole_feed(http, INNTEKT, 500)
    got = [(i["identifikator"], i["gjelderPeriode"]) for i in items]
    assert set(got) == expected
    first: dict[tuple[str, str], str] = {}
    corrections = 0
    for pair, item in zip(got, items, strict=True):
        day = item["registreringstidspunkt"][:10]
        if pair in first:  # a correction: the same month again, on a later day
            corrections += 1
            assert day > first[pair]
        else:  # the month's first event comes on the 10th of the next month
            assert day == month_text(add_months(parse_month(pair[1]), 1)) + "-10"
            first[pair] = day
    assert 0 < corrections < 0.1 * len(got)


def test_same_seed_same_feed_and_another_seed_another():
    def read(seed: int) -> list[bytes]:
        http = _client(kit(population=30, seed=seed))
        return [http.get(url, params={"fraSekvensnummer": 1, "antall": 300}).content for url in (OPPGJOER, INNTEKT)]

    assert read(3) == read(3)
    assert read(3)[0] != read(4)[0] and read(3)[1] != read(4)[1]


def test_a_later_day_extends_the_feed_and_keeps_every_earlier_number():
    """Every event of the earlier feed is in the later one with the same number. (A persona whose years are
    relative to today — `no_settlement: [last]` — may gain an earlier event; it gets its own reserved number.)"""
    box = kit(population=30)
    for url in (OPPGJOER, INNTEKT):
        early = whole_feed(_client(kit(population=30, today=dt.date(2025, 6, 15))), url, 1000)
        later = whole_feed(_client(box), url, 1000)
        assert early and len(later) > len(early)
        by_number = {i["sekvensnummer"]: i for i in later}
        assert all(by_number[i["sekvensnummer"]] == i for i in early)
        assert later[:len(early)] == early  # in this world nothing was added in between


def test_the_feed_follows_the_data_calendar_when_it_moves():
    """Nothing keyed without the date is cached: the same app answers by the calendar's day at each call."""
    box = kit(population=30)
    http = _client(box)
    now = whole_feed(http, OPPGJOER, 1000)
    box.travel_to("2025-06-15")
    then = whole_feed(http, OPPGJOER, 1000)
    assert then == now[:len(then)] and len(then) < len(now)
    assert all(i["registreringstidspunkt"][:10] <= "2025-06-15" for i in then)
    box.travel_to("2026-11-27")
    assert whole_feed(http, OPPGJOER, 1000) == now


def test_the_registry_entries_reach_routing_certificates_and_contracts():
    for service in (SKATTEOPPGJOERHENDELSER, INNTEKTHENDELSER):
        for host in service.hosts.values():
            assert REAL_HOSTS[host][1] == service.name
            assert host in localca.LEAF_NAMES  # the server certificate names it
        assert any(host.endswith("." + d) for d in localca.PERMITTED_DOMAINS for host in service.hosts.values())
        assert dict(service.xml_items) == contractschema.xml_items(service.name)
        assert contractschema.xml_name(service.name) == (service.xml_root, service.xml_namespace)
        assert not service.rettighetspakke


def test_the_pages_error_picker_offers_only_codes_of_services_its_flow_calls():
    offered = {choice.value.split(":", 1)[1] for _, choices in scenario_choices() for choice in choices}
    assert "SSG-011" in offered and "TD-004" in offered
    assert not any(code.startswith("FA-") for code in offered)  # the flow never reads a feed


def test_the_control_document_names_the_feeds_in_the_journal_and_the_scenario_header():
    doc = yaml.safe_load((Path(control.__file__).parent / "openapi.yaml").read_text())
    schemas, parameters = doc["components"]["schemas"], doc["components"]["parameters"]
    assert schemas["JournalEntry"]["properties"]["service"]["enum"] == list(services.NAMES)
    pattern = parameters["SkeSandboxScenario"]["schema"]["pattern"]
    assert all(re.fullmatch(pattern, code) for code in ERROR_CODES)


DRAWN_BOX = kit(population=20)


@settings(max_examples=20, deadline=None, database=None, derandomize=True)
@given(drawn=responses("inntekthendelser", 200, media="xml"))
def test_a_drawn_page_renders_and_is_answered_as_the_feed_renders_its_own(drawn):
    root = ET.fromstring(drawn.content())
    items = [e.tag for e in root if e.tag != NS + variants.UNKNOWN_FIELD]  # an unknown field, for tolerance
    assert items == [NS + "hendelse"] * len(drawn.body["hendelser"])
    http = _client(DRAWN_BOX)
    before = http.get(INNTEKT + "/start", params={"dato": "2025-06-10"}).json()
    with DRAWN_BOX.answer("inntekthendelser", drawn):
        r = http.get(INNTEKT, params={"fraSekvensnummer": 1, "antall": 5}, headers={"Accept": "application/xml"})
        assert r.content == drawn.content()
        # the start number still comes from the world: a drawn page is not a start answer
        assert http.get(INNTEKT + "/start", params={"dato": "2025-06-10"}).json() == before
