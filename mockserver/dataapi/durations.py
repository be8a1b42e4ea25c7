"""Durations as the CLI and the scenario header write them: '250ms', '2s', and ranges '50ms..400ms'."""

from __future__ import annotations

import re


def parse_duration(text: str) -> float:
    """'250ms' or '2s' → seconds."""
    m = re.fullmatch(r"([0-9]{1,5})(ms|s)", text.strip(), re.ASCII)
    if not m:
        raise ValueError(f"expected a duration like 250ms or 2s, got {text!r}")
    value = int(m.group(1))
    return value / 1000 if m.group(2) == "ms" else float(value)


def parse_latency(text: str) -> tuple[float, float]:
    """'50ms..400ms' or '100ms' → (low, high) seconds."""
    low, _, high = text.partition("..")
    lo = parse_duration(low)
    hi = parse_duration(high) if high else lo
    if hi < lo:
        raise ValueError(f"latency range {text!r} runs backwards")
    return lo, hi
