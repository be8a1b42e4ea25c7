"""The front door: the one ASGI layer every HTTP call passes before it is routed.

In order, a call
1. is refused with 431 if its head is over the limit (the server's own parser catches most; bodylimit.py);
2. arriving under a real host name (`Host: api.skatteetaten.no`, …), is routed to that service's prefix and
   remembers its environment (environments.py);
3. on a guarded path (control API, journal page, …), must pass the guard's Host, Origin and admin-token
   rules (guard.py);
4. with a body, has it read whole within the size and time limits, or refused (bodylimit.py);
5. to a faked service, is journaled once it is answered, whatever answered it (journal.py);
6. gets the security headers on its answer (securityheaders.py).

One layer, not one middleware each: on the data APIs' hot path a layer costs its await and its wrapped
`send` on every call, so the steps share one of each. For the same reason a data-API call whose route
answers every error itself (`direct`: dataapi's `Endpoint`) goes straight to it, routed by the same
Starlette routes, not through the exception layer and the top-level router.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .bodylimit import BODY_TIMEOUT, MAX_BODY, head_too_large, read_body, replay
from .environments import route_real_host
from .guard import check, is_guarded
from .hardening import HEAD_AT_MOST, MAX_HEAD
from .journal import Answer, filled, journaled, record
from .securityheaders import secured

ERROR_BODY_KEPT = 4096  # bytes of an error answer the journal reads its code and text from


Direct = Mapping[str, tuple[Mount, Sequence[BaseRoute]]]


class FrontDoor:
    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY, max_head: int = MAX_HEAD,
                 body_timeout: float = BODY_TIMEOUT, direct: Direct | None = None) -> None:
        self.app = app
        self.max_body = max_body
        self.max_head = max_head
        self.body_timeout = body_timeout
        # service name -> (its Mount, the routes under it that answer every error themselves); the services'
        # Mounts come first among the app's routes, each under its own first path segment
        self.direct = {name: (mount, frozenset(map(id, routes))) for name, (mount, routes) in (direct or {}).items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})  # before any copy of the scope, so handlers' notes reach the journal
        scope = route_real_host(scope)
        if is_guarded(scope["method"], scope["path"]):
            refused = check(scope)
            if refused is not None:
                await refused(scope, receive, _secured_send(send))
                return
        hit = journaled(scope["path"])
        if hit is None:
            await self._serve(scope, receive, _secured_send(send))
            return
        sandbox = scope["app"].sandbox
        started = sandbox.clock.now()  # the sandbox's clock: tests move it, never sleep
        observer = sandbox.observer  # metrics and traces (observability/); None when off
        began = time.perf_counter() if observer is not None else 0.0
        answer = Answer()
        body: list[bytes] = []

        def done() -> None:
            entry = record(scope, hit, body[0] if body else b"", answer, started)
            if observer is not None:
                observer.call(scope, filled(entry), time.perf_counter() - began)

        async def send_and_keep(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                answer.status, answer.headers, answer.started = message["status"], message.get("headers", ()), True
                message = {**message, "headers": secured(answer.headers)}
            elif kind == "http.response.body":
                if answer.status >= 400 and len(answer.body) < ERROR_BODY_KEPT:
                    answer.body.extend(message.get("body", b"")[:ERROR_BODY_KEPT])
                if observer is not None and not message.get("more_body", False):
                    done()  # before the last part goes out: the call's tracing span ends with it
            await send(message)

        try:
            await self._serve(scope, receive, send_and_keep, body, self._routed(scope, hit[0]))
        finally:
            if not answer.recorded:
                done()

    def _routed(self, scope: Scope, service: str) -> tuple[Scope, ASGIApp] | None:
        """(scope, app) of a direct route, as Starlette's routers would hand them on; None: route as usual."""
        found = self.direct.get(service)
        if found is None:
            return None
        mount, routes = found
        match, outer = mount.matches(scope)
        if match is not Match.FULL:
            return None
        inner = {**scope, **outer}  # a trial: the usual routing must still get the scope as it came
        for route in mount.routes:  # the first full match wins, as in Starlette's Router
            match, child = route.matches(inner)
            if match is Match.FULL:
                if id(route) not in routes:
                    return None
                scope.update(outer)  # as the routers leave it: the journal and the tracing read it back
                scope.update(child)
                scope.setdefault("router", scope["app"].router)
                scope["route"] = route
                return scope, route.app  # type: ignore[attr-defined]
        return None

    async def _serve(self, scope: Scope, receive: Receive, send: Send, kept: list[bytes] | None = None,
                     routed: tuple[Scope, ASGIApp] | None = None) -> None:
        """Steps 1 and 4, then the app (or the direct route); `kept` receives the body the app was given."""
        known = scope.get(HEAD_AT_MOST)  # set by the server's protocol when it counted the head's reads
        refused = None if known is not None and known <= self.max_head else head_too_large(scope, self.max_head)
        if refused is None:
            body = await read_body(scope, receive, self.max_body, self.body_timeout)
            if body is None or isinstance(body, bytes):
                if body is not None:
                    if kept is not None:
                        kept.append(body)
                    receive = replay(body, receive)
                if routed is not None:
                    await routed[1](routed[0], receive, send)
                else:
                    await self.app(scope, receive, send)
                return
            refused = body
        await refused(scope, receive, send)


def _secured_send(send: Send) -> Send:
    async def secured_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": secured(message.get("headers", ()))}
        await send(message)

    return secured_send
