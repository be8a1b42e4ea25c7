"""The onboarding page, in-process: what each view shows, that it reads the same data the services answer,
and that odd input gets the page's own 4xx, never a 500."""

from __future__ import annotations

import re
import time
import uuid

import jwt
import pytest

KARI = "15838512671"  # ordinary, owns her home
ERIK = "01928812312"  # SSG-008 for last year
NOBODY = "01928840057"  # valid synthetic number nobody has


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_search_lists_personas_first_and_links_each_person(ske_sandbox):
    r = ske_sandbox.client.get("/")
    assert r.status_code == 200
    rows = re.findall(r'<a class="ds-link" href="/person/([0-9]{11})">', r.text)
    personas = list(ske_sandbox.sandbox.population.personas)
    assert len(rows) == 50 and len(personas) < 50
    assert rows[:len(personas)] == personas  # every persona, in file order, before the crowd
    assert not set(rows[len(personas):]) & set(personas)
    assert "/static/designsystemet/designsystemet.css" in r.text


@pytest.mark.parametrize(("query", "expect"), [
    ({"q": "kari"}, KARI),
    ({"q": KARI}, KARI),
    ({"scenario": "SSG-008"}, ERIK),
])
def test_search_by_name_number_and_scenario(ske_sandbox, query, expect):
    r = ske_sandbox.client.get("/", params=query)
    assert r.status_code == 200
    found = re.findall(r'href="/person/([0-9]{11})"', r.text)
    assert found[0] == expect


def test_search_filters_on_month_year_and_household(ske_sandbox):
    population = ske_sandbox.sandbox.population
    r = ske_sandbox.client.get("/", params={"maaned": "2026-09", "aar": "2025", "husholdning": "ja"})
    assert r.status_code == 200
    found = re.findall(r'href="/person/([0-9]{11})"', r.text)
    assert found
    for fnr in found:
        life = population.lookup(fnr)
        assert life.spouse or life.children
        assert population.has_settlement(life, 2025)
        assert (2026, 9) in population.reported_months(life)


@pytest.mark.parametrize("query", [{"maaned": "september"}, {"aar": "20255"}, {"maaned": "2026-13"}])
def test_search_with_bad_filters_says_why(ske_sandbox, query):
    r = ske_sandbox.client.get("/", params=query)
    assert r.status_code == 400
    assert 'role="alert"' in r.text


def test_person_page_shows_story_tax_basis_by_kategori_and_what_the_package_gets(ske_sandbox):
    r = ske_sandbox.client.get(f"/person/{KARI}")
    assert r.status_code == 200
    text = _text(r.text)
    assert "Kari Nordmann" in text and "eier leilighet" in text
    for group in ("Inntekt", "Formue", "Fradrag", "Gjeld", "Beregnet"):
        assert f'<tr class="group"><th colspan="3">{group}</th></tr>' in r.text
    assert "Lønnsinntekt" in text and "Formuesverdi for primærbolig" in text
    # the package leaves out the tax computation basis; the page says so on both sides
    assert "Grunnlag for inntektsskatt" in text
    assert "filtreres bort" in text and "Kommunen får" in text
    pakke = r.text[r.text.index('id="pakke"'):]
    assert "Grunnlag for inntektsskatt" in pakke.split("Filtreres bort")[1]


def test_person_page_chart_adds_up_to_what_inntekt_reports(ske_sandbox):
    from mockserver.page.people import chart_months
    from mockserver.population.reports import month_reports

    population = ske_sandbox.sandbox.population
    life = population.lookup(KARI)
    r = ske_sandbox.client.get(f"/person/{KARI}")
    svg = r.text[r.text.index('<svg id="inntektsgraf"'):r.text.index("</svg>")]
    bars = re.findall(r"<title>([^<]+): ([0-9\u00a0]+)\u00a0kr</title>", svg)
    months = chart_months(population)
    total = sum(i["beloep"] for m in months for o in month_reports(life, m) for i in o["inntekt"])
    assert len(months) == 12
    # each bar shows whole kroner; a-ordningen amounts carry øre
    assert abs(sum(int(amount.replace("\u00a0", "")) for _, amount in bars) - total) <= 0.5 * len(bars)
    assert "Lønn" in r.text[r.text.index('class="legend"'):]


def test_person_page_links_the_household(ske_sandbox):
    population = ske_sandbox.sandbox.population
    persona = next(p for p in population.personas.values() if p.spec.get("spouse"))
    r = ske_sandbox.client.get(f"/person/{persona.fnr}")
    assert f'href="/person/{persona.spec["spouse"]}"' in r.text
    assert "Ektefelle" in r.text


