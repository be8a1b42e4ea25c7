"""Monthly a-ordningen reports (`oppgaveInntektsmottaker`) read off a life.

Amounts are kept in øre (integers) and served as JSON numbers in kroner: hourly pay (rate × hours) and
benefits paid by day rate carry øre; the rest are whole kroner served as `n.0`, as real answers are.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
import zlib
from typing import Any

from ..choices import Choices
from ..months import Month, month_text, next_month
from .codes import beskrivelse_valid
from .life import IncomeStream, Life, employer, monthly_amount
from .shapes import FULL, LEAN, OPTIONAL_FROM, OppgaveShape, bare_oppgave, oppgave_shape

DAY_RATE = {"dagpengerVedArbeidsloeshet", "arbeidsavklaringspenger"}  # NAV pays these per weekday
WEEKDAYS_PER_YEAR = 260
# Lines other than cash: a company car is a benefit in kind; the taxable part of a mileage allowance (over
# the tax-free rate) is an expense allowance with tax withheld and employer's contribution, as in
# Skatteetaten's Inntekt example (`smusstillegg`). Both count as wage in the yearly basis.
FORDEL = {"bil": "naturalytelse", "kilometergodtgjoerelseBil": "utgiftsgodtgjoerelse"}
# The recorded answer's months whose mottaksinformasjon is {} (its persona reproduces them).
OPPTAK_EMPTY_MOTTAK = {(2025, 2), (2025, 3), (2025, 4)}
MILEAGE_TAXABLE_OERE = 51  # per kilometre: the rate paid above the tax-free one


def kroner(oere: int) -> float:
    """øre → kroner as a JSON number (35050.0, 23989.5)."""
    return oere / 100


def round_kroner(oere: int) -> int:
    """Whole kroner, half up: how a yearly sum of øre amounts becomes a summert skattegrunnlag post."""
    return (oere + 50) // 100 if oere >= 0 else -((-oere + 50) // 100)


def _weekdays(month: Month) -> int:
    days = calendar.monthrange(*month)[1]
    return sum(1 for d in range(1, days + 1) if dt.date(month[0], month[1], d).weekday() < 5)


def _hourly_rate(stream: IncomeStream, month: Month) -> int:
    """The stream's hourly rate in øre that year: whole kroner plus øre, fixed per employer."""
    base = 22_000 + int(stream.payer.orgnr) % 9_000
    return round(base * 1.04 ** (month[0] - stream.start[0]))


def stream_amounts(stream: IncomeStream, month: Month) -> list[tuple[str, int, float | None]]:
    """(beskrivelse, beløp in øre, antall) a stream pays in a month: the regular pay, plus June holiday pay."""
    if not stream.active(month):
        return []
    monthly = monthly_amount(stream, month) * 100
    antall: float | None = None
    if stream.beskrivelse == "timeloenn":
        rate = _hourly_rate(stream, month)
        antall = max(1, round(2 * monthly / rate)) / 2  # half hours
        amount = round(rate * antall)
    elif stream.beskrivelse in DAY_RATE:
        dagsats = round(monthly * 12 / WEEKDAYS_PER_YEAR)
        amount = dagsats * _weekdays(month)
    else:
        amount = monthly
    out = [(stream.beskrivelse, amount, antall)]
    if stream.holiday_pay and month[1] == 6 and stream.start < (month[0], 1):
        out.append(("feriepenger", round(amount * 1.02), None))
    if stream.naturalytelse:
        out.append(("bil", round(stream.naturalytelse * _growth(stream, month)) * 100, None))
    if stream.utgiftsgodtgjoerelse:
        km = zlib.crc32(f"{stream.payer.orgnr}:{stream.monthly}:km:{month}".encode()) % 1_400
        if km >= 100:  # some months without driving
            out.append(("kilometergodtgjoerelseBil", km * MILEAGE_TAXABLE_OERE, None))
    return out


def _growth(stream: IncomeStream, month: Month) -> float:
    return monthly_amount(stream, month) / stream.monthly if stream.monthly else 1.0


