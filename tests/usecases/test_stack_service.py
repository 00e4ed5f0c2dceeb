"""Stacking on real parts (embedded EVM, SQLite ledger): publishing, eligibility, granting, and
verifying the whole tree — every case listed in issue #9."""

from __future__ import annotations

import copy
import json
import sqlite3

import pytest

from credanchor.core import stacks as core_stacks
from credanchor.core.hashing import credential_hash, keccak256, signed_content, to_hex
from credanchor.core.report import Outcome, Status
from credanchor.errors import Conflict, NotEligible, NotFound
from credanchor.usecases import stacks as stacking
from credanchor.verify import qualifications
from credanchor.verify.verifier import Verifier
from kit.schema import same_verdict
from kit.stacks import ADA, GRACE, World, badge, data_analyst

pytestmark = pytest.mark.slow


def outcomes(report) -> dict[str, str]:
    return {c.name: str(c.outcome) for c in report.checks}


# -- definitions ------------------------------------------------------------------------------


def test_a_definition_is_anchored_and_proved_like_a_credential(world: World):
    published = stacking.get_stack(world.runtime, world.acme.id, "data-analyst")
    assert published.status == "anchored"
    doc = published.file
    assert doc is not None and doc["type"] == core_stacks.DEFINITION_TYPE
    # the ledger row's hash is the canonical hash of the document, and its proof says so
    assert credential_hash(doc) == published.credential.credential_hash
    assert doc["proof"][0]["credentialHash"] == to_hex(published.credential.credential_hash)
    v = world.runtime.verifier()
    plain = Verifier(v.trust, v.readers, schema=False)
    report = plain.verify(doc)
    assert report.status == Status.VALID
    assert report.check("issuer").data["name"] == "Acme Academy"
    assert published.definition.rule.describe() == "all 3 components"
    assert published.definition.rule.accepted_issuers == (
        world.runtime.issuer_profile(world.other).did,)


def test_publishing_again_makes_a_new_version_and_leaves_the_old_one(world: World):
    v1 = stacking.get_stack(world.runtime, world.acme.id, "data-analyst", 1)
    body = data_analyst([world.other.address])
    body["rule"]["require"] = 2
    v2 = stacking.publish(world.runtime, world.acme, body)
    assert (v2.definition.stack, v2.definition.version, v2.status) == ("data-analyst", 2, "pending")
    assert v2.definition.id != v1.definition.id
    latest = stacking.get_stack(world.runtime, world.acme.id, "data-analyst")
    assert latest.definition.version == 2
    again = stacking.get_stack(world.runtime, world.acme.id, "data-analyst", 1)
    assert again.credential.credential_hash == v1.credential.credential_hash
    versions = [(p.definition.stack, p.definition.version)
                for p in stacking.list_stacks(world.runtime, world.acme.id)]
    # sorted by stack and version (other tests may have published other stacks already)
    assert versions == sorted(versions)
    assert {("data-analyst", 1), ("data-analyst", 2), ("data-literacy", 1)} <= set(versions)
    # a pending definition cannot be granted yet: its proof has to travel in the file
    with pytest.raises(Conflict, match="not anchored yet"):
        stacking.issue_qualification(world.runtime, world.acme, "data-analyst",
                                     world.files("ada-excel", "ada-sql", "ada-viz"), ADA)
    world.anchor()
    assert stacking.get_stack(world.runtime, world.acme.id, "data-analyst").status == "anchored"
    # another issuer does not see Acme's stacks
    with pytest.raises(NotFound):
        stacking.get_stack(world.runtime, world.other.id, "data-analyst")


def test_an_unaccredited_accepted_issuer_is_refused_at_publication(world: World):
    body = data_analyst(["0x" + "12" * 20])
    body["stack"] = "refused"
    with pytest.raises(Exception, match="not an accredited issuer"):
        stacking.publish(world.runtime, world.acme, body)
    assert world.runtime.store().stack_definitions(world.acme.id, stack="refused") == []


def test_a_published_definition_cannot_be_changed_in_the_ledger(world: World):
    row = stacking.get_stack(world.runtime, world.acme.id, "data-literacy").credential
    conn = world.runtime.store().conn
    changed = row.document.replace('"require":2', '"require":1')
    assert changed != row.document
    with pytest.raises(sqlite3.DatabaseError, match="immutable"):
        conn.execute("UPDATE credential_documents SET document = ? WHERE seq = ?",
                     (changed, row.seq))
    with pytest.raises(sqlite3.DatabaseError, match="immutable"):
        conn.execute("UPDATE credentials SET credential_hash = ? WHERE id = ?",
                     (b"\0" * 32, row.id))
    with pytest.raises(sqlite3.DatabaseError, match="immutable"):
        conn.execute("DELETE FROM stack_definitions WHERE credential_id = ?", (row.id,))


