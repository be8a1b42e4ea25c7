"""Monthly a-ordningen reports (`oppgaveInntektsmottaker`) read off a life."""

from __future__ import annotations

from typing import Any

from .codes import beskrivelse_valid
from .life import IncomeStream, Life, Month, monthly_amount

HOURLY_WAGE = 285


def stream_amounts(stream: IncomeStream, month: Month) -> list[tuple[str, int]]:
    """(beskrivelse, beløp) pairs a stream pays in a month: the regular pay, plus June holiday pay."""
    if not stream.active(month):
        return []
    amount = monthly_amount(stream, month)
    out = [(stream.beskrivelse, amount)]
    if stream.holiday_pay and month[1] == 6 and stream.start < (month[0], 1):
        out.append(("feriepenger", round(amount * 1.02)))
    return out


def _inntekt(stream: IncomeStream, beskrivelse: str, beloep: int, life: Life) -> dict[str, Any]:
    wage = stream.kind == "loennsinntekt"
    kind: dict[str, Any] = {"beskrivelse": beskrivelse}
    if beskrivelse == "timeloenn":
        kind["antall"] = max(1, round(beloep / HOURLY_WAGE))
    if life.d_number and wage:
        kind["spesifikasjon"] = {"skattemessigBosattILand": "PL", "opptjeningsland": "NO"}
    item: dict[str, Any] = {
        "fordel": stream.fordel,
        "utloeserArbeidsgiveravgift": wage,
        "inngaarIGrunnlagForTrekk": True,
        "beloep": beloep,
    }
    if stream.svalbard:
        item["skatteOgAvgiftsregel"] = "svalbard"
    item[stream.kind] = kind
    return item


def month_reports(life: Life, month: Month) -> list[dict[str, Any]]:
    """One oppgave per opplysningspliktig that paid the person in the month."""
    by_payer: dict[str, list[tuple[IncomeStream, str, int]]] = {}
    for stream in life.streams:
        for beskrivelse, beloep in stream_amounts(stream, month):
            if beskrivelse_valid(stream.kind, beskrivelse, *month):
                by_payer.setdefault(stream.payer.orgnr, []).append((stream, beskrivelse, beloep))
    reports = []
    for rows in by_payer.values():
        payer = rows[0][0].payer
        inntekt = [_inntekt(s, b, v, life) for s, b, v in rows]
        trekk = sum(round(v * s.trekk) for s, _, v in rows)
        forskudd: dict[str, Any] = {"beloep": -trekk}
        if any(s.svalbard for s, _, _ in rows):
            forskudd = {"beskrivelse": "svalbard", **forskudd}
        reports.append({
            "opplysningspliktigId": payer.orgnr,
            "virksomhetId": payer.virksomhet,
            "kalendermaaned": f"{month[0]:04d}-{month[1]:02d}",
            "inntektsmottaker": {"personidentifikator": life.fnr},
            "inntekt": inntekt,
            "forskuddstrekk": [forskudd],
        })
    return reports
