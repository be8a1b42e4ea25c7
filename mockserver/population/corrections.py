"""Corrected a-meldinger: now and then an employer sends a month's a-melding again, a month after the month
was complete. From that day the Inntekt API answers the corrected month, and the Inntekt feed carries a
second event for it. The correction changes the tax withheld (`forskuddstrekk`), which the yearly
Summert skattegrunnlag does not carry, so the two APIs still add up.

Which months are corrected is a pure function of (seed, person, month): the same on any day, so moving the
data calendar and starting at that date agree.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

from ..months import Month, add_months, month_text

SHARE_PER_10000 = 300  # 3 % of a person's reported months are corrected
COMPLETE_DAY = 10  # a month is complete on the 10th of the next; its correction comes a month later


def is_corrected(seed: int, fnr: str, month: Month) -> bool:
    """A cheap, seeded draw (a CRC, not a Random): the feed asks it for everyone in a month."""
    return zlib.crc32(f"{seed}:korreksjon:{fnr}:{month_text(month)}".encode()) % 10_000 < SHARE_PER_10000


def correction_day(month: Month) -> dt.date:
    """The day a corrected month's new a-melding is registered: the 10th, two months after the month."""
    year, mon = add_months(month, 2)
    return dt.date(year, mon, COMPLETE_DAY)


def corrected_reports(reports: list[dict[str, Any]], seed: int, fnr: str, month: Month) -> list[dict[str, Any]]:
    """The month's reports as corrected: the first report that withheld tax withholds a little more (the
    employer's correction), a seeded amount of 100–900 kroner."""
    extra = 100 * (1 + zlib.crc32(f"{seed}:korreksjonsbeloep:{fnr}:{month_text(month)}".encode()) % 9)
    out = []
    done = False
    for report in reports:
        trekk = report.get("forskuddstrekk")
        if not done and trekk:
            first = trekk[0]
            report = {**report, "forskuddstrekk": [{**first, "beloep": float(first["beloep"] - extra)},
                                                   *trekk[1:]]}
            done = True
        out.append(report)
    return out