def _inntekt(stream: IncomeStream, beskrivelse: str, oere: int, antall: float | None, life: Life,
             shape: OppgaveShape) -> dict[str, Any]:
    wage = stream.kind == "loennsinntekt"
    kind: dict[str, Any] = {"beskrivelse": beskrivelse}
    if antall is not None:
        kind["antall"] = antall
    if life.d_number and wage:
        kind["spesifikasjon"] = {"skattemessigBosattILand": "PL", "opptjeningsland": "NO"}
    # Optional since årsrevisjon 2025 and absent in a recorded test-environment answer.
    item: dict[str, Any] = {}
    if shape.fordel:
        item["fordel"] = FORDEL.get(beskrivelse, stream.fordel)
    if shape.utloeser_arbeidsgiveravgift:
        item["utloeserArbeidsgiveravgift"] = wage
    if shape.inngaar_i_grunnlag_for_trekk:
        item["inngaarIGrunnlagForTrekk"] = True
    item["beloep"] = kroner(oere)
    if stream.svalbard:
        item["skatteOgAvgiftsregel"] = "svalbard"
    item[stream.kind] = kind
    return item


def _oslo_offset(moment: dt.datetime) -> str:
    """+02:00 in summer time (last Sunday of March to last Sunday of October, 01:00 UTC), else +01:00."""
    def last_sunday(month: int) -> dt.datetime:
        last = dt.date(moment.year, month, calendar.monthrange(moment.year, month)[1])
        day = last - dt.timedelta(days=(last.weekday() + 1) % 7)
        return dt.datetime(day.year, day.month, day.day, 1)

    return "+02:00" if last_sunday(3) <= moment < last_sunday(10) else "+01:00"


def mottaksinformasjon(life: Life, month: Month, payer: str, choices: Choices) -> dict[str, Any] | None:
    """When a-ordningen first received the report: around payday at the end of the month, in Oslo time with
    0–6 fraction digits (trailing zeros dropped); sometimes the object is empty, as in a recorded answer."""
    if f"{month[0]:04d}-{month[1]:02d}" < choices.mottaksinformasjon_from:
        return None
    rng = random.Random(f"{life.settlement_seed}:mottak:{payer}:{month}")
    empty = rng.random() < choices.mottaksinformasjon_empty_share
    if life.inntekt_opptak:
        empty = month in OPPTAK_EMPTY_MOTTAK
    if empty:
        return {}
    nxt = next_month(month)
    utc = dt.datetime(nxt[0], nxt[1], 1) - dt.timedelta(days=rng.randrange(0, 4)) + dt.timedelta(
        seconds=rng.randrange(7 * 3600, 20 * 3600))
    offset = _oslo_offset(utc)
    local = utc + dt.timedelta(hours=int(offset[1:3]))
    fraction = f"{rng.randrange(10 ** 6):06d}"[:rng.randrange(0, 7)].rstrip("0")
    return {"foersteMottakstidspunkt": f"{local:%Y-%m-%dT%H:%M:%S}{'.' + fraction if fraction else ''}{offset}"}


def has_reports(life: Life, month: Month) -> bool:
    """Whether `month_reports` gives anything, without building the reports (an event feed asks this of
    everyone)."""
    if life.inntekt_opptak and month == OPTIONAL_FROM:
        return True  # only the bare oppgave
    return any(beskrivelse_valid(stream.kind, beskrivelse, *month)
               for stream in life.streams if stream.active(month)
               for beskrivelse, _, _ in stream_amounts(stream, month))


def _shape(life: Life, month: Month, payer: str, choices: Choices) -> OppgaveShape:
    if month < OPTIONAL_FROM:
        return FULL
    if life.inntekt_sparse:
        return OppgaveShape(kalendermaaned=month[1] % 2 == 0, fordel=False, utloeser_arbeidsgiveravgift=False,
                            inngaar_i_grunnlag_for_trekk=False)
    if life.inntekt_opptak:
        return LEAN
    return oppgave_shape(life.settlement_seed, month, payer, choices) if life.crowd_shapes else FULL


