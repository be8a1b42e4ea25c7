"""The run-anywhere recipes as written in the README, docs/ and examples: they parse, and they name what the image
and the real-hostname mode really use (variables, aliases, truststore, files)."""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest
import yaml
from support import ROOT, running_server

from mockserver.environments import TEST
from mockserver.localca import TRUSTSTORE, TRUSTSTORE_PASSWORD

COMPOSE = ROOT / "examples" / "compose" / "docker-compose.yml"


def _blocks(language: str) -> list[str]:
    """Fenced blocks of the README and the pages it links to under docs/."""
    text = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


TOKEN_VAR = "SKE_SANDBOX_ADMIN_TOKEN"
REPORT = "/__sandbox/report?format="


def _recipes() -> tuple[dict, dict]:
    docs = [yaml.safe_load(block) for block in _blocks("yaml")]
    github = next(d for d in docs if "jobs" in d)["jobs"]["test"]
    gitlab = next(d for d in docs if "test" in d and "services" in d["test"])["test"]
    return github, gitlab


def _github_verdict_lines(github: dict) -> tuple[dict, list[str]]:
    (step,) = [s for s in github["steps"] if REPORT in s.get("run", "")]
    return step, [line for line in step["run"].splitlines() if line.strip()]


def _curl(line: str) -> tuple[str, str | None]:
    """The URL a recipe's curl line fetches and the file it writes (-o), checking that it sends the admin token
    from the CI variable and fails on an error status (so a refused call never passes as an empty report)."""
    args = shlex.split(line)
    assert args[0] == "curl" and any(a.startswith("-") and "f" in a and not a.startswith("--") for a in args[1:])
    assert f"Authorization: Bearer ${TOKEN_VAR}" in args, line
    (url,) = [a for a in args if a.startswith("http")]
    return url, (args[args.index("-o") + 1] if "-o" in args else None)


def test_the_ci_recipes_configure_the_service_by_environment_with_a_masked_admin_token():
    github, gitlab = _recipes()
    service = github["services"]["ske-sandbox"]
    assert service["ports"] == ["8080:8080"] and service["env"]["SKE_SANDBOX_PUBLIC_URL"] == "http://localhost:8080"
    assert service["env"][TOKEN_VAR] == f"${{{{ secrets.{TOKEN_VAR} }}}}"  # a secret, never a literal
    (svc,) = gitlab["services"]
    assert svc["variables"]["SKE_SANDBOX_PUBLIC_URL"] == f"http://{svc['alias']}:8080"
    assert svc["variables"][TOKEN_VAR] == f"${TOKEN_VAR}"  # the project's masked variable, passed on


def test_the_github_recipe_curls_both_verdicts_into_the_uploaded_file_and_the_step_summary():
    github, _ = _recipes()
    base = github["services"]["ske-sandbox"]["env"]["SKE_SANDBOX_PUBLIC_URL"]
    step, lines = _github_verdict_lines(github)
    assert step["if"] == "always()" and step["env"][TOKEN_VAR] == f"${{{{ secrets.{TOKEN_VAR} }}}}"
    curls = [_curl(line) for line in lines if line.startswith("curl")]
    assert [url for url, _ in curls] == [f"{base}{REPORT}junit", f"{base}{REPORT}markdown"]
    junit = curls[0][1]
    assert lines[-1].endswith('>> "$GITHUB_STEP_SUMMARY"')
    (upload,) = [s for s in github["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload["if"] == "always()" and upload["with"]["path"] == junit


def test_the_gitlab_recipe_curls_the_junit_verdict_into_its_junit_report():
    _, gitlab = _recipes()
    (svc,) = gitlab["services"]
    curls = [_curl(line) for line in gitlab["after_script"] if line.startswith("curl")]
    assert curls == [(f"{svc['variables']['SKE_SANDBOX_PUBLIC_URL']}{REPORT}junit",
                      gitlab["artifacts"]["reports"]["junit"])]
    assert gitlab["artifacts"]["when"] == "always"
    assert not any("log" in line for line in gitlab["after_script"])  # the token is a variable, not scraped


def _run_recipe_lines(lines: list[str], recipe_base: str, base: str, token: str, cwd: Path) -> int:
    """The recipe's shell lines as bash runs them, with the service's address as the only change."""
    script = "set -e\n" + "\n".join(line.replace(recipe_base, base) for line in lines)
    env = {**os.environ, TOKEN_VAR: token, "GITHUB_STEP_SUMMARY": str(cwd / "summary.md")}
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, timeout=60).returncode


@pytest.mark.subprocess
def test_the_ci_recipes_curl_lines_fetch_the_verdicts_from_a_real_server(tmp_path: Path):
    github, gitlab = _recipes()
    token = "recipe-" + os.urandom(8).hex()
    token_file = tmp_path / "token"
    token_file.write_text(token)
    _, github_lines = _github_verdict_lines(github)
    (svc,) = gitlab["services"]
    with running_server("--admin-token-file", str(token_file)) as base:
        httpx.get(f"{base}/summertskattegrunnlag/v2/oppgjoer/kommuneboligsosialeformaal/2024/15838512671")
        for name, lines, recipe_base in (
                ("github", github_lines, github["services"]["ske-sandbox"]["env"]["SKE_SANDBOX_PUBLIC_URL"]),
                ("gitlab", gitlab["after_script"], svc["variables"]["SKE_SANDBOX_PUBLIC_URL"])):
            cwd = tmp_path / name
            cwd.mkdir()
            assert _run_recipe_lines(lines, recipe_base, base, "wrong", cwd) != 0  # a refused call fails the step
            assert _run_recipe_lines(lines, recipe_base, base, token, cwd) == 0
            suite = ElementTree.parse(cwd / "build" / "test-results" / "ske-sandbox.xml").getroot()
            assert suite.tag in ("testsuites", "testsuite"), name
            assert any("summertskattegrunnlag" in (case.get("name", "") + case.get("classname", ""))
                       for case in suite.iter("testcase")), ElementTree.tostring(suite)[:2000]
    summary = (tmp_path / "github" / "summary.md").read_text()
    assert "summertskattegrunnlag" in summary, summary[:2000]


def test_the_readme_python_snippets_are_python():
    for block in _blocks("python"):
        ast.parse(block)


def test_the_compose_file_serves_the_real_issuer_host_and_gives_the_client_only_the_ca():
    doc = yaml.safe_load(COMPOSE.read_text())
    services = doc["services"]
    host = TEST.issuer.split("/")[2]
    sandbox, client = services[host], services["client"]  # the service's name is the name every engine resolves
    assert set(services) == {host, "client"}  # no one-shot container whose exit would end the stack
    build = sandbox["build"]
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).is_file()
    assert build["args"] == {"BASE": "${BASE:-python:3.12-slim}", "WHEELS": "${WHEELS:-pypi}"}
    assert client["image"] == sandbox["image"]
    script = " ".join(sandbox["command"])
    assert "ske-sandbox ca --out /ca --force && cp /ca/ca.pem /ca/truststore.p12 /trust/ &&" in script
    assert "exec ske-sandbox serve --real-hosts --host 0.0.0.0 --port 443 --ca /ca" in script
    assert "net.ipv4.ip_unprivileged_port_start=0" in sandbox["sysctls"]
    # the CA's key is in the volume `ca`: only the sandbox mounts it, clients get the certificate
    assert "ca:/ca" in sandbox["volumes"] and [v for v in client["volumes"] if v.split(":")[0] == "ca"] == []
    assert "trust:/trust:ro" in client["volumes"] and client["environment"]["SSL_CERT_FILE"] == "/trust/ca.pem"
    assert client["command"] == [TEST.issuer] and client["depends_on"] == [host]
    for volume in client["volumes"]:
        source = volume.split(":")[0]
        assert source in doc["volumes"] or (COMPOSE.parent / source).is_file(), volume


def test_the_java_client_line_names_the_truststore_the_ca_command_writes():
    text = (ROOT / "docs" / "deploy.md").read_text()
    assert (f"-Djavax.net.ssl.trustStore=/trust/{TRUSTSTORE} "
            f"-Djavax.net.ssl.trustStorePassword={TRUSTSTORE_PASSWORD}") in text


def test_the_containerfile_runs_the_server_as_a_non_root_user_with_a_healthcheck():
    text = (ROOT / "Containerfile").read_text()
    assert re.search(r"^ARG BASE=python:3\.\d+-slim$", text, re.M)
    user = re.search(r"^USER (\d+):(\d+)$", text, re.M)
    assert user and int(user[1]) != 0
    assert re.search(r"^HEALTHCHECK .*mockserver\.health", text, re.M)
    assert 'ENTRYPOINT ["ske-sandbox"]' in text
    assert 'CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]' in text
    assert (ROOT / ".containerignore").read_text() == (ROOT / ".dockerignore").read_text()


def test_the_readme_never_hands_the_ca_key_to_a_client():
    text = (ROOT / "README.md").read_text()
    for line in text.splitlines():
        if "ca.key.pem" in line:
            assert "stays with the sandbox" in line or "never" in line, line
    assert "mount the CA into the client" not in text
