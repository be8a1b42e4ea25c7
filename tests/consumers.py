"""Four consumer-shaped readers: how public consumers of these APIs bind an answer, written anew in Python
from what their public code does (no code of theirs is copied). Each returns what the consumer would show,
or raises ConsumerCrash where the consumer would fail.

1. `social_assistance_months` — the shape of NAV's digisos backend (navikt/sosialhjelp-soknad-api,
   Inntekt API): `kalendermaaned` bound to a non-null string, `beloep` to an integer (Jackson turns
   23989.5 into 23989), and only lines with `inngaarIGrunnlagForTrekk == true` counted as income.
2. `wallet_months` — the shape of Digdir's wallet connector (eudi-wallet-no/eudiw-bevisporten, Inntekt API):
   oppgaver with income lines summed per `kalendermaaned` into a sorted map (a missing month is a null key,
   which that map refuses), the sum cast to a whole number.
3. `strict_yearly` — the shape of a case-system plugin (data-altinn-no/plugin-skatteetaten, Summert
   skattegrunnlag): `grunnlag`, `skjermet` and `skatteoppgjoersdato` required.
4. `tolerant_yearly` — the shape of NAV's supplementary-benefit client (navikt/su-se-bakover, Summert
   skattegrunnlag): every list optional, `grunnlag` and `svalbardGrunnlag` merged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ConsumerCrash(Exception):
    """Where the consumer's binding or code would throw."""


@dataclass
class MonthsRead:
    """What an Inntekt consumer shows: kroner per month, and what it lost on the way."""

    months: dict[str, int] = field(default_factory=dict)
    truncated_lines: int = 0  # lines whose øre the integer binding dropped
    dropped_kroner: float = 0.0  # income the consumer left out without saying so


def _oppgaver(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body.get("oppgaveInntektsmottaker") or []


def social_assistance_months(body: dict[str, Any]) -> MonthsRead:
    read = MonthsRead()
    for oppgave in _oppgaver(body):
        month = oppgave.get("kalendermaaned")
        if month is None:
            raise ConsumerCrash("kalendermaaned is null for a non-null String (YearMonth.parse)")
        for line in oppgave.get("inntekt") or []:
            beloep = line.get("beloep")
            if beloep is None:
                continue
            if beloep != int(beloep):
                read.truncated_lines += 1
            if line.get("inngaarIGrunnlagForTrekk") is not True:
                read.dropped_kroner += beloep
                continue
            read.months[month] = read.months.get(month, 0) + int(beloep)
    return read


def wallet_months(body: dict[str, Any]) -> MonthsRead:
    read = MonthsRead()
    sums: dict[str, float] = {}
    for oppgave in _oppgaver(body):
        lines = oppgave.get("inntekt")
        if not lines:
            continue  # an oppgave without income lines is skipped
        month = oppgave.get("kalendermaaned")
        if month is None:
            raise ConsumerCrash("null key in a sorted map (kalendermaaned missing)")
        total = sum(float(line["beloep"]) for line in lines)
        if total != int(total):
            read.truncated_lines += 1
        sums[month] = sums.get(month, 0.0) + int(total)
    read.months = {m: int(v) for m, v in sorted(sums.items())}
    return read


@dataclass
class YearRead:
    skjermet: bool
    posts: dict[str, int]
    skatteoppgjoersdato: str | None


def strict_yearly(body: dict[str, Any]) -> YearRead:
    for name, kind in (("personidentifikator", str), ("inntektsaar", str), ("skjermet", bool),
                       ("skatteoppgjoersdato", str), ("grunnlag", list)):
        if not isinstance(body.get(name), kind):
            raise ConsumerCrash(f"{name} must be {kind.__name__}")
    posts = {}
    for item in body["grunnlag"]:
        if type(item.get("beloep")) is not int or not isinstance(item.get("kategori"), str):
            raise ConsumerCrash(f"bad grunnlag item {item}")
        posts[item["tekniskNavn"]] = item["beloep"]
    return YearRead(body["skjermet"], posts, body["skatteoppgjoersdato"])


def tolerant_yearly(body: dict[str, Any]) -> YearRead:
    posts: dict[str, int] = {}
    for item in (body.get("grunnlag") or []) + (body.get("svalbardGrunnlag") or []):
        posts[item["tekniskNavn"]] = posts.get(item["tekniskNavn"], 0) + int(item["beloep"])
    return YearRead(bool(body.get("skjermet")), posts, body.get("skatteoppgjoersdato"))
