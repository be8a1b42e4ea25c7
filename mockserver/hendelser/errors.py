"""FA-001…006, as listed in Skatteetaten's documentation of the event feeds (docs/api/hendelser.md); every
feed but the two Mva feeds shares them."""

from ..skatteetaten_errors import ErrorCatalogue

FA = ErrorCatalogue("FA", {
    "unexpected": (1, 500, "Uventet feil på tjenesten"),
    "backend": (1, 500, "Uventet feil på tjenesten"),
    "unknown_url": (2, 404, "Ukjent url benyttet"),
    "unauthenticated": (3, 401, "Feil i forbindelse med autentisering"),
    "invalid": (4, 400, "Feil i forbindelse med validering av inputdata"),
    "no_events": (5, 404, "Ingen hendelser funnet for oppgitt input"),
    "not_acceptable": (6, 406, "Feil tilknyttet dataformat. Kun json eller xml er støttet"),
})
