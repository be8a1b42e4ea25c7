"""The example client's suite, written only with the kit, passes for the client and fails, with a message a
vendor understands, for each deliberately broken variant."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from support import ROOT

EXAMPLE = ROOT / "examples" / "kommune_client"
EXPECTED = {
    "WrongAud": "the grant's aud is 'https://test.maskinporten.no'; Maskinporten wants exactly its issuer "
                "'https://test.maskinporten.no/' (with the trailing slash)",
    "LongGrant": "the grant lives 180 s (exp − iat); Maskinporten allows at most 120 s",
    "FatalOn404": "answered 404 IM-008",
    "KategoriAsList": "2025 oppgjør has income (kategori 'inntekt'), but the client summed {'i':",
    "UnpaddedMonth": "query parameter fraOgMed is '2026-8', but the contract wants a value matching "
                     "^[0-9]{4}-(0[1-9]|1[0-2])$ (for example 2026-01)",
    "IgnoresRetryAfter": "after a 429 answer that said Retry-After: 1; wait at least 1 s before calling inntekt again",
}


@pytest.fixture(scope="module")
def messages(tmp_path_factory) -> dict[str, str]:
    """The example suite run once over every variant: each variant's failure and error messages."""
    report = tmp_path_factory.mktemp("variants") / "report.xml"
    env = {**os.environ, "KOMMUNE_CLIENT_VARIANT": "all"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                          str(EXAMPLE)], capture_output=True, text=True, env=env, cwd=EXAMPLE, timeout=600)
    assert run.returncode == 1, run.stdout[-3000:]
    out: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        variant = case.get("name", "").rpartition("[")[2].rstrip("]")
        for bad in [*case.iter("failure"), *case.iter("error")]:
            out[variant] = out.get(variant, "") + (bad.get("message") or "") + "\n" + (bad.text or "") + "\n"
    return out


@pytest.mark.subprocess
@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(EXPECTED))
def test_each_broken_variant_fails_with_a_readable_message(messages, variant):
    assert variant in messages, f"the suite did not catch {variant}"
    assert EXPECTED[variant] in messages[variant], messages[variant][-3000:]


def test_every_variant_in_broken_py_is_covered():
    sys.path.insert(0, str(EXAMPLE))
    try:
        import broken
    finally:
        sys.path.remove(str(EXAMPLE))
    assert {v.__name__ for v in broken.VARIANTS} == set(EXPECTED)
