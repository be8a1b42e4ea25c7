"""Skatteetaten's error body `{kode, melding, korrelasjonsid}` (JSON, or XML by Accept)."""

from __future__ import annotations

import uuid

from starlette.responses import Response

from .representation import JSON, render

FEIL_NAMESPACE = "urn:no:skatteetaten:datasamarbeid:feil:v1"
CORRELATION_HEADER = "Korrelasjonsid"


class SkeError(Exception):
    """A documented error of one of Skatteetaten's APIs; rendered by the app, never a 500."""

    def __init__(
        self, kode: str, status: int, melding: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{kode} {status} {melding}")
        self.kode = kode
        self.status = status
        self.melding = melding
        self.headers = headers or {}


def error_response(err: SkeError, media_type: str = JSON, korrelasjonsid: str | None = None) -> Response:
    kid = korrelasjonsid or str(uuid.uuid4())
    body = {"kode": err.kode, "melding": err.melding, "korrelasjonsid": kid}
    headers = {CORRELATION_HEADER: kid, **err.headers}
    return render(body, media_type, status=err.status, xml_root="feil", xml_namespace=FEIL_NAMESPACE,
                  headers=headers)


class ErrorCatalogue:
    """One API's codes by meaning, so each route raises `api.unknown_person(...)`-style errors."""

    def __init__(self, prefix: str, codes: dict[str, tuple[int, int, str]]) -> None:
        self.prefix = prefix
        self.codes = codes  # meaning -> (number, status, default melding)

    def __call__(
        self, meaning: str, melding: str | None = None, *, status: str | None = None, **headers: str
    ) -> SkeError:
        number, documented, default = self.codes[meaning]
        return SkeError(f"{self.prefix}-{number:03d}", int(status) if status else documented,
                        melding or default, headers or None)

    def table(self) -> list[tuple[str, int, str]]:
        return [(f"{self.prefix}-{n:03d}", s, m) for n, s, m in sorted(self.codes.values())]


# Codes 001-006 mean the same in Summert skattegrunnlag and Inntekt; each API adds its own from 007.
COMMON_CODES: dict[str, tuple[int, int, str]] = {
    "unexpected": (1, 500, "Uventet feil i tjenesten"),
    "backend": (2, 500, "Uventet feil i baksystem"),
    "unknown_url": (3, 404, "Ukjent URL"),
    "unauthenticated": (4, 401, "Feil i forbindelse med autentisering"),
    "forbidden": (5, 403, "Feil i forbindelse med autorisering"),
    "invalid": (6, 400, "Feil i forbindelse med validering av inputdata"),
}
