"""A keyed bijection between person index and fødselsnummer, so lookup is O(1) in both directions.

The slot space is (kind, birth date, group of ten individnumre). A seeded Feistel permutation maps an
index to a slot; the person's number is the first individnummer in the group whose check digits are
valid. Nothing is stored, so a population of a million costs no more memory than one of a thousand.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from ..identifiers import InvalidIdentifier, individual_range, make_person_number, parse_person_number

FIRST_BIRTH = dt.date(1940, 1, 1)
LAST_BIRTH = dt.date(2006, 12, 31)
DAYS = (LAST_BIRTH - FIRST_BIRTH).days + 1
GROUPS = 50  # 500 individnumre per date and century, in groups of ten
SLOTS = DAYS * GROUPS  # per kind: fødselsnummer, D-nummer
D_NUMBER_SHARE = 20  # one person in twenty of the crowd has a D-number


class Permutation:
    """Feistel network over the smallest even power of two ≥ n, cycle-walked into [0, n)."""

    def __init__(self, n: int, key: str, rounds: int = 4) -> None:
        self.n = n
        bits = max(2, (n - 1).bit_length())
        self.half = (bits + 1) // 2
        self.mask = (1 << self.half) - 1
        self.keys = [
            int.from_bytes(hashlib.blake2b(f"{key}:{r}".encode(), digest_size=8).digest(), "big")
            for r in range(rounds)
        ]

    def _f(self, x: int, k: int) -> int:
        x = (x * 0x9E3779B1 + k) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 29
        x = (x * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        return (x ^ (x >> 32)) & self.mask

    def _encrypt(self, x: int) -> int:
        left, right = x >> self.half, x & self.mask
        for k in self.keys:
            left, right = right, left ^ self._f(right, k)
        return (left << self.half) | right

    def _decrypt(self, x: int) -> int:
        left, right = x >> self.half, x & self.mask
        for k in reversed(self.keys):
            left, right = right ^ self._f(left, k), left
        return (left << self.half) | right

    def forward(self, i: int) -> int:
        x = self._encrypt(i)
        while x >= self.n:
            x = self._encrypt(x)
        return x

    def inverse(self, x: int) -> int:
        y = self._decrypt(x)
        while y >= self.n:
            y = self._decrypt(y)
        return y


def _slot_parts(slot: int) -> tuple[dt.date, int]:
    day, group = divmod(slot, GROUPS)
    return FIRST_BIRTH + dt.timedelta(days=day), group


def number_of_slot(slot: int, d_number: bool) -> str | None:
    """The person number living in a slot, or None if no number in the group has valid digits."""
    born, group = _slot_parts(slot)
    lo, _ = individual_range(born.year)
    for individual in range(lo + 10 * group, lo + 10 * group + 10):
        value = make_person_number(born, individual, d_number=d_number)
        if value is not None:
            return value
    return None


def slot_of_number(value: str) -> tuple[int, bool] | None:
    """Inverse of number_of_slot: (slot, d_number), or None for a number no slot produces."""
    try:
        pn = parse_person_number(value)
    except InvalidIdentifier:
        return None
    if not pn.synthetic or not FIRST_BIRTH <= pn.born <= LAST_BIRTH:
        return None
    lo, _ = individual_range(pn.born.year)
    group = (pn.individual - lo) // 10
    if not 0 <= group < GROUPS:
        return None
    slot = (pn.born - FIRST_BIRTH).days * GROUPS + group
    return (slot, pn.d_number) if number_of_slot(slot, pn.d_number) == value else None


class NumberIndex:
    """index <-> person number for one seed. Every D_NUMBER_SHARE-th index holds a D-number."""

    def __init__(self, seed: int) -> None:
        self.fnr = Permutation(SLOTS, f"fnr:{seed}")
        self.dnr = Permutation(SLOTS, f"dnr:{seed}")

    @staticmethod
    def capacity() -> int:
        return SLOTS * D_NUMBER_SHARE // (D_NUMBER_SHARE - 1)

    def number(self, index: int) -> str:
        block, pos = divmod(index, D_NUMBER_SHARE)
        if pos == D_NUMBER_SHARE - 1:
            value = number_of_slot(self.dnr.forward(block), True)
        else:
            value = number_of_slot(self.fnr.forward(block * (D_NUMBER_SHARE - 1) + pos), False)
        assert value is not None, "every slot holds a valid number (checked in the tests)"
        return value

    def index(self, value: str) -> int | None:
        found = slot_of_number(value)
        if found is None:
            return None
        slot, d_number = found
        if d_number:
            return self.dnr.inverse(slot) * D_NUMBER_SHARE + D_NUMBER_SHARE - 1
        j = self.fnr.inverse(slot)
        return (j // (D_NUMBER_SHARE - 1)) * D_NUMBER_SHARE + j % (D_NUMBER_SHARE - 1)
