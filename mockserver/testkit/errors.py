"""The documented error codes of Skatteetaten's APIs and event feeds, importable for tests:

    from mockserver.testkit import ERROR_CODES
    @pytest.mark.parametrize("code", [c for c in ERROR_CODES.values() if c.api == "inntekt"])
"""

from __future__ import annotations

from dataclasses import dataclass

from ..services import DATA_APIS, ERROR_PREFIXES


@dataclass(frozen=True)
class ErrorCode:
    kode: str  # e.g. SSG-008
    api: str  # summertskattegrunnlag, inntekt, …; the first of `apis` for a code the feeds share
    status: int  # the HTTP status it comes with
    meaning: str  # the documented meaning (Skatteetaten's Norwegian text)
    apis: tuple[str, ...] = ()  # every API that answers it (both feeds for an FA code)


API_OF_PREFIX: dict[str, tuple[str, ...]] = {prefix: tuple(s.name for s in services)
                                             for prefix, services in ERROR_PREFIXES.items()}
ERROR_CODES: dict[str, ErrorCode] = {}
for _service in DATA_APIS:
    if _service.errors is not None:
        for _kode, _status, _meaning in _service.errors.table():
            ERROR_CODES.setdefault(_kode, ErrorCode(_kode, _service.name, _status, _meaning,
                                                    API_OF_PREFIX[_service.errors.prefix]))
