"""Hardening of the `credanchor` command (issue 12), through click's runner on the embedded chain.

* Terminal injection: text from a file (a proof's member names, file names, a component's
  name, a CSV header, a TOML value) reaches the terminal escaped, so it cannot rewrite the
  line it is on: an INVALID badge can never be made to show as VALID.
* Path traversal: `issue --out` writes holder files only inside --out, whatever the
  credential ids; ids that are not absolute URIs are refused, each item named.
* A bulk `verify` reports every file, even when verifying one of them fails unexpectedly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from credanchor.cli import main
from credanchor.cli.errors import EXIT_ERROR, EXIT_INVALID
from credanchor.core.credentials import (
    AchievementSpec,
    IssuerProfile,
    Recipient,
    build_credential,
)
from credanchor.core.hashing import canonicalize, keccak256
from credanchor.errors import InvalidInput
from credanchor.usecases.issuing import write_holder_files
from credanchor.verify.verifier import Verifier
from kit.settings import EXAMPLES
from kit.terminal import assert_terminal_safe, screen

#: A proof member name that, printed raw, returns to the start of the line, erases it and
#: writes a VALID line in its place; then a right-to-left override and rich markup.
FORGE = "\r\x1b[2KVALID    badges/forged.json\u202e[bold red]genuine[/]"


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("CREDANCHOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CREDANCHOR_KEYSTORE_PASSWORD", "cli-test-password")
    monkeypatch.setenv("CREDANCHOR_KDF_WORK_FACTOR", "1024")
    runner = CliRunner()

    def run(*args, code=0):
        # color=True: click keeps escape sequences, as it does on a terminal
        result = runner.invoke(main, list(args), catch_exceptions=False, color=True)
        assert result.exit_code == code, result.output
        return result

    return run


@pytest.fixture
def badges(cli, tmp_path) -> list[Path]:
    """Four genuine, anchored holder files."""
    out = tmp_path / "badges"
    cli("issue", str(EXAMPLES / "badges.csv"), "--anchor", "--out", str(out))
    files = sorted(out.glob("*.json"))
    assert len(files) == 4
    return files


def _rows_by_status(output: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in screen(output):
        status = row.split(" ", 1)[0]
        found.setdefault(status, []).append(row)
    return found


# -- terminal injection -----------------------------------------------------------------------


def test_verify_escapes_file_text_so_no_line_can_be_forged(cli, badges, tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    doc = json.loads(badges[0].read_text())
    doc["proof"][-1][FORGE] = "x"  # the anchor proof, after the issuer's signature
    (folder / "forged.json").write_text(json.dumps(doc), encoding="utf-8")
    # a genuine badge under a file name that carries control characters itself
    odd_name = "ok\x1b[2K\r\u202egenuine.json"
    shutil.copy(badges[1], folder / odd_name)
    shutil.copy(badges[2], folder / "plain.json")

    result = cli("verify", str(folder), code=EXIT_INVALID)
    assert_terminal_safe(result.output)
    rows = _rows_by_status(result.stdout)
    # what the terminal shows: the forged file's line still says INVALID, and only the two
    # genuine files are VALID
    [forged] = rows["INVALID"]
    # the FILE column is padded to the longest name
    assert re.match(rf"INVALID  {re.escape(str(folder / 'forged.json'))} *  integrity: ", forged)
    assert r"proof[1].\r\x1b[2KVALID    badges/forged.json\u202e[bold red]genuine[/]: is not " \
           "a member" in forged
    assert sorted(rows["VALID"]) == sorted([
        f"VALID    {folder}/ok\\x1b[2K\\r\\u202egenuine.json",
        f"VALID    {folder / 'plain.json'}",
    ])

    # --json keeps the exact text (JSON escapes it) for programs
    lines = cli("verify", "--json", str(folder / "forged.json"), code=EXIT_INVALID).stdout
    assert_terminal_safe(lines)
    report = json.loads(lines)
    assert any(FORGE in c["message"] for c in report["checks"])


def test_error_messages_and_settings_are_escaped(cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text('achievement_name,achievement_description,"x\r\x1b[2Kaccepted 1000"\n'
                   "x,y,z\n", encoding="utf-8")
    result = cli("issue", str(bad), code=EXIT_ERROR)
    assert result.output == ("error: CSV header has unknown column(s): "
                             "x\\r\\x1b[2Kaccepted 1000\n")

    toml = tmp_path / "settings.toml"
    toml.write_text('explorer_url = "https://scan.example/\\u001b]0;pwned\\u0007\\u202e"\n',
                    encoding="utf-8")
    result = cli("--config", str(toml), "config")
    assert_terminal_safe(result.output)
    assert r"https://scan.example/\x1b]0;pwned\x07\u202e" in result.output


@pytest.mark.slow
def test_stack_tree_and_check_escape_component_text(cli, tmp_path):
    badges = tmp_path / "sbadges"
    cli("issue", str(EXAMPLES / "stack-badges.json"), "--anchor", "--out", str(badges))
    cli("stack", "publish", str(EXAMPLES / "stack-data-analyst.json"), "--anchor")
    out = tmp_path / "qual"
    cli("stack", "issue", "data-analyst", str(badges), "--recipient", "ada@example.org",
        "--anchor", "--out", str(out))
    [qualification] = out.glob("*.json")
    doc = json.loads(qualification.read_text())
    component = doc["credanchorStack"]["components"][0]["credential"]
    component["credentialSubject"]["achievement"]["name"] = "\r\x1b[2K  ├ VALID    “Forged”"
    forged = tmp_path / "forged-qualification.json"
    forged.write_text(json.dumps(doc), encoding="utf-8")

    result = cli("verify", str(forged), code=EXIT_INVALID)
    assert_terminal_safe(result.output)
    rows = screen(result.stdout)[1:]  # after the header
    assert rows[0].startswith("INVALID  ")
    assert "“\\r\\x1b[2K  ├ VALID    “Forged”” from Demo Issuer is not the badge" in rows[0]
    tampered = [r for r in rows[1:] if r.lstrip("│ ").startswith("├") and "Forged" in r]
    assert len(tampered) == 1
    assert tampered[0].startswith("  ├ INVALID  “\\r\\x1b[2K  ├ VALID    “Forged””")

    # stack check prints the names of the presented badge files
    badge = next(p for p in badges.glob("*.json")
                 if "Excel" in p.read_text(encoding="utf-8"))
    odd = json.loads(badge.read_text())
    odd["credentialSubject"]["achievement"]["name"] = "Excel\r\x1b[2K  #1 VALID  \u202e"
    presented = tmp_path / "presented.json"
    presented.write_text(json.dumps(odd), encoding="utf-8")
    result = cli("stack", "check", "data-analyst", str(presented), "--recipient",
                 "ada@example.org", code=EXIT_INVALID)
    assert_terminal_safe(result.output)
    [row] = [r for r in screen(result.stdout) if r.startswith("  #1")]
    assert row.startswith("  #1 INVALID  Excel\\r\\x1b[2K  #1 VALID  \\u202e (")


# -- path traversal ---------------------------------------------------------------------------


def _issuer_profile(cli) -> IssuerProfile:
    [row] = [json.loads(line) for line in cli("issuer", "list", "--json").stdout.splitlines()]
    chain_id = int(re.search(r"chain\s+(\d+)", cli("status").stdout).group(1))
    return IssuerProfile(row["address"], chain_id, row["name"], did=row["did"])


def _complete(profile: IssuerProfile, credential_id: str) -> dict:
    return build_credential(
        issuer=profile, recipient=Recipient(name="Ada Lovelace", email="ada@example.org"),
        achievement=AchievementSpec(name="Excel Modelling", description="Models in sheets.",
                                    criteria_narrative="Passed."),
        credential_id=credential_id)


def _all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_issue_refuses_ids_that_are_not_uris_and_writes_only_inside_out(cli, tmp_path):
    profile = _issuer_profile(cli)  # also opens the ledger, so the data folder exists now
    work = tmp_path / "work" / "deep"
    work.mkdir(parents=True)
    out = work / "out"
    absolute = str(tmp_path / "abs")  # an absolute path (under /tmp)
    good = f"urn:uuid:{uuid.uuid4()}"
    weird = "https://example.org/badges/../../x?y=../../z#/etc/passwd"
    batch = work / "batch.json"
    batch.write_text(json.dumps([_complete(profile, i) for i in
                                 (good, "../../escaped-by-id", absolute, weird)]))
    before = _all_files(tmp_path)

    result = cli("issue", str(batch), "--anchor", "--out", str(out), code=EXIT_ERROR)
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: $[1]: $.id: '../../escaped-by-id' is not an absolute URI (scheme:rest, "
        "e.g. urn:uuid:…)",
        f"error: $[2]: $.id: '{absolute}' is not an absolute URI (scheme:rest, e.g. "
        "urn:uuid:…)",
        "error: 2 of 4 item(s) refused; nothing was issued",
    ]
    assert not out.exists() and not Path(absolute + ".json").exists()
    assert not (tmp_path / "escaped-by-id.json").exists()
    assert {p for p in _all_files(tmp_path) - before
            if "data" not in p.relative_to(tmp_path).parts} == set()
    assert "pending    0 credential(s)" in cli("status").stdout

    from credanchor.issuing.holder_files import holder_file_name

    batch.write_text(json.dumps([_complete(profile, i) for i in (good, weird)]))
    text = cli("issue", str(batch), "--anchor", "--out", str(out)).stdout
    assert "wrote 2 credential file(s)" in text
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted([holder_file_name(good), holder_file_name(weird)])
    assert holder_file_name(good) == good.replace(":", "-") + ".json"  # the format as before
    assert re.fullmatch(r"https-example\.org-badges-x-y-z-etc-passwd-[0-9a-f]{16}\.json",
                        holder_file_name(weird))
    assert {json.loads((out / n).read_text())["id"] for n in written} == {good, weird}
    assert {p for p in _all_files(tmp_path) - before
            if "data" not in p.relative_to(tmp_path).parts} == {out / n for n in written}
    assert cli("verify", str(out)).stdout.count("VALID") == 2


def test_issue_checks_the_whole_file_and_names_items_by_their_place_in_it(cli, tmp_path,
                                                                          monkeypatch):
    """The file used to be issued in separately committed chunks (of the request maximum):
    a bad item kept the chunks before it and was named by its index within its chunk."""
    monkeypatch.setenv("CREDANCHOR_MAX_CREDENTIALS_PER_REQUEST", "2")
    items = [{"recipient": {"name": f"Learner {i}"},
              "achievement": {"name": "Excel", "description": "Models.", "criteria": "Passed."}}
             for i in range(6)]
    items[3]["recipient"] = {"email": "not-an-address"}
    items[5]["achievement"] = "Excel"
    path = tmp_path / "items.json"
    path.write_text(json.dumps(items))
    result = cli("issue", str(path), code=EXIT_ERROR)
    assert result.stderr.splitlines() == [
        "error: $[3].recipient: not an email address: 'not-an-address'",
        "error: $[5].achievement is required and must be an object",
        "error: 2 of 6 item(s) refused; nothing was issued",
    ]
    assert "pending    0 credential(s)" in cli("status").stdout
    del items[5], items[3]
    path.write_text(json.dumps(items))
    assert "accepted 4 credential(s)" in cli("issue", str(path)).stdout


def test_a_large_file_is_built_by_several_processes_with_the_same_answers(cli, tmp_path):
    """`credanchor issue` spreads a file of more than one chunk (5,000 badges) over one process
    per CPU (`-j N`); what it refuses, and how it names each bad item, is what one process
    says, and every badge is stored in file order."""
    items = [{"recipient": {"name": f"Learner {i}"},
              "achievement": {"name": "Excel", "description": "Models.", "criteria": "Passed."}}
             for i in range(5_003)]
    for i in (4_999, 5_001):  # one on each side of the chunk boundary
        items[i]["recipient"] = {"email": f"bad-{i}"}
    path = tmp_path / "cohort.json"
    path.write_text(json.dumps(items))
    one = cli("issue", str(path), "-j", "1", code=EXIT_ERROR)
    two = cli("issue", str(path), "-j", "2", code=EXIT_ERROR)
    assert one.stderr == two.stderr and two.stderr.splitlines() == [
        "error: $[4999].recipient: not an email address: 'bad-4999'",
        "error: $[5001].recipient: not an email address: 'bad-5001'",
        "error: 2 of 5003 item(s) refused; nothing was issued",
    ]
    assert "pending    0 credential(s)" in cli("status").stdout
    del items[5_001], items[4_999]
    path.write_text(json.dumps(items))
    assert "accepted 5001 credential(s)" in cli("issue", str(path), "-j", "2").stdout
    assert "pending    5001 credential(s)" in cli("status").stdout
    from credanchor.ledger.store import Store

    store = Store(tmp_path / "data" / "ledger.sqlite")
    names = [json.loads(d)["credentialSubject"]["name"] for (d,) in store.conn.execute(
        "SELECT document FROM credential_documents ORDER BY seq")]
    store.close()
    assert names == [f"Learner {i}" for i in range(5_003) if i not in (4_999, 5_001)]


def test_holder_files_of_any_stored_id_stay_inside_out(runtime, local_issuer, tmp_path):
    """Ids already in a ledger (accepted before ids had to be URIs) still name safe files;
    a symlink planted in --out is not followed."""
    profile = runtime.issuer_profile(local_issuer)
    ids = ["../../escaped-by-id", str(tmp_path / "abs-stored"), "..", "a:b/../../c", "urn:uuid:x/../y",
           "\x1b[2K\u202e", "x" * 500, "urn:x:a-b", "urn-x:a:b",  # the same plain name
           f"urn:uuid:{uuid.uuid4()}"]
    rows = []
    for cid in ids:
        body = canonicalize(_complete(profile, cid))
        rows.append((cid, keccak256(body), body.decode()))
    runtime.store().add_credentials(local_issuer.id, rows)
    runtime.anchorer().run_until_idle(timeout=60)
    out = tmp_path / "a" / "b" / "out"

    assert write_holder_files(runtime, ids, out) == len(ids)
    files = sorted(out.iterdir())
    assert len(files) == len(ids)
    for f in files:
        assert f.parent == out and ".." not in f.name and len(f.name) < 120
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.json", f.name)
    assert {json.loads(f.read_text())["id"] for f in files} == set(ids)
    assert [p for p in tmp_path.rglob("*") if p.is_file() and out not in p.parents
            and "data" not in p.relative_to(tmp_path).parts] == []

    from credanchor.issuing.holder_files import holder_file_name

    outside = tmp_path / "outside.json"
    outside.write_text("untouched")
    (out / holder_file_name(ids[-1])).unlink()
    os.symlink(outside, out / holder_file_name(ids[-1]))
    with pytest.raises(InvalidInput, match="outside"):
        write_holder_files(runtime, ids[-1:], out)
    assert outside.read_text() == "untouched"


# -- every file reported ------------------------------------------------------------------------


def test_verify_reports_every_file_when_one_crashes_the_verifier(cli, badges, tmp_path):
    """A genuine fault: a date with an offset that lands before year 1 made the date parser
    raise OverflowError, which ended the whole run with a traceback. Fixed at its source
    elsewhere (then the file is INVALID); either way every file must be reported."""
    doc = json.loads(badges[0].read_text())
    doc["validFrom"] = "0001-01-01T00:00:00+01:00"
    crafted = tmp_path / "early.json"
    crafted.write_text(json.dumps(doc))

    result = cli("verify", str(crafted), *map(str, badges[1:]), code=EXIT_INVALID)
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["STATUS", "FILE", "DETAIL"]
    assert len(rows) == 4
    assert rows[0].split()[0] in ("ERROR", "INVALID") and rows[0].split()[1] == str(crafted)
    assert [r.split()[:2] for r in rows[1:]] == [["VALID", str(p)] for p in badges[1:]]
    assert "Traceback" not in result.output


def test_verify_reports_an_unexpected_fault_as_error(cli, badges, monkeypatch):
    """Injected fault (no file is known to raise once dates are fixed at their source, so the
    failure is injected): the verifier raises an unexpected exception for one document."""
    real = Verifier.verify

    def flaky(self, credential, **options):
        if credential.get("id") == boom:
            raise RuntimeError("broken\r\x1b[2KVALID    all good")
        return real(self, credential, **options)

    boom = json.loads(badges[1].read_text())["id"]
    monkeypatch.setattr(Verifier, "verify", flaky)
    result = cli("verify", *map(str, badges), code=EXIT_INVALID)  # not 4: the chain is fine
    assert_terminal_safe(result.output)
    rows = screen(result.stdout)[1:]  # after the header
    assert len(rows) == 5 and rows[-1] == ""
    assert rows[1] == (f"ERROR    {badges[1]}  could not be verified (an internal error; "
                       "please report it): RuntimeError: broken\\r\\x1b[2KVALID    all good")
    assert [r.split()[0] for r in rows[:4]] == ["VALID", "ERROR", "VALID", "VALID"]

    lines = cli("verify", "--json", *map(str, badges), code=EXIT_INVALID).stdout.splitlines()
    answers = [json.loads(line) for line in lines]
    assert [a["status"] for a in answers] == ["VALID", "ERROR", "VALID", "VALID"]
    assert answers[1]["error"].endswith("RuntimeError: broken\r\x1b[2KVALID    all good")


def test_api_refuses_ids_that_are_not_uris(client, auth, runtime, local_issuer):
    """The same rule where the service accepts complete credentials: 422, the item named."""
    profile = runtime.issuer_profile(local_issuer)
    good = _complete(profile, f"urn:uuid:{uuid.uuid4()}")
    for body, where in ((_complete(profile, "../../escaped-by-id"), "$"),
                        ([good, _complete(profile, "/tmp/abs")], "$[1]")):
        r = client.post("/api/v1/credentials", json=body, headers=auth)
        assert r.status_code == 422 and r.mimetype == "application/problem+json"
        problem = r.get_json()
        assert problem["code"] == "schema-invalid"
        assert problem["detail"].startswith(f"{where}: $.id: '")
        assert "is not an absolute URI" in problem["detail"]
    assert runtime.store().pending_summary()[0] == 0
    r = client.post("/api/v1/credentials", json=[good], headers=auth)
    assert r.status_code == 202 and r.get_json()["credentials"][0]["id"] == good["id"]
