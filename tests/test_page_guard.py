"""The one guard (mockserver/guard.py) in process: the page's journal, journal clear, try-it and token views
follow the control API's Host, Origin and admin-token rules; Host and Origin are parsed strictly; every
answer carries the security headers and the pages need no inline script or style."""

from __future__ import annotations

import re

import pytest
from starlette.routing import Mount

from mockserver import guard, services
from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.testkit.kit import SandboxKit
from mockserver.testkit.plugin import DEFAULT_TODAY

BASE = "http://127.0.0.1:8080"
KARI = "15838512671"
SSG = f"/summertskattegrunnlag/v2/oppgjoer/kommuneboligsosialeformaal/2024/{KARI}"
TOKEN = "s3cret-token"
PAGES = ["/", f"/person/{KARI}", "/prov", "/token", "/journal", "/kontroll-api"]


def _kit(**settings) -> SandboxKit:
    kit = SandboxKit(Settings(today=DEFAULT_TODAY, population=20, base_url=BASE, **settings))
    kit.begin()
    return kit


@pytest.fixture
def box():
    kit = _kit()
    yield kit
    kit.end()


@pytest.fixture
def guarded():
    kit = _kit(admin_token=TOKEN)
    yield kit
    kit.end()


def _fill(kit: SandboxKit) -> int:
    kit.client.get(SSG)
    kit.client.get(SSG)
    return len(kit.sandbox.journal.entries())


# --- the page's journal, clear, try-it and token views ----------------------------------------------------
@pytest.mark.parametrize("path", ["/journal", "/journal?del=rader", "/token"])
def test_a_rebound_host_cannot_read_what_the_page_shows_of_other_callers(box, path):
    _fill(box)
    r = box.client.get(path, headers={"Host": "rebound.example"})
    assert r.status_code == 403
    assert KARI not in r.text and "eyJ" not in r.text
    assert box.client.get(path, headers={"Host": "localhost:8080"}).status_code == 200


@pytest.mark.parametrize("origin", ["null", "http://evil.example", "http://evil.example@127.0.0.1:8080",
                                    "http://127.0.0.1:9999"])
def test_a_foreign_origin_cannot_clear_the_journal_from_the_page(box, origin):
    before = _fill(box)
    r = box.client.post("/journal/tom", headers={"Origin": origin}, follow_redirects=False)
    assert r.status_code == 403
    assert len(box.sandbox.journal.entries()) == before > 0


def test_the_page_itself_still_clears_the_journal(box):
    _fill(box)
    r = box.client.post("/journal/tom", headers={"Origin": "http://localhost:8080"}, follow_redirects=False)
    assert r.status_code == 303
    assert box.sandbox.journal.entries() == []


