"""TLS handshakes under the connection limits: a real uvicorn server with the sandbox's TLS gate and guarded
h11 protocol on 127.0.0.1, clients that open TCP connections and never send a ClientHello, and a real TLS
client beside them."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from mockserver import localca
from mockserver.hardening import uvicorn_options
from mockserver.localca import make_ca
from mockserver.tlsgate import TLSGate, tls_options


async def _app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": scope["scheme"].encode()})


@pytest.fixture(scope="module")
def ca(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("ca")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(localca.shutil, "which", lambda name: None)  # no keytool: no JVM start
        make_ca(directory)
    return directory


@contextlib.contextmanager
def tls_server(ca: Path, timeout: float, cap: int) -> Iterator[tuple[int, type[TLSGate]]]:
    options = uvicorn_options()
    options["http"] = type("Capped", (options["http"],), {"max_connections": cap})
    options["limit_concurrency"] = cap + 1
    options = tls_options(options, ca / "server.pem", ca / "server.key.pem", handshake_timeout=timeout)
    config = uvicorn.Config(_app, lifespan="off", log_level="warning", **options)
    server = uvicorn.Server(config)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.05)
        yield sock.getsockname()[1], options["http"]
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def _stalled(port: int, count: int) -> list[socket.socket]:
    return [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(count)]


def _closed_by_server(sockets: list[socket.socket]) -> int:
    closed = 0
    for s in sockets:
        s.setblocking(False)
        try:
            closed += s.recv(1) == b""
        except (BlockingIOError, ssl.SSLWantReadError):
            pass
        except OSError:  # reset, or a TLS connection cut without close_notify
            closed += 1
    return closed


def _get(port: int, ca: Path) -> httpx.Response:
    return httpx.get(f"https://127.0.0.1:{port}/", verify=ssl.create_default_context(cafile=ca / "ca.pem"), timeout=5)


def test_a_handshake_that_never_starts_is_closed_after_the_timeout(ca):
    with tls_server(ca, timeout=1.0, cap=100) as (port, gate):
        stalled = _stalled(port, 20)
        try:
            time.sleep(0.3)
            assert _closed_by_server(stalled) == 0  # not before the timeout
            answer = _get(port, ca)
            assert answer.status_code == 200 and answer.text == "https"  # the app sees the TLS scheme
            time.sleep(2.0)
            assert _closed_by_server(stalled) == 20
            assert gate.handshakes == {}  # finished and abandoned handshakes are no longer counted
        finally:
            for s in stalled:
                s.close()


def test_stalled_handshakes_count_against_the_cap_and_are_shed_first(ca):
    with tls_server(ca, timeout=60.0, cap=40) as (port, gate):
        stalled = _stalled(port, 120)
        try:
            time.sleep(0.5)
            # past the cap the oldest are closed long before the handshake timeout, and a client is served
            assert _closed_by_server(stalled) >= 120 - 40
            for _ in range(5):
                assert _get(port, ca).status_code == 200
            assert len(gate.handshakes) <= 40
        finally:
            for s in stalled:
                s.close()


def test_plain_http_to_the_tls_port_is_closed_at_once_without_a_logged_error(ca, caplog):
    with tls_server(ca, timeout=30.0, cap=100) as (port, gate):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            started = time.monotonic()
            assert sock.recv(100) == b""  # a failed handshake closes the connection
            assert time.monotonic() - started < 2
        time.sleep(0.2)
        assert gate.handshakes == {}
        assert _get(port, ca).status_code == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_idle_tls_connections_are_shed_with_the_stalled_handshakes(ca):
    context = ssl.create_default_context(cafile=ca / "ca.pem")
    with tls_server(ca, timeout=60.0, cap=40) as (port, gate):
        idle = [context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5),
                                    server_hostname="localhost") for _ in range(30)]
        time.sleep(0.3)
        stalled = _stalled(port, 30)
        try:
            time.sleep(0.5)
            # 60 connections against a cap of 40: the oldest go first, and those are the idle TLS ones
            assert _closed_by_server(idle) >= 20
            assert _get(port, ca).status_code == 200
        finally:
            for s in idle + stalled:
                s.close()


@pytest.mark.parametrize("parser", ["h11", "httptools"])
def test_serve_real_hosts_serves_tls_through_the_gate(ca, monkeypatch, capsys, parser):
    from mockserver.cli import main

    seen = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: seen.update(config=self.config))
    assert main(["serve", "--real-hosts", "--ca", str(ca), "--port", "0", "--population", "10",
                 "--http", parser]) == 0
    config = seen["config"]
    assert issubclass(config.http, TLSGate) and config.ssl_certfile is None  # the loop does no TLS of its own
    assert config.http.protocol_class.__name__ == ("GuardedH11" if parser == "h11" else "WiredHttpTools")
    assert config.http.handshake_timeout == 10.0 and config.http.max_connections >= 16
    assert config.loop == "asyncio"
