"""The image's HEALTHCHECK probe, without a container: healthy only when the sandbox answers."""

from __future__ import annotations

import pytest
from support import free_port, running_server

from mockserver import health

pytestmark = pytest.mark.subprocess


def test_the_probe_is_healthy_only_while_the_sandbox_answers(monkeypatch):
    with running_server("--population", "300") as base:
        monkeypatch.setenv("SKE_SANDBOX_HEALTH_URL", f"{base}/__sandbox/health")
        assert health.main() == 0
    assert health.main() == 1  # stopped
    monkeypatch.setenv("SKE_SANDBOX_HEALTH_URL", f"http://127.0.0.1:{free_port()}/__sandbox/health")
    assert health.main() == 1
    monkeypatch.setenv("SKE_SANDBOX_HEALTH_URL", "not a url")
    assert health.main() == 1
