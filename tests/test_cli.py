"""The command line refuses bad configuration with a clear message and exit code 2, never a traceback."""

from __future__ import annotations

import json

import pytest

from mockserver.cli import main


@pytest.mark.parametrize("content,expected", [
    ("clients:\n  - client_id: x\n", "clients.yaml:2: clients[0]: 'orgnr' is a required property"),
    ("clients:\n  - {client_id: x, orgnr: '974761076', x5c: true}\n",
     "clients.yaml:2: clients[0].orgnr: '974761076' is not a synthetic organisation number"),
    ("clients: [\n", "cannot read clients file"),
    ("clients:\n  - client_id: x\n    orgnr: '310000108'\n    scope: [skatteetaten:inntekt]\n",
     "clients.yaml:2: clients[0]: unknown key 'scope' (allowed: access_token_lifetime, certificates, client_id, "
     "jwks, jwks_file, orgnr, scopes, x5c)"),
    ("clients:\n  - client_id: x\n    orgnr: '310000108'\n    scopes: skatteetaten:inntekt\n    x5c: true\n",
     "clients.yaml:4: clients[0].scopes: 'skatteetaten:inntekt' is not an array"),
    ("clients:\n  - client_id: x\n    orgnr: '310000108'\n    x5c: true\n    scopes: [skatteetaten:lonn]\n",
     "clients.yaml:5: clients[0].scopes[0]: 'skatteetaten:lonn' is not one of skatteetaten:summertskattegrunnlag"),
    ("clients:\n  - client_id: x\n    orgnr: '310000108'\n    x5c: true\n    access_token_lifetime: 2min\n",
     "clients.yaml:5: clients[0].access_token_lifetime: '2min' is not an integer"),
    ("clients:\n  - client_id: x\n    orgnr: '310000108'\n    jwks:\n      - {kty: RSA, kid: k1, e: AQAB}\n",
     "clients.yaml:5: clients[0].jwks[0]: 'n' is a required property"),
    ("clients:\n  - client_id: ske-sandbox-demo-1\n    orgnr: '310000108'\n    x5c: true\n",
     "clients.yaml:2: clients[0]: client_id 'ske-sandbox-demo-1' is the built-in demo client's; choose another"),
    ("clients:\n  - {client_id: a, orgnr: '310000108', x5c: true}\n  - {client_id: a, orgnr: '310000108', x5c: true}\n",
     "clients.yaml:3: clients[1]: client_id 'a' is used twice; choose another"),
    ("consumers:\n  - orgnr: '310000108'\n    rettighetspakker: [kommuneboligsosialformal]\n",
     "clients.yaml:3: consumers[0].rettighetspakker[0]: unknown rettighetspakke 'kommuneboligsosialformal'"),
])
def test_bad_clients_file(tmp_path, capsys, content, expected):
    path = tmp_path / "clients.yaml"
    path.write_text(content)
    assert main(["serve", "--clients", str(path), "--population", "10"]) == 2
    assert expected in capsys.readouterr().err


def test_missing_files(tmp_path, capsys):
    assert main(["serve", "--clients", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read clients file" in capsys.readouterr().err
    assert main(["people", "--personas", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read personas" in capsys.readouterr().err


def test_a_key_file_that_is_not_a_pem_key(tmp_path, capsys):
    path = tmp_path / "key.pem"
    path.write_text("not a key")
    assert main(["serve", "--key-file", str(path), "--population", "10", "--port", "0"]) == 2
    assert "not a usable PEM RSA private key" in capsys.readouterr().err


def test_bad_personas_file(tmp_path, capsys):
    path = tmp_path / "personas.yaml"
    path.write_text("personas:\n  - fnr: '15038512671'\n    scenario: real\n")
    assert main(["people", "--personas", str(path)]) == 2
    err = capsys.readouterr().err
    assert "15038512671" in err


@pytest.mark.parametrize("argv", [
    ["serve", "--population", "5000000"],
    ["serve", "--population", "-1"],
    ["serve", "--today", "2026-13-01"],
    ["serve", "--latency", "400ms..50ms"],
    ["serve", "--fault-rate", "2"],
    ["serve", "--log-level", "loud"],
])
def test_bad_options_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_demo_client_json_is_the_registration_the_server_accepts(capsys):
    assert main(["demo-client", "--json", "--seed", "3"]) == 0
    demo = json.loads(capsys.readouterr().out)
    assert set(demo) == {"client_id", "orgnr", "kid", "private_key_pem", "scopes"}
    assert demo["orgnr"][0] in "23"
    assert demo["private_key_pem"].startswith("-----BEGIN PRIVATE KEY-----")


def test_people_json_has_numbers_names_years_and_months(capsys):
    assert main(["people", "--json", "--limit", "30", "--today", "2026-11-27", "--population", "50"]) == 0
    people = json.loads(capsys.readouterr().out)
    assert len(people) == 30
    for p in people:
        assert {"fnr", "name", "years", "months", "scenario"} <= set(p)
    crowd = [p for p in people if p["scenario"] is None]
    assert crowd and all(p["years"] for p in crowd)
