"""Calendar months as (year, month) pairs: the arithmetic a-ordningen's periods need, written once."""

from __future__ import annotations

from collections.abc import Iterator

Month = tuple[int, int]


def add_months(month: Month, n: int) -> Month:
    """`month` moved `n` months (back when n < 0)."""
    index = month[0] * 12 + month[1] - 1 + n
    return index // 12, index % 12 + 1


def next_month(month: Month) -> Month:
    return add_months(month, 1)


def months_between(start: Month, end: Month) -> list[Month]:
    """Every month from `start` to `end`, both included; empty when end is before start."""
    return list(iter_months(start, end))


def iter_months(start: Month, end: Month) -> Iterator[Month]:
    cur = start
    while cur <= end:
        yield cur
        cur = add_months(cur, 1)


def last_months(last: Month, count: int) -> list[Month]:
    """The `count` months that end with `last`, oldest first."""
    return [add_months(last, -i) for i in range(count - 1, -1, -1)]


def month_text(month: Month) -> str:
    """'YYYY-MM', as the APIs write a period."""
    return f"{month[0]:04d}-{month[1]:02d}"


def parse_month(text: str) -> Month:
    """'YYYY-MM' → (year, month); ValueError for anything else."""
    year, sep, mon = text.partition("-")
    if not (sep and len(year) == 4 and len(mon) == 2 and year.isdigit() and mon.isdigit() and 1 <= int(mon) <= 12):
        raise ValueError(f"not a month (YYYY-MM): {text!r}")
    return int(year), int(mon)
