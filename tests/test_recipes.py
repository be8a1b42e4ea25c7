"""The run-anywhere recipes as written in the README, docs/ and examples: they parse, and they name what the image
and the real-hostname mode really use (variables, aliases, truststore, files)."""

from __future__ import annotations

import ast
import re

import yaml
from support import ROOT

from mockserver.environments import TEST
from mockserver.localca import TRUSTSTORE, TRUSTSTORE_PASSWORD

COMPOSE = ROOT / "examples" / "compose" / "docker-compose.yml"


def _blocks(language: str) -> list[str]:
    """Fenced blocks of the README and the pages it links to under docs/."""
    text = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def test_the_readme_ci_recipes_parse_and_configure_the_service_by_environment():
    docs = [yaml.safe_load(block) for block in _blocks("yaml")]
    github = next(d for d in docs if "jobs" in d)
    service = github["jobs"]["test"]["services"]["ske-sandbox"]
    assert service["ports"] == ["8080:8080"] and service["env"]["SKE_SANDBOX_PUBLIC_URL"] == "http://localhost:8080"
    gitlab = next(d for d in docs if "test" in d and "services" in d["test"])
    (svc,) = gitlab["test"]["services"]
    assert svc["variables"]["SKE_SANDBOX_PUBLIC_URL"] == f"http://{svc['alias']}:8080"


def test_the_readme_python_snippets_are_python():
    for block in _blocks("python"):
        ast.parse(block)


def test_the_compose_file_gives_the_sandbox_every_real_test_hostname_and_the_client_the_ca():
    doc = yaml.safe_load(COMPOSE.read_text())
    services = doc["services"]
    assert (COMPOSE.parent / services["ca"]["build"]["context"] / services["ca"]["build"]["dockerfile"]).is_file()
    assert "ske-sandbox ca --out /ca" in " ".join(services["ca"]["entrypoint"])
    assert "cp /ca/ca.pem /ca/truststore.p12 /trust/" in " ".join(services["ca"]["entrypoint"])
    sandbox = services["sandbox"]
    assert sandbox["command"][:2] == ["serve", "--real-hosts"] and "/ca" in sandbox["command"]
    assert set(sandbox["networks"]["default"]["aliases"]) == set(TEST.hosts.values())
    assert sandbox["depends_on"]["ca"]["condition"] == "service_completed_successfully"
    client = services["client"]
    assert f"-Djavax.net.ssl.trustStore=/trust/{TRUSTSTORE}" in client["command"]
    # the CA's key is in the volume `ca`: only the sandbox mounts it, clients get the certificate
    assert [v for v in client["volumes"] if v.split(":")[0] == "ca"] == []
    assert "ca:/ca:ro" in sandbox["volumes"]
    assert f"-Djavax.net.ssl.trustStorePassword={TRUSTSTORE_PASSWORD}" in client["command"]
    assert client["command"][-1] == TEST.issuer
    assert client["depends_on"]["sandbox"]["condition"] == "service_healthy"
    for volume in client["volumes"]:
        source = volume.split(":")[0]
        assert source in doc["volumes"] or (COMPOSE.parent / source).is_file(), volume


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
