"""IM-001…010, as listed in Skatteetaten's documentation of the Inntekt API."""

from ..skatteetaten_errors import COMMON_CODES, ErrorCatalogue

IM = ErrorCatalogue("IM", {
    **COMMON_CODES,
    "unknown_person": (7, 404, "Ikke treff på oppgitt personidentifikator"),
    "no_data": (8, 404, "Fant ingen inntektsopplysninger for angitt personidentifikator og periode"),
    "not_acceptable": (9, 406, "Feil dataformat; kun json eller xml støttes"),
    "consent": (10, 403, "Feil i forbindelse med samtykketoken"),
})
