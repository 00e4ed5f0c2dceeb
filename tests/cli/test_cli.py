"""The credanchor CLI through click's runner, on the embedded chain in tmp_path."""

from __future__ import annotations

import json

import click

from credanchor.cli.errors import EXIT_ERROR, EXIT_INVALID
from credanchor.entry import main
from kit.settings import EXAMPLES


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
    assert text.count("VALID") == 4 + 1  # four rows, and the summary's "4 VALID" (stderr)
    assert "verified 4 file(s): 4 VALID" in text

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
    # A suspended issuer issues nothing from the CLI either (the API answers 403).
    text = cli("issue", str(EXAMPLES / "badge.json"), "--issuer", rows[1]["address"],
               code=EXIT_ERROR)
    assert text.startswith("error: issuer 2 (Acme Academy) is suspended") and text.count("\n") == 1
    assert "accredited on chain" in cli("issuer", "reactivate", rows[1]["address"])
    rows = [json.loads(line) for line in cli("issuer", "list", "--json").splitlines()]
    assert rows[1]["accredited"] is True and rows[1]["status"] == "active"
    assert "accepted 1" in cli("issue", str(EXAMPLES / "badge.json"), "--issuer", "2")
    cfg = cli("config")
    assert "keystore_password = ****" in cfg and "cli-test-password" not in cfg


def test_errors_are_one_line_and_nonzero(cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name\nx\n")
    text = cli("issue", str(bad), code=EXIT_ERROR)
    assert text.startswith("error: CSV header lacks") and text.count("\n") == 1
    text = cli("verify", str(tmp_path / "missing"), code=EXIT_ERROR)
    assert "no such file" in text


def _crafted_qualification(badge: dict, *, width: int, depth: int) -> dict:
    """A file shaped like a stacked qualification (docs/stacking.md), ``width`` components a
    level, ``depth`` levels, around a real anchored badge: nothing in it is genuine, but each
    level would be verified against the chain."""
    if depth == 0:
        return badge
    doc = dict(badge)
    inner = _crafted_qualification(badge, width=width, depth=depth - 1)
    doc["credanchorStack"] = {
        "type": "CredanchorStack2026", "stackedAt": "2026-03-02T09:30:00Z",
        "definition": {"id": "urn:uuid:x", "stack": "x", "version": 1,
                       "definitionHash": "0x" + "00" * 32, "document": badge},
        "components": [{"requirement": f"c{i}", "credentialHash": "0x" + "00" * 32,
                        "credential": inner} for i in range(width)],
    }
    return doc


def test_verify_reports_every_file_of_a_folder_with_crafted_ones(cli, tmp_path):
    """Issue 12: a date unrepresentable in UTC printed a traceback and ended the run; a
    crafted qualification of 290 credentials was verified credential by credential. Both are
    now one INVALID line, and every other file is still reported."""
    out = tmp_path / "badges"
    cli("issue", str(EXAMPLES / "badges.csv"), "--anchor", "--out", str(out))
    good = sorted(out.glob("*.json"))
    badge = json.loads(good[0].read_text())
    (out / "zz-date-from.json").write_text(json.dumps(
        {**badge, "validFrom": "0001-01-01T00:00:00+00:01"}))
    (out / "zz-date-until.json").write_text(json.dumps(
        {k: v for k, v in badge.items() if k != "proof"} | {
            "validUntil": "9999-12-31T23:59:59-23:59"}))
    (out / "zz-deep.json").write_text(json.dumps(_crafted_qualification(badge, width=16,
                                                                        depth=2)))
    text = cli("verify", str(out), code=EXIT_INVALID)
    lines = {line.split()[1].rsplit("/", 1)[-1]: line for line in text.splitlines()
             if line[:1] != " " and not line.startswith(("STATUS ", "verified "))}
    assert len(lines) == len(good) + 3
    assert all(lines[p.name].startswith("VALID") for p in good)
    assert lines["zz-date-from.json"].startswith("INVALID")
    assert "validity: The badge has no readable start date (validFrom)" in \
        lines["zz-date-from.json"]
    assert lines["zz-date-until.json"].startswith("INVALID")  # no proof, yet not PENDING
    assert "validity: The badge's end date (validUntil) is unreadable" in \
        lines["zz-date-until.json"]
    assert lines["zz-deep.json"].startswith("INVALID")
    assert "this holds more than 256 credentials to verify" in lines["zz-deep.json"]


def test_verify_says_a_file_without_proof_is_not_confirmed(cli, tmp_path):
    out = tmp_path / "b"
    cli("issue", str(EXAMPLES / "badge.json"), "--anchor", "--out", str(out))
    [file] = list(out.glob("*.json"))
    made_up = tmp_path / "made-up.json"
    signed = json.loads(file.read_text())  # kept: the issuer's signature; dropped: the anchor
    made_up.write_text(json.dumps(dict(signed, proof=[
        p for p in signed["proof"] if p["type"] != "CredanchorMerkleProof2026"])))
    text = cli("verify", str(made_up), code=EXIT_INVALID)
    assert text.splitlines()[1].startswith(  # after the header
        f"PENDING  {made_up}  integrity: Nothing about this file is "
        "confirmed: it carries no blockchain proof")


# -- one CLI (issue 13): one exit-code table, one verify, use cases shared with the API ------


def test_usage_errors_exit_2_for_credanchor_and_the_scripts_alike(cli):
    """scripts/*.py answered a usage error with 3 and `credanchor` with 2 (click's own); one
    table now: 2 for both, whichever way the command runs."""
    import subprocess
    import sys

    from credanchor.cli.auditing import audit_command
    from credanchor.cli.errors import EXIT_USAGE, run
    from credanchor.cli.verifying import verify_command
    from kit.settings import ROOT

    assert EXIT_USAGE == 2
    assert "No such option" in cli("verify", "--no-such-option", "x", code=EXIT_USAGE)
    assert run(verify_command, ["--no-such-option", "x"]) == EXIT_USAGE
    assert run(audit_command, ["--step", "0"]) == EXIT_USAGE
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "verify.py")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == EXIT_USAGE and "Missing argument 'INPUTS...'" in r.stderr


