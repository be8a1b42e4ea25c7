"""The sandbox's own CPU per summert JSON call, with no server: the ASGI app called directly, as uvicorn calls
it, with the bench's token, person and year. Prints {"cpu_us": median, "runs": [...]} as JSON.

This is the least a call can cost the sandbox; served, a call costs this plus the server's work (the
ceiling's CPU per call), and more, as the server and the app share the core's caches."""

from __future__ import annotations

import asyncio
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

    async def calls(n: int) -> None:
        for _ in range(n):
            await app(dict(scope, headers=list(headers)), receive, send)

    asyncio.run(calls(500))  # warm: the caches a running server has
    runs = []
    for _ in range(RUNS):
        statuses.clear()
        began = time.process_time()
        asyncio.run(calls(CALLS))
        runs.append((time.process_time() - began) / CALLS * 1e6)
        if statuses != [status] * CALLS:
            print(json.dumps({"error": f"answered {sorted(set(statuses))}, not {status}"}))
            return 1
    print(json.dumps({"cpu_us": round(statistics.median(runs), 1), "runs": [round(r, 1) for r in runs]}))
    return 0


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
