"""Runtime personas without a number: the control API and the page mint a valid synthetic fødselsnummer nobody
has, the same one for the same posts, and the new person answers in every service."""

from __future__ import annotations

import datetime as dt

import pytest

from mockserver.identifiers import parse_person_number
from mockserver.settings import Settings
from mockserver.testkit.kit import SandboxKit

PAKKE = "kommuneboligsosialeformaal"


def make_kit(**settings) -> SandboxKit:
    kit = SandboxKit(Settings(today=dt.date(2026, 11, 27), population=200, base_url="http://ske-sandbox.test",
                              **settings))
    kit.begin()
    return kit


@pytest.fixture
def kit():
    kit = make_kit()
    yield kit
    kit.end()


def _post(kit: SandboxKit, body: dict) -> dict:
    r = kit.client.post("/__sandbox/personas", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_persona_without_fnr_gets_a_minted_number_that_answers(kit):
    before = {p.fnr for p in kit.sandbox.population.personas.values()}
    made = _post(kit, {"first_name": "Demo", "last_name": "Person", "archetype": "employee", "monthly": 48000})
    fnr = made["fnr"]
    assert made["minted"] is True and made["replaced"] is False and made["person"] == f"/person/{fnr}"
    number = parse_person_number(fnr)
    assert number.synthetic and fnr not in before
    assert kit.client.get(f"/person/{fnr}").status_code == 200
    token = {"Authorization": f"Bearer {kit.token()}"}
    r = kit.client.get(f"/inntekt/v1/{PAKKE}/{fnr}/inntekter?fraOgMed=2026-09&tilOgMed=2026-10", headers=token)
    assert r.status_code == 200 and r.json()["oppgaveInntektsmottaker"]
    assert kit.client.get(f"/sistetilgjengeligeskatteoppgjoer/v1/{fnr}", headers=token).status_code == 200
    listed = kit.client.get("/__sandbox/people", params={"search": fnr}).json()
    assert [p["fnr"] for p in listed] == [fnr]


def test_a_given_fnr_is_kept_and_not_marked_minted(kit):
    made = _post(kit, {"fnr": "01928840057", "archetype": "pensioner"})
    assert made == {**made, "fnr": "01928840057", "minted": False}


def test_the_same_posts_mint_the_same_numbers_and_never_a_taken_one():
    bodies = [{"first_name": "A"}, {"first_name": "B"}, {"first_name": "A"}]
    runs = []
    for _ in range(2):
        kit = make_kit()
        try:
            runs.append([_post(kit, b)["fnr"] for b in bodies])
            crowd = kit.sandbox.population
            assert all(crowd.lookup(fnr) is not None for fnr in runs[-1])
        finally:
            kit.end()
    assert runs[0] == runs[1]
    assert len(set(runs[0])) == 3  # the third post repeats the first body, yet mints a number of its own


def test_minting_skips_numbers_the_crowd_or_a_persona_holds(kit):
    population = kit.sandbox.population
    first = population.unused_number("probe")
    _post(kit, {"fnr": first, "archetype": "employee"})  # now taken
    assert population.unused_number("probe") != first


def test_a_bad_minted_post_is_refused_without_adding_anyone(kit):
    count = kit.sandbox.population.runtime_personas()
    r = kit.client.post("/__sandbox/personas", json={"archetype": "astronaut"})
    assert r.status_code == 422 and "archetype" in r.json()["error"]
    assert kit.sandbox.population.runtime_personas() == count


def test_the_page_adds_a_person_and_shows_them(kit):
    form = kit.client.get("/ny-person")
    assert form.status_code == 200 and 'id="ny-person"' in form.text and "<script>" not in form.text
    r = kit.client.post("/ny-person", data={"first_name": "Vigdis", "last_name": "Demo", "archetype": "pensioner",
                                           "monthly": "", "story": "Lagt til under demoen."},
                        follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/person/")
    fnr = r.headers["location"].rsplit("/", 1)[1]
    page = kit.client.get(f"/person/{fnr}")
    assert page.status_code == 200 and "Vigdis Demo" in page.text and "Lagt til under demoen." in page.text


@pytest.mark.parametrize(("form", "why"), [
    ({"archetype": "astronaut"}, "livssituasjonene"),
    ({"archetype": "employee", "monthly": "mye"}, "helt antall kroner"),
])
def test_the_page_says_what_is_wrong(kit, form, why):
    count = kit.sandbox.population.runtime_personas()
    r = kit.client.post("/ny-person", data=form)
    assert r.status_code == 422 and why in r.text
    assert kit.sandbox.population.runtime_personas() == count


def test_the_page_form_is_guarded():
    guarded = make_kit(admin_token="t0ken")
    try:
        count = guarded.sandbox.population.runtime_personas()
        assert guarded.client.get("/ny-person").status_code == 200  # the empty form is public
        r = guarded.client.post("/ny-person", data={"archetype": "employee"}, follow_redirects=False)
        assert r.status_code == 401
        guarded.client.post("/logg-inn", data={"token": "t0ken", "neste": "/ny-person"})
        r = guarded.client.post("/ny-person", data={"archetype": "employee"}, headers={"Origin": "https://evil.test"})
        assert r.status_code == 403 and guarded.sandbox.population.runtime_personas() == count
        r = guarded.client.post("/ny-person", data={"archetype": "employee"}, follow_redirects=False)
        assert r.status_code == 303 and guarded.sandbox.population.runtime_personas() == count + 1
    finally:
        guarded.end()