def test_interrupted_is_130_for_credanchor_as_for_the_scripts(cli, monkeypatch):
    """Injected fault: a Ctrl-C cannot be typed into click's runner, so collecting the files
    raises KeyboardInterrupt. `credanchor` used to print click's `Aborted!` and exit 1 — the
    code of "some credential not VALID"."""
    import credanchor.verify.bulk as bulk
    from credanchor.cli.errors import EXIT_INTERRUPTED

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(bulk, "collect_paths", interrupted)
    assert cli("verify", "anything.json", code=EXIT_INTERRUPTED) == "interrupted\n"


def test_credanchor_verify_reads_listings_and_refuses_rpc_options_without_rpc(cli, tmp_path):
    """One verify: `credanchor verify` takes what scripts/verify.py takes (a CSV listing, a
    glob, --problems-only), on the service's chain; the options that choose another chain
    reader need --rpc."""
    out = tmp_path / "badges"
    cli("issue", str(EXAMPLES / "badges.csv"), "--anchor", "--out", str(out))
    names = sorted(p.name for p in out.glob("*.json"))
    listing = tmp_path / "listing.csv"
    listing.write_text("path\n" + "".join(f"badges/{n}\n" for n in names[:2]))
    text = cli("verify", str(listing), str(out / "*.json"))
    rows = [line for line in text.splitlines() if line.startswith("VALID ")]
    assert len(rows) == 4  # the two listed files are not verified twice
    assert "verified 4 file(s): 4 VALID" in text
    header, summary = cli("verify", "--problems-only", str(out)).splitlines()
    assert header.split() == ["STATUS", "FILE", "DETAIL"]  # no VALID row
    assert summary.startswith("verified 4 file(s): 4 VALID")
    text = cli("verify", "--contract", "0x" + "11" * 20, str(out), code=EXIT_ERROR)
    assert text == ("error: --contract need(s) --rpc; without it the service's own chain and "
                    "settings are used\n")
    # processes are for the --rpc reader; the service's own verifier runs in this process
    text = cli("verify", "-j", "2", str(out), code=EXIT_ERROR)
    assert text == ("error: --workers need(s) --rpc; without it the service's own chain and "
                    "settings are used\n")


def test_status_counts_batches_by_status_in_one_query(cli, tmp_path):
    cli("issue", str(EXAMPLES / "badges.csv"), "--anchor")
    cli("issue", str(EXAMPLES / "badge.json"), "--anchor")
    text = cli("status")
    assert "batches    queued 0, submitted 0, confirmed 2, failed 0" in text
    assert "pending    0 credential(s)" in text and " batch 2 tx 0x" in text


def test_revoke_reasons_are_the_apis_and_a_bad_batch_id_is_one_line(cli, tmp_path):
    """One revocation use case: the CLI accepts the API's reason names and codes 0-255 with
    the API's message for anything else; a batch id that is not a number was a traceback
    (ValueError from int())."""
    out = tmp_path / "b"
    cli("issue", str(EXAMPLES / "badges.csv"), "--anchor", "--out", str(out))
    first, second, *_ = sorted(out.glob("*.json"))
    text = cli("revoke", json.loads(first.read_text())["id"], "--reason", "bogus",
               code=EXIT_ERROR)
    assert text == ("error: reason must be one of unspecified, issued-in-error, superseded, "
                    "misconduct, key-compromise, withdrawn or an integer 0-255\n")
    text = cli("revoke", json.loads(first.read_text())["id"], "--reason", "256",
               code=EXIT_ERROR)
    assert text.startswith("error: reason must be one of") and text.count("\n") == 1
    text = cli("revoke", "twelve", "--batch", code=EXIT_ERROR)
    assert text == "error: a batch id is a number, not 'twelve'\n"
    assert "revocation queued" in cli("revoke", json.loads(second.read_text())["id"],
                                      "--reason", "7", "--no-wait")
    assert "revoked on chain" in cli("revoke", json.loads(first.read_text())["id"],
                                     "--reason", "superseded")
    report = json.loads(cli("verify", "--json", str(second), code=EXIT_INVALID).splitlines()[0])
    assert report["status"] == "REVOKED"


def test_the_faces_never_import_each_other():
    """cli/ and web/ are both faces over the use cases; only credanchor.entry knows both."""
    import ast
    from pathlib import Path

    import credanchor

    package = Path(credanchor.__file__).parent

    def imported(folder: str) -> set[str]:
        names: set[str] = set()
        for path in (package / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module:
                    names.add(node.module)
                elif isinstance(node, ast.Import):
                    names.update(a.name for a in node.names)
        return names

    assert not {m for m in imported("cli") if m.startswith("credanchor.web")}
    assert not {m for m in imported("web") if m.startswith("credanchor.cli")}
