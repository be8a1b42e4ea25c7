"""Norwegian words for what the APIs name technically, and what a client should do with each error."""

from __future__ import annotations

import re

KATEGORIER: dict[str, str] = {
    "inntekt": "Inntekt",
    "formue": "Formue",
    "inntektsfradrag": "Fradrag",
    "formuesfradrag": "Gjeld",
    "-": "Beregnet",
    "": "Beregnet",
}
KATEGORI_ORDER = ["inntekt", "formue", "inntektsfradrag", "formuesfradrag", "-"]

# The posts the sandbox's people have; any other tekniskNavn gets a label read off its camel case.
TEKNISK_NAVN: dict[str, str] = {
    "samletLoennsinntektMedTrygdeavgiftspliktOgMedTrekkplikt": "Lønnsinntekt",
    "arbeidsavklaringspenger": "Arbeidsavklaringspenger (AAP)",
    "samletUfoeretrygdFraFolketrygdenEksklusiveEktefelletillegg": "Uføretrygd fra folketrygden",
    "alderspensjonFraFolketrygden": "Alderspensjon fra folketrygden",
    "samletPensjonFraFolketrygden": "Pensjon fra folketrygden",
    "kvalifiseringsstoenad": "Kvalifiseringsstønad",
    "samletAnnenPensjonMedTrekkpliktEksklusiveEktefelletillegg": "Annen pensjon",
    "samletPersoninntektFraEnkeltpersonforetakInnenJordbrukReindriftSkiferproduksjonOgAnnenNaering":
        "Personinntekt fra enkeltpersonforetak",
    "samletOverskuddAvEnkeltpersonforetakInnenAnnenNaering": "Overskudd av enkeltpersonforetak",
    "samledeOpptjenteRenterIInnenlandskeBanker": "Renter av bankinnskudd",
    "innskudd": "Bankinnskudd",
    "samletInnskuddIInnenlandskeBanker": "Bankinnskudd",
    "formuesverdiForPrimaerbolig": "Formuesverdi for primærbolig",
    "formuesverdiForKjoeretoey": "Formuesverdi for kjøretøy",
    "gjeldIInnenlandskeBanker": "Gjeld i norske banker",
    "samledePaaloepteRenterPaaGjeldIInnenlandskeBanker": "Gjeldsrenter",
    "minstefradragIInntekt": "Minstefradrag",
    "bruttoformue": "Bruttoformue",
    "samletGjeld": "Samlet gjeld",
    "nettoformue": "Nettoformue",
    "alminneligInntektFoerSaerfradrag": "Alminnelig inntekt før særfradrag",
    "samletGrunnlagForInntektsskattTilKommuneOgFylkeskommuneStatsskattOgFellesskatt":
        "Grunnlag for inntektsskatt",
    "grunnlagForSkattPaaAlminneligInntektSvalbard": "Grunnlag for skatt på Svalbard",
}

INNTEKT_TYPER: dict[str, str] = {
    "loennsinntekt": "Lønn",
    "ytelseFraOffentlige": "Ytelse fra det offentlige",
    "pensjonEllerTrygd": "Pensjon eller trygd",
    "naeringsinntekt": "Næringsinntekt",
}

# The spellings tekniskNavn use for the Norwegian letters, longest first.
_LETTERS = [("Oe", "Ø"), ("oe", "ø"), ("Aa", "Å"), ("aa", "å"), ("Ae", "Æ"), ("ae", "æ")]


def teknisk_navn(name: str) -> str:
    """A readable Norwegian label: the curated one, else the camel case split into words."""
    if name in TEKNISK_NAVN:
        return TEKNISK_NAVN[name]
    words = re.sub(r"(?<=[a-zæøå])(?=[A-ZÆØÅ])", " ", name).lower()
    for ascii_form, letter in _LETTERS:
        words = words.replace(ascii_form.lower(), letter.lower())
    return words[:1].upper() + words[1:]


def kategori(name: str) -> str:
    return KATEGORIER.get(name, name.capitalize())


# What a client should do with each answer; keyed by the code's number within its API family.
_COMMON_ADVICE = {
    "001": "Uventet feil hos Skatteetaten. Prøv igjen noen få ganger med økende pause; meld fra med korrelasjonsid.",
    "002": "Baksystemet svarer ikke. Prøv igjen senere med økende pause (følg Retry-After).",
    "003": "Feil URL. Rett adressen mot kontrakten; ikke prøv igjen.",
    "004": "Tokenet er ugyldig eller utløpt. Hent et nytt token fra Maskinporten og gjør kallet på nytt.",
    "005": "Virksomheten mangler tilgang (scope eller rettighetspakke). Sjekk avtale og delegering i Altinn.",
    "006": "Feil i forespørselen. Rett parameterne (fnr, år, periode); ikke prøv igjen uendret.",
    "007": "Personen finnes ikke. Kontroller fødselsnummeret med søkeren; ikke prøv igjen.",
    "008": "Ingen data for perioden ennå. Vis «ikke tilgjengelig», bruk siste tilgjengelige år eller andre måneder.",
    "009": "Be om application/json eller application/xml i Accept.",
    "010": "Rettighetspakken krever samtykke fra personen. Innhent samtykke og send samtykketoken.",
    "011": "Skattegrunnlaget er slettet (410). Ikke prøv igjen; be søkeren dokumentere inntekten på annen måte.",
}
_TD_ADVICE = {
    "001": _COMMON_ADVICE["001"],
    "002": _COMMON_ADVICE["004"],
    "003": _COMMON_ADVICE["006"],
    "004": "Ingen skatteoppgjør er tilgjengelig. Ikke spør Summert skattegrunnlag; vis «ikke tilgjengelig».",
    "005": _COMMON_ADVICE["009"],
    "006": _COMMON_ADVICE["003"],
}
STATUS_ADVICE = {
    429: "For mange samtidige kall (høyst 5 per API per virksomhet). Vent Retry-After sekunder og prøv igjen; "
         "begrens samtidigheten i klienten.",
    503: "Tjenesten er midlertidig nede. Vent Retry-After sekunder og prøv igjen med økende pause.",
}


def advice(code: str | None, status: int) -> str:
    """What a well-behaved client does with this answer."""
    if status in STATUS_ADVICE:
        return STATUS_ADVICE[status]
    if code and "-" in code:
        family, number = code.split("-", 1)
        if family == "TD":
            return _TD_ADVICE.get(number, "")
        if family in ("SSG", "IM"):
            return _COMMON_ADVICE.get(number, "")
        if family == "MP":
            return "Maskinporten avviste grantet. Rett grantet etter feilmeldingen; tokenet kan ikke brukes."
    return "Alt i orden." if 200 <= status < 300 else ""
