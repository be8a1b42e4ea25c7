"""docs/cli.md's "Installing without this repository" lines, run as written with pipx's and uv's defaults
(pipx with its pip backend, no uv beside it): each starts `serve` from the wheel the page says to build, and
the server answers. pipx and uv come from the package index into throw-away venvs; without an index the
test skips and says so.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support import ROOT

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

CLI_DOC = ROOT / "docs" / "cli.md"
PLACEHOLDER = "<wheel file or checkout>"


def _section() -> str:
    text = CLI_DOC.read_text()
    start = text.index("## Installing without this repository")
    end = text.find("\n## ", start + 1)
    return " ".join(text[start:end if end > 0 else None].split())  # lines joined: a command may wrap


def _command(tool: str) -> str:
    (line,) = [c for c in re.findall(r"`([^`]+)`", _section()) if c.startswith(tool + " ")]
    return line


def _venv_with(tmp: Path, package: str) -> Path:
    venv = tmp / f"{package}-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", package],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"{package} could not be installed from the package index: {done.stderr.strip()[-300:]}")
    return venv / "bin"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel made by the page's own `pip wheel` line, in a copy of the sources (it writes into ./dist)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("mockserver", "contracts", "fixtures"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    (line,) = [c for c in re.findall(r"`([^`]+)`", _section()) if c.startswith("pip wheel")]
    args = shlex.split(line)
    done = subprocess.run([sys.executable, "-m", *args], cwd=src, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    (built,) = (src / args[args.index("--wheel-dir") + 1]).glob("ske_sandbox-*.whl")
    return built


def _serves(command: str, bin_dir: Path, cwd: Path, env: dict[str, str]) -> dict:
    """Run a documented line (only its placeholder filled in) until its ready file appears; return it."""
    cwd.mkdir()
    env = {**os.environ, **env, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen(shlex.split(command), cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    ready = cwd / "ready.json"
    try:
        deadline = time.monotonic() + 300
        while not ready.is_file() or not ready.read_text().strip():
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.poll() is not None else ""
                pytest.fail(f"`{command}` did not start the server (exit {proc.poll()}):\n{out[-3000:]}")
            time.sleep(0.5)
        info = json.loads(ready.read_text())
        assert httpx.get(f"{info['url']}/__sandbox/health", timeout=10).json()["status"] == "ok"
        return info
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the group this test started: the tool and the server it ran
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_the_pipx_line_runs_with_pipx_defaults(tmp_path: Path, wheel: Path):
    command = _command("pipx")
    assert command.startswith("pipx run --spec " + PLACEHOLDER + " ske-sandbox serve")
    bin_dir = _venv_with(tmp_path, "pipx")
    assert not (bin_dir / "uv").exists()  # pipx's own default backend (pip), as a plain install has
    info = _serves(command.replace(PLACEHOLDER, str(wheel)), bin_dir, tmp_path / "run",
                   {"PIPX_HOME": str(tmp_path / "pipx-home"), "PIPX_BIN_DIR": str(tmp_path / "pipx-bin")})
    assert info["port"] > 0


def test_the_uvx_line_runs_with_uv_defaults(tmp_path: Path, wheel: Path):
    command = _command("uvx")
    assert command.startswith("uvx --from " + PLACEHOLDER + " ske-sandbox serve")
    bin_dir = _venv_with(tmp_path, "uv")
    info = _serves(command.replace(PLACEHOLDER, str(wheel)), bin_dir, tmp_path / "run",
                   {"UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_TOOL_DIR": str(tmp_path / "uv-tools")})
    assert info["port"] > 0
