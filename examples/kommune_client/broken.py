"""Deliberately broken variants of the client, each with a mistake seen in real integrations. The example's
test suite, run against each (KOMMUNE_CLIENT_VARIANT=<name>), must fail with a message that names it."""

from __future__ import annotations

import httpx
from kommune_client import KommuneClient


class WrongAud(KommuneClient):
    """The grant's aud without the trailing slash."""

    def audience(self) -> str:
        return self.config.maskinporten.rstrip("/")


class LongGrant(KommuneClient):
    """A grant that lives three minutes."""

    grant_lifetime = 180


class FatalOn404(KommuneClient):
    """Every 404 is an error, though 'nothing reported' and 'no oppgjør' are answers."""

    def get(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        r = super().get(url, params)
        if r.status_code == 404:
            raise self.fail(url, r)
        return r


class KategoriAsList(KommuneClient):
    """Reads `kategori` as the list it was in version 1; in version 2 it is a string."""

    @staticmethod
    def sums_by_kategori(body: dict) -> dict[str, int]:
        sums: dict[str, int] = {}
        for post in body.get("grunnlag", []):
            kategori = post["kategori"][0]
            sums[kategori] = sums.get(kategori, 0) + int(post.get("beloep", 0))
        return sums


class UnpaddedMonth(KommuneClient):
    """Months as 2026-8 instead of 2026-08."""

    @staticmethod
    def period(year: int, month: int) -> str:
        return f"{year}-{month}"


class IgnoresRetryAfter(KommuneClient):
    """Retries a 429 at once."""

    @staticmethod
    def retry_delay(r: httpx.Response) -> float:
        return 0.0


VARIANTS = [WrongAud, LongGrant, FatalOn404, KategoriAsList, UnpaddedMonth, IgnoresRetryAfter]
