"""The documented error codes of Skatteetaten's three APIs, importable for tests:

    from mockserver.testkit import ERROR_CODES
    @pytest.mark.parametrize("code", [c for c in ERROR_CODES.values() if c.api == "inntekt"])
"""

from __future__ import annotations

from dataclasses import dataclass

from ..inntekt.errors import IM
from ..sistetilgjengeligeskatteoppgjoer.errors import TD
from ..summertskattegrunnlag.errors import SSG


@dataclass(frozen=True)
class ErrorCode:
    kode: str  # e.g. SSG-008
    api: str  # summertskattegrunnlag, inntekt or sistetilgjengeligeskatteoppgjoer
    status: int  # the HTTP status it comes with
    meaning: str  # the documented meaning (Skatteetaten's Norwegian text)


ERROR_CODES: dict[str, ErrorCode] = {
    kode: ErrorCode(kode, api, status, meaning)
    for api, catalogue in (("summertskattegrunnlag", SSG), ("inntekt", IM), ("sistetilgjengeligeskatteoppgjoer", TD))
    for kode, status, meaning in catalogue.table()
}
API_OF_PREFIX = {"SSG": "summertskattegrunnlag", "IM": "inntekt", "TD": "sistetilgjengeligeskatteoppgjoer"}
