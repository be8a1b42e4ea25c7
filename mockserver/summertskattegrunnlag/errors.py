"""SSG-001…011, as listed in Skatteetaten's documentation of Summert skattegrunnlag."""

from ..skatteetaten_errors import ErrorCatalogue

SSG = ErrorCatalogue("SSG", {
    "unexpected": (1, 500, "Uventet feil i tjenesten"),
    "backend": (2, 500, "Uventet feil i baksystem"),
    "unknown_url": (3, 404, "Ukjent URL"),
    "unauthenticated": (4, 401, "Feil i forbindelse med autentisering"),
    "forbidden": (5, 403, "Feil i forbindelse med autorisering"),
    "invalid": (6, 400, "Feil i forbindelse med validering av inputdata"),
    "unknown_person": (7, 404, "Ikke treff på oppgitt personidentifikator"),
    "no_data": (8, 404, "Ingen summert skattegrunnlag funnet på oppgitt personidentifikator og inntektsår"),
    "not_acceptable": (9, 406, "Feil dataformat; kun json eller xml støttes"),
    "consent": (10, 403, "Feil i forbindelse med samtykketoken"),
    "gone": (11, 410, "Skattegrunnlag finnes ikke lenger"),
})
