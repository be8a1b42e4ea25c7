"""Calls to the real hostnames, from any httpx client (sync or async, created anywhere) and from `requests`,
answered by the in-process app: no socket, no thread of our own, every other host untouched.

httpx is routed with respx; `requests` with `responses` when both are installed. The network faults
(`reset`, `truncated`, …) reach either client as the error a socket would give it (wirefaults.py).
"""

from __future__ import annotations

import contextvars
import re
import warnings
from typing import Any

import httpx
import respx

from ..environments import REAL_HOSTS
from .wirefaults import MARK, WireEmulation, as_client_meets_it, requests_error

with warnings.catch_warnings():  # newer Starlette prefers httpx2; plain httpx works the same here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

_IN_ASYNC_CALL: contextvars.ContextVar[bool] = contextvars.ContextVar("ske_sandbox_async", default=False)


class _Router(respx.MockRouter):
    """respx's router, telling its side effect whether the call came from an async client."""

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        token = _IN_ASYNC_CALL.set(True)
        try:
            return await super().async_handler(request)
        finally:
            _IN_ASYNC_CALL.reset(token)


class HostRouting:
    def __init__(self, app: Any) -> None:
        self.app = app
        self._sync = TestClient(WireEmulation(app), raise_server_exceptions=False)
        self._async = httpx.ASGITransport(app=WireEmulation(app))
        self._router: _Router | None = None
        self._requests_mock: Any = None

    def start(self) -> None:
        self._sync.__enter__()
        router = _Router(assert_all_called=False, assert_all_mocked=False)
        for host in REAL_HOSTS:
            router.route(host=host).mock(side_effect=self._forward)
        router.route().pass_through()
        router.start()
        self._router = router
        self._requests_mock = _route_requests(self._sync)

    def stop(self) -> None:
        if self._requests_mock is not None:
            self._requests_mock.stop()
            self._requests_mock.reset()
            self._requests_mock = None
        if self._router is not None:
            self._router.stop()
            self._router = None
        self._sync.__exit__(None, None, None)

    def _forward(self, request: httpx.Request) -> Any:
        if _IN_ASYNC_CALL.get():
            return self._forward_async(request)
        answer = self._sync.request(request.method, str(request.url), headers=request.headers,
                                    content=request.read())
        # a fresh response: the test client's own one has already been read
        return as_client_meets_it(request, answer.status_code, answer.headers, answer.content)

    async def _forward_async(self, request: httpx.Request) -> httpx.Response:
        answer = await self._async.handle_async_request(request)
        content = await answer.aread()
        return as_client_meets_it(request, answer.status_code, answer.headers, content)


def _route_requests(client: TestClient) -> Any:
    try:
        import responses
    except ImportError:  # requests-based clients are routed only when `responses` is installed
        return None
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    hosts = "|".join(re.escape(h) for h in REAL_HOSTS)
    pattern = re.compile(rf"https?://({hosts})(:[0-9]+)?(/.*)?$", re.IGNORECASE)

    def callback(prepared: Any) -> tuple[int, dict[str, str], bytes]:
        body = prepared.body.encode() if isinstance(prepared.body, str) else (prepared.body or b"")
        answer = client.request(prepared.method, prepared.url, headers=dict(prepared.headers), content=body)
        if MARK in answer.headers:
            raise requests_error(answer.headers[MARK], answer.headers, answer.content)
        headers = {k: v for k, v in answer.headers.items() if k.lower() not in ("content-length", "content-encoding")}
        return answer.status_code, headers, answer.content

    for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"):
        mock.add_callback(method, pattern, callback=callback, content_type=None)
    mock.add_passthru(re.compile(r".*"))
    mock.start()
    return mock
