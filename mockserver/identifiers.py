"""Synthetic Norwegian identifiers: fødselsnummer, D-nummer and organisasjonsnummer.

Every number this sandbox makes is synthetic *by construction*, the way Test-Norge marks its people:
the birth month carries +80, and organisation numbers start with 2 or 3. python-stdnum rejects
month + 80, so the mod-11 arithmetic lives here; a real-format number is never produced nor accepted
as synthetic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_ORG_W = (3, 2, 7, 6, 5, 4, 3, 2)

SYNTHETIC_MONTH_OFFSET = 80
D_NUMBER_DAY_OFFSET = 40


def mod11(digits: list[int], weights: tuple[int, ...]) -> int | None:
    """Check digit by mod 11, or None where the remainder makes the number impossible."""
    k = 11 - sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
    if k == 11:
        return 0
    return None if k == 10 else k


def person_check_digits(first9: str) -> str | None:
    """The two control digits of an 11-digit person number, or None if no valid pair exists."""
    d = [int(c) for c in first9]
    k1 = mod11(d, _W1)
    if k1 is None:
        return None
    k2 = mod11(d + [k1], _W2)
    if k2 is None:
        return None
    return f"{k1}{k2}"


def individual_range(year: int) -> tuple[int, int]:
    """The individnummer range (inclusive) Folkeregisteret uses for a birth year."""
    if 1900 <= year <= 1999:
        return (0, 499)
    if 2000 <= year <= 2039:
        return (500, 999)
    if 1854 <= year <= 1899:
        return (500, 749)
    raise ValueError(f"birth year {year} is outside 1854-2039")


def make_person_number(born: dt.date, individual: int, *, d_number: bool = False) -> str | None:
    """A synthetic fnr (month + 80) or D-number (day + 40, month + 80); None if the check digits fail."""
    day = born.day + (D_NUMBER_DAY_OFFSET if d_number else 0)
    first9 = f"{day:02d}{born.month + SYNTHETIC_MONTH_OFFSET:02d}{born.year % 100:02d}{individual:03d}"
    k = person_check_digits(first9)
    return None if k is None else first9 + k


@dataclass(frozen=True)
class PersonNumber:
    value: str
    born: dt.date
    individual: int
    d_number: bool
    synthetic: bool

    @property
    def gender(self) -> str:
        return "M" if self.individual % 2 else "F"


class InvalidIdentifier(ValueError):
    """Says in words what is wrong with a personidentifikator."""


def _century(yy: int, individual: int) -> int:
    if individual <= 499:
        return 1900
    if individual <= 749 and yy >= 54:
        return 1800
    if individual >= 900 and yy >= 40:
        return 1900
    if yy <= 39:
        return 2000
    raise InvalidIdentifier("individnummeret passer ikke med fødselsåret")


def parse_person_number(value: str) -> PersonNumber:
    """Parse an 11-digit fødselsnummer or D-nummer (real or synthetic); raise with a clear reason."""
    if len(value) != 11 or not (value.isascii() and value.isdigit()):  # "１" and "²" are isdigit() too
        raise InvalidIdentifier("personidentifikator må bestå av nøyaktig 11 siffer")
    if person_check_digits(value[:9]) != value[9:]:
        raise InvalidIdentifier("personidentifikator har ugyldige kontrollsiffer")
    day, month, yy, individual = int(value[0:2]), int(value[2:4]), int(value[4:6]), int(value[6:9])
    d_number = day > D_NUMBER_DAY_OFFSET
    if d_number:
        day -= D_NUMBER_DAY_OFFSET
    synthetic = month > SYNTHETIC_MONTH_OFFSET
    if synthetic:
        month -= SYNTHETIC_MONTH_OFFSET
    elif month > 40:  # H-number / NAV synthetic (+40): a format, but not Test-Norge's
        month -= 40
    year = _century(yy, individual) + yy
    try:
        born = dt.date(year, month, day)
    except ValueError as exc:
        raise InvalidIdentifier("personidentifikator inneholder ingen gyldig fødselsdato") from exc
    return PersonNumber(value, born, individual, d_number, synthetic)


def is_synthetic_person_number(value: str) -> bool:
    """True only for well-formed numbers carrying Test-Norge's month + 80 marker."""
    try:
        return parse_person_number(value).synthetic
    except InvalidIdentifier:
        return False


def org_check_digit(first8: str) -> int | None:
    return mod11([int(c) for c in first8], _ORG_W)


def make_orgnr(n: int) -> str:
    """A synthetic organisasjonsnummer (leading 2 or 3) from a number; stable per n.

    The number is built from n, n+1 or n+2 (mod 20,000,000): the first whose check digit exists. So
    neighbours may share a number, while arguments at least 3 apart never do.
    """
    n = n % 20_000_000
    while True:
        lead = 3 if n >= 10_000_000 else 2
        first8 = f"{lead}{n % 10_000_000:07d}"
        k = org_check_digit(first8)
        if k is not None:
            return first8 + str(k)
        n = (n + 1) % 20_000_000


def is_valid_orgnr(value: str) -> bool:
    return len(value) == 9 and value.isascii() and value.isdigit() and org_check_digit(value[:8]) == int(value[8])


def is_synthetic_orgnr(value: str) -> bool:
    return is_valid_orgnr(value) and value[0] in "23"
