"""Rettighetspakker: which stadier they may ask for and which data they receive."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .resources import SAFE_LOADER, fixtures_dir


class PakkeError(ValueError):
    """A rettighetspakker file that cannot be used."""


@dataclass(frozen=True)
class Pakke:
    name: str
    stadier: frozenset[str]
    samtykke: bool
    kategorier: frozenset[str]
    utelat_navn: frozenset[str]
    spesifisering: frozenset[str]
    inntekt_typer: frozenset[str]
    utelat_beskrivelse: frozenset[str]

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
        """Whole inntekt entries that the package may not see are removed, as Skatteetaten does."""
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


def load_pakker(path: Path | None = None) -> dict[str, Pakke]:
    path = path or fixtures_dir() / "rettighetspakker.yaml"
    try:
        doc = yaml.load(path.read_text(), Loader=SAFE_LOADER) or {}
        entries = doc["rettighetspakker"]
        pakker = {}
        for name, spec in entries.items():
            ssg = spec.get("summertskattegrunnlag") or {}
            inn = spec.get("inntekt") or {}
            pakker[name.lower()] = Pakke(
                name=name.lower(),
                stadier=frozenset(spec.get("stadier") or ["oppgjoer"]),
                samtykke=bool(spec.get("samtykke")),
                kategorier=frozenset(ssg.get("kategorier") or ["*"]),
                utelat_navn=frozenset(ssg.get("utelat") or []),
                spesifisering=frozenset(ssg.get("spesifisering", ["*"]) or []),
                inntekt_typer=frozenset(inn.get("typer") or []),
                utelat_beskrivelse=frozenset(inn.get("utelat") or []),
            )
    except (OSError, yaml.YAMLError, KeyError, AttributeError, TypeError) as exc:
        raise PakkeError(f"{path}: cannot read rettighetspakker: {exc}") from exc
    return pakker
