"""The container image as a CI pipeline runs it: build from the Containerfile, start, health, a token from the
demo client, a data call, a non-root user.

Where no image registry is reachable, the base is a Debian root file system made with debootstrap
(`.ci/debian-base.sh`, cached under /var/tmp) and the wheelhouse is built on the host (`WHEELS=local`).
Rootful podman with runc is set up by `.ci/container-engine.sh`; without it the test skips and says why.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support import ROOT, TODAY, free_port

BASE_IMAGE = "localhost/ske-sandbox-base:bookworm"
BASE_PYTHON = (3, 11)  # Debian bookworm's python3: the host-built wheels must be for it
CACHE = Path(os.environ.get("SKE_SANDBOX_CACHE", "/var/tmp/ske-sandbox"))
FNR = "15838512671"  # a curated persona with a settled 2024

pytestmark = pytest.mark.container


def _run(cmd: list[str], timeout: float = 300, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def _tail(done: subprocess.CompletedProcess[str], lines: int = 15) -> str:
    return "\n".join((done.stdout + done.stderr).strip().splitlines()[-lines:])


@pytest.fixture(scope="module")
def podman() -> str:
    engine = shutil.which("podman")
    if engine is None:
        pytest.skip("podman is not installed: `.ci/container-engine.sh` (as root) installs podman, runc and "
                    "debootstrap and configures them")
    if os.geteuid() != 0:
        pytest.skip("the container test uses rootful podman (runc, vfs storage) and this is not root")
    info = _run([engine, "info", "--format", "{{.Store.GraphDriverName}} {{.Host.OCIRuntime.Name}}"], timeout=60)
    if info.returncode != 0:
        pytest.skip(f"podman cannot run here: {_tail(info, 3)}")
    return engine


@pytest.fixture(scope="module")
def base_image(podman: str) -> str:
    if _run([podman, "image", "exists", BASE_IMAGE]).returncode != 0:
        if shutil.which("debootstrap") is None:
            pytest.skip(f"no base image {BASE_IMAGE} and no debootstrap to make one")
        done = _run(["bash", str(ROOT / ".ci" / "debian-base.sh"), BASE_IMAGE], timeout=900,
                    env={**os.environ, "SKE_SANDBOX_CACHE": str(CACHE)})
        if done.returncode != 0:
            pytest.skip(f"debootstrap could not make the base image (Debian's packages unreachable?): {_tail(done)}")
    return BASE_IMAGE


def _dependency_wheels() -> Path:
    """Runtime dependencies as wheels, cached by the dependency list (they change rarely, the package often)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    key = hashlib.sha256(json.dumps([project["dependencies"], BASE_PYTHON]).encode()).hexdigest()[:16]
    cached = CACHE / f"wheels-{key}"
    if cached.is_dir():
        return cached
    part = CACHE / f"wheels-{key}.part"
    shutil.rmtree(part, ignore_errors=True)
    requirements = CACHE / f"requirements-{key}.txt"
    CACHE.mkdir(parents=True, exist_ok=True)
    requirements.write_text("\n".join(project["dependencies"]) + "\n")
    done = _run([sys.executable, "-m", "pip", "wheel", "-q", "--wheel-dir", str(part), "-r", str(requirements)],
                timeout=600)
    if done.returncode != 0:
        pytest.skip(f"the runtime dependencies could not be fetched as wheels (no package index?): {_tail(done)}")
    part.rename(cached)
    return cached


@pytest.fixture(scope="module")
def build_context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the image's inputs with a wheelhouse beside the Containerfile, as the README tells."""
    if sys.version_info[:2] != BASE_PYTHON:
        pytest.skip(f"the wheelhouse is built by this Python {sys.version_info[0]}.{sys.version_info[1]}, "
                    f"the debootstrap base has {BASE_PYTHON[0]}.{BASE_PYTHON[1]}: their wheels differ")
    ctx = tmp_path_factory.mktemp("image")
    for name in ("Containerfile", ".containerignore", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, ctx / name)
    for name in ("mockserver", "contracts", "fixtures"):
        shutil.copytree(ROOT / name, ctx / name, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = ctx / "wheels"
    done = _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                 "--wheel-dir", str(wheels), str(ROOT)])
    assert done.returncode == 0, f"the project's wheel did not build: {_tail(done)}"
    for wheel in _dependency_wheels().glob("*.whl"):
        shutil.copy2(wheel, wheels / wheel.name)
    return ctx


