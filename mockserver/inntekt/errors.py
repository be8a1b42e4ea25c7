"""IM-001…010, as listed in Skatteetaten's documentation of the Inntekt API."""

from ..skatteetaten_errors import ErrorCatalogue

IM = ErrorCatalogue("IM", {
    "unexpected": (1, 500, "Uventet feil i tjenesten"),
    "backend": (2, 500, "Uventet feil i baksystem"),
    "unknown_url": (3, 404, "Ukjent URL"),
    "unauthenticated": (4, 401, "Feil i forbindelse med autentisering"),
    "forbidden": (5, 403, "Feil i forbindelse med autorisering"),
    "invalid": (6, 400, "Feil i forbindelse med validering av inputdata"),
    "unknown_person": (7, 404, "Ikke treff på oppgitt personidentifikator"),
    "no_data": (8, 404, "Fant ingen inntektsopplysninger for angitt personidentifikator og periode"),
    "not_acceptable": (9, 406, "Feil dataformat; kun json eller xml støttes"),
    "consent": (10, 403, "Feil i forbindelse med samtykketoken"),
})
