"""The one application object: served by uvicorn, or called in-process (ASGI) from pytest."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount

from .control import routes as control
from .dataapi import ApiSpec, Endpoint, unknown_url
from .front import FrontDoor
from .page import routes as page
from .sandbox import Sandbox
from .services import DATA_APIS, SERVICES, of_path
from .settings import Settings
from .state import StoreError

__all__ = ["Sandbox", "SandboxApp", "create_app"]


# A data API's unknown-URL answer, by path prefix: its own 404 code, not the sandbox's.
_UNKNOWN_URL = {service.prefix: unknown_url(ApiSpec.of(service)) for service in DATA_APIS}
# Another service answers its own unknown URLs when its routes module has `unknown` (a path even its catch-all
# route cannot match, such as one with an encoded newline, still gets the service's own 404).
_UNKNOWN_URL.update({service.prefix: import_module(service.routes).unknown for service in SERVICES
                     if service.prefix not in _UNKNOWN_URL and hasattr(import_module(service.routes), "unknown")})


async def not_found(request: Request, exc: Exception) -> Response:
    """Paths no route matches (even odd bytes such as an encoded newline) get the API's own 404 code."""
    service = of_path(request.url.path)
    if service is not None and service.prefix in _UNKNOWN_URL:
        return await _UNKNOWN_URL[service.prefix](request)
    return JSONResponse({"error": "not_found", "path": request.url.path}, status_code=404)


async def store_unavailable(request: Request, exc: Exception) -> Response:
    """The shared state (serve --state) does not answer a page or control call: say so, never a traceback."""
    return JSONResponse({"error": "state_unavailable", "reason": str(exc)}, status_code=503,
                        headers={"Retry-After": "1"})


class SandboxApp(Starlette):
    """The application with its sandbox at hand (`app.sandbox`, also `app.state.sandbox`)."""

    sandbox: Sandbox


def create_app(settings: Settings | None = None, **overrides: Any) -> SandboxApp:
    """Build the sandbox app. `overrides` are Settings fields, e.g. create_app(seed=7, population=100)."""
    settings = settings or Settings(**overrides)
    mounts = {service.name: Mount(service.prefix, routes=import_module(service.routes).routes)
              for service in sorted(SERVICES, key=lambda s: not s.is_data_api)}
    # the data APIs' routes that answer every error themselves: the front door hands their calls on directly
    direct = {name: (mount, [r for r in mount.routes if isinstance(getattr(r, "app", None), Endpoint)])
              for name, mount in mounts.items()}
    app = SandboxApp(routes=[  # the data APIs first: their calls are the hot path, and routes match in order
        *mounts.values(),
        Mount("/__sandbox", routes=control.routes),
        *page.routes,
    ], exception_handlers={404: not_found, StoreError: store_unavailable}, middleware=[
        Middleware(FrontDoor, direct={name: found for name, found in direct.items() if found[1]})])
    app.sandbox = app.state.sandbox = Sandbox(settings)
    if settings.metrics or settings.tracer_provider is not None:
        from .observability import attach  # imported only when asked for: the default start-up pays nothing

        app.sandbox.observer = attach(app, settings.metrics, settings.tracer_provider)
    return app
