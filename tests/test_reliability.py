"""`make reliability` at the CI size: each hostile client against a real server on loopback, with a light
load beside it that must keep being answered, and the server's memory bounded."""

from __future__ import annotations

import sys

import pytest
from support import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import reliability  # noqa: E402

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

MEMORY_GROWTH_MB = 25  # the small stream alone is 20 MB: a server that buffered it would not pass


@pytest.mark.parametrize("case", list(reliability.CASES))
def test_hostile_client(case):
    result = reliability.run_case(case, reliability.SMALL)
    assert result.load_failed == 0, f"light load failed during {case}: {result}"
    assert result.ok, f"{case}: expected {result.expected}, got {result.got}"
    assert result.rss_peak - result.rss_before < MEMORY_GROWTH_MB, result