def test_a_foreign_origin_cannot_run_try_it(box):
    r = box.client.post("/prov", data={"fnr": KARI}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    assert box.sandbox.journal.entries() == [], "a refused try-it must not use a grant or call the services"


def test_public_pages_answer_any_host(box):
    for path in ("/", f"/person/{KARI}", "/prov", "/kontroll-api", "/static/page.js"):
        assert box.client.get(path, headers={"Host": "rebound.example"}).status_code == 200, path


def test_with_a_token_the_journal_page_asks_for_it(guarded):
    _fill(guarded)
    r = guarded.client.get("/journal", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/logg-inn?neste=/journal"
    assert guarded.client.get("/journal", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    form = guarded.client.get("/logg-inn?neste=/journal")
    assert form.status_code == 200 and 'type="password"' in form.text


def test_with_a_token_no_peer_clears_the_journal_without_it(guarded):
    before = _fill(guarded)
    r = guarded.client.post("/journal/tom", headers={"Host": "10.0.0.5:8080"}, follow_redirects=False)
    assert r.status_code == 401
    assert len(guarded.sandbox.journal.entries()) == before
    assert guarded.client.post("/prov", data={"fnr": KARI}).status_code == 401


def test_signing_in_sets_a_strict_http_only_cookie_that_is_not_the_token(guarded):
    _fill(guarded)
    wrong = guarded.client.post("/logg-inn", data={"token": "guess", "neste": "/journal"})
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    r = guarded.client.post("/logg-inn", data={"token": TOKEN, "neste": "/journal"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/journal"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert TOKEN not in cookie
    assert guarded.client.get("/journal").status_code == 200  # the client keeps the cookie
    assert guarded.client.get("/__sandbox/journal").status_code == 200
    guarded.client.post("/logg-ut")
    assert guarded.client.get("/journal", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("neste", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_sign_in_never_redirects_off_the_page(guarded, neste):
    r = guarded.client.post("/logg-inn", data={"token": TOKEN, "neste": neste}, follow_redirects=False)
    assert r.headers["location"] == "/journal"


def test_a_cross_origin_sign_in_is_refused(guarded):
    r = guarded.client.post("/logg-inn", data={"token": TOKEN}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and "set-cookie" not in r.headers


# --- strict Host and Origin -------------------------------------------------------------------------------
@pytest.mark.parametrize("host", [
    "evil.example@127.0.0.1:8080", "127.0.0.1:8080@evil.example", "evil.example 127.0.0.1", "127.0.0.1 :8080",
    "127.0.0.1:8080/evil", "127.0.0.1:", "127.0.0.1:99999", "%31%32%37.0.0.1", "[::1", "localhost\\evil",
    "127.0.0.1:8080#x", "",
])
@pytest.mark.parametrize("path", ["/__sandbox/journal", "/journal"])
def test_a_malformed_host_is_refused(box, host, path):
    r = box.client.get(path, headers={"Host": host})
    assert r.status_code == 400, host
    assert r.json()["error"] == "bad_request"


def test_two_host_headers_are_refused(box):
    r = box.client.get("/__sandbox/journal", headers=[("Host", "127.0.0.1:8080"), ("Host", "evil.example")])
    assert r.status_code == 400


@pytest.mark.parametrize("host", ["localhost:8080", "LOCALHOST", "127.0.0.1", "[::1]:8080", "127.3.2.1:1"])
def test_well_formed_loopback_hosts_pass(box, host):
    assert box.client.get("/__sandbox/journal", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("origin", ["http://evil.example@127.0.0.1:8080", "http://127.0.0.1:8080@evil.example",
                                    "http://127.0.0.1:8080/path", " http://127.0.0.1:8080 x", "http://127.0.0.1:80"])
def test_an_origin_with_tricks_cannot_reset(box, origin):
    assert box.client.post("/__sandbox/reset", headers={"Origin": origin}).status_code == 403


def test_the_guard_runs_after_real_host_routing(box):
    """`POST /token` on test.maskinporten.no is Maskinporten's token endpoint, not the page's token view."""
    r = box.client.post("/token", headers={"Host": "test.maskinporten.no"}, data={"grant_type": "x"})
    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"


# --- one declared list ----------------------------------------------------------------------------------
def test_every_route_is_declared_guarded_or_public_and_not_both():
    app = create_app(today=DEFAULT_TODAY, population=20, metrics=True)  # every route, /metrics too
    for route in app.routes:
        if isinstance(route, Mount) and route.path == "/__sandbox":
            for sub in route.routes:
                path = route.path + sub.path
                assert guard.is_guarded("GET", path) == (path not in guard.OPEN_CONTROL_PATHS), path
        elif isinstance(route, Mount):
            assert route.path == "/static" or route.path.strip("/") in services.NAMES
        else:
            for method in route.methods or ():
                public = method in guard.PUBLIC_PAGES.get(route.path, ())
                assert public != guard.is_guarded(method, route.path), (method, route.path)


# --- security headers -------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [*PAGES, "/person/123", "sign-in"])
def test_every_html_page_carries_the_security_headers(box, guarded, path):
    r = guarded.client.get("/logg-inn") if path == "sign-in" else box.client.get(path)
    assert r.headers["content-type"].startswith("text/html"), path
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


def test_json_and_static_answers_are_not_sniffed(box):
    answers = [box.client.get("/__sandbox/info"), box.client.get(SSG), box.client.get("/static/page.js"),
               box.client.get("/__sandbox/journal", headers={"Host": "evil@x"})]
    for r in answers:
        assert r.headers["x-content-type-options"] == "nosniff", r.url
        assert "content-security-policy" not in r.headers


def test_pages_have_no_inline_script_style_or_handlers(box, guarded):
    flow = box.client.post("/prov", data={"fnr": KARI})
    assert "curl" in flow.text
    pages = [flow.text, guarded.client.get("/logg-inn").text, *(box.client.get(path).text for path in PAGES)]
    for html in pages:
        assert "<form" in html or "<table" in html or "<svg" in html
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=|javascript:", html, re.I)
