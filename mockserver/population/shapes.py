"""Optional shapes across the crowd: what the contracts allow and production serves, at the rates of the
choices file (docs/shapes.md), so a client calling anyone meets them, not only the persona built for each.

Every draw is a pure function of (seed, person, month[, payer]) through the life's seed string: the same
answer on every machine and every day. A cheap CRC, not a Random: the Inntekt API draws per oppgave.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from ..choices import Choices
from ..months import Month, month_text

# Årsrevisjon 2025 made kalendermaaned, inntektsmottaker, beloep and fordel optional; earlier months keep
# the full shape.
OPTIONAL_FROM: Month = (2025, 1)


def draw(key: str, label: str) -> float:
    """A uniform number in [0, 1) from a text key."""
    return zlib.crc32(f"{key}:{label}".encode()) / 2**32


@dataclass(frozen=True)
class OppgaveShape:
    """Which optional parts one oppgave leaves out."""

    kalendermaaned: bool = True
    fordel: bool = True
    utloeser_arbeidsgiveravgift: bool = True
    inngaar_i_grunnlag_for_trekk: bool = True


FULL = OppgaveShape()
LEAN = OppgaveShape(True, False, False, False)  # lines with only beloep and the kind, as recorded


def recorded_month(key: str, month: Month, choices: Choices) -> bool:
    """The whole month in the recorded answer's shape: every line only beloep and its kind."""
    return month >= OPTIONAL_FROM and draw(key, f"opptak:{month_text(month)}") < choices.recorded_shape_share


def bare_oppgave(key: str, month: Month, choices: Choices) -> bool:
    """One more oppgave this month from a payer who paid nothing (ids, month, receiver, mottaksinformasjon)."""
    return month >= OPTIONAL_FROM and draw(key, f"tom:{month_text(month)}") < choices.bare_oppgave_share


def oppgave_shape(key: str, month: Month, payer: str, choices: Choices) -> OppgaveShape:
    if month < OPTIONAL_FROM:
        return FULL
    if recorded_month(key, month, choices):
        return LEAN
    at = f"{month_text(month)}:{payer}"
    return OppgaveShape(
        kalendermaaned=draw(key, f"uten-maaned:{at}") >= choices.kalendermaaned_absent_share,
        fordel=draw(key, f"uten-fordel:{at}") >= choices.fordel_absent_share,
        utloeser_arbeidsgiveravgift=draw(key, f"uten-aga:{at}") >= choices.utloeser_arbeidsgiveravgift_absent_share,
        inngaar_i_grunnlag_for_trekk=draw(key, f"uten-trekk:{at}") >= choices.inngaar_i_grunnlag_for_trekk_absent_share,
    )


def screening(key: str, choices: Choices) -> tuple[bool, bool]:
    """(skjermet, fully screened for every package) of a crowd person."""
    skjermet = draw(key, "skjermet") < choices.skjermet_share
    return skjermet, skjermet and draw(key, "skjermet-helt") < choices.skjermet_helt_share
