"""Day-one tools: `client new` (never overwrites, merges, says what to do next), `ids`, `demo-client --out`,
`people/person --url`, the error pages behind `error_uri`, and the documented clients example."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives.serialization import pkcs12
from support import TODAY, running_server

from mockserver.app import create_app
from mockserver.cli import main
from mockserver.configfiles import validate
from mockserver.identifiers import is_synthetic_orgnr, is_synthetic_person_number, parse_person_number
from mockserver.maskinporten import registry
from mockserver.maskinporten.clientgen import P12_PASSWORD
from mockserver.settings import Settings
from mockserver.testkit.kit import SandboxKit

ORGNR = "310000108"


def test_client_new_writes_merges_and_never_overwrites(tmp_path, capsys):
    out = tmp_path / "kit"
    assert main(["client", "new", "--client-id", "acme", "--orgnr", ORGNR, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "client_id: acme" in said and "kid:       acme-key-1" in said and "Next steps:" in said
    assert "acting for itself" in said and "--consumer-orgnr" in said
    before = (out / "acme.key.pem").read_text()
    assert main(["client", "new", "--client-id", "acme", "--orgnr", ORGNR, "--out", str(out)]) == 2
    assert "already exist(s); use --force" in capsys.readouterr().err
    assert (out / "acme.key.pem").read_text() == before
    assert main(["client", "new", "--client-id", "acme-x5c", "--orgnr", ORGNR, "--out", str(out), "--x5c"]) == 0
    doc = yaml.safe_load((out / "clients.yaml").read_text())
    assert [c["client_id"] for c in doc["clients"]] == ["acme", "acme-x5c"]
    assert len(doc["consumers"]) == 1
    key, cert, _ = pkcs12.load_key_and_certificates((out / "acme-x5c.p12").read_bytes(), P12_PASSWORD.encode())
    assert key is not None and cert is not None and ORGNR in cert.subject.rfc4514_string()
    app = create_app(Settings(population=5, clients_file=out / "clients.yaml"))  # the server accepts the file
    assert {"acme", "acme-x5c"} <= set(app.state.sandbox.registry.clients)
    assert main(["client", "new", "--client-id", "acme", "--orgnr", ORGNR, "--out", str(out), "--force"]) == 0
    assert (out / "acme.key.pem").read_text() != before


def test_ids_mints_valid_synthetic_numbers(capsys):
    for kind, check in [("orgnr", is_synthetic_orgnr), ("fnr", is_synthetic_person_number),
                        ("dnr", is_synthetic_person_number)]:
        assert main(["ids", kind, "--count", "200", "--seed", "7"]) == 0
        numbers = capsys.readouterr().out.split()
        assert len(numbers) == 200 and all(check(n) for n in numbers)
        if kind == "dnr":
            assert all(parse_person_number(n).d_number for n in numbers)
    main(["ids", "fnr", "--count", "3", "--seed", "1"])
    first = capsys.readouterr().out
    main(["ids", "fnr", "--count", "3", "--seed", "1"])
    assert capsys.readouterr().out == first
    with pytest.raises(SystemExit):
        main(["ids", "fnr", "--count", "0"])


def test_demo_client_out_writes_ready_files(tmp_path, capsys):
    assert main(["demo-client", "--out", str(tmp_path)]) == 0
    demo = json.loads((tmp_path / "demo-client.json").read_text())
    jwk = json.loads((tmp_path / f"{demo['client_id']}.jwk.json").read_text())
    assert jwk["kid"] == demo["kid"] and jwk["kty"] == "RSA"
    assert (tmp_path / f"{demo['client_id']}.key.pem").read_text() == demo["private_key_pem"]
    key, cert, _ = pkcs12.load_key_and_certificates((tmp_path / f"{demo['client_id']}.p12").read_bytes(),
                                                    P12_PASSWORD.encode())
    assert key.public_key().public_numbers().n == int.from_bytes(
        __import__("base64").urlsafe_b64decode(jwk["n"] + "=="), "big")


@pytest.mark.subprocess
def test_people_and_person_ask_a_running_server(capsys):
    world = ["--today", TODAY, "--population", "60"]
    assert main(["people", "--json", "--limit", "40", *world]) == 0
    local = json.loads(capsys.readouterr().out)
    with running_server(*world) as base:
        assert main(["people", "--json", "--limit", "40", "--url", base]) == 0
        remote = json.loads(capsys.readouterr().out)
        assert main(["person", "01928812312", "--url", base]) == 0
        assert "Erik Nilsen (01928812312) SSG-008" in capsys.readouterr().out
        assert main(["person", "04847512461", "--url", base]) == 0
        assert "SSG-007" in capsys.readouterr().out
    assert remote == local
    assert main(["people", "--url", base]) == 2  # the server is gone
    assert "cannot ask the sandbox" in capsys.readouterr().err


def test_error_uri_pages_explain_the_code():
    client = SandboxKit(Settings(population=5)).client
    page = client.get("https://test.maskinporten.no/errors/MP-130")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "JWT lifetime error" in page.text
    assert client.get("/maskinporten/errors/MP-999").status_code == 404
    assert client.app.state.sandbox.journal.entries() == []


def test_the_documented_clients_example_passes_its_own_validation():
    example = re.search(r"::\n\n(.*)", registry.__doc__ or "", re.S).group(1)
    doc = yaml.safe_load("\n".join(line[4:] for line in example.splitlines()))
    validate(Path("registry.py"), doc, {}, "clients")
    assert [c["client_id"] for c in doc["clients"]] == ["my-vendor-client", "my-vendor-x5c"]
