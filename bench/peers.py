"""The sandbox side by side with a bare-Starlette ceiling, Prism and WireMock, in one run, on loopback.

    .venv/bin/python bench/peers.py                 # wrk -t1 -c50 -d10s, 3 interleaved rounds (~15 min)
    BENCH_SECONDS=2 .venv/bin/python bench/peers.py --quick   # a smoke run: short loads, no 60 s / 30 s parts

Every target answers the same five calls with the same bytes: the ceiling and WireMock serve the bodies the
sandbox gave (captured first), Prism serves the examples of our contracts. Per call and target: req/s,
p50/p99, errors and the server's CPU per request from /proc (utime + stime of its process tree), the figure
that survives a busy machine. Rounds interleave the targets; each figure is the median of the rounds.
Also: cold start (launch → first 200, median of 5), RSS before and after 60 s of load, population 1k vs
1M, and 200 connections for 30 s. Writes bench/results.json.

Missing tools are installed into bench/.cache (npm: @stoplight/prism-cli, wiremock) or by apt-get (wrk).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
NODE = CACHE / "node"
PRISM = NODE / "node_modules" / "@stoplight" / "prism-cli" / "dist" / "index.js"
WIREMOCK_JAR = NODE / "node_modules" / "wiremock" / "build"
TODAY = "2026-11-27"
PAKKE = "kommuneboligsosialeformaal"
FNR = "15838512671"  # persona `ordinary`
NO_SETTLEMENT = "01928812312"  # persona of SSG-008 (no settlement for 2025)
TICK = os.sysconf("SC_CLK_TCK")

# name -> (method, path, query, accept, expected status)
CALLS: dict[str, tuple[str, str, str, str, int]] = {
    "summert_json": ("GET", f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/2024/{FNR}", "", "application/json", 200),
    "summert_xml": ("GET", f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/2024/{FNR}", "", "application/xml", 200),
    "inntekt_12m": ("GET", f"/inntekt/v1/{PAKKE}/{FNR}/inntekter", "fraOgMed=2025-10&tilOgMed=2026-09",
                    "application/json", 200),
    "error_ssg008": ("GET", f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/2025/{NO_SETTLEMENT}", "",
                     "application/json", 404),
    "token": ("POST", "/maskinporten/token", "", "application/json", 200),
}
TARGETS = ("ceiling", "prism", "wiremock", "sandbox")


# ---------------------------------------------------------------------------------------------- tools
def ensure_tools() -> None:
    """wrk from Debian, Prism 5.14.2 and WireMock from npm (into bench/.cache), when absent."""
    if shutil.which("wrk") is None:
        print("installing wrk (apt-get)", flush=True)
        if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True).returncode:
            subprocess.run(["apt-get", "update", "-q"], capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
    if not PRISM.exists() or not any(WIREMOCK_JAR.glob("wiremock-standalone-*.jar")):
        print("installing @stoplight/prism-cli and wiremock (npm) into bench/.cache/node", flush=True)
        NODE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(NODE), "--no-audit", "--no-fund",
                        "@stoplight/prism-cli", "wiremock"], check=True, capture_output=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(port: int, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"",
         timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request on a fresh connection; enough for probes and captures."""
    head = {"Host": f"127.0.0.1:{port}", "Connection": "close", **(headers or {})}
    if body or method == "POST":
        head["Content-Length"] = str(len(body))
    raw = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw.encode() + body)
        data = bytearray()
        while chunk := s.recv(65536):
            data.extend(chunk)
    top, _, rest = bytes(data).partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if hdrs.get("transfer-encoding") == "chunked":
        rest = _unchunk(rest)
    return status, hdrs, rest


def _unchunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out.extend(data[:size])
        data = data[size + 2:]
    return bytes(out)


# ------------------------------------------------------------------------------------------ processes
@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen
    started: float
    ready: float = 0.0
    extra: list[subprocess.Popen] = field(default_factory=list)  # e.g. more Prism processes

    @property
    def pids(self) -> list[int]:
        return [self.proc.pid] + [p.pid for p in self.extra]

    def stop(self) -> None:
        for p in [self.proc, *self.extra]:
            if p.poll() is None:
                p.terminate()
        for p in [self.proc, *self.extra]:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _spawn(cmd: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})})


def wait_ready(port: int, path: str, deadline_s: float = 60.0, procs: list[subprocess.Popen] = ()) -> float:
    """Polls until `path` answers 200; returns the moment it did (perf_counter)."""
    end = time.perf_counter() + deadline_s
    while time.perf_counter() < end:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"process {p.args!r} exited with {p.returncode}")
        try:
            if http(port, "GET", path, timeout=1)[0] == 200:
                return time.perf_counter()
        except OSError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"nothing answered 200 on port {port}{path} within {deadline_s:.0f} s")


def sandbox_cmd(port: int, population: int = 5000, clients: Path | None = None, *extra: str) -> list[str]:
    cmd = [sys.executable, "-m", "mockserver.cli", "serve", "--port", str(port), "--seed", "1", "--today", TODAY,
           "--population", str(population), *extra]
    return cmd + (["--clients-file", str(clients)] if clients else [])


