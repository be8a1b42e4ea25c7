"""The onboarding demo in a real headless Chromium against a real server process.

Uses the system's Chromium (Debian package `chromium`; CI installs it); nothing downloads a browser.
Screenshots go to $SKE_SANDBOX_ARTIFACTS or tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from support import ROOT, TODAY, running_server

CHROMIUM = Path(os.environ.get("SKE_SANDBOX_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (install the Debian package `chromium`; .ci/run does)",
                allow_module_level=True)
# Playwright is a dev dependency: without it the install is broken, so this import fails rather than skips.
from playwright import sync_api  # noqa: E402

pytestmark = pytest.mark.browser

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("SKE_SANDBOX_ARTIFACTS", ROOT / "tests" / "artifacts"))
KARI = "15838512671"
VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running_server("--today", TODAY, "--population", "300") as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _page(browser, server: str, outside: list[str], **options):
    """A page that may only reach the sandbox: any other address is refused and remembered."""
    context = browser.new_context(viewport=VIEWPORT, base_url=server, **options)
    page = context.new_page()

    def guard(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    # anything the page's Content-Security-Policy blocks is reported on the console: count it as a failure
    page.on("console", lambda msg: "Content Security Policy" in msg.text and outside.append(msg.text))
    return page


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _bad_grant(server: str) -> str:
    """A grant from the demo client whose lifetime is too long: Maskinporten answers MP-130."""
    demo = httpx.get(f"{server}/__sandbox/demo-client").json()
    issuer = httpx.get(f"{server}/__sandbox/info").json()["issuer"]
    now = int(time.time())
    claims = {"aud": issuer, "iss": demo["client_id"], "scope": " ".join(demo["scopes"]), "iat": now,
              "exp": now + 900, "jti": "too-long-lived"}
    return jwt.encode(claims, demo["private_key_pem"], algorithm="RS256", headers={"kid": demo["kid"]})


def test_the_demo_walkthrough(browser, server):
    outside: list[str] = []
    page = _page(browser, server, outside)
    httpx.delete(f"{server}/__sandbox/journal")

    # 1. search a persona
    page.goto("/")
    page.fill("#q", "Kari")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_url(re.compile(r"q=Kari"))
    first = page.locator("#treff tbody tr").first
    assert "Kari Nordmann" in first.inner_text()
    _shot(page, "01-sok.png")

    # 2. open her: story, chart, tax basis, what the package gets
    first.locator("a").click()
    page.wait_for_url(f"**/person/{KARI}")
    assert page.locator("#navn").inner_text() == "Kari Nordmann"
    assert page.locator("#inntektsgraf rect").count() >= 12
    assert page.locator("#inntektsgraf").bounding_box()["height"] > 150
    assert page.locator("#grunnlag tr.group").count() >= 4
    assert "Filtreres bort" in page.locator("#pakke").inner_text()
    _shot(page, "02-person.png")

    # 3. try it: the whole flow, every exchange 200
    page.click("text=Prøv selv med Kari")
    page.click("#kjor")
    page.wait_for_selector("#resultat")
    statuses = page.locator("#resultat article[data-status]").evaluate_all("els => els.map(e => e.dataset.status)")
    assert statuses == ["200", "200", "200", "200"]
    copy = page.locator("button.copy").first
    assert copy.is_hidden()  # inside a closed <details> until opened
    page.locator("details.curl summary").first.click()
    sync_api.expect(copy).to_be_visible()  # shown by the script; <details> opens with an animation
    _shot(page, "03-prov-selv.png")

    # 4. the journal shows the calls just made
    page.click("nav >> text=Logg")
    page.wait_for_selector("#logg-rader tr")
    outcomes = page.locator("#logg-rader td.outcome").all_inner_texts()
    assert outcomes == ["200", "200", "200", "token", "200"]  # the last: Maskinporten's discovery
    assert "Siste tilgjengelige" in page.locator("#logg-rader").inner_text()
    _shot(page, "04-logg.png")

    # 5. force SSG-008 and see what a client should do
    page.goto(f"/prov?fnr={KARI}")
    page.select_option("#scenario", "summertskattegrunnlag:SSG-008")
    page.click("#kjor")
    page.wait_for_selector("#resultat")
    failed = page.locator("#resultat article[data-status='404']")
    assert "SSG-008" in failed.inner_text()
    assert "Hva klienten bør gjøre" in failed.inner_text()
    failed.scroll_into_view_if_needed()
    _shot(page, "05-prov-ssg-008.png")

    # 6. decode a bad grant: MP-130 and the rule that failed
    page.click("nav >> text=Tokensjekk")
    page.fill("#jwt", _bad_grant(server))
    page.click("#sjekk")
    page.wait_for_selector("#dom")
    verdict = page.locator(".verdict").inner_text()
    assert "MP-130" in verdict and "at most 120 seconds" in verdict
    assert "too-long-lived" in page.locator("#dom").inner_text()
    _shot(page, "06-tokensjekk-mp-130.png")

    assert outside == []


def test_the_journal_updates_itself_while_open(browser, server):
    outside: list[str] = []
    page = _page(browser, server, outside)
    httpx.delete(f"{server}/__sandbox/journal")
    page.goto("/journal")
    assert "Ingen kall ennå" in page.locator("#logg-rader").inner_text()
    httpx.get(f"{server}/summertskattegrunnlag/v2/oppgjoer/kommuneboligsosialeformaal/2025/{KARI}")
    page.wait_for_selector("#logg-rader td.outcome", timeout=10_000)
    assert page.locator("#logg-rader td.outcome").all_inner_texts() == ["SSG-004"]
    assert outside == []


NO_JS_PAGES = [
    ("/", "#treff", "Kari Nordmann"),
    (f"/person/{KARI}", "#grunnlag", "Lønnsinntekt"),
    (f"/person/{KARI}", "#inntektsgraf", "Inntekt per måned for Kari Nordmann"),
    ("/prov", "#prov-skjema", "Kjør flyten"),
    ("/token", "#token-skjema", "Sjekk"),
    ("/journal", "#logg", "Tjeneste"),
    ("/kontroll-api", "#endepunkter", "/__sandbox/personas"),
]


def test_every_page_reads_without_javascript(browser, server):
    outside: list[str] = []
    page = _page(browser, server, outside, java_script_enabled=False)
    for path, selector, text in NO_JS_PAGES:
        page.goto(path)
        assert page.locator(selector).is_visible(), path
        assert text in page.locator(selector).text_content(), path
    page.goto(f"/person/{KARI}")
    assert page.locator("#inntektsgraf rect").count() >= 12
    _shot(page, "07-person-uten-javascript.png")
    # the forms are plain HTML forms: try it and the inspector work too
    page.goto(f"/prov?fnr={KARI}")
    page.click("#kjor")
    page.wait_for_selector("#resultat")
    assert page.locator("#resultat article[data-status='200']").count() == 4
    page.goto("/token")
    page.fill("#jwt", _bad_grant(server))
    page.click("#sjekk")
    assert "MP-130" in page.locator(".verdict").inner_text()
    assert outside == []


def test_with_an_admin_token_the_page_asks_for_it_once(browser):
    outside: list[str] = []
    with running_server("--today", TODAY, "--population", "300", "--admin-token", "t0ken") as server:
        page = _page(browser, server, outside)
        httpx.get(f"{server}/summertskattegrunnlag/v2/oppgjoer/kommuneboligsosialeformaal/2025/{KARI}")
        page.goto("/journal")
        assert "/logg-inn" in page.url
        page.fill("#token", "t0ken")
        page.click("#logg-inn")
        page.wait_for_selector("#logg-rader td.outcome")
        cookie, = page.context.cookies()
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["value"] != "t0ken"
        page.click("#tom-logg")  # the page's own form post carries its own Origin and the cookie
        page.wait_for_selector("#logg-rader")
        assert "Ingen kall ennå" in page.locator("#logg-rader").inner_text()
    assert outside == []
