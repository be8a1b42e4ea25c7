"""The CPU per summert JSON call of the sandbox's app and of the ceiling's bare Starlette app, with no server:
each ASGI app called directly, as uvicorn calls it, with the bench's token, person and year, in interleaved
runs. Prints {"cpu_us": the sandbox's median, "ceiling_cpu_us": the ceiling's, "runs": ...} as JSON.

The difference is the work the sandbox does per call beyond a fixed answer; served, a call costs at least
the ceiling's CPU per call plus that difference."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mockserver.app import create_app  # noqa: E402
from mockserver.maskinporten.registry import demo_client  # noqa: E402

CALLS, RUNS = 3000, 7


def main() -> int:
    from peers import CALLS as BENCH_CALLS
    from peers import TODAY

    _, path, _, accept, status = BENCH_CALLS["summert_json"]
    app = create_app(seed=1, today=dt.date.fromisoformat(TODAY), population=5000)
    token = _token(app)
    headers = [(b"host", b"127.0.0.1:8080"), (b"authorization", f"Bearer {token}".encode()),
               (b"accept", accept.encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080)}
    statuses: list[int] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def calls(target, n: int) -> None:  # noqa: ANN001 - an ASGI app
        for _ in range(n):
            await target(dict(scope, headers=list(headers)), receive, send)

    import _ceiling

    ceiling = _ceiling.build({"summert_json": {"body_b64": base64.b64encode(_answer(app, scope)).decode(),
                                               "status": status, "content_type": "application/json"}})
    runs: dict[str, list[float]] = {"sandbox": [], "ceiling": []}
    for target in (app, ceiling):
        asyncio.run(calls(target, 500))  # warm: the caches a running server has
    for _ in range(RUNS):
        for name, target in (("sandbox", app), ("ceiling", ceiling)):
            statuses.clear()
            began = time.process_time()
            asyncio.run(calls(target, CALLS))
            runs[name].append((time.process_time() - began) / CALLS * 1e6)
            if statuses != [status] * CALLS:
                print(json.dumps({"error": f"{name} answered {sorted(set(statuses))}, not {status}"}))
                return 1
    print(json.dumps({"cpu_us": round(statistics.median(runs["sandbox"]), 1),
                      "ceiling_cpu_us": round(statistics.median(runs["ceiling"]), 1),
                      "runs": [round(r, 1) for r in runs["sandbox"]],
                      "ceiling_runs": [round(r, 1) for r in runs["ceiling"]]}))
    return 0


def _answer(app, scope: dict) -> bytes:  # noqa: ANN001 - the sandbox app
    """The body the sandbox answers the call with (the ceiling serves these bytes)."""
    body: list[bytes] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    asyncio.run(app(dict(scope), receive, send))
    return b"".join(body)


def _token(app) -> str:  # noqa: ANN001 - the sandbox app
    """A token for the seed's demo client, from the app's own token endpoint (called as the server would)."""
    import uuid
    from urllib.parse import urlencode

    import jwt

    client = demo_client(1)
    issuer = app.state.sandbox.issuer
    now = int(time.time())
    grant = jwt.encode({"aud": issuer, "iss": client.client_id, "scope": " ".join(client.scopes), "iat": now,
                        "exp": now + 100, "jti": str(uuid.uuid4())}, client.private_key_pem, algorithm="RS256",
                       headers={"kid": client.kid})
    body = urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": grant}).encode()
    path = "/maskinporten/token"
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1:8080"), (b"content-type", b"application/x-www-form-urlencoded"),
                         (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080)}
    answer: list[bytes] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.body":
            answer.append(message.get("body", b""))

    asyncio.run(app(scope, receive, send))
    return json.loads(b"".join(answer))["access_token"]


if __name__ == "__main__":
    sys.exit(main())
