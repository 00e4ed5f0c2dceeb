"""The credanchor CLI through click's runner, on the embedded chain in tmp_path."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from credanchor.cli import EXIT_ERROR, EXIT_INVALID, main
from support import EXAMPLES


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("CREDANCHOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CREDANCHOR_KEYSTORE_PASSWORD", "cli-test-password")
    monkeypatch.setenv("CREDANCHOR_KDF_WORK_FACTOR", "1024")
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


def walk(group, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from walk(cmd, (*prefix, name))


def test_every_command_has_help_with_an_example():
    missing = [" ".join(path) for path, cmd in walk(main)
               if "Example" not in (cmd.help or "")]
    assert missing == []
    assert "Example" in main.help


def test_issue_anchor_write_files_and_verify(cli, tmp_path):
    out = tmp_path / "badges"
    text = cli("issue", str(EXAMPLES / "badges.csv"), "--anchor", "--out", str(out))
    assert "accepted 4 credential(s)" in text and "wrote 4 credential file(s)" in text
    files = sorted(out.glob("*.json"))
    assert len(files) == 4
    text = cli("verify", str(out))
    assert text.count("VALID") == 4

    lines = cli("verify", "--json", str(files[0])).strip().splitlines()
    assert json.loads(lines[0])["status"] == "VALID"

    doc = json.loads(files[0].read_text())
    doc["validFrom"] = "2020-01-01T00:00:00Z"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    text = cli("verify", str(out), str(bad), code=EXIT_INVALID)
    assert "INVALID" in text and "integrity" in text

    garbage = tmp_path / "garbage.json"
    garbage.write_text("{nope")
    assert "INVALID" in cli("verify", str(garbage), code=EXIT_INVALID)


def test_revoke_then_verify_says_revoked(cli, tmp_path):
    out = tmp_path / "b"
    cli("issue", str(EXAMPLES / "badge.json"), "--anchor", "--out", str(out))
    [file] = list(out.glob("*.json"))
    cred_id = json.loads(file.read_text())["id"]
    assert "revoked on chain" in cli("revoke", cred_id, "--reason", "issued-in-error")
    assert "REVOKED" in cli("verify", str(file), code=EXIT_INVALID)


def test_issuers_status_and_config(cli):
    text = cli("issuer", "add", "Acme Academy", "--url", "https://acme.example")
    assert "accredited on chain: yes" in text
    key = text.strip().splitlines()[-1].split(": ", 1)[1]
    assert key.startswith("cak_")
    rows = [json.loads(line) for line in cli("issuer", "list", "--json").splitlines()]
    assert [r["accredited"] for r in rows] == [True, True]
    assert rows[1]["onChainName"] == "Acme Academy"
    cli("issuer", "suspend", rows[1]["address"])
    rows = [json.loads(line) for line in cli("issuer", "list", "--json").splitlines()]
    assert rows[1]["accredited"] is False and rows[1]["status"] == "suspended"
    assert "pending    0" in cli("status")
    cfg = cli("config")
    assert "keystore_password = ****" in cfg and "cli-test-password" not in cfg


def test_errors_are_one_line_and_nonzero(cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name\nx\n")
    text = cli("issue", str(bad), code=EXIT_ERROR)
    assert text.startswith("error: CSV header lacks") and text.count("\n") == 1
    text = cli("verify", str(tmp_path / "missing"), code=EXIT_ERROR)
    assert "no such file" in text
