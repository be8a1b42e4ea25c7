"""A forwarding proxy that records a redacted HAR: a vendor points its client at it instead of the real
host, and it forwards every call to the upstream with the vendor's own TLS client certificate and CA.

Nothing secret reaches the file: `Authorization`, cookies, the grant and the issued token are replaced,
and person numbers masked, before an exchange is kept (see redact.py). The file is rewritten (atomically)
at most every `flush_seconds` while calls come in, and once more when the proxy stops.
"""

from __future__ import annotations

import datetime as dt
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .har import Exchange, write

MAX_BODY = 10 * 1024 * 1024  # a request body larger than any of these APIs takes
MAX_ENTRIES = 10_000  # then the proxy still forwards, but records no more
# Hop-by-hop headers (RFC 9110 §7.6.1) and what httpx recomputes: never forwarded either way.
_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                  "transfer-encoding", "upgrade", "host", "content-length", "content-encoding"})
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


def tls_context(ca_file: Path | None = None, cert_file: Path | None = None,
                key_file: Path | None = None) -> ssl.SSLContext | bool:
    """The vendor's TLS: its CA bundle (default: the system's) and client certificate, if any."""
    if ca_file is None and cert_file is None:
        return True
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if cert_file is not None:
        context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    return context


class Recording:
    """The exchanges seen so far, and the file they go to."""

    def __init__(self, out: Path, upstream: str, flush_seconds: float = 5.0, max_entries: int = MAX_ENTRIES) -> None:
        self.out, self.upstream = out, upstream
        self.flush_seconds, self.max_entries = flush_seconds, max_entries
        self.exchanges: list[Exchange] = []
        self.dropped = 0
        self._lock = threading.Lock()
        self._written = 0.0
        self._dirty = False

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            if len(self.exchanges) >= self.max_entries:
                self.dropped += 1
                return
            self.exchanges.append(exchange.redacted())  # nothing secret is kept, even in memory
            self._dirty = True
        if time.monotonic() - self._written >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            if not self._dirty and self.out.exists():
                return
            exchanges = list(self.exchanges)
            self._dirty = False
            self._written = time.monotonic()
        comment = f"recorded by ske-sandbox record from {self.upstream}"
        if self.dropped:
            comment += f"; {self.dropped} call(s) after the first {self.max_entries} not recorded"
        write(self.out, exchanges, comment)


def _bad_gateway(message: str, status: int = 502) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def proxy_app(recording: Recording, client: httpx.AsyncClient,
              on_stop: Callable[[Recording], None] | None = None) -> Starlette:
    """The proxy as an ASGI app: every path forwarded to the recording's upstream. `on_stop` runs once the
    file is written at shutdown (uvicorn re-raises SIGTERM afterwards, so nothing after `run` would)."""
    upstream = recording.upstream.rstrip("/")

    async def forward(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _bad_gateway(f"request body larger than {MAX_BODY // 2**20} MiB", 413)
        path = request.url.path
        query = request.url.query
        url = upstream + path + (f"?{query}" if query else "")
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP]
        started = dt.datetime.now(dt.UTC)
        t0 = time.monotonic()
        try:
            r = await client.request(request.method, url, headers=headers, content=body)
        except httpx.HTTPError as exc:
            return _bad_gateway(f"the upstream {upstream} cannot be reached: {exc.__class__.__name__}: {exc}")
        elapsed = (time.monotonic() - t0) * 1000
        out_headers = [(k, v) for k, v in r.headers.items() if k.lower() not in _HOP]
        recording.add(Exchange(
            request.method, url, r.status_code, headers, body.decode("utf-8", errors="replace"),
            request.headers.get("content-type", ""), out_headers, r.text, r.headers.get("content-type", ""),
            r.reason_phrase, started, elapsed))
        response = Response(r.content, status_code=r.status_code)
        for k, v in out_headers:
            response.headers.append(k, v)
        return response

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            recording.flush()
            await client.aclose()
            if on_stop is not None:
                on_stop(recording)

    return Starlette(routes=[Route("/{path:path}", forward, methods=METHODS)], lifespan=lifespan)
