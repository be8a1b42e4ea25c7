"""The data calendar moved at run time (control API, kit, page): every answer follows the date, byte for byte as
if the sandbox had started on it, and bad input is refused without moving anything."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
import uuid
from pathlib import Path

import httpx
import jsonschema
import jwt
import pytest
import yaml
from support import running_server

from mockserver.clock import LATEST_TODAY, CalendarError
from mockserver.maskinporten.grant import GRANT_TYPE
from mockserver.maskinporten.registry import demo_client
from mockserver.months import add_months, month_text, parse_month
from mockserver.population.settlement import settlement_date
from mockserver.settings import Settings
from mockserver.testkit.kit import SandboxKit

START = dt.date(2026, 11, 27)
PAKKE = "kommuneboligsosialeformaal"
KARI = "15838512671"
ERIK = "01928812312"  # no_settlement: [last]
ACCEPTS = ("application/json", "application/xml")
CORRELATION = re.compile(rb'"korrelasjonsid":"[^"]*"|<korrelasjonsid>[^<]*</korrelasjonsid>')


def make_kit(today: dt.date = START, population: int = 40, **settings) -> SandboxKit:
    kit = SandboxKit(Settings(today=today, population=population, base_url="http://ske-sandbox.test", **settings))
    kit.begin()
    return kit


@pytest.fixture
def kit():
    k = make_kit()
    yield k
    k.end()


@pytest.fixture(scope="module")
def sivilrett(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clients file giving the demo client's organisation a package that reads all three stadier."""
    path = tmp_path_factory.mktemp("clock") / "clients.yaml"
    path.write_text(yaml.safe_dump({"consumers": [
        {"orgnr": demo_client(1).orgnr, "rettighetspakker": [PAKKE, "sivilrett"]}]}))
    return path


def auth(kit: SandboxKit) -> dict[str, str]:
    return {"Authorization": f"Bearer {kit.token()}"}


def ssg(kit: SandboxKit, year: int, fnr: str = KARI, stadie: str = "oppgjoer") -> httpx.Response:
    return kit.client.get(f"/summertskattegrunnlag/v2/{stadie}/{PAKKE}/{year}/{fnr}", headers=auth(kit))


def siste(kit: SandboxKit, fnr: str = KARI) -> httpx.Response:
    return kit.client.get(f"/sistetilgjengeligeskatteoppgjoer/v1/{fnr}", headers=auth(kit))


def inntekt(kit: SandboxKit, month: str, fnr: str = KARI) -> httpx.Response:
    return kit.client.get(f"/inntekt/v1/{PAKKE}/{fnr}/inntekter?fraOgMed={month}", headers=auth(kit))


def answers(kit: SandboxKit, people: list[str], today: dt.date) -> dict[tuple[str, str], tuple[int, str, bytes]]:
    """Every data API's answer (JSON and XML) for each person around `today`: status, type and body, the
    random korrelasjonsid left out."""
    year = today.year
    last = parse_month(kit.client.get("/__sandbox/clock").json()["last_complete_month"])
    first, following = month_text(add_months(last, -2)), month_text(add_months(last, 1))
    paths = ["/sistetilgjengeligeskatteoppgjoer/v1/{fnr}",
             f"/inntekt/v1/{PAKKE}/{{fnr}}/inntekter?fraOgMed={first}&tilOgMed={following}",
             f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/{year - 2}/{{fnr}}",
             *(f"/summertskattegrunnlag/v2/{stadie}/sivilrett/{year - 1}/{{fnr}}"
               for stadie in ("oppgjoer", "utkast", "fastsatt"))]
    headers = auth(kit)
    out = {}
    for fnr in people:
        for path in paths:
            for accept in ACCEPTS:
                r = kit.client.get(path.format(fnr=fnr), headers={**headers, "Accept": accept})
                assert r.status_code < 500, (path, r.text)
                out[(path.format(fnr=fnr), accept)] = (r.status_code, r.headers["content-type"],
                                                       CORRELATION.sub(b"", r.content))
    return out


