"""The pure part of stacking (credanchor.core.stacks): definition documents, their hash, rule evaluation."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest

from credanchor.core.credentials import IssuerProfile, issuer_did
from credanchor.core.hashing import canonicalize, keccak256
from credanchor.core.stackrules import Candidate, evaluate
from credanchor.core.stacks import (
    definition_document,
    definition_hash,
    parse_definition,
)
from credanchor.errors import InvalidInput, SchemaInvalid
from kit.stacks import ACHIEVEMENTS, data_analyst, data_literacy

ACME = IssuerProfile(address="0x70997970C51812dc3A010C7d01b50e0d17dc79C8", chain_id=31337,
                     name="Acme Academy")
OTHER = issuer_did(31337, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC")
STRANGER = issuer_did(31337, "0x90F79bf6EB2c4f870365E785982E1f101E93b906")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def define(body):
    return parse_definition(definition_document(
        body, profile=ACME, version=1, definition_id="urn:uuid:00000000-0000-4000-8000-00000000d3f1",
        published=NOW - timedelta(days=10)))


def cand(i, key, *, issuer=None, age=30, status="VALID", recipient_ok=True, valid_until=None):
    achievement = ACHIEVEMENTS[key][0] if key in ACHIEVEMENTS else key
    return Candidate(i, f"urn:uuid:{i}", "0x" + f"{i:064x}", ACHIEVEMENTS.get(key, (0, key))[1],
                     achievement, issuer or ACME.did, None, NOW - timedelta(days=age),
                     valid_until, status=status, recipient_ok=recipient_ok)


def test_the_document_reads_back_and_its_hash_is_the_credential_hash():
    d = define(data_literacy([OTHER]))
    assert (d.stack, d.version, d.issuer, d.name) == (
        "data-literacy", 1, ACME.did, "Data Literacy")
    assert d.rule.require == 2 and d.rule.groups == (("core", 1),)
    assert d.rule.accepted_issuers == (OTHER,) and d.rule.max_age_days == 365
    assert d.rule.describe() == "2 of 4 components, at least 1 from group “core”"
    assert d.achievement["achievementType"] == "MicroCredential"
    # the hash is keccak256 of the RFC 8785 bytes, key order and anchor proof notwithstanding
    assert d.hash == keccak256(canonicalize(dict(d.document)))
    shuffled = dict(reversed(list(copy.deepcopy(dict(d.document)).items())))
    shuffled["proof"] = [{"type": "CredanchorMerkleProof2026"}]
    assert definition_hash(shuffled) == d.hash
    changed = copy.deepcopy(dict(d.document))
    changed["rule"]["require"] = 1
    assert definition_hash(changed) != d.hash
    assert parse_definition(changed).rule.require == 1


def test_bare_addresses_become_dids_on_the_issuers_chain():
    d = define(data_analyst(["0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc", OTHER]))
    assert d.rule.accepted_issuers == (OTHER,)
    assert d.rule.all_required and d.rule.describe() == "all 3 components"


@pytest.mark.parametrize("change,detail", [
    (lambda b: b.update(stack="Data Analyst"),
     "$.stack: lower-case letters, digits and '-', at most 63 (e.g. data-analyst)"),
    (lambda b: b.update(extra=1), "$: unknown field(s) extra"),
    (lambda b: b["rule"].update(require=0), "$.rule.require: must be an integer from 1 to 3"),
    (lambda b: b["rule"].update(require=True), "$.rule.require: must be an integer from 1 to 3"),
    (lambda b: b["rule"].update(components=[]), "$.rule.components: must be a non-empty list"),
    (lambda b: b["rule"]["components"].append(dict(b["rule"]["components"][0], key="again")),
     "$.rule.components[3].achievement: "
     "'https://skills.example/achievements/excel-modelling' is listed twice"),
    (lambda b: b["rule"]["components"][1].update(key="excel"),
     "$.rule.components[1].key: 'excel' is used twice"),
    (lambda b: b["rule"].update(groups=[{"name": "core", "min": 1}]),
     "$.rule.groups: group 'core' asks for 1 but has 0"),
    (lambda b: b["rule"].update(acceptedIssuers=["acme"]),
     "$.rule.acceptedIssuers[0]: not an Ethereum address (0x + 40 hex digits): 'acme'"),
    (lambda b: b["rule"].update(maxAgeDays=0),
     "$.rule.maxAgeDays: must be an integer from 1 to 36500"),
    (lambda b: b["achievement"].pop("id"), "$.achievement.id: must be a non-empty string"),
    (lambda b: b["rule"]["components"][0].pop("achievement"),
     "$.rule.components[0].achievement: must be a non-empty string"),
])
def test_bad_definitions_name_the_member(change, detail):
    body = copy.deepcopy(data_analyst([]))
    change(body)
    with pytest.raises(InvalidInput) as info:
        define(body)
    assert info.value.detail == detail


def test_the_qualifications_achievement_must_pass_the_ob3_schema():
    body = copy.deepcopy(data_analyst([]))
    body["achievement"]["achievementType"] = "Not A Type"
    with pytest.raises(SchemaInvalid, match=r"^\$\.achievement: "):
        define(body)


def test_a_stored_document_is_read_strictly():
    d = define(data_analyst([OTHER]))
    for key, value, detail in (
        ("type", "OpenBadgeCredential", "definition.type: must be 'CredanchorStackDefinition'"),
        ("version", 0, "definition.version: must be an integer from 1 to 1000000"),
        ("issuer", {"id": "https://acme.example"},
         "definition.issuer: an issuer must be named by its DID, got 'https://acme.example'"),
        ("issuer", {"id": "did:pkh:eip155:1:0x12"},
         "definition.issuer: issuer id must be did:pkh:eip155:<chainId>:<address>, got "
         "'did:pkh:eip155:1:0x12'"),
        ("surprise", 1, "definition: unknown field(s) surprise"),
    ):
        doc = dict(copy.deepcopy(dict(d.document)), **{key: value})
        with pytest.raises(InvalidInput) as info:
            parse_definition(doc)
        assert info.value.detail == detail


def test_all_of():
    d = define(data_analyst([OTHER]))
    a = evaluate(d, [cand(0, "excel"), cand(1, "sql", issuer=OTHER), cand(2, "viz")], at=NOW)
    assert a.satisfied and a.usable == 3 and a.missing == () and a.problems == ()
    assert [r.key for r, _ in a.matched] == ["excel", "sql", "viz"]
    a = evaluate(d, [cand(0, "viz")], at=NOW)
    assert not a.satisfied
    assert [m["key"] for m in a.missing] == ["excel", "sql"]
    assert a.shortfalls == (
        "2 more components are needed: the stack asks for all 3 components and 1 is usable.",)


def test_k_of_n_and_group_minimum():
    d = define(data_literacy([OTHER]))
    assert evaluate(d, [cand(0, "excel"), cand(1, "stats")], at=NOW).satisfied
    a = evaluate(d, [cand(0, "viz"), cand(1, "stats")], at=NOW)
    assert not a.satisfied and a.usable == 2
    assert a.shortfalls == ("group “core” needs 1 more (at least 1, 0 usable).",)
    a = evaluate(d, [cand(0, "excel"), cand(1, "sql"), cand(2, "viz")], at=NOW)
    assert a.satisfied and a.usable == 3  # more than k is fine


@pytest.mark.parametrize("candidate,problem", [
    (cand(0, "sql", issuer=STRANGER),
     f"its issuer ({STRANGER}) is not accepted by this stack"),
    (cand(0, "sql", recipient_ok=False), "it was awarded to someone else"),
    (cand(0, "sql", status="REVOKED"), "it does not verify as genuine (REVOKED)"),
    (cand(0, "sql", age=400), "it is older than 365 days (awarded 27 April 2025)"),
    (cand(0, "sql", age=-1), "it was not valid yet at the time of stacking"),
    (cand(0, "sql", valid_until=NOW - timedelta(days=1)), "it expired on 31 May 2026"),
    (cand(0, "https://skills.example/achievements/knitting"),
     "its achievement is not one of this stack's components"),
])
def test_each_reason_a_component_does_not_count(candidate, problem):
    d = define(data_literacy([OTHER]))
    a = evaluate(d, [candidate, cand(1, "stats")], at=NOW)
    assert not a.satisfied
    assert a.problems_of(candidate) == (problem,)


def test_a_verifier_re_evaluates_without_statuses_at_the_stacking_time():
    d = define(data_literacy([OTHER]))
    revoked_since = [cand(0, "sql", status="REVOKED"), cand(1, "stats", status="REVOKED")]
    assert evaluate(d, revoked_since, at=NOW, require_valid=False).satisfied
    # the age limit counts from the stacking time, not from today
    old_now = [cand(0, "excel", age=300), cand(1, "viz", age=300)]
    assert evaluate(d, old_now, at=NOW).satisfied
    assert not evaluate(d, old_now, at=NOW + timedelta(days=100)).satisfied


# -- the verified tree, walked once for the CLI and the web page (issue 13) -------------------


def _badge(name: str, *components: dict) -> dict:
    doc: dict = {"issuer": {"id": OTHER, "name": "Other <b>Academy</b>"},
                 "credentialSubject": {"achievement": {"name": name}}}
    if components:
        doc["credanchorStack"] = {"components": [{"credential": c} for c in components]}
    return doc


def _nested_tree():
    """A qualification of two components, the first itself a qualification of two."""
    from credanchor.core.report import Check, Outcome, Report, Status

    def report(status, checks=(), components=(), issuer=None):
        return Report(status, tuple(checks), None, None, issuer, None, tuple(components))

    rule = Check("stack-rule", Outcome.PASS, "Meets the rule.")
    revoked = Check("revocation", Outcome.FAIL, "This badge was revoked.", {"kind": "x"})
    inner = report(Status.REVOKED, [Check("schema", Outcome.PASS, "ok"), rule], [
        report(Status.VALID, [Check("schema", Outcome.PASS, "ok")]),
        report(Status.REVOKED, [revoked], issuer={"name": "Registry Name"}),
    ])
    root = report(Status.REVOKED, [Check("schema", Outcome.PASS, "ok"), rule],
                  [inner, report(Status.VALID, [Check("schema", Outcome.PASS, "ok")])])
    credential = _badge("Root", _badge("Inner", _badge("Leaf 1"), _badge("Leaf 2")),
                        _badge("Second"))
    return root, credential


def test_the_cli_tree_nests_components_and_puts_each_levels_checks_after_them():
    from credanchor.usecases.stacks import tree_lines

    root, credential = _nested_tree()
    assert list(tree_lines(root, credential)) == [
        "  ├ REVOKED  “Inner” from Other <b>Academy</b>",
        "  │ ├ VALID    “Leaf 1” from Other <b>Academy</b>",
        "  │ ├ REVOKED  “Leaf 2” from Registry Name — revocation: This badge was revoked.",
        "  │ stack-rule: pass — Meets the rule.",
        "  ├ VALID    “Second” from Other <b>Academy</b>",
        "  stack-rule: pass — Meets the rule.",
    ]


def test_the_tree_walk_pairs_each_component_report_with_its_carried_file():
    from credanchor.verify.qualifications import component_rows

    root, credential = _nested_tree()
    rows = [(r.depth, r.index, str(r.report.status), r.label)
            for r in component_rows(root, credential)]
    assert rows == [
        (1, 0, "REVOKED", "“Inner” from Other <b>Academy</b>"),
        (2, 0, "VALID", "“Leaf 1” from Other <b>Academy</b>"),
        (2, 1, "REVOKED", "“Leaf 2” from Registry Name"),
        (1, 1, "VALID", "“Second” from Other <b>Academy</b>"),
    ]


def test_the_web_page_nests_the_same_walk():
    from credanchor.web.pages import present

    root, credential = _nested_tree()
    view = present(root, credential)
    assert [c["name"] for c in view["stack_checks"]] == ["stack-rule"]
    assert [(v["status"], v["badge_name"]) for v in view["components"]] == [
        ("REVOKED", "Inner"), ("VALID", "Second")]
    inner = view["components"][0]
    assert [(v["status"], v["badge_name"], v["components"]) for v in inner["components"]] == [
        ("VALID", "Leaf 1", []), ("REVOKED", "Leaf 2", [])]
    assert [c["name"] for c in inner["stack_checks"]] == ["stack-rule"]
    assert inner["components"][1]["issuer_name"] == "Registry Name"


def test_verifying_a_plain_badge_loads_no_service_code():
    """The verify layer imports only core and chain: the stack service (usecases) and the
    faces stay out of a plain verification (issue 13)."""
    import subprocess
    import sys

    code = ("import json, sys, credanchor.verify.verifier; "
            "print(json.dumps(sorted({m.split('.')[1] for m in sys.modules "
            "if m.startswith('credanchor.')})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert set(json.loads(out)) == {"core", "errors", "verify"}
