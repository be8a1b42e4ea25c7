"""The ceiling: a bare Starlette app serving the sandbox's own captured bytes, nothing else, on the
server `ske-sandbox serve` runs: the same HTTP protocol (the sandbox's hardened httptools protocol, with its
limits) and, when compared with `serve --workers N`, N workers on one socket. With `--plain` it runs on
uvicorn's stock httptools protocol instead, which prices the hardening.
Started by peers.py: `python _ceiling.py BODIES.json PORT [N] [--plain]`."""

from __future__ import annotations

import base64
import json
import os
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def build(bodies: dict[str, dict]) -> Starlette:
    # Decoded once, so each call costs only the routing and the response, as a fixed mock would.
    decoded = {name: (base64.b64decode(b["body_b64"]), b["status"], b["content_type"]) for name, b in bodies.items()}

    def answer(name: str) -> Response:
        body, status, content_type = decoded[name]
        return Response(body, status, media_type=content_type)

    async def summert(request: Request) -> Response:
        if request.path_params["inntektsaar"] == "2025":
            return answer("error_ssg008")
        xml = "xml" in request.headers.get("accept", "")
        return answer("summert_xml" if xml else "summert_json")

    async def inntekt(request: Request) -> Response:
        return answer("inntekt_12m")

    async def token(request: Request) -> Response:
        await request.body()
        return answer("token")

    async def health(request: Request) -> Response:
        return Response(b"ok")

    return Starlette(routes=[
        Route("/summertskattegrunnlag/v2/{stadie}/{pakke}/{inntektsaar}/{fnr}", summert),
        Route("/inntekt/v1/{pakke}/{fnr}/inntekter", inntekt),
        Route("/maskinporten/token", token, methods=["POST"]),
        Route("/health", health),
    ])


def from_env() -> Starlette:
    """The app of each worker (uvicorn imports it by name in every worker process)."""
    return build(json.loads(open(os.environ["CEILING_BODIES"]).read()))


def server_options(plain: bool) -> dict:
    """The sandbox's own server settings, or uvicorn's stock httptools protocol."""
    if plain:
        return {"http": "httptools"}
    from mockserver.hardening import uvicorn_options

    options = uvicorn_options(None, "httptools")
    options["http"] = "mockserver.hardening:WiredHttpTools"  # by name: each of uvicorn's workers imports it
    return options


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--plain"]
    os.environ["CEILING_BODIES"] = args[0]
    workers = int(args[2]) if len(args) > 2 else 1
    uvicorn.run("_ceiling:from_env", factory=True, app_dir=os.path.dirname(os.path.abspath(__file__)),
                host="127.0.0.1", port=int(args[1]), log_level="warning", access_log=False, workers=workers,
                **server_options("--plain" in sys.argv))
