"""Issue 12 on real parts (embedded EVM, SQLite ledger): a qualification is one bounded unit of
verification, its chain reads shared and batched; a withdrawn definition grants nothing more;
a crafted stacking date does not crash the rule check.

The chain reads are counted by :class:`CountingReader`, a pass-through around the runtime's
real chain reader: every call still reaches the embedded EVM, the verifier is the real one.
"""

from __future__ import annotations

import copy
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from credanchor.core.hashing import canonicalize, keccak256
from credanchor.core.report import Outcome, Status
from credanchor.errors import Conflict, TooManyCredentials
from credanchor.usecases import stacks as stacking
from credanchor.verify import qualifications
from credanchor.verify.verifier import TrustList, Verifier
from kit.stacks import ADA, World, data_analyst

pytestmark = pytest.mark.slow

READS = ("verify", "verify_many", "issuer_facts", "anchor_tx", "revocation_reason", "head")


class CountingReader:
    """The real chain reader, counting what the verifier asks it (a transport wrapper: the
    answers are the chain's own)."""

    def __init__(self, chain: Any) -> None:
        self.chain = chain
        self.chain_id = chain.chain_id
        self.contract_address = chain.contract_address
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.chain, name)
        if name not in READS:
            return method

        def counted(*args: Any) -> Any:
            self.calls[name] += 1
            if name == "verify_many":
                self.calls["verify_many items"] += len(args[0])
            return method(*args)
        return counted


def counting_verifier(world: World, **kwargs: Any) -> tuple[Verifier, CountingReader]:
    reader = CountingReader(world.runtime.chain)
    trust: TrustList = world.runtime.trust
    return Verifier(trust, lambda trusted: reader, **kwargs), reader


@pytest.fixture(scope="module")
def qualification(world: World) -> dict:
    return world.grant("data-analyst", world.files("ada-excel", "ada-sql", "ada-viz"), version=1)


def nest(qualification: dict, leaf: dict, *, width: int, depth: int) -> dict:
    """A crafted qualification: ``width`` components per level, ``depth`` levels, each level a
    copy of a real qualification whose components are replaced (its hashes no longer match,
    which only the chain-backed checks after the bound would find out)."""
    if depth == 0:
        return copy.deepcopy(leaf)
    doc = copy.deepcopy(qualification)
    inner = nest(qualification, leaf, width=width, depth=depth - 1)
    doc["credanchorStack"]["components"] = [
        {"requirement": f"c{i}", "credentialHash": "0x" + "00" * 32, "credential": inner}
        for i in range(width)]
    return doc


# -- 1. bounded, shared, batched ---------------------------------------------------------------


def test_a_crafted_deep_wide_qualification_is_refused_before_any_chain_call(world, qualification):
    # 1 + 1 + 16 * (1 + 1 + 16) = 290 credentials to verify: over the default 256.
    crafted = nest(qualification, world.file("ada-excel"), width=16, depth=2)
    verifier, reader = counting_verifier(world)
    with pytest.raises(TooManyCredentials) as refused:
        verifier.verify(crafted)
    assert reader.calls == {}  # not one read: before, each of the 290 asked the chain
    assert len(list(qualifications.tree_documents([crafted]))) == 290
    problem = refused.value.to_problem()
    assert (problem["status"], problem["code"], problem["limit"]) == (
        413, "too-many-credentials", 256)
    assert problem["detail"].startswith("this holds more than 256 credentials to verify")
    # the bound is the verifier's (CREDANCHOR_MAX_VERIFY_CREDENTIALS in the service)
    roomy, reader = counting_verifier(world, max_credentials=290)
    assert roomy.verify(crafted).status == Status.INVALID  # the crafted hashes fail
    assert reader.calls["verify"] == 0 and reader.calls["verify_many"] == 1


def test_the_limit_is_a_setting_of_the_service(world, qualification):
    from credanchor.usecases.config import ConfigError, load_settings, replace

    assert load_settings(env={}).max_verify_credentials == 256
    assert load_settings(env={"CREDANCHOR_MAX_VERIFY_CREDENTIALS": "10"}
                         ).max_verify_credentials == 10
    with pytest.raises(ConfigError, match="max_verify_credentials must be at least 1"):
        load_settings(env={"CREDANCHOR_MAX_VERIFY_CREDENTIALS": "0"})
    saved = world.runtime.settings
    world.runtime.settings = replace(saved, max_verify_credentials=4)
    try:
        verifier = world.runtime.verifier()
    finally:
        world.runtime.settings = saved
    assert verifier.max_credentials == 4
    # the Data Analyst qualification is 5: itself, its definition and three badges
    with pytest.raises(TooManyCredentials, match="more than 4 credentials"):
        verifier.verify(qualification)
    assert verifier.verify(world.file("ada-excel")).status == Status.VALID


def test_a_qualification_shares_one_set_of_chain_reads(world, qualification):
    """Before: each component asked ``verify`` on its own, and the definition was checked by a
    fresh verifier with empty caches, so its anchor transaction, issuer record and head were
    read again."""
    verifier, reader = counting_verifier(world)
    report = verifier.verify(qualification)
    assert report.status == Status.VALID
    assert [r.status for r in report.components] == [Status.VALID] * 3
    # the qualification, its definition and three badges: one verify_many
    assert reader.calls["verify"] == 0
    assert (reader.calls["verify_many"], reader.calls["verify_many items"]) == (1, 5)
    txs = {d["proof"][-1]["anchor"]["transactionHash"]  # the anchor proof comes last
           for d in qualifications.tree_documents([qualification])}
    issuers = {r.issuer["address"] for r in (report, *report.components)}
    assert reader.calls["anchor_tx"] == len(txs)
    assert reader.calls["issuer_facts"] == len(issuers) == 2
    assert reader.calls["head"] == 1


def test_a_nested_qualification_is_one_tree(world, qualification):
    body = {
        "stack": "bounds-senior",
        "achievement": {"id": "https://acme.example/qualifications/bounds-senior",
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
    senior = world.grant("bounds-senior", [copy.deepcopy(qualification),
                                           world.file("ada-stats")])
    verifier, reader = counting_verifier(world)
    report = verifier.verify(senior)
    assert report.status == Status.VALID
    assert [r.status for r in report.components[0].components] == [Status.VALID] * 3
    # senior, its definition, the analyst qualification, its definition, 3 + 1 badges
    assert (reader.calls["verify"], reader.calls["verify_many"],
            reader.calls["verify_many items"]) == (0, 1, 8)
    assert reader.calls["head"] == 1


def test_eligibility_counts_every_presented_component_together(world, qualification, client,
                                                               acme_auth):
    # 60 presented Data Analyst qualifications: 5 credentials each, 300 in all.
    components = [copy.deepcopy(qualification) for _ in range(60)]
    with pytest.raises(TooManyCredentials):
        stacking.check_eligibility(world.runtime, world.acme, "data-analyst", components, ADA)
    r = client.post("/api/v1/stacks/data-analyst/eligibility", headers=acme_auth,
                    json={"recipient": ADA, "components": components})
    assert r.status_code == 413 and r.mimetype == "application/problem+json"
    assert r.get_json()["code"] == "too-many-credentials"


# -- 3. a withdrawn definition -----------------------------------------------------------------


def _grant_without_the_withdrawal_check(world: World, stack: str, docs: list[dict]) -> dict:
    """What ``issue_qualification`` did before the fix, step by step: assess, build, store."""
    runtime = world.runtime
    published = stacking.get_stack(runtime, world.acme.id, stack)
    verifier = runtime.verifier()
    candidates, assessment = stacking.assess(verifier, published.definition, docs, ADA,
                                             at=verifier.clock())
    eligibility = stacking.Eligibility(published, candidates, assessment, tuple(docs))
    issuance = runtime.issuance(world.acme)
    credential = stacking.qualification_document(
        profile=issuance.profile, published=published,
        eligibility=eligibility, recipient=ADA, name="Ada Lovelace",
        stacked_at=verifier.clock().replace(microsecond=0), valid_until=None)
    store = runtime.store()
    with store.transaction():  # signed with a status slot, as issue_qualification does
        slot = store.status_slots(world.acme.id, random.Random()).take(1)[0]
        signed = issuance.finish(credential, slot)
        canonical = canonicalize(signed)
        store.add_credentials(world.acme.id, [(signed["id"], keccak256(canonical),
                                               canonical.decode("utf-8"), *slot)])
    world.anchor()
    return runtime.proofs().credential_file(runtime.store().get_credential(credential["id"]))


def test_a_withdrawn_definition_grants_nothing_and_its_qualifications_are_revoked(
        world, client, acme_auth):
    body = data_analyst([world.other.address])
    body["stack"] = "withdrawn-later"
    stacking.publish(world.runtime, world.acme, body)
    world.anchor()
    docs = world.files("ada-excel", "ada-sql", "ada-viz")
    before = world.grant("withdrawn-later", docs)
    row = stacking.get_stack(world.runtime, world.acme.id, "withdrawn-later").credential
    world.runtime.store().add_revocation(world.acme.id, "credential", row.credential_hash, 5)

    # Refused as soon as the issuer asks, before the revocation reaches the chain. Before the
    # fix the definition's row was still "anchored", which was all the check looked at.
    for attempt in (stacking.check_eligibility, stacking.issue_qualification):
        with pytest.raises(Conflict, match=r"^stack 'withdrawn-later' version 1 was withdrawn "
                                           r"by its issuer on .*; no qualification can be "
                                           r"granted under it"):
            attempt(world.runtime, world.acme, "withdrawn-later", docs, ADA)
    for action in ("eligibility", "issue"):
        r = client.post(f"/api/v1/stacks/withdrawn-later/{action}", headers=acme_auth,
                        json={"recipient": ADA, "components": docs})
        assert r.status_code == 409 and r.mimetype == "application/problem+json"
        problem = r.get_json()
        assert problem["code"] == "conflict" and "was withdrawn" in problem["detail"]
        assert problem["withdrawnAt"].endswith("Z")

    world.runtime.anchorer().run_until_idle(timeout=120, force_seal=False)
    report = world.runtime.verify(stacking.get_stack(world.runtime, world.acme.id,
                                                     "withdrawn-later").file)
    revoked_at = report.check("revocation").data["revokedAt"]
    while time.time() < revoked_at + 1:  # the embedded chain's clock may run a little ahead
        time.sleep(0.2)
    after = _grant_without_the_withdrawal_check(world, "withdrawn-later", docs)

    # docs/stacking.md: granted before the withdrawal, it no longer stands; granted after it,
    # it never should have been. REVOKED either way, the message says which.
    old = world.runtime.verify(before)
    assert old.status == Status.REVOKED
    check = old.check("stack-definition")
    assert check.data["grantedAfterWithdrawal"] is False
    assert check.message.startswith("The issuer withdrew the stack definition “withdrawn-later” "
                                    "version 1 on ")
    assert ", after this qualification was granted on " in check.message
    assert check.message.endswith(", so the qualification no longer stands.")
    new = world.runtime.verify(after)
    assert new.status == Status.REVOKED
    check = new.check("stack-definition")
    assert check.data["grantedAfterWithdrawal"] is True
    assert "under the stack definition “withdrawn-later” version 1, which its issuer had " \
           "already withdrawn on " in check.message
    assert check.message.endswith(": it does not stand.")
    assert [r.status for r in new.components] == [Status.VALID] * 3


def test_a_definition_withdrawn_with_its_batch_grants_nothing(world):
    body = data_analyst([world.other.address])
    body["stack"] = "withdrawn-batch"
    stacking.publish(world.runtime, world.acme, body)
    world.anchor()
    row = stacking.get_stack(world.runtime, world.acme.id, "withdrawn-batch").credential
    store = world.runtime.store()
    store.add_revocation(world.acme.id, "batch", store.get_batch(row.batch_id).root, 2)
    with pytest.raises(Conflict, match="was withdrawn"):
        stacking.check_eligibility(world.runtime, world.acme, "withdrawn-batch",
                                   world.files("ada-excel"), ADA)


# -- 2. a crafted stacking date ----------------------------------------------------------------


def test_a_stacking_date_in_year_one_does_not_crash_the_rule_check(world):
    """data-literacy has an age limit: ``stackedAt - maxAgeDays`` overflowed (a 500)."""
    doc = world.grant("data-literacy", world.files("ada-excel", "ada-viz"), version=1)
    doc["credanchorStack"]["stackedAt"] = "0001-01-01T00:00:00Z"
    report = world.runtime.verify(doc)
    assert report.status == Status.INVALID  # altered: the hash no longer matches
    assert report.check("integrity").outcome == Outcome.FAIL
    rule = report.check("stack-rule")
    assert rule.outcome == Outcome.FAIL and "not valid yet at the time of stacking" in rule.message
    doc["credanchorStack"]["stackedAt"] = "0001-01-01T00:00:00+00:01"
    report = world.runtime.verify(doc)
    check = report.check("stack-definition")
    assert report.status == Status.INVALID and check.outcome == Outcome.FAIL
    assert "stackedAt" in check.message and "outside the years 1 to 9999" in check.message
