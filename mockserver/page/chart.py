"""The monthly income chart: stacked bars per month, one colour per payer and kind, drawn as inline SVG
geometry so it needs no script and prints on a projector as it shows on a laptop."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..population.life import Life, Month
from ..population.reports import month_reports
from .labels import INNTEKT_TYPER, teknisk_navn

MONTHS = ("jan", "feb", "mar", "apr", "mai", "jun", "jul", "aug", "sep", "okt", "nov", "des")
COLOURS = ("#1E6FB8", "#D97706", "#0F9D58", "#B23A8F", "#5B6B7F", "#C2410C", "#0E7490", "#7C3AED")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 760, 280, 76, 34, 12


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (colour, label)
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (y, label)
    months: list[tuple[float, str]] = field(default_factory=list)  # (x centre, label)
    table: list[tuple[str, list[tuple[str, int]]]] = field(default_factory=list)  # month → (series, beløp)
    series: list[str] = field(default_factory=list)


def kr(amount: float) -> str:
    return f"{round(amount):,}".replace(",", "\u00a0") + "\u00a0kr"


def month_label(month: Month) -> str:
    return f"{MONTHS[month[1] - 1]} {str(month[0])[2:]}"


def income_chart(life: Life, months: list[Month]) -> Chart:
    """Stacked bars of what each payer paid, by kind, in each month."""
    payers = {s.payer.orgnr: s.payer.name for s in life.streams}
    per_month: list[dict[str, int]] = []
    order: list[str] = []
    for month in months:
        sums: dict[str, int] = {}
        for oppgave in month_reports(life, month):
            payer = payers.get(oppgave["opplysningspliktigId"], oppgave["opplysningspliktigId"])
            for inntekt in oppgave.get("inntekt", []):  # a report may carry only mottaksinformasjon
                kind = next((k for k in inntekt if isinstance(inntekt[k], dict)), "")
                what = teknisk_navn(str(inntekt.get(kind, {}).get("beskrivelse", ""))).lower()
                key = f"{payer} – {INNTEKT_TYPER.get(kind, kind)}{': ' + what if what else ''}"
                sums[key] = sums.get(key, 0) + int(inntekt["beloep"])
                if key not in order:
                    order.append(key)
        per_month.append(sums)
    chart = Chart(series=order)
    colour = {key: COLOURS[i % len(COLOURS)] for i, key in enumerate(order)}
    chart.legend = [(colour[k], k) for k in order]
    top = _nice(max([sum(m.values()) for m in per_month] + [1]))
    plot_h = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT) / max(1, len(months))
    for i in range(5):
        value = top * i / 4
        chart.ticks.append((TOP + plot_h - plot_h * i / 4, kr(value)))
    for i, (month, sums) in enumerate(zip(months, per_month, strict=True)):
        x = LEFT + i * step + step * 0.15
        base = float(TOP + plot_h)
        for key in order:
            amount = sums.get(key, 0)
            if not amount:
                continue
            h = plot_h * amount / top
            base -= h
            chart.bars.append(Bar(round(x, 1), round(base, 1), round(step * 0.7, 1), round(h, 1), colour[key],
                                  f"{month_label(month)}: {key}: {kr(amount)}"))
        chart.months.append((round(LEFT + i * step + step / 2, 1), month_label(month)))
        chart.table.append((month_label(month), [(k, sums[k]) for k in order if k in sums]))
    return chart


def _nice(value: float) -> float:
    """The next round number above value, so the axis reads 0, 20 000, 40 000 … and not 0, 17 383 …"""
    magnitude = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude
