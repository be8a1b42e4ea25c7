"""The documented error codes of Skatteetaten's three APIs, importable for tests:

    from mockserver.testkit import ERROR_CODES
    @pytest.mark.parametrize("code", [c for c in ERROR_CODES.values() if c.api == "inntekt"])
"""

from __future__ import annotations

from dataclasses import dataclass

from ..services import DATA_APIS, ERROR_PREFIXES


@dataclass(frozen=True)
class ErrorCode:
    kode: str  # e.g. SSG-008
    api: str  # summertskattegrunnlag, inntekt or sistetilgjengeligeskatteoppgjoer
    status: int  # the HTTP status it comes with
    meaning: str  # the documented meaning (Skatteetaten's Norwegian text)


ERROR_CODES: dict[str, ErrorCode] = {
    kode: ErrorCode(kode, service.name, status, meaning)
    for service in DATA_APIS if service.errors is not None
    for kode, status, meaning in service.errors.table()
}
API_OF_PREFIX = {prefix: service.name for prefix, service in ERROR_PREFIXES.items()}
