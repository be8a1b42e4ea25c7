"""A small municipal client for a housing-assistance case (kommunal boligsosial bistand), written as a vendor
writes it for Skatteetaten's test environment: the real hostnames are its defaults, nothing in it knows
about the sandbox.

For each member of a household it asks Siste tilgjengelige skatteoppgjør for the latest settled year, reads
summert skattegrunnlag for that year and the one before, and the last three complete months from the
Inntekt API, then sums it up for the case worker.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import jwt

PAKKE = "kommuneboligsosialeformaal"
SCOPES = ("skatteetaten:summertskattegrunnlag", "skatteetaten:inntekt")
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GRANT_LIFETIME = 60  # seconds; Maskinporten allows at most 120
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Config:
    client_id: str
    kid: str
    private_key_pem: str
    maskinporten: str = "https://test.maskinporten.no/"
    summertskattegrunnlag: str = "https://summertskattegrunnlag.api.skatteetaten-test.no/v2"
    inntekt: str = "https://inntekt.api.skatteetaten-test.no/v1"
    sistetilgjengelige: str = "https://sistetilgjengeligeskatteoppgjoer.api.skatteetaten-test.no/v1"
    skatteoppgjoerhendelser: str = "https://skatteoppgjoerhendelser.api.skatteetaten-test.no/v1"


class ServiceError(Exception):
    """An answer the case system cannot use: it says which service, status and code."""


@dataclass
class PersonSummary:
    fnr: str
    years: dict[int, dict[str, int]] = field(default_factory=dict)  # year -> kategori -> sum
    missing_years: dict[int, str] = field(default_factory=dict)  # year -> why (SSG-008, SSG-011)
    monthly_income: dict[str, float] = field(default_factory=dict)  # YYYY-MM -> sum of inntekt beloep

    def income(self, year: int) -> int:
        return self.years.get(year, {}).get("inntekt", 0)


@dataclass
class HouseholdSummary:
    members: list[PersonSummary]

    @property
    def income_last_three_months(self) -> float:
        return sum(sum(m.monthly_income.values()) for m in self.members)


def complete_months(today: dt.date, n: int = 3) -> list[tuple[int, int]]:
    """The last n months whose a-ordningen data are complete: a month is complete on the 10th of the next."""
    year, month = today.year, today.month - (1 if today.day >= 10 else 2)
    out = []
    for _ in range(n):
        while month < 1:
            year, month = year - 1, month + 12
        out.append((year, month))
        month -= 1
    return sorted(out)


class KommuneClient:
    grant_lifetime = GRANT_LIFETIME

    def __init__(self, config: Config, http: httpx.Client | None = None, *,
                 today: Callable[[], dt.date] = dt.date.today, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.http = http or httpx.Client(timeout=10)
        self.today, self.clock, self.sleep = today, clock, sleep
        self._token: tuple[str, float] | None = None

    # --- Maskinporten -----------------------------------------------------------------------------
    def grant(self) -> str:
        now = int(self.clock())
        claims = {"aud": self.audience(), "iss": self.config.client_id, "scope": " ".join(SCOPES),
                  "iat": now, "exp": now + self.grant_lifetime, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, self.config.private_key_pem, algorithm="RS256", headers={"kid": self.config.kid})

    def audience(self) -> str:
        """The grant's aud: Maskinporten's issuer, exactly, trailing slash included."""
        return self.config.maskinporten

    def token(self) -> str:
        """A cached access token, renewed shortly before it expires."""
        if self._token and self._token[1] > self.clock() + 10:
            return self._token[0]
        r = self.http.post(f"{self.config.maskinporten}token", data={"grant_type": GRANT_TYPE,
                                                                      "assertion": self.grant()})
        if r.status_code != 200:
            raise ServiceError(f"Maskinporten refused the grant: {r.status_code} {r.text}")
        body = r.json()
        self._token = (body["access_token"], self.clock() + int(body["expires_in"]))
        return self._token[0]

    # --- Skatteetaten -----------------------------------------------------------------------------
    def get(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        """GET with the token; a 429 or 503 is retried after the Retry-After the service asked for."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            r = self.http.get(url, params=params, headers={"Authorization": f"Bearer {self.token()}",
                                                           "Accept": "application/json"})
            if r.status_code not in (429, 503) or attempt == MAX_ATTEMPTS:
                return r
            self.sleep(self.retry_delay(r))
        raise AssertionError("unreachable")

    @staticmethod
    def retry_delay(r: httpx.Response) -> float:
        try:
            return float(r.headers.get("Retry-After", "1"))
        except ValueError:
            return 1.0

    @staticmethod
    def code(r: httpx.Response) -> str:
        try:
            return str(r.json().get("kode", ""))
        except ValueError:
            return ""

    def fail(self, service: str, r: httpx.Response) -> ServiceError:
        return ServiceError(f"{service} answered {r.status_code} {self.code(r)}: {r.text[:200]}")

    def latest_year(self, fnr: str) -> int | None:
        r = self.get(f"{self.config.sistetilgjengelige}/{fnr}")
        if r.status_code == 404:
            return None  # TD-004: no settled year yet
        if r.status_code != 200:
            raise self.fail("Siste tilgjengelige skatteoppgjør", r)
        return int(r.json()["sisteTilgjengeligePeriode"])

    def skattegrunnlag(self, fnr: str, year: int) -> dict | None:
        """The oppgjør of a year, or None when there is none (404 SSG-008) or it is gone (410 SSG-011)."""
        r = self.get(f"{self.config.summertskattegrunnlag}/oppgjoer/{PAKKE}/{year}/{fnr}")
        if r.status_code in (404, 410) and self.code(r) in ("SSG-008", "SSG-011"):
            return None
        if r.status_code != 200:
            raise self.fail("Summert skattegrunnlag", r)
        return r.json()

    @staticmethod
    def period(year: int, month: int) -> str:
        return f"{year:04d}-{month:02d}"

    def inntekter(self, fnr: str, months: list[tuple[int, int]]) -> list[dict]:
        params = {"fraOgMed": self.period(*months[0]), "tilOgMed": self.period(*months[-1])}
        r = self.get(f"{self.config.inntekt}/{PAKKE}/{fnr}/inntekter", params)
        if r.status_code == 404 and self.code(r) == "IM-008":
            return []  # nothing reported in the period: no income, not an error
        if r.status_code != 200:
            raise self.fail("Inntekt", r)
        return r.json().get("oppgaveInntektsmottaker", [])

    # --- the case ---------------------------------------------------------------------------------
    @staticmethod
    def sums_by_kategori(body: dict) -> dict[str, int]:
        sums: dict[str, int] = {}
        for post in body.get("grunnlag", []):
            kategori = post.get("kategori")
            if kategori:
                sums[kategori] = sums.get(kategori, 0) + int(post.get("beloep", 0))
        return sums

    def person(self, fnr: str) -> PersonSummary:
        summary = PersonSummary(fnr)
        latest = self.latest_year(fnr)
        for year in ([latest, latest - 1] if latest else []):
            body = self.skattegrunnlag(fnr, year)
            if body is None:
                summary.missing_years[year] = "ingen skatteoppgjør"
            else:
                summary.years[year] = self.sums_by_kategori(body)
        for oppgave in self.inntekter(fnr, complete_months(self.today())):
            month = oppgave.get("kalendermaaned")
            if month is None:  # an oppgave may carry only mottaksinformasjon
                continue
            total = sum(float(i.get("beloep", 0)) for i in oppgave.get("inntekt", []))
            summary.monthly_income[month] = summary.monthly_income.get(month, 0.0) + total
        return summary

    def household(self, fnrs: list[str]) -> HouseholdSummary:
        return HouseholdSummary([self.person(fnr) for fnr in fnrs])