# -- eligibility ------------------------------------------------------------------------------


def test_all_of_lists_every_missing_component(world: World):
    result = stacking.check_eligibility(world.runtime, world.acme, "data-analyst",
                                        world.files("ada-excel"), ADA, version=1)
    body = result.to_dict()
    assert body["eligible"] is False
    assert (body["required"], body["usable"]) == (3, 1)
    assert [(m["key"], m["reason"]) for m in body["missing"]] == [
        ("sql", "no badge for it was presented"),
        ("viz", "no badge for it was presented"),
    ]
    assert body["shortfalls"] == [
        "2 more components are needed: the stack asks for all 3 components and 1 is usable."]
    [comp] = body["components"]
    assert (comp["status"], comp["usable"], comp["requirement"], comp["issuerName"]) == (
        "VALID", True, "excel", "Acme Academy")


def test_k_of_n_with_a_group_minimum(world: World):
    def check(*names):
        return stacking.check_eligibility(world.runtime, world.acme, "data-literacy",
                                          world.files(*names), ADA).to_dict()

    body = check("ada-viz")
    assert body["eligible"] is False
    assert body["shortfalls"] == [
        "1 more component is needed: the stack asks for 2 of 4 components, at least 1 from "
        "group “core” and 1 is usable.",
        "group “core” needs 1 more (at least 1, 0 usable).",
    ]
    # two components, but both from the practice group: the core minimum is still missing
    body = check("ada-viz", "ada-stats")
    assert body["eligible"] is False and body["usable"] == 2
    assert body["shortfalls"] == ["group “core” needs 1 more (at least 1, 0 usable)."]
    assert {m["key"] for m in body["missing"]} == {"excel", "sql"}
    assert check("ada-viz", "ada-excel")["eligible"] is True
    assert check("ada-excel", "ada-sql")["eligible"] is True


def test_a_component_older_than_the_maximum_age_does_not_count(world: World):
    body = stacking.check_eligibility(world.runtime, world.acme, "data-literacy",
                                      world.files("ada-excel-old", "ada-viz"), ADA).to_dict()
    assert body["eligible"] is False
    old = body["components"][0]
    assert old["status"] == "VALID" and old["usable"] is False
    assert len(old["problems"]) == 1 and old["problems"][0].startswith(
        "it is older than 365 days (awarded ")
    assert body["missing"][0]["key"] == "excel"
    assert body["missing"][0]["reason"].startswith(
        "the badge presented for it was not accepted: it is older than 365 days")


def test_cross_issuer_components_from_an_accepted_and_a_non_accepted_issuer(world: World):
    accepted = stacking.check_eligibility(
        world.runtime, world.acme, "data-analyst",
        world.files("ada-excel", "ada-sql", "ada-viz"), ADA, version=1).to_dict()
    assert accepted["eligible"] is True
    assert accepted["components"][1]["issuerName"] == "Other Academy"
    assert accepted["components"][1]["requirement"] == "sql"

    refused = stacking.check_eligibility(
        world.runtime, world.acme, "data-analyst",
        world.files("ada-excel", "ada-sql-stranger", "ada-viz"), ADA, version=1).to_dict()
    assert refused["eligible"] is False
    stranger = refused["components"][1]
    assert stranger["status"] == "VALID"  # genuine and accredited, just not accepted here
    assert stranger["problems"] == [
        "its issuer (Stranger Institute) is not accepted by this stack"]
    assert refused["missing"] == [{
        "key": "sql", "name": "SQL Basics",
        "achievement": "https://skills.example/achievements/sql-basics",
        "reason": "the badge presented for it was not accepted: its issuer (Stranger "
                  "Institute) is not accepted by this stack"}]


def test_a_component_of_another_recipient_is_refused(world: World):
    files = world.files("ada-excel", "grace-sql", "ada-viz")
    body = stacking.check_eligibility(world.runtime, world.acme, "data-analyst", files, ADA,
                                      version=1).to_dict()
    assert body["eligible"] is False
    assert body["components"][1]["problems"] == ["it was awarded to someone else"]
    # and from Grace's side, Ada's badges are the foreign ones
    body = stacking.check_eligibility(world.runtime, world.acme, "data-analyst", files, GRACE,
                                      version=1).to_dict()
    assert [c["usable"] for c in body["components"]] == [False, True, False]
    with pytest.raises(NotEligible) as info:
        stacking.issue_qualification(world.runtime, world.acme, "data-analyst", files, ADA,
                                     version=1)
    assert info.value.status == 422
    assert [m["key"] for m in info.value.extra["missing"]] == ["sql"]


