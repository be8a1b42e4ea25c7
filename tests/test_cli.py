"""The command line refuses bad configuration with a clear message and exit code 2, never a traceback."""

from __future__ import annotations

import json

import pytest

from mockserver.cli import main


@pytest.mark.parametrize("content,expected", [
    ("clients:\n  - client_id: x\n", "needs at least client_id and orgnr"),
    ("clients:\n  - {client_id: x, orgnr: '974761076', x5c: true}\n", "must be 9 digits, start with 2 or 3"),
    ("clients: [\n", "cannot read clients file"),
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
