"""Shaping of the yearly body beyond what the population gives: skjerming."""

from __future__ import annotations

from typing import Any

# Spesifisering types that point at where a person lives or works.
GEOLOCATING = {"Eiendom", "LoennOgTilsvarendeYtelser", "Kjoeretoey"}


def skjerm_helt(body: dict[str, Any]) -> dict[str, Any]:
    """A package without rights to screened data gets only the call's parameters and `skjermet: true`
    (Skatteetaten, docs/om/skjerming.md); `grunnlag` is left out, not sent empty."""
    return {"personidentifikator": body["personidentifikator"], "inntektsaar": body["inntektsaar"],
            "stadie": body["stadie"], "skjermet": True}


def skjerm(body: dict[str, Any]) -> dict[str, Any]:
    """Remove geolocating detail from a screened person's answer; the sums stay as they were."""
    out = dict(body)
    for key in ("grunnlag", "svalbardGrunnlag", "kildeskattPaaLoennGrunnlag"):
        if key not in out:
            continue
        items = []
        for item in out[key]:
            item = dict(item)
            spes = [s for s in item.get("spesifisering", []) if s.get("type") not in GEOLOCATING]
            if spes:
                item["spesifisering"] = spes
            else:
                item.pop("spesifisering", None)
            items.append(item)
        out[key] = items
    out["skjermet"] = True
    return out