def _bare_oppgave(life: Life, month: Month, choices: Choices) -> dict[str, Any]:
    """An oppgave with no income lines: a payer who reported the person for the month but paid nothing (as
    in a recorded answer, where another employer's a-melding came the month before the wage started)."""
    payer = employer(zlib.crc32(f"{life.settlement_seed}:tom-arbeidsgiver".encode()) % 20_000)
    oppgave: dict[str, Any] = {"opplysningspliktigId": payer.orgnr, "virksomhetId": payer.virksomhet,
                               "kalendermaaned": month_text(month),
                               "inntektsmottaker": {"personidentifikator": life.fnr}}
    if life.inntekt_sparse and month[1] % 2:
        del oppgave["kalendermaaned"]
    mottak = mottaksinformasjon(life, month, "tom", choices)
    if mottak is not None:
        oppgave["mottaksinformasjon"] = mottak
    return oppgave


def _wants_bare_oppgave(life: Life, month: Month, choices: Choices) -> bool:
    if month < OPTIONAL_FROM:
        return False
    if life.inntekt_sparse:
        return True
    if life.inntekt_opptak:
        return month == OPTIONAL_FROM  # the recorded answer's January, before the wage began
    return life.crowd_shapes and bare_oppgave(life.settlement_seed, month, choices)


def month_lines(life: Life, month: Month) -> list[tuple[IncomeStream, str, int, float | None]]:
    """The income lines of a month's reports, before they are grouped by payer and dressed: (stream,
    beskrivelse, beløp in øre, antall). A search over everyone reads these, not the reports."""
    return [(stream, beskrivelse, oere, antall) for stream in life.streams
            for beskrivelse, oere, antall in stream_amounts(stream, month)
            if beskrivelse_valid(stream.kind, beskrivelse, *month)]


def month_reports(life: Life, month: Month, choices: Choices | None = None) -> list[dict[str, Any]]:
    """One oppgave per opplysningspliktig that paid the person in the month, in the month's shapes."""
    choices = choices or Choices()
    by_payer: dict[str, list[tuple[IncomeStream, str, int, float | None]]] = {}
    for line in month_lines(life, month):
        by_payer.setdefault(line[0].payer.orgnr, []).append(line)
    reports = []
    for rows in by_payer.values():
        payer = rows[0][0].payer
        shape = _shape(life, month, payer.orgnr, choices)
        inntekt = [_inntekt(s, b, v, n, life, shape) for s, b, v, n in rows]
        # tabelltrekk is whole kroner
        trekk = sum(round_kroner(round(v * s.trekk)) for s, _, v, _ in rows)
        forskudd: dict[str, Any] = {"beloep": float(-trekk)}
        if any(s.svalbard for s, _, _, _ in rows):
            forskudd = {"beskrivelse": "svalbard", **forskudd}
        report: dict[str, Any] = {
            "opplysningspliktigId": payer.orgnr,
            "virksomhetId": payer.virksomhet,
            "kalendermaaned": month_text(month),
            "inntektsmottaker": {"personidentifikator": life.fnr},
            "inntekt": inntekt,
            "forskuddstrekk": [forskudd],
        }
        if life.inntekt_opptak and month >= OPTIONAL_FROM:
            del report["forskuddstrekk"]  # the recorded answer has none
        wages = sum(v for s, _, v, _ in rows if s.kind == "loennsinntekt")
        if life.pensjonspremie and wages:
            report["fradrag"] = [{"beskrivelse": "premieTilPensjonsordninger",
                                  "beloep": kroner(round(wages * life.pensjonspremie))}]
        if not shape.kalendermaaned:
            del report["kalendermaaned"]  # optional since årsrevisjon 2025
        mottak = mottaksinformasjon(life, month, payer.orgnr, choices)
        if mottak is not None:
            report["mottaksinformasjon"] = mottak
        reports.append(report)
    if (reports or life.inntekt_opptak) and _wants_bare_oppgave(life, month, choices):
        reports.append(_bare_oppgave(life, month, choices))
    return reports