def start_sandbox(population: int = 5000, clients: Path | None = None, *extra: str) -> Server:
    """`ske-sandbox serve` as users start it (the default server), with `extra` options such as --workers."""
    port = free_port()
    t = time.perf_counter()
    proc = _spawn(sandbox_cmd(port, population, clients, *extra))
    server = Server("sandbox", port, proc, t)
    server.ready = wait_ready(port, "/__sandbox/health", procs=[proc])
    return server


def start_ceiling(bodies: Path, workers: int = 1, plain: bool = False) -> Server:
    """The ceiling on the sandbox's own server; `plain`: on uvicorn's stock httptools protocol."""
    port = free_port()
    t = time.perf_counter()
    proc = _spawn([sys.executable, str(HERE / "_ceiling.py"), str(bodies), str(port), str(workers)]
                  + (["--plain"] if plain else []))
    server = Server("ceiling", port, proc, t)
    server.ready = wait_ready(port, "/health", procs=[proc])
    return server


def start_redis(directory: Path) -> tuple[subprocess.Popen, str]:
    """Debian's redis-server on a free port, no persistence: the replicas' shared state."""
    binary = shutil.which("redis-server") or shutil.which("valkey-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
    port = free_port()
    proc = _spawn([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--dir", str(directory)])
    end = time.perf_counter() + 20
    while time.perf_counter() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def start_prism() -> Server:
    """One Prism process per contract (Prism serves one document per process, at its paths without the
    servers' base path); the bench sends each call to the process of its contract, and sums their CPU."""
    procs, ports = {}, {}
    t = time.perf_counter()
    for name in ("summertskattegrunnlag", "inntekt", "maskinporten"):
        ports[name] = free_port()
        procs[name] = _spawn(["node", str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(ports[name]), "-v", "warn",
                              str(ROOT / "contracts" / f"{name}.yaml")])
    server = Server("prism", ports["summertskattegrunnlag"], procs["summertskattegrunnlag"], t,
                    extra=[procs["inntekt"], procs["maskinporten"]])
    server.ports = ports  # type: ignore[attr-defined]
    for name, port in ports.items():
        end = time.perf_counter() + 60
        while True:
            try:
                http(port, "GET", "/", timeout=1)
                break
            except OSError:
                if time.perf_counter() > end:
                    raise RuntimeError(f"prism on {name} did not start") from None
                time.sleep(0.05)
    server.ready = time.perf_counter()
    return server


def start_wiremock(bodies: dict[str, dict], root: Path) -> Server:
    mappings = root / "mappings"
    mappings.mkdir(parents=True, exist_ok=True)
    for name, answer in bodies.items():
        method, path, query, accept, _ = CALLS[name]
        request: dict = {"method": method, "urlPath": path}
        if name == "summert_xml":
            request["headers"] = {"Accept": {"contains": "xml"}}
        stub = {"priority": 1 if name == "summert_xml" else 5, "request": request,
                "response": {"status": answer["status"], "headers": {"Content-Type": answer["content_type"]},
                             "base64Body": answer["body_b64"]}}
        (mappings / f"{name}.json").write_text(json.dumps(stub))
    jar = sorted(WIREMOCK_JAR.glob("wiremock-standalone-*.jar"))[-1]
    port = free_port()
    t = time.perf_counter()
    proc = _spawn(["java", "-jar", str(jar), "--port", str(port), "--bind-address", "127.0.0.1",
                   "--root-dir", str(root), "--disable-request-logging", "--no-request-journal",
                   "--disable-banner"])
    server = Server("wiremock", port, proc, t)
    server.ready = wait_ready(port, "/__admin/health", procs=[proc])
    return server


def cpu_ticks(pids: list[int]) -> int:
    """utime + stime of the processes and all their descendants."""
    children: dict[int, list[int]] = {}
    stats: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = text.rpartition(")")[2].split()
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        stats[pid] = int(fields[11]) + int(fields[12])
    total, todo = 0, list(pids)
    while todo:
        pid = todo.pop()
        total += stats.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# ------------------------------------------------------------------------------------------------ wrk
@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    timeouts: int
    cpu_us: float


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def wrk(url: str, seconds: float, connections: int = 50, headers: dict[str, str] | None = None,
        script: Path | None = None, pids: list[int] = (), expect_non2xx: bool = False,
        timeout_s: int = 2) -> Run:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", f"--timeout={timeout_s}s"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    if script:
        cmd += ["-s", str(script)]
    before = cpu_ticks(pids) if pids else 0
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    used = cpu_ticks(pids) - before if pids else 0
    return parse_wrk(out, used / TICK, expect_non2xx)


def parse_wrk(out: str, cpu_s: float, expect_non2xx: bool = False) -> Run:
    """wrk --latency's report, with the server CPU seconds used meanwhile, as a Run."""
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    requests = int(re.search(r"([0-9]+) requests in", out).group(1))
    # the Latency Distribution lines only: "+/- Stdev" columns above also end in "...50%" or "...99%"
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    timeouts = int(sock.group(4)) if sock else 0
    errors = sum(int(g) for g in sock.groups()) if sock else 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx and not expect_non2xx:
        errors += int(non2xx.group(1))
    if expect_non2xx:  # every answer should be the error: count the ones that were not
        errors += requests - (int(non2xx.group(1)) if non2xx else 0)
    cpu_us = cpu_s * 1e6 / requests if requests else float("nan")
    return Run(rps, p50, p99, requests, errors, timeouts, cpu_us)


def token_script(grants: list[str], directory: Path) -> Path:
    """A wrk script that posts each grant once, in order (a fresh jti per request, as real clients send)."""
    lines = directory / f"grants-{uuid.uuid4().hex}.txt"
    lines.write_text("\n".join(grants) + "\n")
    script = directory / f"token-{uuid.uuid4().hex}.lua"
    script.write_text(f"""
local bodies = {{}}
for line in io.lines("{lines}") do
  bodies[#bodies + 1] = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" .. line
end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
request = function()
  i = i + 1
  if i > #bodies then i = 1 end
  return wrk.format(nil, nil, nil, bodies[i])
end
""")
    return script


# ------------------------------------------------------------------------------------- load-test client
@dataclass
class LoadClient:
    """A client registered through a clients file, with an RSA-1024 key so the bench can sign enough
    grants in time; the sandbox still signs every access token with its own RSA-2048 key."""

    directory: Path
    client_id: str = "bench-load-client"
    kid: str = "bench-load-key"
    pem: bytes = b""

    def __post_init__(self) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        sys.path.insert(0, str(ROOT))
        from mockserver.identifiers import make_orgnr
        from mockserver.maskinporten.keys import public_jwk

        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        self.pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
        orgnr = make_orgnr(10_777_001)
        self.clients_file = self.directory / "clients.yaml"
        self.clients_file.write_text(json.dumps({
            "clients": [{"client_id": self.client_id, "orgnr": orgnr,
                         "scopes": ["skatteetaten:summertskattegrunnlag", "skatteetaten:inntekt"],
                         "jwks": [public_jwk(key.public_key(), self.kid)]}],
            "consumers": [{"orgnr": orgnr, "rettighetspakker": [PAKKE]}],
        }))

    def grants(self, n: int, audience: str) -> list[str]:
        from concurrent.futures import ProcessPoolExecutor

        chunk = max(1, n // 2)
        with ProcessPoolExecutor(2) as pool:
            parts = list(pool.map(_sign_grants, [(self.pem, self.client_id, self.kid, audience, size)
                                                 for size in (chunk, n - chunk) if size]))
        return [g for part in parts for g in part]


def _sign_grants(args: tuple[bytes, str, str, str, int]) -> list[str]:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    pem, client_id, kid, audience, n = args
    key = serialization.load_pem_private_key(pem, password=None)
    head = _b64(json.dumps({"alg": "RS256", "kid": kid, "typ": "JWT"}).encode())
    now = int(time.time())
    out = []
    for _ in range(n):
        claims = {"aud": audience, "iss": client_id, "scope": "skatteetaten:summertskattegrunnlag",
                  "iat": now, "exp": now + 120, "jti": uuid.uuid4().hex}
        signing_input = f"{head}.{_b64(json.dumps(claims).encode())}"
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        out.append(f"{signing_input}.{_b64(signature)}")
    return out


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def demo_token(port: int) -> str:
    """An access token for the seed's demo client, the way a client gets one."""
    sys.path.insert(0, str(ROOT))
    import jwt

    from mockserver.maskinporten.registry import demo_client

    demo = demo_client(1)
    now = int(time.time())
    grant = jwt.encode({"aud": f"http://127.0.0.1:{port}/maskinporten/", "iss": demo.client_id,
                        "scope": " ".join(demo.scopes), "iat": now, "exp": now + 120, "jti": uuid.uuid4().hex},
                       demo.private_key_pem, algorithm="RS256", headers={"kid": demo.kid})
    body = f"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={grant}".encode()
    status, _, answer = http(port, "POST", "/maskinporten/token",
                             {"Content-Type": "application/x-www-form-urlencoded"}, body)
    if status != 200:
        raise RuntimeError(f"no token from the sandbox: {status} {answer[:200]!r}")
    return json.loads(answer)["access_token"]


def capture(sandbox: Server, token: str) -> dict[str, dict]:
    """The sandbox's answer to each call: what the ceiling and WireMock will serve byte for byte."""
    out = {}
    for name, (method, path, query, accept, expected) in CALLS.items():
        if name == "token":
            body = json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": 120,
                               "scope": "skatteetaten:summertskattegrunnlag skatteetaten:inntekt"}).encode()
            status, ctype = 200, "application/json"
        else:
            status, hdrs, body = http(sandbox.port, method, path + (f"?{query}" if query else ""),
                                      {"Accept": accept, "Authorization": f"Bearer {token}"})
            ctype = hdrs.get("content-type", accept)
        if status != expected:
            raise RuntimeError(f"{name}: the sandbox answered {status}, expected {expected}")
        out[name] = {"status": status, "content_type": ctype, "body_b64": base64.b64encode(body).decode(),
                     "bytes": len(body)}
    return out


# --------------------------------------------------------------------------------------------- phases
def url_of(server: Server, name: str) -> str:
    method, path, query, _, _ = CALLS[name]
    port = server.port
    if server.name == "prism":  # Prism serves each contract at its own server path
        ports = server.ports  # type: ignore[attr-defined]
        if path.startswith("/summertskattegrunnlag/"):
            port, path = ports["summertskattegrunnlag"], path[len("/summertskattegrunnlag/v2"):]
        elif path.startswith("/inntekt/"):
            port, path = ports["inntekt"], path[len("/inntekt/v1"):]
        else:
            port, path = ports["maskinporten"], path[len("/maskinporten"):]
    return f"http://127.0.0.1:{port}{path}" + (f"?{query}" if query else "")


def headers_for(server: Server, name: str, token: str) -> dict[str, str]:
    _, _, _, accept, _ = CALLS[name]
    headers = {"Accept": accept}
    if name != "token":
        headers["Authorization"] = f"Bearer {token}"
    if server.name == "prism" and name == "error_ssg008":
        headers["Prefer"] = "code=404"  # Prism's way to pick the documented error answer
    return headers


def measure_calls(servers: dict[str, Server], token: str, seconds: float, rounds: int, client: LoadClient,
                  work: Path) -> dict[str, dict[str, dict]]:
    runs: dict[str, dict[str, list[Run]]] = {n: {t: [] for t in servers} for n in CALLS}
    for r in range(rounds):
        for name in CALLS:
            order = list(servers) if r % 2 == 0 else list(reversed(servers))
            for target in order:
                server = servers[target]
                script = None
                if target == "sandbox":  # access tokens live 120 s: a fresh one per run, as a client renews
                    token = demo_token(server.port)
                if name == "token":
                    # fresh grants for the sandbox (each jti once); the peers ignore what they are sent
                    audience = f"http://127.0.0.1:{server.port}/maskinporten/"
                    script = token_script(client.grants(int(seconds * 4000) + 500, audience), work)
                run = wrk(url_of(server, name), seconds, headers=headers_for(server, name, token), script=script,
                          pids=server.pids, expect_non2xx=CALLS[name][4] >= 400)
                runs[name][target].append(run)
                print(f"  round {r + 1} {name:13s} {target:9s} {run.rps:9.0f} req/s  p50 {run.p50_ms:6.2f} ms  "
                      f"p99 {run.p99_ms:7.2f} ms  cpu {run.cpu_us:6.0f} µs/req  errors {run.errors}", flush=True)
    table: dict[str, dict[str, dict]] = {}
    for name, by_target in runs.items():
        table[name] = {}
        for target, rs in by_target.items():
            table[name][target] = {
                "rps": statistics.median(x.rps for x in rs),
                "p50_ms": statistics.median(x.p50_ms for x in rs),
                "p99_ms": statistics.median(x.p99_ms for x in rs),
                "errors": sum(x.errors for x in rs),
                "cpu_us": statistics.median(x.cpu_us for x in rs),
                "runs": [round(x.rps) for x in rs],
            }
    return table


def cold_start(times: int) -> list[float]:
    """Launch to first 200, with the package's bytecode written as pip writes it when it installs a wheel (a
    source checkout, or a machine with PYTHONDONTWRITEBYTECODE set, would compile every module on each start)."""
    import compileall

    compileall.compile_dir(ROOT / "mockserver", quiet=1)
    out = []
    for _ in range(times):
        server = start_sandbox()
        out.append(server.ready - server.started)
        server.stop()
    return out


def rss_under_load(seconds: float, work: Path) -> dict[str, float]:
    """RSS of a warmed-up sandbox before and after `seconds` of data calls spread over many people."""
    sandbox = start_sandbox()
    try:
        token = demo_token(sandbox.port)
        sys.path.insert(0, str(ROOT))
        from mockserver.population.slots import NumberIndex

        numbers = NumberIndex(1)
        people = [numbers.number(i) for i in range(500)]
        paths = []
        for fnr in people:
            paths.append(f"/summertskattegrunnlag/v2/oppgjoer/{PAKKE}/2024/{fnr}")
            paths.append(f"/inntekt/v1/{PAKKE}/{fnr}/inntekter?fraOgMed=2025-10&tilOgMed=2026-09")
        script = work / "mixed.lua"
        script.write_text("local paths = {" + ",".join(json.dumps(p) for p in paths) + "}\n"
                          "local i = 0\nrequest = function()\n  i = i % #paths + 1\n"
                          "  return wrk.format(nil, paths[i])\nend\n")
        url = f"http://127.0.0.1:{sandbox.port}/"
        headers = {"Authorization": f"Bearer {token}"}
        wrk(url, min(5.0, seconds), headers=headers, script=script)  # warm-up: every answer made once
        before = rss_kib(sandbox.proc.pid)
        wrk(url, seconds, headers=headers, script=script)
        after = rss_kib(sandbox.proc.pid)
    finally:
        sandbox.stop()
    return {"rss_before_mib": before / 1024, "rss_after_mib": after / 1024, "rss_growth": (after - before) / before}


def population_scaling(seconds: float) -> dict[str, dict[str, float]]:
    out = {}
    for n in (1_000, 1_000_000):
        sandbox = start_sandbox(population=n)
        try:
            started = sandbox.ready - sandbox.started
            rss_start = rss_kib(sandbox.proc.pid)
            token = demo_token(sandbox.port)
            warm(sandbox, token)
            server_url = url_of(sandbox, "summert_json")
            run = wrk(server_url, seconds, headers={"Authorization": f"Bearer {token}"}, pids=sandbox.pids)
            out[str(n)] = {"startup_s": started, "rss_mib": rss_start / 1024, "rps": run.rps, "cpu_us": run.cpu_us}
        finally:
            sandbox.stop()
    return out


def warm(server: Server, token: str) -> None:
    """One call of each kind first, as a running sandbox has had: the first person built pays one-off costs
    (the name generator's import, code lists) that are start-up, not load."""
    for name in ("summert_json", "summert_xml", "inntekt_12m", "error_ssg008"):
        method, path, query, accept, _ = CALLS[name]
        http(server.port, method, path + (f"?{query}" if query else ""),
             {"Accept": accept, "Authorization": f"Bearer {token}"}, timeout=30)


def many_connections(seconds: float) -> Run:
    sandbox = start_sandbox()
    try:
        token = demo_token(sandbox.port)
        warm(sandbox, token)
        return wrk(url_of(sandbox, "summert_json"), seconds, connections=200,
                   headers={"Authorization": f"Bearer {token}"}, pids=sandbox.pids)
    finally:
        sandbox.stop()


def token_sustained(seconds: float, client: LoadClient, work: Path, workers: int = 1) -> tuple[Run, Run, int]:
    """A fresh sandbox with every core (`--workers`): tokens/s in the first 10 s, then over the next `seconds`
    (the used-jti set grows); then a sample of the grants sent again, which every worker must refuse.
    Returns the two runs and how many of the replays were refused."""
    sandbox = start_sandbox(5000, client.clients_file, "--workers", str(workers))
    try:
        audience = f"http://127.0.0.1:{sandbox.port}/maskinporten/"
        first_s = min(10.0, seconds)
        grants = client.grants(int((first_s + seconds) * 4000) + 1000, audience)
        script = token_script(grants, work)
        url = f"http://127.0.0.1:{sandbox.port}/maskinporten/token"
        # one script, so the second run continues where the first stopped: each grant is sent once
        first = wrk(url, first_s, script=script, pids=sandbox.pids)
        script2 = token_script(grants[first.requests + 100:], work)
        sustained = wrk(url, seconds, script=script2, pids=sandbox.pids)
        # wrk calls request() once while setting up, so each script's first grant is drawn but never sent
        sample = grants[1:101] + grants[first.requests + 101:first.requests + 201]
        refused = 0
        for grant in sample:  # new connections: any worker may take each
            status, _, body = http(sandbox.port, "POST", "/maskinporten/token",
                                   {"Content-Type": "application/x-www-form-urlencoded"},
                                   "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="
                                   f"{grant}".encode(), timeout=10)
            if status == 400 and b"MP-012" in body:
                refused += 1
            else:
                print(f"  a replay was not refused as used: {status} {body[:160]!r}", flush=True)
    finally:
        sandbox.stop()
    return first, sustained, refused


def all_cores(bodies: Path, token_for: Any, wiremock: Server | None, seconds: float, rounds: int,
              workers: int) -> dict[str, dict]:
    """summert JSON with every core: the sandbox with --workers N against the ceiling with N workers and
    WireMock (which uses every core by itself), interleaved rounds, medians."""
    servers = {"ceiling": start_ceiling(bodies, workers), "sandbox": start_sandbox(5000, None, "--workers",
                                                                                   str(workers))}
    if wiremock is not None:
        servers["wiremock"] = wiremock
    runs: dict[str, list[Run]] = {t: [] for t in servers}
    try:
        token = token_for(servers["sandbox"].port)
        warm(servers["sandbox"], token)
        for r in range(rounds):
            for target in (list(servers) if r % 2 == 0 else list(reversed(servers))):
                server = servers[target]
                run = wrk(url_of(server, "summert_json"), seconds, headers=headers_for(server, "summert_json", token),
                          pids=server.pids)
                runs[target].append(run)
                print(f"  all cores, round {r + 1} {target:9s} {run.rps:9.0f} req/s  cpu {run.cpu_us:6.0f} µs/req  "
                      f"errors {run.errors}", flush=True)
    finally:
        for target in ("ceiling", "sandbox"):
            servers[target].stop()
    return {t: {"rps": statistics.median(x.rps for x in rs), "cpu_us": statistics.median(x.cpu_us for x in rs),
                "errors": sum(x.errors for x in rs), "runs": [round(x.rps) for x in rs]} for t, rs in runs.items()}


def in_process() -> dict[str, Any]:
    """The CPU per summert JSON call of the sandbox's app and of the ceiling's, with no server
    (bench/_inprocess.py, in its own process)."""
    out = subprocess.run([sys.executable, str(HERE / "_inprocess.py")], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    result = json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}
    if out.returncode != 0 or "cpu_us" not in result:
        raise RuntimeError(f"bench/_inprocess.py failed: {result.get('error') or out.stderr[-2000:]}")
    return result


def hardening_cost(bodies: Path, token: str, seconds: float, rounds: int) -> dict[str, float]:
    """What the default server's limits (64 KiB head, head timeout, idle shedding) cost per call: summert JSON
    on the ceiling with the sandbox's protocol against uvicorn's stock httptools protocol, interleaved."""
    servers = {"hardened": start_ceiling(bodies), "plain": start_ceiling(bodies, plain=True)}
    runs: dict[str, list[Run]] = {t: [] for t in servers}
    try:
        for r in range(rounds):
            for target in (list(servers) if r % 2 == 0 else list(reversed(servers))):
                server = servers[target]
                runs[target].append(wrk(url_of(server, "summert_json"), seconds,
                                        headers=headers_for(server, "summert_json", token), pids=server.pids))
    finally:
        for server in servers.values():
            server.stop()
    cost = {f"{t}_{k}": statistics.median(getattr(x, k) for x in rs)
            for t, rs in runs.items() for k in ("rps", "cpu_us")}
    cost["cpu_ratio"] = ratio(cost["hardened_cpu_us"], cost["plain_cpu_us"])
    return cost


def redis_overhead(seconds: float, work: Path, replicas: int = 3) -> dict[str, float]:
    """The cost of shared state: `replicas` sandboxes on one Redis, loaded together (one wrk each), against
    one process on its own memory, by server CPU per call (the replicas' and Redis's together)."""
    single = start_sandbox()
    try:
        token = demo_token(single.port)
        warm(single, token)
        alone = wrk(url_of(single, "summert_json"), seconds, headers={"Authorization": f"Bearer {token}"},
                    pids=single.pids)
    finally:
        single.stop()
    redis, url = start_redis(work)
    group: list[Server] = []
    try:
        group = [start_sandbox(5000, None, "--state", url)]
        public = f"http://127.0.0.1:{group[0].port}"  # one issuer for all, as behind a load balancer
        group += [start_sandbox(5000, None, "--state", url, "--public-url", public) for _ in range(replicas - 1)]
        token = demo_token(group[0].port)
        for server in group:
            warm(server, token)
        pids = [redis.pid] + [pid for server in group for pid in server.pids]
        before = cpu_ticks(pids)
        procs = [subprocess.Popen(["wrk", "-t1", f"-c{max(1, 50 // replicas)}", f"-d{max(1, round(seconds))}s",
                                   "--latency", "-H", f"Authorization: Bearer {token}", url_of(server, "summert_json")],
                                  stdout=subprocess.PIPE, text=True) for server in group]
        outs = [p.communicate()[0] for p in procs]
        cpu_s = (cpu_ticks(pids) - before) / TICK
        together = [parse_wrk(out, 0.0) for out in outs]
        requests = sum(r.requests for r in together)
        shared_cpu_us = cpu_s * 1e6 / requests if requests else float("nan")
        journal = json.loads(http(group[-1].port, "GET", "/__sandbox/journal", timeout=60)[2])
    finally:
        for server in group:
            server.stop()
        redis.terminate()
        redis.wait(timeout=10)
    return {"alone_rps": alone.rps, "alone_cpu_us": alone.cpu_us, "replicas": replicas,
            "replicas_rps": sum(r.rps for r in together), "replicas_cpu_us": shared_cpu_us,
            "replicas_errors": sum(r.errors for r in together), "journal_entries": len(journal),
            "redis_overhead": ratio(shared_cpu_us, alone.cpu_us)}


# ---------------------------------------------------------------------------------------------- report
def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


def headline(table: dict[str, dict[str, dict]], starts: list[float], rss: dict[str, float],
             scaling: dict[str, dict[str, float]], c200: Run, first: Run, sustained: Run,
             c200_s: float, cores: dict[str, dict] | None = None, shared: dict[str, float] | None = None,
             replays_refused: int | None = None, workers: int = 1, app: dict[str, Any] | None = None) -> dict:
    """The figures results.json carries beside the per-call table, and that the README's table quotes.
    `sandbox_vs_wiremock` is with every core (`cores`) when measured; one process's is `sandbox_1w_vs_wiremock`.
    `app` is the apps' CPU per call with no server (in_process())."""
    summert = table["summert_json"]
    every: dict = {}
    if cores:
        every = {
            "workers": workers,
            "all_cores": cores,
            "sandbox_all_cores_rps": cores["sandbox"]["rps"],
            "ceiling_all_cores_rps": cores["ceiling"]["rps"],
            "all_cores_vs_ceiling": ratio(cores["sandbox"]["rps"], cores["ceiling"]["rps"]),
            "all_cores_cpu_vs_ceiling": ratio(cores["sandbox"]["cpu_us"], cores["ceiling"]["cpu_us"]),
        }
        if "wiremock" in cores:
            every["sandbox_vs_wiremock"] = ratio(cores["sandbox"]["rps"], cores["wiremock"]["rps"])
        if app is not None:
            # the best the sandbox could do with every core: the ceiling's CPU per call served, plus the work the
            # sandbox's app does beyond the ceiling's, measured with no server; against WireMock's CPU per call
            # (req/s go as 1 / CPU per call when the cores are busy)
            every["app_in_process_cpu_us"] = app["cpu_us"]
            every["ceiling_in_process_cpu_us"] = app["ceiling_cpu_us"]
            best = cores["ceiling"]["cpu_us"] + max(0.0, app["cpu_us"] - app["ceiling_cpu_us"])
            every["all_cores_best_cpu_us"] = round(best, 1)
            if "wiremock" in cores:
                every["all_cores_best_vs_wiremock"] = ratio(cores["wiremock"]["cpu_us"], best)
    if shared:
        every["shared_state"] = shared
        every["redis_overhead"] = shared["redis_overhead"]
    if replays_refused is not None:
        every["token_replays_refused"] = replays_refused
    return {
        "sandbox_rps": summert["sandbox"]["rps"],
        "ceiling_rps": summert["ceiling"]["rps"],
        "prism_rps": summert["prism"]["rps"],
        "wiremock_rps": summert["wiremock"]["rps"],
        "sandbox_vs_ceiling": ratio(summert["sandbox"]["rps"], summert["ceiling"]["rps"]),
        "sandbox_vs_prism": ratio(summert["sandbox"]["rps"], summert["prism"]["rps"]),
        "sandbox_vs_wiremock": ratio(summert["sandbox"]["rps"], summert["wiremock"]["rps"]),
        "sandbox_1w_vs_wiremock": ratio(summert["sandbox"]["rps"], summert["wiremock"]["rps"]),
        "sandbox_cpu_us": summert["sandbox"]["cpu_us"],
        "ceiling_cpu_us": summert["ceiling"]["cpu_us"],
        "cpu_vs_ceiling": ratio(summert["sandbox"]["cpu_us"], summert["ceiling"]["cpu_us"]),
        "xml_vs_json_cpu": ratio(table["summert_xml"]["sandbox"]["cpu_us"], summert["sandbox"]["cpu_us"]),
        "token_per_s": first.rps,
        "token_errors": first.errors,
        "token_per_s_sustained": sustained.rps,
        "token_sustained_errors": sustained.errors,
        "token_sustained_s": c200_s,
        "cold_start_s": statistics.median(starts),
        "cold_start_runs": [round(s, 3) for s in starts],
        **rss,
        "population": scaling,
        "c200_timeouts": c200.timeouts,
        "c200_errors": c200.errors,
        "c200_p99_ms": c200.p99_ms,
        "c200_rps": c200.rps,
        **every,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", 10)),
                        help="duration of each wrk run (default 10, or $BENCH_SECONDS)")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 3)))
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")),
                        help="short long-running parts too (RSS, 200 connections, sustained tokens)")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    long_s = args.seconds if args.quick else 60.0
    c200_s = args.seconds if args.quick else 30.0
    began = time.perf_counter()
    workers = len(os.sched_getaffinity(0))
    ensure_tools()
    print(f"peers bench: wrk -t1 -c50 -d{args.seconds:g}s, {args.rounds} interleaved rounds, "
          f"{os.cpu_count()} cores, python {sys.version.split()[0]}", flush=True)

    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cores": os.cpu_count(),
                     "seconds": args.seconds, "rounds": args.rounds}
    with tempfile.TemporaryDirectory(prefix="ske-bench-") as tmp:
        work = Path(tmp)
        client = LoadClient(work)
        servers: dict[str, Server] = {}
        try:
            servers["sandbox"] = start_sandbox(clients=client.clients_file)
            token = demo_token(servers["sandbox"].port)
            bodies = capture(servers["sandbox"], token)
            (work / "bodies.json").write_text(json.dumps(bodies))
            servers["ceiling"] = start_ceiling(work / "bodies.json")
            servers["prism"] = start_prism()
            servers["wiremock"] = start_wiremock(bodies, work / "wiremock")
            # the JVM gets its warm-up (JIT) before anything is measured, as a long-running WireMock has
            for name in ("summert_json", "summert_xml", "inntekt_12m", "error_ssg008"):
                wrk(url_of(servers["wiremock"], name), min(5.0, args.seconds),
                    headers=headers_for(servers["wiremock"], name, token))
            servers = {t: servers[t] for t in TARGETS}
            table = measure_calls(servers, token, args.seconds, args.rounds, client, work)
            for target in ("ceiling", "prism", "sandbox"):  # WireMock stays, warm, for the all-cores rounds
                servers.pop(target).stop()
            print(f"every core: --workers {workers} ...", flush=True)
            cores = all_cores(work / "bodies.json", demo_token, servers.get("wiremock"), args.seconds, args.rounds,
                              workers)
            print("the app alone, in-process ...", flush=True)
            app = in_process()
            print("the hardened protocol against uvicorn's stock one ...", flush=True)
            results["hardening"] = hardening_cost(work / "bodies.json", token, args.seconds, args.rounds)
        finally:
            for server in servers.values():
                server.stop()
        results["bytes"] = {name: b["bytes"] for name, b in bodies.items()}
        results["calls"] = table
        print("cold start ...", flush=True)
        starts = cold_start(5)
        print(f"rss under {long_s:g} s of load ...", flush=True)
        rss = rss_under_load(long_s, work)
        print("population 1k vs 1M ...", flush=True)
        scaling = population_scaling(args.seconds)
        print(f"200 connections for {c200_s:g} s ...", flush=True)
        c200 = many_connections(c200_s)
        print(f"tokens with --workers {workers}: a fresh server for 10 s, then {c200_s:g} s more ...", flush=True)
        first, sustained, refused = token_sustained(c200_s, client, work, workers)
        print("shared state: 3 replicas on one Redis against one process ...", flush=True)
        shared = redis_overhead(args.seconds, work)

    results.update(headline(table, starts, rss, scaling, c200, first, sustained, c200_s, cores, shared, refused,
                            workers, app))
    results["bench_s"] = round(time.perf_counter() - began, 1)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    return 0


