"""Issue 14: what issuing adds to each credential of a signing issuer — a status list slot and
an eddsa-rdfc-2022 signature — and that the anchored hash covers the signed document.

Everything real: the row builders, the per-request and bulk (process pool) paths, a SQLite
ledger file, and the Data Integrity verifier over did:key (offline).
"""

from __future__ import annotations

import json
from collections import Counter
from random import Random

import pytest

from credanchor.core import dataintegrity
from credanchor.core.credentials import IssuerProfile
from credanchor.core.hashing import canonicalize, credential_hash, keccak256
from credanchor.core.multikey import Ed25519KeyPair
from credanchor.core.statuslist import credential_status_entry
from credanchor.errors import Conflict
from credanchor.issuing import bulk
from credanchor.issuing.pipeline import issue
from credanchor.issuing.signing import Issuance, signature_id
from kit.settings import sample_items

SEED = bytes(range(32))
KEY = Ed25519KeyPair.from_seed(SEED)
PROFILE = IssuerProfile(address="0x" + "ab" * 20, chain_id=31337, name="Signing Academy",
                        did=KEY.did)
BASE = "https://badges.example.org"


def issuance(issuer_id: int) -> Issuance:
    return Issuance(profile=PROFILE, issuer_id=issuer_id, seed=SEED,
                    verification_method=KEY.verification_method, status_base=BASE)


@pytest.fixture
def issuer(store):
    return store.add_issuer(address=PROFILE.address, name=PROFILE.name)


def rows(store):
    return store.conn.execute(
        "SELECT id, credential_hash, document, status_list, status_index FROM credentials "
        "ORDER BY seq").fetchall()


def check_signed_row(row, issuer_id: int) -> dict:
    cid, chash, doc, list_no, index = row
    credential = json.loads(doc)
    assert credential["id"] == cid
    # The hash anchored is the hash of the signed document, signature included.
    assert keccak256(doc.encode()) == chash == credential_hash(credential)
    assert canonicalize(credential).decode() == doc
    assert credential["issuer"]["id"] == KEY.did
    [proof] = credential["proof"]
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["verificationMethod"] == KEY.verification_method
    assert proof["id"].startswith("urn:uuid:") and signature_id(credential) == proof["id"]
    result = dataintegrity.verify(credential)  # did:key: resolved offline
    assert result.verified, result
    entry = credential_status_entry(credential)
    assert entry is not None
    assert entry.list_url == f"{BASE}/status/{issuer_id}/{list_no}"
    assert entry.index == index
    return credential


def test_a_request_signs_each_credential_and_stores_its_slot(store, issuer):
    accepted = issue(store, issuer, issuance(issuer.id), sample_items(5), max_items=10)
    stored = rows(store)
    assert [a.id for a in accepted] == [r[0] for r in stored]
    for row in stored:
        check_signed_row(row, issuer.id)
    slots = [(r[3], r[4]) for r in stored]
    assert len(set(slots)) == 5 and {s[0] for s in slots} == {1}


def test_an_edited_signed_credential_no_longer_verifies(store, issuer):
    issue(store, issuer, issuance(issuer.id), sample_items(1), max_items=10)
    credential = check_signed_row(rows(store)[0], issuer.id)
    credential["credentialSubject"]["name"] = "Mallory"
    assert not dataintegrity.verify(credential).verified
    # A status index moved to another slot is an edit too.
    credential = json.loads(rows(store)[0][2])
    credential["credentialStatus"]["statusListIndex"] = "1"
    assert not dataintegrity.verify(credential).verified


@pytest.mark.parametrize("workers", [1, 2])
def test_bulk_signs_with_distinct_slots_in_input_order(store, issuer, workers):
    result = bulk.issue_bulk(store, issuer.id, issuance(issuer.id), iter(sample_items(23)),
                             workers=workers, chunk=5)
    stored = rows(store)
    assert result.count == 23 and result.hashes == b"".join(r[1] for r in stored)
    for i, row in enumerate(stored):
        credential = check_signed_row(row, issuer.id)
        assert credential["credentialSubject"]["name"] == f"Learner {i}"
    assert len({(r[3], r[4]) for r in stored}) == 23


def test_slots_are_never_given_twice_and_fill_one_list_before_the_next(store, issuer):
    allocator = store.status_slots(issuer.id, Random(7), length=8)
    first = allocator.take(6)
    second = allocator.take(4)  # the run goes on: 2 left in list 1, then list 2
    assert Counter(list_no for list_no, _ in first + second) == {1: 8, 2: 2}
    assert len(set(first + second)) == 10
    assert all(0 <= index < 8 for _, index in first + second)


def test_the_ledger_refuses_a_slot_given_twice(store, issuer):
    signed = issuance(issuer.id)
    issue(store, issuer, signed, sample_items(1), max_items=1)
    [(_, _, _, list_no, index)] = rows(store)
    # Bypass the allocator: the unique index is the backstop.
    from credanchor.issuing.items import build_rows

    [row] = build_rows(sample_items(1, start=1), signed, slots=[(list_no, index)])
    with pytest.raises(Conflict):
        store.add_credentials(issuer.id, [row])
    assert len(rows(store)) == 1


def test_an_unsigned_issuer_issues_as_before(store, issuer):
    legacy = IssuerProfile(address=PROFILE.address, chain_id=31337, name=PROFILE.name)
    assert legacy.legacy and legacy.did.startswith("did:pkh:eip155:31337:")
    issue(store, issuer, legacy, sample_items(2), max_items=10)
    for _, chash, doc, list_no, index in rows(store):
        credential = json.loads(doc)
        assert "proof" not in credential and "credentialStatus" not in credential
        assert (list_no, index) == (None, None)
        assert keccak256(doc.encode()) == chash


def test_a_signing_issuer_cannot_issue_unsigned_by_mistake(store, issuer):
    # A badge naming a did:key issuer without its signature would be INVALID everywhere.
    with pytest.raises(ValueError, match="signs its badges"):
        issue(store, issuer, PROFILE, sample_items(1), max_items=1)
    legacy = IssuerProfile(address=PROFILE.address, chain_id=31337, name=PROFILE.name)
    with pytest.raises(ValueError, match="must not sign"):
        issue(store, issuer, Issuance(profile=legacy, issuer_id=issuer.id, seed=SEED,
                                      verification_method=KEY.verification_method,
                                      status_base=BASE), sample_items(1), max_items=1)
    assert rows(store) == []
