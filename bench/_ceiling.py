"""The ceiling: a bare Starlette app serving the sandbox's own captured bytes, nothing else, on the
uvicorn settings `ske-sandbox serve` uses: the same HTTP parser (httptools) and, when compared with
`serve --workers N`, N workers on one socket. Started by peers.py: `python _ceiling.py BODIES.json PORT [N]`."""

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


if __name__ == "__main__":
    os.environ["CEILING_BODIES"] = sys.argv[1]
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    uvicorn.run("_ceiling:from_env", factory=True, app_dir=os.path.dirname(os.path.abspath(__file__)),
                host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False, http="httptools",
                workers=workers)
