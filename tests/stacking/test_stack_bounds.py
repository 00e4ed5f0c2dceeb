"""Issue 12 on real parts (embedded EVM, SQLite ledger): a qualification is one bounded unit of
verification, its chain reads shared and batched; a crafted stacking date does not crash the
rule check.

The chain reads are counted by :class:`CountingReader`, a pass-through around the runtime's
real chain reader: every call still reaches the embedded EVM, the verifier is the real one.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from credanchor import stacking
from credanchor.errors import TooManyCredentials
from credanchor.report import Outcome, Status
from credanchor.verifier import TrustList, Verifier

from .stackkit import ADA, World

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
    assert len(list(stacking.tree_documents([crafted]))) == 290
    problem = refused.value.to_problem()
    assert (problem["status"], problem["code"], problem["limit"]) == (
        413, "too-many-credentials", 256)
    assert problem["detail"].startswith("this holds more than 256 credentials to verify")
    # the bound is the verifier's (CREDANCHOR_MAX_VERIFY_CREDENTIALS in the service)
    roomy, reader = counting_verifier(world, max_credentials=290)
    assert roomy.verify(crafted).status == Status.INVALID  # the crafted hashes fail
    assert reader.calls["verify"] == 0 and reader.calls["verify_many"] == 1


def test_the_limit_is_a_setting_of_the_service(world, qualification):
    from credanchor.config import ConfigError, load_settings, replace

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
    txs = {d["proof"][0]["anchor"]["transactionHash"]
           for d in stacking.tree_documents([qualification])}
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