def test_year_tabs_choose_the_year_and_a_missing_year_says_ssg_008(ske_sandbox):
    c = ske_sandbox.client
    r = c.get(f"/person/{KARI}", params={"aar": "2022"})
    assert "Skatteoppgjøret for 2022" in r.text
    erik = c.get(f"/person/{ERIK}")
    years = re.findall(r'\?aar=([0-9]{4})#', erik.text)
    assert str(ske_sandbox.sandbox.population.calendar.today.year - 1) not in years


def test_raw_answers_come_from_the_services_themselves(ske_sandbox):
    c = ske_sandbox.client
    xml = c.get(f"/person/{KARI}/raa/summertskattegrunnlag", params={"aar": "2024", "format": "xml"})
    assert xml.status_code == 200
    assert xml.headers["content-type"].startswith("application/xml")
    assert "<summertSkattegrunnlag" in xml.text
    js = c.get(f"/person/{KARI}/raa/inntekt", params={"fraOgMed": "2026-08", "tilOgMed": "2026-10"})
    assert js.json()["oppgaveInntektsmottaker"]
    gone = c.get(f"/person/{ERIK}/raa/summertskattegrunnlag",
                 params={"aar": str(ske_sandbox.sandbox.population.calendar.today.year - 1)})
    assert gone.status_code == 404 and gone.json()["kode"] == "SSG-008"
    services = {e["service"] for e in ske_sandbox.sandbox.journal.entries()}
    assert {"maskinporten", "summertskattegrunnlag", "inntekt"} <= services


@pytest.mark.parametrize(("path", "status"), [
    ("/person/123", 400),
    ("/person/15838512672", 400),
    (f"/person/{NOBODY}", 404),
    (f"/person/{KARI}/raa/formue", 400),
    (f"/person/{KARI}/raa/inntekt?format=yaml", 400),
])
def test_bad_person_urls_get_a_page_that_says_why(ske_sandbox, path, status):
    r = ske_sandbox.client.get(path)
    assert r.status_code == status
    assert "ds-alert" in r.text


def test_persona_nobody_has_explains_the_404(ske_sandbox):
    population = ske_sandbox.sandbox.population
    ghost = next(p for p in population.personas.values() if not p.exists)
    r = ske_sandbox.client.get(f"/person/{ghost.fnr}")
    assert r.status_code == 200
    assert "SSG-007" in r.text


def test_try_it_runs_the_whole_flow_through_the_services(ske_sandbox):
    c = ske_sandbox.client
    r = c.post("/prov", data={"fnr": KARI, "scenario": "", "format": "json"})
    assert r.status_code == 200
    statuses = re.findall(r'data-status="([0-9]{3})"', r.text)
    assert statuses == ["200", "200", "200", "200"]
    for what in ("POST /maskinporten/token HTTP/1.1", f"GET /sistetilgjengeligeskatteoppgjoer/v1/{KARI} HTTP/1.1",
                 "GET /summertskattegrunnlag/v2/oppgjoer/kommuneboligsosialeformaal/", "Access token dekodet",
                 "Grant dekodet", "curl -sS -i"):
        assert what in r.text
    journal = [(e["service"], e["outcome"]) for e in ske_sandbox.sandbox.journal.entries()]
    # the flow reads Maskinporten's discovery first, as a client configured from it does
    assert journal == [("maskinporten", "200"), ("maskinporten", "token"), ("sistetilgjengeligeskatteoppgjoer", "200"),
                       ("summertskattegrunnlag", "200"), ("inntekt", "200")]


def test_try_it_curl_commands_replay_against_the_sandbox(ske_sandbox):
    import html
    import shlex

    r = ske_sandbox.client.post("/prov", data={"fnr": KARI, "format": "json"})
    commands = [html.unescape(c) for c in re.findall(r'<pre class="wire" id="curl-[0-9]+">([^<]+)</pre>', r.text)]
    siste = next(c for c in commands if "sistetilgjengelige" in c)
    argv = shlex.split(siste)
    headers = dict(argv[i + 1].split(": ", 1) for i, a in enumerate(argv) if a == "-H")
    again = ske_sandbox.client.get(argv[-1], headers=headers)
    assert again.status_code == 200
    assert again.json()["personidentifikator"] == KARI


@pytest.mark.parametrize(("scenario", "status", "code", "advice"), [
    ("summertskattegrunnlag:SSG-008", "404", "SSG-008", "Ingen data for perioden"),
    ("summertskattegrunnlag:SSG-011", "410", "SSG-011", "slettet"),
    ("summertskattegrunnlag:429", "429", "SSG-001", "Retry-After"),
    ("inntekt:IM-008", "404", "IM-008", "Ingen data"),
])
def test_try_it_forces_documented_errors_and_says_what_a_client_should_do(ske_sandbox, scenario, status, code,
                                                                          advice):
    r = ske_sandbox.client.post("/prov", data={"fnr": KARI, "scenario": scenario, "format": "json"})
    assert r.status_code == 200
    assert status in re.findall(r'data-status="([0-9]{3})"', r.text)
    assert f"· {code}" in r.text
    assert "Hva klienten bør gjøre" in r.text and advice in r.text


