"""`--admin-token-file`: the control API's token from a file, so it is not in the process list for `ps`."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import uvicorn
from support import running_server

from mockserver import cli

TOKEN = "s3cret-token-from-a-file"


@pytest.fixture(autouse=True)
def no_token_env(monkeypatch):
    monkeypatch.delenv("SKE_SANDBOX_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("SKE_SANDBOX_ADMIN_TOKEN_FILE", raising=False)


@pytest.fixture
def token_file(tmp_path) -> Path:
    path = tmp_path / "admin-token"
    path.write_text(f"  {TOKEN}\n")
    return path


def _serve_settings(monkeypatch, *argv: str):
    seen = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: seen.update(config=self.config))
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "0", "--population", "20", "--today", "2026-11-27",
                     *argv]) == 0
    return seen["config"].app.state.sandbox.settings


def test_the_token_is_read_from_the_file_and_never_shown_to_ps(token_file):
    with running_server("--admin-token-file", str(token_file), "--population", "20", "--today",
                        "2026-11-27") as base:
        assert httpx.get(f"{base}/__sandbox/journal").status_code == 401
        assert httpx.get(f"{base}/__sandbox/journal", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        command_lines = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                command_lines.append(cmdline.read_bytes())
            except OSError:
                continue
        assert any(str(token_file).encode() in c for c in command_lines)  # the server is there …
        assert not any(TOKEN.encode() in c for c in command_lines)  # … without its token
        assert cli.main(["conformance", "--url", base, "--admin-token-file", str(token_file)]) == 0


def test_the_file_comes_from_the_environment_and_wins_over_a_token(monkeypatch, token_file):
    monkeypatch.setenv("SKE_SANDBOX_ADMIN_TOKEN", "auto")  # the container image's default
    monkeypatch.setenv("SKE_SANDBOX_ADMIN_TOKEN_FILE", str(token_file))
    assert _serve_settings(monkeypatch).admin_token == TOKEN
    monkeypatch.delenv("SKE_SANDBOX_ADMIN_TOKEN_FILE")
    assert _serve_settings(monkeypatch, "--admin-token", "given").admin_token == "given"  # still works


@pytest.mark.parametrize("content, message", [
    (None, "cannot read the admin token file {path}: No such file or directory"),
    ("", "the admin token file {path} is empty"),
    (" \n\t\n", "the admin token file {path} is empty"),
    ("two\nlines", "must hold one token on one line"),
])
def test_a_missing_or_empty_token_file_is_a_clear_error(tmp_path, capsys, content, message):
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content)
    assert cli.main(["serve", "--host", "0.0.0.0", "--admin-token-file", str(path)]) == 2
    assert message.format(path=path) in capsys.readouterr().err
    assert cli.main(["conformance", "--admin-token-file", str(path)]) == 2


def test_help_offers_the_file_before_the_token(capsys):
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    text = capsys.readouterr().out
    assert -1 < text.index("--admin-token-file") < text.index("--admin-token TOKEN")
    assert "`ps`" in text
