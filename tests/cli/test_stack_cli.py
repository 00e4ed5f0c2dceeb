"""`credanchor stack …` and `credanchor verify` on a qualification, through click's runner on the
embedded chain, with the example files a newcomer would use."""

from __future__ import annotations

import json

import pytest

from credanchor.cli.main import EXIT_INVALID
from kit.settings import EXAMPLES

pytestmark = pytest.mark.slow


def test_publish_check_issue_verify_and_revoke(cli, tmp_path):
    badges = tmp_path / "badges"
    cli("issue", str(EXAMPLES / "stack-badges.json"), "--anchor", "--out", str(badges))
    files = {json.loads(p.read_text())["credentialSubject"]["achievement"]["name"]: p
             for p in badges.glob("*.json")}
    assert sorted(files) == ["Data Visualisation", "Excel Modelling", "SQL Basics"]

    text = cli("stack", "publish", str(EXAMPLES / "stack-data-analyst.json"), "--anchor")
    assert text.startswith("published data-analyst version 1: urn:uuid:")
    assert "(all 3 components)" in text and text.endswith("anchored and confirmed\n")
    listed = cli("stack", "list")
    assert "data-analyst" in listed and "anchored" in listed and "Data Analyst" in listed
    row = json.loads(cli("stack", "list", "--json").splitlines()[0])
    assert (row["stack"], row["version"], row["status"]) == ("data-analyst", 1, "anchored")

    text = cli("stack", "check", "data-analyst", str(files["Excel Modelling"]),
               "--recipient", "ada@example.org", code=EXIT_INVALID)
    lines = text.splitlines()
    assert lines[0] == ("NOT eligible for data-analyst version 1 (Data Analyst: all 3 "
                        "components); 1 usable of 3 required")
    assert ("  missing: SQL Basics (https://skills.example/achievements/sql-basics) — no badge "
            "for it was presented") in lines
    assert "  #1 VALID    Excel Modelling (Demo Issuer): fills excel" in lines
    answer = json.loads(cli("stack", "check", "data-analyst", str(badges), "--recipient",
                            "grace@example.org", "--json", code=EXIT_INVALID))
    assert answer["eligible"] is False
    assert {tuple(c["problems"]) for c in answer["components"]} == {
        ("it was awarded to someone else",)}

    text = cli("stack", "check", "data-analyst", str(badges), "--recipient", "ada@example.org")
    assert text.startswith("eligible for data-analyst version 1")

    out = tmp_path / "qualifications"
    text = cli("stack", "issue", "data-analyst", str(badges), "--recipient", "ada@example.org",
               "--name", "Ada Lovelace", "--anchor", "--out", str(out))
    assert "anchored and confirmed" in text
    [qualification] = out.glob("*.json")

    text = cli("verify", str(qualification))
    # the one verify table: a header first and the summary (stderr) last
    header, *lines, summary = text.splitlines()
    assert header.split() == ["STATUS", "FILE", "DETAIL"] and summary.startswith("verified 1 ")
    assert lines[0] == f"VALID    {qualification}"
    # components in the rule's order, whatever order the files came in
    assert lines[1:4] == ["  ├ VALID    “Excel Modelling” from Demo Issuer",
                          "  ├ VALID    “SQL Basics” from Demo Issuer",
                          "  ├ VALID    “Data Visualisation” from Demo Issuer"]
    assert [line.split(":")[0] for line in lines[4:]] == [
        "  stack-definition", "  stack-components", "  stack-recipient", "  stack-rule"]
    report = json.loads(cli("verify", "--json", str(qualification)).splitlines()[0])  # not the summary
    assert [c["status"] for c in report["components"]] == ["VALID"] * 3

    sql_id = json.loads(files["SQL Basics"].read_text())["id"]
    cli("revoke", sql_id, "--reason", "issued-in-error")
    text = cli("verify", str(qualification), code=EXIT_INVALID)
    lines = text.splitlines()[1:]  # after the header
    assert lines[0].startswith(f"REVOKED  {qualification}  stack-components: “SQL Basics” "
                               "from Demo Issuer was revoked by its issuer on ")
    assert lines[2].startswith("  ├ REVOKED  “SQL Basics” from Demo Issuer — revocation: This "
                               "badge was revoked by its issuer")


def test_stack_errors_are_one_line(cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"stack": "Not A Slug"}))
    text = cli("stack", "publish", str(bad), code=3)
    assert text == ("error: $.stack: lower-case letters, digits and '-', at most 63 "
                    "(e.g. data-analyst)\n")
    text = cli("stack", "check", "nothing", str(EXAMPLES / "badge.json"), "--recipient", "x",
               code=3)
    assert text == "error: no stack 'nothing'\n"


def test_a_withdrawn_definition_is_a_one_line_error_and_revokes_its_qualification(cli,
                                                                                   tmp_path):
    """Issue 12: revoking the definition used to leave it granting qualifications."""
    badges = tmp_path / "badges"
    cli("issue", str(EXAMPLES / "stack-badges.json"), "--anchor", "--out", str(badges))
    cli("stack", "publish", str(EXAMPLES / "stack-data-analyst.json"), "--anchor")
    out = tmp_path / "qualifications"
    cli("stack", "issue", "data-analyst", str(badges), "--recipient", "ada@example.org",
        "--name", "Ada Lovelace", "--anchor", "--out", str(out))
    [qualification] = out.glob("*.json")
    definition = json.loads(cli("stack", "list", "--json").splitlines()[0])["id"]
    cli("revoke", definition, "--reason", "withdrawn")
    for command in ("check", "issue"):
        text = cli("stack", command, "data-analyst", str(badges), "--recipient",
                   "ada@example.org", code=3)
        assert text.startswith("error: stack 'data-analyst' version 1 was withdrawn by its "
                               "issuer on ") and text.count("\n") == 1
    lines = cli("verify", str(qualification), code=EXIT_INVALID).splitlines()[1:]  # no header
    assert lines[0].startswith(f"REVOKED  {qualification}  stack-definition: The issuer "
                               "withdrew the stack definition “data-analyst” version 1 on ")
    assert lines[0].endswith(", so the qualification no longer stands.")