def test_a_tampered_component_is_refused(world: World):
    excel = world.file("ada-excel")
    excel["credentialSubject"]["achievement"]["name"] = "Excel Wizardry"
    body = stacking.check_eligibility(
        world.runtime, world.acme, "data-analyst",
        [excel, world.file("ada-sql"), world.file("ada-viz")], ADA, version=1).to_dict()
    assert body["eligible"] is False
    tampered = body["components"][0]
    assert tampered["status"] == "INVALID"
    assert tampered["problems"] == [
        "it does not verify as genuine (INVALID: The badge has been altered since it was "
        "issued: its content no longer matches its fingerprint.)"]
    assert body["missing"][0]["key"] == "excel"


def test_a_duplicate_badge_fills_one_requirement_once(world: World):
    body = stacking.check_eligibility(
        world.runtime, world.acme, "data-analyst",
        world.files("ada-excel", "ada-excel", "ada-sql"), ADA, version=1).to_dict()
    assert body["usable"] == 2
    assert body["components"][1]["problems"] == ["another badge already fills “Excel Modelling”"]


# -- granting and verifying the tree -----------------------------------------------------------


@pytest.fixture(scope="module")
def qualification(world: World) -> dict:
    return world.grant("data-analyst", world.files("ada-viz", "ada-excel", "ada-sql"), version=1)


def test_the_qualification_commits_to_the_definition_and_every_component(world, qualification):
    stack = qualification["credanchorStack"]
    published = stacking.get_stack(world.runtime, world.acme.id, "data-analyst", 1)
    assert stack["definition"]["definitionHash"] == to_hex(published.credential.credential_hash)
    assert stack["definition"]["document"] == published.file
    assert [c["requirement"] for c in stack["components"]] == ["excel", "sql", "viz"]
    for c in stack["components"]:
        assert c["credentialHash"] == to_hex(credential_hash(c["credential"]))
        assert c["credentialHash"] == c["credential"]["proof"][-1]["credentialHash"]
    achievement = qualification["credentialSubject"]["achievement"]
    assert achievement["id"] == "https://acme.example/qualifications/data-analyst"
    assert achievement["achievementType"] == "Certificate"
    # all of it is inside the hashed body: the stored bytes are the file minus its proof
    stored = world.runtime.store().get_credential(qualification["id"])
    body = signed_content(qualification)  # with the issuer's signature, without the anchor
    assert [p["type"] for p in body["proof"]] == ["DataIntegrityProof"]
    assert json.loads(stored.document) == body
    assert keccak256(stored.document.encode()) == credential_hash(qualification)


def test_both_schema_validators_find_a_qualification_and_its_definition_valid(
        world, qualification):
    """The schema check's compiled validator (jsonschema-rs) and its reference (jsonschema)
    agree on a granted qualification, with its components inside (tests/core/test_schema_fast.py)."""
    assert same_verdict(qualification)
    assert same_verdict(signed_content(qualification))
    for component in qualification["credanchorStack"]["components"]:
        assert same_verdict(component["credential"])
    broken = copy.deepcopy(qualification)
    del broken["credentialSubject"]["achievement"]["criteria"]
    assert not same_verdict(broken)


def test_a_granted_qualification_verifies_as_a_tree(world, qualification):
    report = world.runtime.verify(qualification)
    assert report.status == Status.VALID
    names = [c.name for c in report.checks]
    assert names == ["schema", "integrity", "signature", "merkle", "validity", "trusted-anchor",
                     "anchored", "did-binding", "issuer", "revocation", "confirmations",
                     "status-list", "stack-definition",
                     "stack-components", "stack-recipient", "stack-rule"]
    assert all(c.outcome == Outcome.PASS for c in report.checks)
    assert [(r.status, r.issuer["name"]) for r in report.components] == [
        (Status.VALID, "Acme Academy"), (Status.VALID, "Other Academy"),
        (Status.VALID, "Acme Academy")]
    assert report.check("stack-rule").message.startswith(
        "Meets the rule of “Data Analyst”: all 3 components; 3 qualifying badges")
    assert report.check("stack-definition").message.startswith(
        "Granted under version 1 of the stack “Data Analyst”, whose rule was recorded")
    assert report.check("stack-recipient").data["method"] == "issuer-attested"
    d = report.to_dict()
    assert [c["status"] for c in d["components"]] == ["VALID"] * 3
    lines = list(stacking.tree_lines(report, qualification))
    assert lines[:3] == ["  ├ VALID    “Excel Modelling” from Acme Academy",
                         "  ├ VALID    “SQL Basics” from Other Academy",
                         "  ├ VALID    “Data Visualisation” from Acme Academy"]
    assert [line.split(":")[0].strip() for line in lines[3:]] == [
        "stack-definition", "stack-components", "stack-recipient", "stack-rule"]