def test_try_it_stops_before_summert_skattegrunnlag_when_no_year_is_settled(ske_sandbox):
    r = ske_sandbox.client.post("/prov", data={"fnr": KARI, "scenario": "sistetilgjengeligeskatteoppgjoer:TD-004"})
    assert "klienten spør ikke Summert skattegrunnlag" in r.text
    assert "/summertskattegrunnlag/v2/" not in r.text


@pytest.mark.parametrize(("data", "says"), [
    ({"fnr": "123"}, "Ugyldig fødselsnummer"),
    ({"fnr": KARI, "scenario": "SSG-999"}, "Ukjent scenario"),
    ({"fnr": KARI, "format": "yaml"}, "json eller xml"),
])
def test_try_it_refuses_bad_input_with_a_message(ske_sandbox, data, says):
    r = ske_sandbox.client.post("/prov", data=data)
    assert r.status_code == 400
    assert says in r.text


@pytest.mark.parametrize(("content", "ctype"), [
    (b"fnr=" + b"1" * (200 * 1024), "application/x-www-form-urlencoded"),
    (b"\xff\xfe\x00", "application/x-www-form-urlencoded"),
    (b'{"fnr": "15838512671"}', "application/json"),
    (b"--x\r\n", "multipart/form-data; boundary=x"),
])
def test_hostile_form_posts_get_4xx_and_the_page_keeps_serving(ske_sandbox, content, ctype):
    for path in ("/prov", "/token"):
        r = ske_sandbox.client.post(path, content=content, headers={"Content-Type": ctype})
        if len(content) > 64 * 1024:  # refused by the server's body limit before the page reads it
            assert r.status_code == 413, (path, r.status_code)
            continue
        assert r.status_code == 400, (path, r.status_code)
        assert 'role="alert"' in r.text
    assert ske_sandbox.client.get("/").status_code == 200


def _bad_grant(box, **claims) -> str:
    now = int(box.sandbox.clock.now())
    return box.grant(iat=now, exp=now + 600, **claims)


def test_token_inspector_decodes_a_grant_and_names_the_rule_that_failed(ske_sandbox):
    r = ske_sandbox.client.post("/token", data={"jwt": _bad_grant(ske_sandbox)})
    assert r.status_code == 200
    text = _text(r.text)
    assert "Maskinporten: MP-130" in text
    assert "exp - iat must be at most 120 seconds" in text
    assert ske_sandbox.demo_client.kid in text  # the decoded header