# --- the same bytes, moved or started there -------------------------------------------------------------------
def test_a_moved_clock_answers_byte_for_byte_as_a_sandbox_started_on_that_day(sivilrett):
    """Forwards and backwards, by PUT, by advance and by the kit, across the 10th-of-month rule, 15 February
    (SSG-006), 21 March (oppgjør and utkast), 31 October and a new year (a persona's `last`)."""
    kit = make_kit(clients_file=sivilrett)
    people = [p["fnr"] for p in kit.client.get("/__sandbox/people", params={"limit": 40}).json()]
    assert len(people) == 40 and ERIK in people
    answers(kit, people, kit.today)  # warm every cache at the start date first
    moves = [("put", "2027-03-21"), ("advance", -400), ("advance", 1), ("kit", "2027-11-01"),
             ("put", "2025-06-30"), ("put", "2026-11-27")]
    statuses = set()
    for how, value in moves:
        if how == "put":
            r = kit.client.put("/__sandbox/clock", json={"today": value})
        elif how == "advance":
            r = kit.client.post("/__sandbox/clock/advance", json={"days": value})
        else:
            kit.travel_to(value)
            r = kit.client.get("/__sandbox/clock")
        assert r.status_code == 200, r.text
        today = dt.date.fromisoformat(r.json()["today"])
        fresh = make_kit(today, clients_file=sivilrett)
        try:
            expected = answers(fresh, people, today)
        finally:
            fresh.end()
        moved = answers(kit, people, today)
        differing = [key for key in expected if moved[key] != expected[key]]
        assert not differing, (how, value, today, differing[:5])
        statuses |= {status for status, _, _ in moved.values()}
    kit.end()
    assert statuses == {200, 400, 404, 410}  # answers, SSG-006, SSG-008/IM-008/TD-004, SSG-011