def test_the_holder_identifier_can_be_rechecked_by_a_verifier(world, qualification):
    verifier = world.runtime.verifier()
    own = verifier.verify(qualification)
    yes = qualifications.verify_qualification(verifier, qualification, own, recipient="Ada@Example.org")
    assert yes.check("stack-recipient").outcome == Outcome.PASS
    assert yes.status == Status.VALID
    no = qualifications.verify_qualification(verifier, qualification, own, recipient=GRACE)
    assert no.check("stack-recipient").outcome == Outcome.FAIL
    assert no.status == Status.INVALID


def test_a_tampered_component_inside_a_qualification_is_named(world, qualification):
    doc = copy.deepcopy(qualification)
    doc["credanchorStack"]["components"][1]["credential"]["credentialSubject"]["achievement"][
        "name"] = "SQL Mastery"
    report = world.runtime.verify(doc)
    assert report.status == Status.INVALID
    assert report.check("integrity").outcome == Outcome.FAIL
    components = report.check("stack-components")
    assert components.outcome == Outcome.FAIL
    assert "“SQL Mastery” from Other Academy is not the badge the qualification was granted " \
           "for" in components.message
    assert report.components[1].status == Status.INVALID


def test_a_definition_changed_in_the_file_is_detected(world, qualification):
    doc = copy.deepcopy(qualification)
    doc["credanchorStack"]["definition"]["document"]["rule"]["require"] = 1
    report = world.runtime.verify(doc)
    assert report.status == Status.INVALID
    check = report.check("stack-definition")
    assert check.outcome == Outcome.FAIL
    assert check.message == ("The rule carried in this file is not the stack definition "
                             "“data-analyst” version 1 the qualification was granted under: it "
                             "was changed after publication.")


def test_a_qualification_granted_under_an_altered_definition_fails(world, qualification):
    """The issuer itself edits the rule (and the hash it commits to) and anchors the result:
    the qualification is intact, but its definition is not the one recorded on chain."""
    doc = {k: copy.deepcopy(v) for k, v in qualification.items() if k != "proof"}
    doc["id"] = "urn:uuid:6f1d7c7e-0000-4000-8000-000000000001"
    definition = doc["credanchorStack"]["definition"]
    definition["document"]["rule"]["require"] = 1
    definition["definitionHash"] = to_hex(credential_hash(definition["document"]))
    cid = world.issue(world.acme, doc)
    world.anchor()
    forged = world.runtime.proofs().credential_file(world.runtime.store().get_credential(cid))
    report = world.runtime.verify(forged)
    assert outcomes(report)["integrity"] == "pass" and outcomes(report)["issuer"] == "pass"
    assert report.status == Status.INVALID
    assert report.check("stack-definition").message == (
        "The stack definition “data-analyst” version 1 was changed after it was published: it "
        "no longer matches the fingerprint recorded on the blockchain.")


def test_a_definition_edited_behind_the_ledgers_back_stops_new_grants(world, tmp_path):
    body = data_analyst([world.other.address])
    body["stack"] = "edited-later"
    stacking.publish(world.runtime, world.acme, body)
    world.anchor()
    row = stacking.get_stack(world.runtime, world.acme.id, "edited-later").credential
    conn = world.runtime.store().conn
    conn.execute("DROP TRIGGER stack_definition_documents_immutable")
    try:
        conn.execute("UPDATE credential_documents SET document = ? WHERE seq = ?",
                     (row.document.replace('"require":"all"', '"require":1'), row.seq))
        with pytest.raises(Conflict, match="changed after publication"):
            stacking.check_eligibility(world.runtime, world.acme, "edited-later",
                                       world.files("ada-excel"), ADA)
    finally:
        conn.execute("UPDATE credential_documents SET document = ? WHERE seq = ?",
                     (row.document, row.seq))
        from credanchor.ledger.schema import MIGRATIONS, split_sql

        trigger = next(s for s in split_sql(MIGRATIONS[6])
                       if "CREATE TRIGGER stack_definition_documents_immutable" in s)
        conn.execute(trigger)