def test_token_inspector_accepts_a_good_grant_without_using_it_up(ske_sandbox):
    grant = ske_sandbox.grant()
    r = ske_sandbox.client.post("/token", data={"jwt": grant})
    assert "Maskinporten: OK" in _text(r.text)
    token = ske_sandbox.client.post("/maskinporten/token", data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": grant})
    assert token.status_code == 200
    again = ske_sandbox.client.post("/token", data={"jwt": grant})
    assert "Maskinporten: MP-012" in _text(again.text)


def test_token_inspector_checks_access_tokens_as_the_apis_do(ske_sandbox):
    good = ske_sandbox.client.post("/token", data={"jwt": ske_sandbox.token()})
    text = _text(good.text)
    assert "Summert skattegrunnlag: OK" in text and "Inntekt: OK" in text
    forged = jwt.encode({"iss": ske_sandbox.sandbox.issuer, "exp": time.time() + 60, "iat": time.time(),
                         "jti": str(uuid.uuid4())}, ske_sandbox.demo_client.private_key_pem, algorithm="RS256",
                        headers={"kid": "not-ours"})
    bad = _text(ske_sandbox.client.post("/token", data={"jwt": forged}).text)
    assert "Summert skattegrunnlag: SSG-004" in bad and "Inntekt: IM-004" in bad and "ukjent kid" in bad


@pytest.mark.parametrize("text", ["", "not a jwt", "a.b.c", "x" * 20000])
def test_token_inspector_explains_text_it_cannot_read(ske_sandbox, text):
    r = ske_sandbox.client.post("/token", data={"jwt": text})
    assert r.status_code == 400
    assert 'data-color="danger" role="alert"' in r.text


def test_token_inspector_offers_samples_that_break_one_rule_each(ske_sandbox):
    r = ske_sandbox.client.get("/token")
    samples = re.findall(r'<pre class="wire sample">([^<]+)</pre>', r.text)
    verdicts = [re.search(r"Maskinporten: (MP-[0-9]+|OK)", _text(ske_sandbox.client.post(
        "/token", data={"jwt": s}).text)).group(1) for s in samples]
    assert verdicts == ["OK", "MP-130", "MP-110", "MP-200"]


def test_journal_page_lists_calls_newest_first_filters_and_clears(ske_sandbox):
    c = ske_sandbox.client
    c.post("/prov", data={"fnr": KARI, "scenario": "summertskattegrunnlag:SSG-008"})
    r = c.get("/journal")
    rows = re.findall(r"<td class=\"outcome\"><code>([^<]+)</code></td>", r.text)
    assert rows == ["200", "SSG-008", "200", "token", "200"]  # newest first; discovery is the oldest
    assert ske_sandbox.demo_client.orgnr in r.text
    only = c.get("/journal", params={"status": "4xx"})
    assert re.findall(r"<td class=\"outcome\"><code>([^<]+)</code></td>", only.text) == ["SSG-008"]
    by_service = c.get("/journal", params={"service": "maskinporten"})
    assert re.findall(r"<td class=\"outcome\"><code>([^<]+)</code></td>", by_service.text) == ["token", "200"]
    nobody = c.get("/journal", params={"client": "999999999"})
    assert "Ingen kall ennå" in nobody.text
    cleared = c.post("/journal/tom", follow_redirects=False)
    assert cleared.status_code == 303
    assert ske_sandbox.sandbox.journal.entries() == []


def test_journal_page_shows_contract_verdicts_when_entries_carry_them(ske_sandbox, monkeypatch):
    entries = [
        {"at": 1, "method": "GET", "path": "/inntekt/v1/x", "query": "", "service": "inntekt", "outcome": "IM-006",
         "status": 400, "consumer": "311000001", "conforms": False, "problems": ["fraOgMed mangler"]},
        {"at": 2, "method": "GET", "path": "/inntekt/v1/y", "query": "", "service": "inntekt", "outcome": "200",
         "status": 200, "consumer": "311000001", "conforms": True, "problems": []},
    ]
    monkeypatch.setattr(ske_sandbox.sandbox.journal, "entries", lambda: entries)
    r = ske_sandbox.client.get("/journal")
    assert "<th>Kontrakt</th>" in r.text
    assert "følger kontrakten" in r.text and "fraOgMed mangler" in r.text
    plain = ske_sandbox.client.get("/journal?del=rader")
    assert plain.text.strip().startswith("<tbody")


def test_every_page_links_only_to_local_files(ske_sandbox):
    for path in ("/", f"/person/{KARI}", "/prov", "/token", "/journal", "/kontroll-api"):
        html = ske_sandbox.client.get(path).text
        for ref in re.findall(r'(?:href|src)="([^"#]+)"', html):
            assert ref.startswith("/"), (path, ref)
        for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', html):
            assert ske_sandbox.client.get(asset).status_code == 200


def test_control_api_page_reads_the_control_document(ske_sandbox):
    import yaml

    doc = yaml.safe_load(ske_sandbox.client.get("/__sandbox/openapi.yaml").text)
    r = ske_sandbox.client.get("/kontroll-api")
    assert r.status_code == 200
    shown = set(re.findall(r'data-color="\w+">(\w+)</span></td><td><code>([^<]+)</code>', r.text))
    assert shown == {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert "Ske-Sandbox-Scenario" in r.text and "summertskattegrunnlag.yaml" in r.text


def test_a_persona_added_through_the_control_api_appears_on_the_page(ske_sandbox):
    c = ske_sandbox.client
    created = c.post("/__sandbox/personas", json={"fnr": NOBODY, "first_name": "Nora", "last_name": "Nyhus",
                                                  "scenario": "demo-ny", "story": "Lagt til i demoen."})
    assert created.status_code == 201
    found = re.findall(r'href="/person/([0-9]{11})"', c.get("/", params={"q": "Nyhus"}).text)
    assert found == [NOBODY]
    person = c.get(f"/person/{NOBODY}")
    assert person.status_code == 200 and "Lagt til i demoen." in person.text


def test_crowd_stories_read_as_words_not_codes(ske_sandbox):
    from mockserver.page.people import readable

    assert readable("fastloenn, ufoerepensjonFraAndreEnnFolketrygden; eier bolig; gift med 18867037043") == (
        "fastlønn, uførepensjon fra andre enn folketrygden; eier bolig; gift med 18867037043")
    stories = re.findall(r'<td class="story">([^<]*)</td>', ske_sandbox.client.get("/").text)
    assert len(stories) == 50
    assert not [s for s in stories if "loenn" in s or "ufoere" in s]
