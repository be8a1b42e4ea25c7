"""The yearly code lists (facts from Skatteetaten's documentation, shipped in fixtures/)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from ..resources import fixtures_dir

YEARS = (2021, 2022, 2023, 2024, 2025)

# What the sandbox's people have, by meaning, and the tekniskNavn that carries it in each year's list:
# the first name valid that year wins (the lists change names between years).
CONCEPTS: dict[str, tuple[str, ...]] = {
    "loenn": ("samletLoennsinntektMedTrygdeavgiftspliktOgMedTrekkplikt",),
    "aap": ("arbeidsavklaringspenger",),
    "ufoeretrygd": ("samletUfoeretrygdFraFolketrygdenEksklusiveEktefelletillegg",),
    "alderspensjon": ("alderspensjonFraFolketrygden", "samletPensjonFraFolketrygden"),
    "kvalifiseringsstoenad": ("kvalifiseringsstoenad",),
    "annenPensjon": ("samletAnnenPensjonMedTrekkpliktEksklusiveEktefelletillegg",),
    "naering": ("samletPersoninntektFraEnkeltpersonforetakInnenJordbrukReindriftSkiferproduksjonOgAnnenNaering",),
    "naeringsoverskudd": ("samletOverskuddAvEnkeltpersonforetakInnenAnnenNaering",),
    "renteinntekt": ("samledeOpptjenteRenterIInnenlandskeBanker",),
    "innskudd": ("innskudd", "samletInnskuddIInnenlandskeBanker"),
    "primaerbolig": ("formuesverdiForPrimaerbolig",),
    "kjoeretoey": ("formuesverdiForKjoeretoey",),
    "gjeld": ("gjeldIInnenlandskeBanker",),
    "gjeldsrenter": ("samledePaaloepteRenterPaaGjeldIInnenlandskeBanker",),
    "minstefradrag": ("minstefradragIInntekt",),
    "reisefradrag": ("reisefradrag",),
    "aksjesparekonto": ("formuesverdiForKontanterIAksjesparekonto",),
    "fondskonto": ("formuesverdiForKontanterMvIFondskonto",),
    "virtuellValuta": ("formuesverdiForVirtuellValuta",),
    "annetFinansprodukt": ("formuesverdiForAnnetFinansprodukt",),
    "oevrigFormue": ("samletFormuesverdiForOevrigFormue",),
    "kapitalisertFesteavgift": ("gjeldsfradragForKapitalisertFesteavgift",),
    "skyldigRestskatt": ("skyldigRestskatt",),
    "bruttoformue": ("bruttoformue",),
    "samletGjeld": ("samletGjeld",),
    "nettoformue": ("nettoformue",),
    "alminneligInntekt": ("alminneligInntektFoerSaerfradrag",),
    "grunnlagSkatt": ("samletGrunnlagForInntektsskattTilKommuneOgFylkeskommuneStatsskattOgFellesskatt",),
    "svalbardSkatt": ("grunnlagForSkattPaaAlminneligInntektSvalbard",),
}


@dataclass(frozen=True)
class YearList:
    year: int
    kategori: dict[str, str]  # tekniskNavn -> kategori

    def name(self, concept: str) -> str | None:
        for candidate in CONCEPTS[concept]:
            if candidate in self.kategori:
                return candidate
        return None


@lru_cache(maxsize=1)
def _tekniske_navn() -> dict[str, list[dict[str, str]]]:
    return json.loads((fixtures_dir() / "summertskattegrunnlag-tekniskenavn.json").read_text())


@lru_cache(maxsize=16)
def year_list(year: int) -> YearList:
    rows = _tekniske_navn().get(str(year))
    if rows is None:
        raise KeyError(f"no tekniskNavn list for {year}")
    return YearList(year, {r["tekniskNavn"]: r.get("kategori", "") for r in rows})


@lru_cache(maxsize=1)
def beskrivelser() -> dict[str, list[dict[str, str | None]]]:
    doc = json.loads((fixtures_dir() / "inntekt-beskrivelser.json").read_text())
    return {k: v for k, v in doc.items() if k in ("loennsinntekt", "ytelseFraOffentlige",
                                                   "pensjonEllerTrygd", "naeringsinntekt")}


def beskrivelse_valid(kind: str, code: str, year: int, month: int) -> bool:
    """Whether a-ordningen accepts `code` of `kind` in a month (gyldigTil read as exclusive)."""
    ym = f"{year:04d}-{month:02d}"
    for row in beskrivelser().get(kind, []):
        if row["verdi"] == code:
            frm, til = row.get("gyldigFraOgMed"), row.get("gyldigTil")
            return (frm is None or frm <= ym) and (til is None or ym < til)
    return False


# Which yearly concept each monthly a-ordningen income adds up to. Wages and NAV's wage-like benefits
# (dagpenger, sykepenger, foreldrepenger) share the wage post, as on the tax return.
MONTHLY_TO_YEARLY: dict[tuple[str, str], str] = {
    ("ytelseFraOffentlige", "dagpengerVedArbeidsloeshet"): "loenn",
    ("ytelseFraOffentlige", "sykepenger"): "loenn",
    ("ytelseFraOffentlige", "foreldrepenger"): "loenn",
    ("ytelseFraOffentlige", "arbeidsavklaringspenger"): "aap",
    ("ytelseFraOffentlige", "ufoeretrygd"): "ufoeretrygd",
    ("pensjonEllerTrygd", "alderspensjon"): "alderspensjon",
    ("pensjonEllerTrygd", "ufoerepensjonFraAndreEnnFolketrygden"): "annenPensjon",
    ("pensjonEllerTrygd", "kvalifiseringstoenad"): "kvalifiseringsstoenad",
}


def yearly_concept(kind: str, beskrivelse: str) -> str | None:
    if kind == "loennsinntekt":
        return "loenn"
    return MONTHLY_TO_YEARLY.get((kind, beskrivelse))
