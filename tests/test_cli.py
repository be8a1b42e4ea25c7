"""The command line refuses bad configuration with a clear message and exit code 2, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

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


# --- flags named one way, former spellings still read ---------------------------------------------------

@pytest.mark.parametrize(("command", "new", "old"), [
    ("serve", "--clients-file", "--clients"),
    ("serve", "--personas-file", "--personas"),
    ("serve", "--rettighetspakker-file", "--rettighetspakker"),
    ("serve", "--choices-file", "--choices"),
    ("people", "--count", "--limit"),
    ("verify", "--count", "--max-examples"),
])
def test_a_former_spelling_is_read_but_not_shown(command, new, old, capsys):
    from mockserver.cli import build_parser

    parser = build_parser()
    value = "7" if new == "--count" else "x.yaml"
    extra = ["--url", "http://127.0.0.1:1"] if command == "verify" else []
    as_before = vars(parser.parse_args([command, *extra, old, value]))
    assert as_before == vars(parser.parse_args([command, *extra, new, value]))
    with pytest.raises(SystemExit):
        parser.parse_args([command, "--help"])
    shown = capsys.readouterr().out
    assert new in shown and f"{old} " not in shown and f"{old}\n" not in shown


def test_every_file_option_ends_in_file_and_every_how_many_is_count():
    from mockserver.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.choices and "serve" in a.choices)
    directories, reports = {"--out", "--ca"}, {"--junit"}  # a folder, and a report named after its format
    for name, command in sub.choices.items():
        for action in command._actions:
            shown = [s for s in action.option_strings if action.help != "==SUPPRESS=="]
            for spelling in shown:
                if action.type is Path and spelling not in directories | reports:
                    assert spelling.endswith("-file"), (name, spelling)
                assert spelling not in ("--limit", "--max-examples"), (name, spelling)


def test_verify_wants_an_address():
    assert main(["verify"]) == 2
