"""Rettighetspakker: where each is published, which stadier it may ask for and which data it receives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .resources import SAFE_LOADER, fixtures_dir
from .services import SERVICES


class PakkeError(ValueError):
    """A rettighetspakker file that cannot be used."""


@dataclass(frozen=True)
class Pakke:
    name: str
    apis: frozenset[str]  # the APIs Skatteetaten publishes the package for
    stadier: frozenset[str]
    samtykke: bool
    kategorier: frozenset[str]
    utelat_navn: frozenset[str]
    spesifisering: frozenset[str]
    inntekt_typer: frozenset[str]
    utelat_beskrivelse: frozenset[str]
    skjerming: str = "delvis"  # delvis | full: what a screened person's answer keeps

    def filter_grunnlag(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            if "*" not in self.kategorier and item.get("kategori") not in self.kategorier:
                continue
            if item["tekniskNavn"] in self.utelat_navn:
                continue
            item = dict(item)  # only top-level keys change; nested values are shared, never mutated
            spes = [s for s in item.pop("spesifisering", [])
                    if "*" in self.spesifisering or s.get("type") in self.spesifisering]
            if spes:
                # keep the field order of the published example: spesifisering before kategori
                kategori = item.pop("kategori")
                item["spesifisering"] = spes
                item["kategori"] = kategori
            out.append(item)
        return out

    def filter_oppgave(self, oppgave: dict[str, Any]) -> dict[str, Any] | None:
        """Whole inntekt entries that the package may not see are removed, as Skatteetaten does; an oppgave
        that never carried income lines (only ids and mottaksinformasjon) passes as it is."""
        if "inntekt" not in oppgave:
            return oppgave
        kept = []
        for inntekt in oppgave.get("inntekt", []):
            kind = next((k for k in inntekt if isinstance(inntekt[k], dict)), None)
            if kind not in self.inntekt_typer:
                continue
            if inntekt[kind].get("beskrivelse") in self.utelat_beskrivelse:
                continue
            kept.append(inntekt)
        if not kept:
            return None
        return {**oppgave, "inntekt": kept}


APIS = frozenset(s.name for s in SERVICES if s.rettighetspakke)
INNTEKT_TYPER = ("loennsinntekt", "ytelseFraOffentlige", "pensjonEllerTrygd", "naeringsinntekt")
SKJERMING = ("delvis", "full")


def load_pakker(path: Path | None = None) -> dict[str, Pakke]:
    path = path or fixtures_dir() / "rettighetspakker.yaml"
    try:
        doc = yaml.load(path.read_text(), Loader=SAFE_LOADER) or {}
        entries = doc["rettighetspakker"]
        pakker = {}
        for name, spec in entries.items():
            ssg = spec.get("summertskattegrunnlag") or {}
            inn = spec.get("inntekt") or {}
            apis = frozenset(spec.get("apis") or APIS)
            skjerming = str(spec.get("skjerming", "delvis"))
            if not apis <= APIS or skjerming not in SKJERMING:
                raise TypeError(f"{name}: apis must be among {sorted(APIS)}, skjerming one of {SKJERMING}")
            pakker[name.lower()] = Pakke(
                name=name.lower(),
                apis=apis,
                skjerming=skjerming,
                stadier=frozenset(spec.get("stadier") or ["oppgjoer"]),
                samtykke=bool(spec.get("samtykke")),
                kategorier=frozenset(ssg.get("kategorier") or ["*"]),
                utelat_navn=frozenset(ssg.get("utelat") or []),
                spesifisering=frozenset(ssg.get("spesifisering", ["*"]) or []),
                inntekt_typer=frozenset(inn.get("typer", INNTEKT_TYPER) or []),
                utelat_beskrivelse=frozenset(inn.get("utelat") or []),
            )
    except (OSError, yaml.YAMLError, KeyError, AttributeError, TypeError) as exc:
        raise PakkeError(f"{path}: cannot read rettighetspakker: {exc}") from exc
    return pakker
