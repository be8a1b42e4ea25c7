"""Shared test helpers: a real server process on a free port, for the tests that must use a socket."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2026-11-27"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


READY = re.compile(r"^ske-sandbox listening on (http://\S+)$")


@contextmanager
def running_server(*args: str) -> Iterator[str]:
    """`ske-sandbox serve --port 0` in a subprocess, as a user starts it; yields the URL of its ready line."""
    cmd = [sys.executable, "-m", "mockserver.cli", "serve", "--port", "0", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        base = None
        assert proc.stdout is not None
        while base is None:
            line = proc.stdout.readline()
            if not line and (proc.poll() is not None or time.monotonic() > deadline):
                raise RuntimeError("sandbox did not start: " + "".join(lines))
            lines.append(line)
            m = READY.match(line.strip())
            if m:
                base = m.group(1)
        assert httpx.get(f"{base}/__sandbox/health", timeout=10).status_code == 200
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def redis_server_binary() -> str | None:
    """Debian's redis-server (or valkey-server); .ci/run installs it where it is absent."""
    import shutil

    return shutil.which("redis-server") or shutil.which("valkey-server")


@contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
    """A real redis-server on a free loopback port, no persistence; yields its redis:// URL."""
    binary = redis_server_binary()
    if binary is None:
        if os.environ.get("CI"):
            raise RuntimeError("redis-server is missing: .ci/run installs Debian's redis-server")
        import pytest

        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp), "--protected-mode", "yes"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start (exit {proc.poll()})")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
