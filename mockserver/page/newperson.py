"""«Ny person»: a presenter adds someone during a demo, without a number of their own (one is minted)."""

from __future__ import annotations

import re
from typing import Any

from ..population.personas import KNOWN_ARCHETYPES, PersonaError

ARCHETYPE_LABELS = {
    "employee": "Fast ansatt", "two-employers": "To arbeidsgivere", "part-time": "Deltid på timelønn",
    "unemployed": "Dagpenger", "disability": "Uføretrygd", "aap": "Arbeidsavklaringspenger",
    "pensioner": "Alderspensjonist", "self-employed": "Selvstendig næringsdrivende", "student": "Student",
    "kvalifisering": "Kvalifiseringsstønad", "no-income": "Ingen inntekt",
}
_MONTHLY = re.compile(r"[0-9]{1,7}", re.ASCII)


def archetypes() -> list[tuple[str, str]]:
    return sorted(((a, ARCHETYPE_LABELS.get(a, a)) for a in KNOWN_ARCHETYPES), key=lambda pair: pair[1])


def persona_body(form: dict[str, str]) -> tuple[dict[str, Any], str]:
    """The control API's persona body from the form, or '' and the reason (in Norwegian) it cannot be."""
    body: dict[str, Any] = {"scenario": "demo"}
    for field in ("first_name", "last_name", "story"):
        value = form.get(field, "").strip()
        if value:
            body[field] = value[:200]
    archetype = form.get("archetype", "employee")
    if archetype not in KNOWN_ARCHETYPES:
        return {}, "Velg en av livssituasjonene i listen."
    body["archetype"] = archetype
    monthly = form.get("monthly", "").strip().replace(" ", "")
    if monthly:
        if not _MONTHLY.fullmatch(monthly):
            return {}, f"Månedslønn må være et helt antall kroner (fikk {monthly[:20]!r})."
        body["monthly"] = int(monthly)
    return body, ""


def add(sandbox: Any, form: dict[str, str]) -> tuple[str | None, str]:
    """(fnr, '') when the person was added, else (None, the reason)."""
    body, problem = persona_body(form)
    if problem:
        return None, problem
    try:
        persona, _, _ = sandbox.add_persona(body)
    except PersonaError as exc:
        return None, f"Personen ble ikke lagt til: {exc}"
    return persona.fnr, ""
