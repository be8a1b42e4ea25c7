"""Both HTTP parsers a real `serve` can run (httptools, the default, and h11) keep the same limits: 431 for an
oversized head, the head timeout, and ordinary and pipelined calls answered as usual."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest
from support import running_server

pytestmark = pytest.mark.subprocess

PARSERS = ("httptools", "h11")


def _connect(base: str) -> socket.socket:
    url = urlsplit(base)
    sock = socket.create_connection((url.hostname, url.port), timeout=15)
    return sock


def _read_all(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    out = b""
    while len(out) < limit:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        out += chunk
    return out


@pytest.fixture(scope="module", params=PARSERS)
def server(request):
    with running_server("--http", request.param, "--population", "20", "--today", "2026-11-27") as base:
        yield request.param, base


def test_an_oversized_head_gets_431_and_the_connection_closes(server):
    _, base = server
    with _connect(base) as sock:
        sock.sendall(b"GET /__sandbox/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        sent = 0
        try:
            while sent < 2 * 1024 * 1024:  # the server answers and closes long before this
                sock.sendall(b"a" * 16384)
                sent += 16384
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:80]
    assert b"Request head over 65536 bytes" in answer


def test_a_head_just_under_the_limit_is_answered(server):
    _, base = server
    with _connect(base) as sock:
        sock.sendall(b"GET /__sandbox/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 60_000 +
                     b"\r\nConnection: close\r\n\r\n")
        assert _read_all(sock).startswith(b"HTTP/1.1 200")


def test_pipelined_calls_are_answered_in_order(server):
    _, base = server
    with _connect(base) as sock:
        one = b"GET /__sandbox/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        sock.sendall(one + one + b"GET /__sandbox/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert _read_all(sock).count(b"HTTP/1.1 200") == 3


@pytest.mark.slow
def test_a_head_that_never_ends_is_closed_after_the_head_timeout(server):
    _, base = server
    with _connect(base) as sock:
        sock.sendall(b"GET /__sandbox/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
        started = time.monotonic()
        assert _read_all(sock) == b""  # closed, nothing answered
        assert 9 <= time.monotonic() - started < 14
