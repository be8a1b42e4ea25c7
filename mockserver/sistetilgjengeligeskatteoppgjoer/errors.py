"""TD-001…006, as listed in Skatteetaten's documentation of Siste tilgjengelige skatteoppgjør."""

from ..skatteetaten_errors import ErrorCatalogue

TD = ErrorCatalogue("TD", {
    "unexpected": (1, 500, "Uventet feil i tjenesten"),
    "backend": (1, 500, "Uventet feil i tjenesten"),
    "unauthenticated": (2, 401, "Feil i forbindelse med autentisering"),
    "invalid": (3, 400, "Feil i forbindelse med validering av inputdata"),
    "no_data": (4, 404, "Fant ingen data for oppgitt personidentifikator og ressurs"),
    "unknown_person": (4, 404, "Fant ingen data for oppgitt personidentifikator og ressurs"),
    "not_acceptable": (5, 406, "Feil dataformat; kun json eller xml støttes"),
    "unknown_url": (6, 404, "Ukjent URL"),
})
