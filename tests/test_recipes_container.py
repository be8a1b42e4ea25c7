"""docs/deploy.md's container commands as written: the air-gapped build, `make image` and the podman-compose
stack, run with the engine this machine has (rootful podman, a debootstrap base; see test_container.py, whose
fixtures make the base and the build context). One build, by the documented command; the compose stack
and `make image` use or reproduce it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from support import ROOT
from test_container import _run, _tail, base_image, build_context, podman  # noqa: F401  (fixtures)

pytestmark = pytest.mark.container

DEPLOY = ROOT / "docs" / "deploy.md"
MARKER = "real-hosts-probe OK: issuer https://test.maskinporten.no/"


def _shell_lines(marker: str) -> list[str]:
    """The command lines (comments dropped) of the deploy page's `sh` block that contains `marker`."""
    blocks = re.findall(r"^```sh\n(.*?)^```", DEPLOY.read_text(), flags=re.S | re.M)
    (block,) = [b for b in blocks if marker in b]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def _compose(command: list[str], out: Path, timeout: float = 300) -> tuple[int, str]:
    """podman-compose leaves its `podman start -a` children (and their copy of the output pipe) behind when
    it exits, so its output goes to a file: waiting on a pipe would wait for the sandbox to stop."""
    with out.open("w") as sink:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, text=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    return code, out.read_text()


def _documented(prefix: str, marker: str) -> str:
    (line,) = [line for line in _shell_lines(marker) if line.startswith(prefix)]
    return line


@pytest.fixture(scope="module")
def documented_image(podman: str, base_image: str, build_context: Path) -> Iterator[str]:  # noqa: F811
    """The image built by the air-gapped command exactly as docs/deploy.md writes it, in a build context
    holding the wheelhouse its `pip wheel` line makes (made by test_container's fixture, for Python 3.11)."""
    lines = _shell_lines("WHEELS=local")
    assert lines[0] == "pip wheel --wheel-dir wheels ."
    assert lines[1] == ".ci/debian-base.sh"
    done = _run(shlex.split(lines[1]), cwd=ROOT, timeout=900)  # the base image is there already: a no-op
    assert done.returncode == 0, _tail(done)
    command = shlex.split(lines[2])
    assert command[:2] == ["podman", "build"] and f"BASE={base_image}" in command
    tag = command[command.index("-t") + 1]
    existed = _run([podman, "image", "exists", tag]).returncode == 0
    done = _run(command, cwd=build_context, timeout=900)
    assert done.returncode == 0, f"the documented build failed:\n{_tail(done, 40)}"
    try:
        yield tag
    finally:
        if not existed:
            _run([podman, "rmi", "--force", tag])


def test_the_documented_air_gapped_build_makes_an_image_with_its_healthcheck(podman: str,  # noqa: F811
                                                                            documented_image: str):
    inspect = _run([podman, "image", "inspect", documented_image, "--format",
                    "{{json .Config.Healthcheck}} {{.Config.User}}"])
    assert "mockserver.health" in inspect.stdout and inspect.stdout.strip().endswith("10001:10001"), inspect.stdout


# A make of its own, as a user runs it: under `make test` the outer make's variables would make this one a
# sub-make that prints "Entering directory" around the command.
OWN_MAKE = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}


def test_make_image_runs_the_documented_build_with_podman_when_docker_has_no_daemon(
        podman: str, documented_image: str, build_context: Path):  # noqa: F811
    if shutil.which("make") is None:
        pytest.skip("no make")
    if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        pytest.skip("docker has a daemon here, so make picks docker")
    documented = _documented("podman build", "WHEELS=local")
    base_args = ["BASE=localhost/ske-sandbox-base:bookworm", "WHEELS=local"]
    done = _run(["make", "-n", "image", *base_args], cwd=ROOT, env=OWN_MAKE)
    assert done.returncode == 0, _tail(done)
    assert shlex.split(done.stdout.strip()) == shlex.split(documented)
    defaults = _run(["make", "-n", "image"], cwd=ROOT, env=OWN_MAKE).stdout
    assert "--build-arg BASE=python:3.12-slim --build-arg WHEELS=pypi" in defaults
    # and for real, in the build context with the wheelhouse (the documented build's layers make it quick)
    tag = f"localhost/ske-sandbox-make:{os.getpid()}"
    try:
        done = _run(["make", "-f", str(ROOT / "Makefile"), "image", *base_args, f"IMAGE={tag}"], cwd=build_context,
                    env=OWN_MAKE, timeout=900)
        assert done.returncode == 0, f"make image failed:\n{_tail(done, 40)}"
        assert done.stdout.startswith("podman build --format docker --build-arg BASE=localhost/ske-sandbox-base")
        inspect = _run([podman, "image", "inspect", tag, "--format", "{{json .Config.Healthcheck}}"])
        assert "mockserver.health" in inspect.stdout, _tail(inspect)
    finally:
        _run([podman, "rmi", "--force", tag])


def test_the_compose_stack_runs_its_client_and_exits_with_its_code(podman: str, documented_image: str,  # noqa: F811
                                                                   tmp_path: Path):
    if shutil.which("podman-compose") is None:
        pytest.skip("podman-compose is not installed (`.ci/container-engine.sh` installs it)")
    command = shlex.split(_documented("podman-compose", "podman-compose"))
    compose = ROOT / command[command.index("-f") + 1]
    # a copy whose client fails: the client's exit code must become the stack's
    failing = tmp_path / "failing"
    shutil.copytree(compose.parent, failing)
    doc = yaml.safe_load(compose.read_text())
    doc["services"]["client"]["command"] = ["https://nothing.invalid/"]
    doc["services"]["client"]["environment"]["PROBE_WAIT_SECONDS"] = "3"
    (failing / compose.name).write_text(yaml.safe_dump(doc, sort_keys=False))
    failing_command = [str(failing / compose.name) if arg == str(compose.relative_to(ROOT)) else arg
                       for arg in command]
    try:
        code, out = _compose(command, tmp_path / "up.log")
        tail = "\n".join(out.splitlines()[-40:])
        assert code == 0, f"the compose stack failed:\n{tail}"
        # the client ran and read Maskinporten's documents under the real name over the sandbox's TLS
        assert MARKER in out, tail
        code, out = _compose(failing_command, tmp_path / "failing.log")
        assert code == 1 and "real-hosts-probe FAILED" in out, out[-3000:]
    finally:
        for project, cmd in (("compose", command), ("failing", failing_command)):  # named after the folder
            _compose([*cmd[:cmd.index("up")], "down", "-v"], tmp_path / "down.log", timeout=120)
            _run([podman, "network", "rm", "--force", f"{project}_default"])