def print_table(r: dict) -> None:
    print(f"\n{r['date']}, {r['cores']} cores, wrk -t1 -c50 -d{r['seconds']:g}s, median of {r['rounds']} "
          "interleaved rounds; CPU = server µs per request from /proc")
    print(f"| call | {' | '.join(TARGETS)} | sandbox ÷ ceiling (req/s, CPU) | sandbox ÷ Prism | sandbox ÷ WireMock |")
    print("|---|" + "---:|" * (len(TARGETS) + 3))
    for name, by_target in r["calls"].items():
        cells = [f"{by_target[t]['rps']:,.0f} req/s, {by_target[t]['cpu_us']:,.0f} µs, "
                 f"p50 {by_target[t]['p50_ms']:.1f} / p99 {by_target[t]['p99_ms']:.1f} ms, {by_target[t]['errors']} err"
                 for t in TARGETS]
        s, c = by_target["sandbox"], by_target["ceiling"]
        vs = f"{ratio(s['rps'], c['rps'])}×, {ratio(s['cpu_us'], c['cpu_us'])}×"
        peers = f"{ratio(s['rps'], by_target['prism']['rps'])}× | {ratio(s['rps'], by_target['wiremock']['rps'])}×"
        print(f"| {name} | " + " | ".join(cells) + f" | {vs} | {peers} |")
    pop = r["population"]
    print(f"\ntokens/s: {r['token_per_s']:,.0f} fresh (10 s), {r['token_per_s_sustained']:,.0f} over the next "
          f"{r['token_sustained_s']:g} s; errors {r['token_errors']} / {r['token_sustained_errors']}")
    print(f"cold start (launch → first 200, median of 5): {r['cold_start_s']:.3f} s  {r['cold_start_runs']}")
    print(f"RSS: {r['rss_before_mib']:.1f} MiB → {r['rss_after_mib']:.1f} MiB after load ({r['rss_growth']:+.1%})")
    print("population 1k vs 1M: " + "; ".join(
        f"{int(n):,}: start {v['startup_s']:.3f} s, RSS {v['rss_mib']:.1f} MiB, {v['rps']:,.0f} req/s, "
        f"{v['cpu_us']:.0f} µs/req" for n, v in pop.items()))
    print(f"200 connections: {r['c200_rps']:,.0f} req/s, p99 {r['c200_p99_ms']:.1f} ms, timeouts {r['c200_timeouts']}, "
          f"errors {r['c200_errors']}")
    if "all_cores" in r:
        cores = r["all_cores"]
        print(f"every core (--workers {r['workers']}), summert JSON: " + "; ".join(
            f"{t} {v['rps']:,.0f} req/s, {v['cpu_us']:.0f} µs" for t, v in cores.items())
            + f"; sandbox ÷ ceiling {r['all_cores_vs_ceiling']}×, ÷ WireMock {r.get('sandbox_vs_wiremock')}×")
    if "app_in_process_cpu_us" in r:
        print(f"with no server: the sandbox's app {r['app_in_process_cpu_us']:.0f} µs/call, the ceiling's "
              f"{r['ceiling_in_process_cpu_us']:.0f}; at best with every core (the ceiling served + the difference) "
              f"{r['all_cores_best_cpu_us']:.0f} µs/call: {r.get('all_cores_best_vs_wiremock')}× WireMock")
    if "hardening" in r:
        h = r["hardening"]
        print(f"the server's limits, on the ceiling: {h['hardened_cpu_us']:.0f} µs/req against {h['plain_cpu_us']:.0f} "
              f"on uvicorn's stock httptools protocol ({h['cpu_ratio']}×)")
    if "token_replays_refused" in r:
        print(f"replayed grants refused across workers: {r['token_replays_refused']} of 200")
    if "shared_state" in r:
        sh = r["shared_state"]
        print(f"shared state: {sh['replicas']} replicas + Redis {sh['replicas_rps']:,.0f} req/s at "
              f"{sh['replicas_cpu_us']:.0f} µs/call (errors {sh['replicas_errors']}, one journal of "
              f"{sh['journal_entries']}) vs one process {sh['alone_rps']:,.0f} req/s at {sh['alone_cpu_us']:.0f} µs: "
              f"redis_overhead {sh['redis_overhead']}×")
    print(f"bench took {r['bench_s']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
