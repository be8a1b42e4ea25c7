"""SSG-001…011, as listed in Skatteetaten's documentation of Summert skattegrunnlag."""

from ..skatteetaten_errors import COMMON_CODES, ErrorCatalogue

SSG = ErrorCatalogue("SSG", {
    **COMMON_CODES,
    # the text of a recorded real answer (2023)
    "unknown_person": (7, 404, "Fant ikke noen person for gitt personidentifikator."),
    "no_data": (8, 404, "Ingen summert skattegrunnlag funnet på oppgitt personidentifikator og inntektsår"),
    "not_acceptable": (9, 406, "Feil dataformat; kun json eller xml støttes"),
    "consent": (10, 403, "Feil i forbindelse med samtykketoken"),
    "gone": (11, 410, "Skattegrunnlag finnes ikke lenger"),
})