def test_a_component_revoked_after_stacking_makes_the_qualification_revoked(world: World):
    ids = [world.issue(world.acme, badge(ADA, "excel")),
           world.issue(world.other, badge(ADA, "sql")),
           world.issue(world.acme, badge(ADA, "viz"))]
    world.anchor()
    store = world.runtime.store()
    files = [world.runtime.proofs().credential_file(store.get_credential(i)) for i in ids]
    qualification = world.grant("data-analyst", files, version=1)
    assert world.runtime.verify(qualification).status == Status.VALID

    sql = store.get_credential(ids[1])
    store.add_revocation(world.other.id, "credential", sql.credential_hash, 3, "misconduct")
    world.runtime.anchorer().run_until_idle(timeout=120, force_seal=False)

    report = world.runtime.verify(qualification)
    assert report.status == Status.REVOKED
    assert outcomes(report)["revocation"] == "pass"  # the qualification itself was not revoked
    check = report.check("stack-components")
    assert check.outcome == Outcome.FAIL and check.data["reason"] == "revoked"
    assert check.data["revoked"] == [1]
    assert check.message.startswith("“SQL Basics” from Other Academy was revoked by its issuer "
                                    "on ")
    assert ", after this qualification was granted on " in check.message
    assert check.message.endswith(", so the qualification no longer stands.")
    assert [r.status for r in report.components] == [Status.VALID, Status.REVOKED, Status.VALID]
    assert report.components[1].check("revocation").outcome == Outcome.FAIL
    # the rule itself was met when stacking: only the component's status changed
    assert report.check("stack-rule").outcome == Outcome.PASS
    # and the same badges can no longer be stacked again
    body = stacking.check_eligibility(world.runtime, world.acme, "data-analyst", files, ADA,
                                      version=1).to_dict()
    assert body["eligible"] is False
    assert body["components"][1]["status"] == "REVOKED"


def test_a_withdrawn_definition_makes_its_qualifications_revoked(world: World):
    body = data_analyst([world.other.address])
    body["stack"] = "withdrawn"
    stacking.publish(world.runtime, world.acme, body)
    world.anchor()
    qualification = world.grant("withdrawn", world.files("ada-excel", "ada-sql", "ada-viz"))
    row = stacking.get_stack(world.runtime, world.acme.id, "withdrawn").credential
    world.runtime.store().add_revocation(world.acme.id, "credential", row.credential_hash, 2)
    world.runtime.anchorer().run_until_idle(timeout=120, force_seal=False)
    report = world.runtime.verify(qualification)
    assert report.status == Status.REVOKED
    message = report.check("stack-definition").message
    assert message.startswith("The issuer withdrew the stack definition “withdrawn” version 1 on ")
    assert message.endswith(", so the qualification no longer stands.")


def test_an_unreachable_chain_is_error_not_invalid(world, qualification):
    from credanchor.errors import ChainUnavailable

    class Down:
        def __getattr__(self, name):
            if name in ("chain_id", "contract_address"):
                return getattr(world.runtime.chain, name)

            def fail(*args, **kwargs):
                raise ChainUnavailable("node down")
            return fail

    v = world.runtime.verifier()
    down = Verifier(v.trust, lambda trusted: Down())
    report = down.verify(qualification)
    assert report.status == Status.ERROR
    assert report.check("stack-components").outcome == Outcome.ERROR
    assert report.check("stack-definition").outcome == Outcome.ERROR
    assert [r.status for r in report.components] == [Status.ERROR] * 3


def test_a_qualification_can_be_a_component_of_a_bigger_stack(world, qualification):
    """Stacks nest: the Data Analyst qualification counts towards another stack, and the
    verifier descends into it."""
    body = {
        "stack": "senior-analyst",
        "achievement": {"id": "https://acme.example/qualifications/senior-analyst",
                        "name": "Senior Analyst", "description": "Data Analyst plus statistics.",
                        "criteria": "Data Analyst and Applied Statistics."},
        "rule": {"components": [
            {"key": "analyst", "name": "Data Analyst",
             "achievement": "https://acme.example/qualifications/data-analyst"},
            {"key": "stats", "name": "Applied Statistics",
             "achievement": "https://skills.example/achievements/statistics"}]},
    }
    stacking.publish(world.runtime, world.acme, body)
    world.anchor()
    senior = world.grant("senior-analyst", [copy.deepcopy(qualification),
                                            world.file("ada-stats")])
    report = world.runtime.verify(senior)
    assert report.status == Status.VALID
    inner = report.components[0]
    assert inner.check("stack-rule").outcome == Outcome.PASS
    assert [r.status for r in inner.components] == [Status.VALID] * 3