def test_each_request_reads_one_date_while_another_thread_moves_the_clock(kit):
    """A move never mixes two dates in one answer, and no answer is remembered under the other date."""
    a, b = "2027-05-08", "2027-05-09"  # Kari's 2026 oppgjør is ready on 9 May 2027
    expected = {}
    for day in (a, b):
        kit.travel_to(day)
        expected[day] = (ssg(kit, 2026).status_code, siste(kit).json().get("sisteTilgjengeligePeriode"))
    assert expected[a] != expected[b]
    stop = threading.Event()

    def mover() -> None:
        while not stop.is_set():
            for day in (a, b):
                kit.sandbox.set_today(day)

    thread = threading.Thread(target=mover)
    thread.start()
    try:
        headers = auth(kit)
        seen = {(kit.client.get(f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/2026/{KARI}", headers=headers)
                 .status_code) for _ in range(100)}
    finally:
        stop.set()
        thread.join()
    assert seen <= {expected[a][0], expected[b][0]}
    for day in (a, b):  # what the caches hold for each date is that date's answer
        kit.travel_to(day)
        assert (ssg(kit, 2026).status_code, siste(kit).json().get("sisteTilgjengeligePeriode")) == expected[day]


def test_a_move_during_a_request_neither_changes_its_answer_nor_what_is_cached(kit, monkeypatch):
    """The clock moves between the check and the answer of one call: the call answers for the date it began
    with, and the other date's answer is never remembered under it."""
    from mockserver.summertskattegrunnlag import routes

    before, after = "2027-05-08", "2027-05-09"  # Kari's 2026 oppgjør is ready on 9 May 2027
    kit.travel_to(before)
    model = routes.skattegrunnlag

    def moving_meanwhile(*args, **kwargs):
        kit.sandbox.set_today(after)
        return model(*args, **kwargs)

    monkeypatch.setattr(routes, "skattegrunnlag", moving_meanwhile)
    assert ssg(kit, 2026).json()["kode"] == "SSG-008"
    monkeypatch.setattr(routes, "skattegrunnlag", model)
    assert kit.today.isoformat() == after and ssg(kit, 2026).status_code == 200
    kit.travel_to(before)
    assert ssg(kit, 2026).json()["kode"] == "SSG-008"


# --- what moving shows ------------------------------------------------------------------------------------
def test_an_oppgjoer_arrives_on_its_day(kit):
    day = settlement_date(kit.sandbox.population.lookup(KARI), 2026)
    kit.travel_to(day - dt.timedelta(days=1))
    assert ssg(kit, 2026).json()["kode"] == "SSG-008"
    assert siste(kit).json()["sisteTilgjengeligePeriode"] == "2025"
    assert kit.advance(days=1) == day
    assert ssg(kit, 2026).json()["skatteoppgjoersdato"] == day.isoformat()
    assert siste(kit).json()["sisteTilgjengeligePeriode"] == "2026"


def test_a_month_is_complete_on_the_10th_of_the_next(kit):
    kit.travel_to("2027-01-09")
    assert inntekt(kit, "2026-12").json()["kode"] == "IM-008"
    assert kit.client.get("/__sandbox/clock").json()["last_complete_month"] == "2026-11"
    kit.advance(1)
    r = inntekt(kit, "2026-12")
    assert r.status_code == 200 and r.json()["oppgaveInntektsmottaker"][0]["kalendermaaned"] == "2026-12"


def test_the_previous_year_is_ssg006_until_15_february(kit):
    kit.travel_to(dt.date(2027, 2, 14))
    assert ssg(kit, 2026).json()["kode"] == "SSG-006"
    assert ssg(kit, 2025).status_code == 200
    kit.advance(1)
    assert ssg(kit, 2026).json()["kode"] == "SSG-008"  # served now, but nobody's oppgjør is out yet


def test_a_persona_s_last_year_follows_the_calendar(kit):
    """`no_settlement: [last]` and `deleted: [last]` name the year before the data calendar's, whenever it moves."""
    nora = "01928840057"
    r = kit.client.post("/__sandbox/personas", json={"fnr": nora, "archetype": "employee", "deleted": ["last"]})
    assert r.status_code == 201, r.text
    erik = ERIK
    assert ssg(kit, 2025, nora).json()["kode"] == "SSG-011"
    assert ssg(kit, 2025, erik).json()["kode"] == "SSG-008"
    kit.travel_to("2027-11-27")
    assert ssg(kit, 2025, nora).status_code == 200
    assert ssg(kit, 2025, erik).status_code == 200
    assert ssg(kit, 2026, nora).json()["kode"] == "SSG-011"
    assert ssg(kit, 2026, erik).json()["kode"] == "SSG-008"
    assert siste(kit, erik).json()["sisteTilgjengeligePeriode"] == "2025"
    kit.travel_to(START)
    assert ssg(kit, 2025, nora).json()["kode"] == "SSG-011"
    assert ssg(kit, 2025, erik).json()["kode"] == "SSG-008"


def test_get_clock_says_what_follows_from_the_date(kit):
    r = kit.client.put("/__sandbox/clock", json={"today": "2027-03-21"})
    assert r.status_code == 200
    assert r.json() == {
        "today": "2027-03-21", "start": "2026-11-27", "last_complete_month": "2027-02",
        "next_complete_month": {"month": "2027-03", "on": "2027-04-10"}, "latest_supported_year": 2026,
        "latest_utkast_year": 2026, "settling_year": 2026, "latest_settled_year": 2025}
    assert kit.client.get("/__sandbox/clock").json() == r.json()
    assert kit.client.get("/__sandbox/info").json()["today"] == "2027-03-21"
    before = kit.client.post("/__sandbox/clock/advance", json={"days": -40}).json()
    assert before["today"] == "2027-02-09"
    assert (before["last_complete_month"], before["latest_supported_year"], before["latest_utkast_year"],
            before["settling_year"]) == ("2026-12", 2025, 2025, None)


def test_clock_answers_fit_the_control_document(kit):
    doc = yaml.safe_load(kit.client.get("/__sandbox/openapi.yaml").text)
    schema = {"$ref": "#/components/schemas/Clock", "components": doc["components"]}
    for day in ("2015-01-01", "2021-03-21", "2027-10-31", LATEST_TODAY.isoformat()):
        body = kit.client.put("/__sandbox/clock", json={"today": day}).json()
        jsonschema.validate(body, schema)
        assert body["today"] == day


# --- bad input ------------------------------------------------------------------------------------------
JSON = {"Content-Type": "application/json"}
BAD = [
    ("PUT", "/__sandbox/clock", {"Content-Type": "text/plain"}, b'{"today": "2027-01-01"}', 415, "Content-Type"),
    ("PUT", "/__sandbox/clock", JSON, b'{"today": ', 400, "not valid UTF-8 JSON"),
    ("PUT", "/__sandbox/clock", JSON, b'{"today": "' + b"9" * 2000 + b'"}', 413, "larger than 1024"),
    ("PUT", "/__sandbox/clock", JSON, b'["2027-01-01"]', 422, "one field 'today'"),
    ("PUT", "/__sandbox/clock", JSON, b'{"today": "2027-01-01", "x": 1}', 422, "one field 'today'"),
    ("PUT", "/__sandbox/clock", JSON, b'{"days": 3}', 422, "one field 'today'"),
    ("PUT", "/__sandbox/clock", JSON, b'{"today": "2027-02-30"}', 422, "not a calendar date"),
    ("PUT", "/__sandbox/clock", JSON, b'{"today": "20270321"}', 422, "YYYY-MM-DD"),
    ("PUT", "/__sandbox/clock", JSON, b'{"today": "2027-W12-1"}', 422, "YYYY-MM-DD"),
    ("PUT", "/__sandbox/clock", JSON, b'{"today": "2027-03-21T00:00:00"}', 422, "YYYY-MM-DD"),
    ("PUT", "/__sandbox/clock", JSON, b'{"today": 20270321}', 422, "YYYY-MM-DD"),
    ("PUT", "/__sandbox/clock", JSON, b'{"today": null}', 422, "YYYY-MM-DD"),
    ("PUT", "/__sandbox/clock", JSON, b'{"today": "2014-12-31"}', 422, "between 2015-01-01 and 2099-12-31"),
    ("PUT", "/__sandbox/clock", JSON, b'{"today": "2100-01-01"}', 422, "between 2015-01-01 and 2099-12-31"),
    ("POST", "/__sandbox/clock/advance", JSON, b'{"days": "7"}', 422, "whole number"),
    ("POST", "/__sandbox/clock/advance", JSON, b'{"days": 1.5}', 422, "whole number"),
    ("POST", "/__sandbox/clock/advance", JSON, b'{"days": true}', 422, "whole number"),
    ("POST", "/__sandbox/clock/advance", JSON, b'{"days": 1e400}', 422, "whole number"),
    ("POST", "/__sandbox/clock/advance", JSON, b'{"days": ' + b"9" * 1000 + b"}", 422, "between -31045"),
    ("POST", "/__sandbox/clock/advance", JSON, b'{"days": 31045}', 422, "between 2015-01-01 and 2099-12-31"),
    ("POST", "/__sandbox/clock/advance", JSON, b'{"days": -5000}', 422, "between 2015-01-01 and 2099-12-31"),
    ("POST", "/__sandbox/clock/advance", JSON, b"{}", 422, "one field 'days'"),
    ("POST", "/__sandbox/clock/advance", JSON, b"\xff\xfe", 400, "not valid UTF-8 JSON"),
    ("DELETE", "/__sandbox/clock", JSON, b"", 405, None),
    ("GET", "/__sandbox/clock/advance", JSON, b"", 405, None),
]


@pytest.mark.parametrize(("method", "path", "headers", "body", "status", "message"), BAD,
                         ids=[f"{i}-{row[4]}" for i, row in enumerate(BAD)])
def test_bad_clock_input_is_refused_and_moves_nothing(kit, method, path, headers, body, status, message):
    r = kit.client.request(method, path, headers=headers, content=body)
    assert r.status_code == status, r.text
    if message is not None:
        assert message in r.json()["error"]
    assert kit.client.get("/__sandbox/clock").json()["today"] == START.isoformat()


def test_the_clock_routes_are_guarded_as_every_control_route():
    guarded = make_kit(admin_token="t0ken")
    try:
        c = guarded.client
        assert c.get("/__sandbox/clock").status_code == 401
        assert c.put("/__sandbox/clock", json={"today": "2027-01-01"}).status_code == 401
        assert c.post("/__sandbox/clock/advance", json={"days": 1}).status_code == 401
        token = {"Authorization": "Bearer t0ken"}
        r = c.put("/__sandbox/clock", json={"today": "2027-01-01"}, headers={**token, "Origin": "https://evil.test"})
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
        assert guarded.today == START
        r = c.put("/__sandbox/clock", json={"today": "2027-01-01"}, headers=token)
        assert r.status_code == 200 and guarded.today == dt.date(2027, 1, 1)
    finally:
        guarded.end()
    loopback_only = make_kit()
    try:
        r = loopback_only.client.put("/__sandbox/clock", json={"today": "2027-01-01"},
                                     headers={"Host": "rebound.example"})
        assert r.status_code == 403 and loopback_only.today == START
    finally:
        loopback_only.end()


# --- the kit --------------------------------------------------------------------------------------------
def test_travel_to_takes_a_date_or_text_and_the_kit_restores_the_start_date():
    k = make_kit()
    try:
        assert k.travel_to(dt.date(2027, 3, 21)) == dt.date(2027, 3, 21) == k.today
        assert k.travel_to("2025-01-10") == k.today == dt.date(2025, 1, 10)
        assert k.advance(weeks=1, days=-1) == dt.date(2025, 1, 16)
        for bad in ("2025-13-01", "next week", dt.datetime(2027, 1, 1), 20270101, dt.date(2100, 1, 1)):
            with pytest.raises(CalendarError):
                k.travel_to(bad)
        with pytest.raises(CalendarError):
            k.advance(40_000)
        assert k.today == dt.date(2025, 1, 16)
    finally:
        k.end()
    assert k.today == START
    k.begin()
    try:
        k.travel_to("2030-01-01")
        k.client.post("/__sandbox/reset")
        assert k.today == START  # reset returns the calendar to the start date too
    finally:
        k.end()


def test_a_start_date_outside_the_movable_range_is_still_restored():
    k = make_kit(dt.date(2120, 6, 1))
    try:
        assert k.travel_to("2027-01-01") == k.today
        assert k.client.post("/__sandbox/reset").status_code == 200
        assert k.today == dt.date(2120, 6, 1)
        k.travel_to("2027-01-01")
    finally:
        k.end()
    assert k.today == dt.date(2120, 6, 1)


def test_the_ske_sandbox_fixture_restores_the_date_after_a_test(pytester):
    pytester.makepyfile("""
        import datetime as dt

        def test_moves(ske_sandbox_shared):
            ske_sandbox_shared.travel_to("2030-06-01")
            assert ske_sandbox_shared.today == dt.date(2030, 6, 1)

        def test_starts_where_the_settings_say(ske_sandbox_shared):
            assert ske_sandbox_shared.today == dt.date(2026, 11, 27)
    """)
    pytester.runpytest().assert_outcomes(passed=2)


# --- the page -------------------------------------------------------------------------------------------
def test_the_page_shows_the_date_and_a_presenter_moves_it(kit):
    page = kit.client.get("/datakalender")
    assert page.status_code == 200 and 'id="dato">2026-11-27<' in page.text
    assert "<script>" not in page.text and "onclick" not in page.text
    r = kit.client.post("/datakalender", data={"dato": "2027-03-21"}, follow_redirects=False)
    assert r.status_code == 303 and kit.today == dt.date(2027, 3, 21)
    shown = kit.client.get("/datakalender").text
    assert 'id="dato">2027-03-21<' in shown and "(startet 2026-11-27)" in shown and "for 2026" in shown
    assert "datakalender 2027-03-21" in kit.client.get("/").text
    kit.client.post("/datakalender", data={"dager": "-1"})
    assert kit.today == dt.date(2027, 3, 20)
    for form, why in (({"dato": "2027-02-30"}, "not a calendar date"), ({"dager": "1e3"}, "heltall"),
                      ({"dato": ""}, "Oppgi en dato"), ({"dager": "999999"}, "between")):
        r = kit.client.post("/datakalender", data=form)
        assert r.status_code == 400 and why in r.text and kit.today == dt.date(2027, 3, 20), form
    kit.client.post("/datakalender", data={"start": "1"})
    assert kit.today == START


def test_the_page_form_is_guarded():
    guarded = make_kit(admin_token="t0ken")
    try:
        assert guarded.client.get("/datakalender").status_code == 200  # reading the date is public
        r = guarded.client.post("/datakalender", data={"dato": "2027-01-01"}, follow_redirects=False)
        assert r.status_code == 401 and guarded.today == START
        guarded.client.post("/logg-inn", data={"token": "t0ken", "neste": "/datakalender"})
        r = guarded.client.post("/datakalender", data={"dato": "2027-01-01"}, headers={"Origin": "https://evil.test"})
        assert r.status_code == 403 and guarded.today == START
        r = guarded.client.post("/datakalender", data={"dato": "2027-01-01"}, follow_redirects=False)
        assert r.status_code == 303 and guarded.today == dt.date(2027, 1, 1)
    finally:
        guarded.end()


@pytest.mark.parametrize("day", ["2015-01-01", "2021-02-10", "2026-11-27", "2027-03-21", "2099-12-31"])
def test_every_persona_s_page_answers_on_any_date(kit, day):
    kit.travel_to(day)
    for persona in kit.sandbox.population.personas.values():
        r = kit.client.get(f"/person/{persona.fnr}")
        assert r.status_code in (200, 404), (persona.fnr, r.status_code)


# --- a real server ----------------------------------------------------------------------------------------
@pytest.mark.subprocess
def test_a_running_server_moves_its_clock_over_http():
    with running_server("--today", START.isoformat(), "--population", "50", "--seed", "1") as base:
        with httpx.Client(base_url=base, timeout=30) as c:
            demo = c.get("/__sandbox/demo-client").json()
            issuer = c.get("/__sandbox/info").json()["issuer"]

            def token() -> str:
                now = int(time.time())
                grant = jwt.encode({"aud": issuer, "iss": demo["client_id"], "scope": " ".join(demo["scopes"]),
                                    "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())},
                                   demo["private_key_pem"], algorithm="RS256", headers={"kid": demo["kid"]})
                r = c.post("/maskinporten/token", data={"grant_type": GRANT_TYPE, "assertion": grant})
                return r.json()["access_token"]

            headers = {"Authorization": f"Bearer {token()}"}
            path = f"/sistetilgjengeligeskatteoppgjoer/v1/{KARI}"
            assert c.get(path, headers=headers).json()["sisteTilgjengeligePeriode"] == "2025"
            r = c.put("/__sandbox/clock", json={"today": "2027-05-09"})
            assert r.status_code == 200 and r.json()["settling_year"] == 2026
            assert c.get(path, headers=headers).json()["sisteTilgjengeligePeriode"] == "2026"
            r = c.post("/__sandbox/clock/advance", json={"days": -1})
            assert r.json()["today"] == "2027-05-08"
            assert c.get(path, headers=headers).json()["sisteTilgjengeligePeriode"] == "2025"
            r = c.put("/__sandbox/clock", json={"today": "tomorrow"})
            assert r.status_code == 422 and "YYYY-MM-DD" in r.json()["error"]
            assert c.get("/__sandbox/clock").json()["today"] == "2027-05-08"
            assert c.post("/__sandbox/reset").status_code == 200
            assert c.get("/__sandbox/clock").json()["today"] == START.isoformat()