@pytest.fixture(scope="module")
def image(podman: str, base_image: str, build_context: Path) -> Iterator[str]:
    tag = f"localhost/ske-sandbox-test:{os.getpid()}"
    started = time.monotonic()
    # docker format: the OCI image format has no HEALTHCHECK; --layers=false: one commit, not one per instruction
    # (each a full copy of the file system on vfs storage), and no intermediate images left behind
    done = _run([podman, "build", "--format", "docker", "--layers=false", "--build-arg", f"BASE={base_image}",
                 "--build-arg", "WHEELS=local", "-t", tag, "-f", "Containerfile", "."], timeout=900, cwd=build_context)
    assert done.returncode == 0, f"podman build failed:\n{_tail(done, 40)}"
    size = _run([podman, "image", "inspect", tag, "--format", "{{.Size}}"]).stdout.strip()
    print(f"\nimage {tag}: built in {time.monotonic() - started:.0f} s, {int(size) / 1e6:.0f} MB")
    try:
        yield tag
    finally:
        _run([podman, "rmi", "--force", tag])


@pytest.fixture(scope="module")
def container(podman: str, image: str) -> Iterator[tuple[str, str]]:
    name = f"ske-sandbox-test-{os.getpid()}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    done = _run([podman, "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8080",
                 "-e", f"SKE_SANDBOX_PUBLIC_URL={base}", "-e", f"SKE_SANDBOX_TODAY={TODAY}", image])
    assert done.returncode == 0, f"podman run failed: {_tail(done)}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/__sandbox/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            state = _run([podman, "inspect", name, "--format", "{{.State.Status}}"]).stdout.strip()
            if state != "running" or time.monotonic() > deadline:
                logs = _run([podman, "logs", name])
                pytest.fail(f"the container did not become healthy ({state}):\n{_tail(logs, 30)}")
            time.sleep(0.5)
        yield name, base
    finally:
        _run([podman, "rm", "--force", "--time", "2", name])


@pytest.fixture(scope="module")
def real_hosts_network(podman: str, image: str,
                       tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """The compose recipe: the sandbox in --real-hosts mode on a network where the real hostnames are its
    aliases, and a CA directory the image's user owns (as an init container running `ca` leaves it)."""
    from mockserver.environments import TEST
    from mockserver.localca import make_ca

    ca = tmp_path_factory.mktemp("ca")
    make_ca(ca)
    for path in (ca, *ca.iterdir()):
        os.chown(path, 10001, 10001)
    network, name = f"ske-sandbox-test-{os.getpid()}", f"ske-sandbox-real-hosts-{os.getpid()}"
    done = _run([podman, "network", "create", network])
    if done.returncode != 0:
        pytest.skip(f"podman cannot create a network here: {_tail(done, 3)}")
    aliases = [a for host in TEST.hosts.values() for a in ("--network-alias", host)]
    try:
        # unprivileged port 443 for the non-root user, as Docker allows by default
        done = _run([podman, "run", "-d", "--name", name, "--network", network, *aliases,
                     "--sysctl", "net.ipv4.ip_unprivileged_port_start=0", "-v", f"{ca}:/ca:ro",
                     "-e", f"SKE_SANDBOX_TODAY={TODAY}", image, "serve", "--real-hosts", "--host", "0.0.0.0",
                     "--ca", "/ca"])
        assert done.returncode == 0, f"podman run --real-hosts failed: {_tail(done)}"
        yield network, name, ca
    finally:
        _run([podman, "rm", "--force", "--time", "2", name])
        _run([podman, "network", "rm", "--force", network])


PROBE = """
import json, subprocess, time, uuid
import httpx, jwt

CA, ISSUER = "/ca/ca.pem", "https://test.maskinporten.no/"
SSG = "https://summertskattegrunnlag.api.skatteetaten-test.no/v2/oppgjoer/kommuneboligsosialeformaal/2024/"
demo = json.loads(subprocess.run(["ske-sandbox", "demo-client", "--json"], capture_output=True, check=True).stdout)
deadline = time.monotonic() + 90
while True:
    try:
        discovery = httpx.get(ISSUER + ".well-known/oauth-authorization-server", verify=CA, timeout=3).json()
        break
    except httpx.TransportError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.5)
now = int(time.time())
grant = jwt.encode({"aud": ISSUER, "iss": demo["client_id"], "scope": "skatteetaten:summertskattegrunnlag",
                    "iat": now, "exp": now + 100, "jti": str(uuid.uuid4())},
                   demo["private_key_pem"], algorithm="RS256", headers={"kid": demo["kid"]})
token = httpx.post(ISSUER + "token", verify=CA, data={
    "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": grant}).json()["access_token"]
r = httpx.get(SSG + "%s", verify=CA, headers={"Authorization": "Bearer " + token, "Accept": "application/json"})
print(json.dumps({"issuer": discovery["issuer"], "status": r.status_code, "body": r.json()}))
"""


def test_a_client_container_reaches_the_real_hostnames_by_network_alias(podman: str, image: str,
                                                                      real_hosts_network: tuple[str, str, Path]):
    network, name, ca = real_hosts_network
    (ca.parent / "probe.py").write_text(PROBE % FNR)
    done = _run([podman, "run", "--rm", "--network", network, "-v", f"{ca / 'ca.pem'}:/ca/ca.pem:ro",
                 "-v", f"{ca.parent / 'probe.py'}:/probe.py:ro", "--entrypoint", "python3", image, "/probe.py"],
                timeout=180)
    assert done.returncode == 0, f"the client container failed:\n{_tail(done, 30)}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["issuer"] == "https://test.maskinporten.no/"
    assert result["status"] == 200 and result["body"]["personidentifikator"] == FNR, result
    health = _run([podman, "healthcheck", "run", name])  # the image's probe finds TLS on 443 by itself
    assert health.returncode == 0, f"HEALTHCHECK failed in --real-hosts mode: {_tail(health)}"


def _demo_client() -> dict:
    out = _run([sys.executable, "-m", "mockserver.cli", "demo-client", "--json"], check=True)
    return json.loads(out.stdout)


def _maskinporten_token(http: httpx.Client, issuer: str, scopes: list[str]) -> str:
    spec = importlib.util.spec_from_file_location("municipal_client", ROOT / "examples" / "municipal_client.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    return example.maskinporten_token(http, issuer, _demo_client(), scopes)


def test_the_image_answers_a_token_and_a_data_call(container: tuple[str, str]):
    _, base = container
    with httpx.Client(timeout=10) as http:
        discovery = http.get(f"{base}/maskinporten/.well-known/oauth-authorization-server").json()
        assert discovery["issuer"] == f"{base}/maskinporten/"  # SKE_SANDBOX_PUBLIC_URL was read
        token = _maskinporten_token(http, discovery["issuer"], ["skatteetaten:summertskattegrunnlag"])
        r = http.get(f"{base}/summertskattegrunnlag/v2/oppgjoer/kommuneboligsosialeformaal/2024/{FNR}",
                     headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json()["personidentifikator"] == FNR


def test_the_container_runs_as_a_non_root_user_with_a_working_healthcheck(podman: str, container: tuple[str, str]):
    name, _ = container
    assert _run([podman, "exec", name, "id", "-u"]).stdout.strip() == "10001"
    assert _run([podman, "inspect", name, "--format", "{{.Config.User}}"]).stdout.strip() == "10001:10001"
    health = _run([podman, "healthcheck", "run", name])
    assert health.returncode == 0, f"HEALTHCHECK failed: {_tail(health)}"
