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
        "JOIN credential_documents USING (seq) ORDER BY seq").fetchall()


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


def test_a_refused_request_lists_its_bad_items_after_releasing_the_ledger(store, issuer,
                                                                          monkeypatch):
    """The other items of a refused request are looked at once its transaction has rolled
    back: the write lock is not held while they are built, and no slot stays taken."""
    from credanchor.errors import InvalidInput
    from credanchor.issuing import pipeline

    seen = []
    real = pipeline._list_every_refusal

    def spy(exc, items, profile):  # the real function, recording the ledger's state around it
        seen.append(store.conn.in_transaction)
        real(exc, items, profile)

    monkeypatch.setattr(pipeline, "_list_every_refusal", spy)
    items = [*sample_items(3), {"recipient": {"name": "x"}}, {"recipient": {"name": "y"}}]
    with pytest.raises(InvalidInput) as refused:
        issue(store, issuer, issuance(issuer.id), items, max_items=10)
    assert seen == [False]
    assert refused.value.extra["refusedCount"] == 2
    assert [r[:4] for r in refused.value.extra["refused"]] == ["$[3]", "$[4]"]
    assert rows(store) == []
    accepted = issue(store, issuer, issuance(issuer.id), sample_items(2), max_items=10)
    assert len(accepted) == 2 and len(rows(store)) == 2


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


# --- a whole file over the process pool (credanchor issue FILE) -------------------------------


def _file_with_bad_items(n: int, bad: tuple[int, ...]) -> list[dict]:
    items = sample_items(n)
    for i in bad:
        items[i]["recipient"] = {"email": f"not-an-address-{i}"}
    return items


def test_a_file_over_the_pool_refuses_what_one_process_refuses_in_the_same_words(store, issuer):
    from credanchor.issuing.items import build_rows_reporting

    items = _file_with_bad_items(11, (2, 5, 9))  # chunks of 4: bad items in three of them
    serial: list[tuple[int, str]] = []
    pooled: list[tuple[int, str]] = []
    signed = issuance(issuer.id)
    slots = [(1, i) for i in range(11)]
    one = list(build_rows_reporting(items, signed, lambda i, d: serial.append((i, d)),
                                    slots=slots))
    many = list(bulk.rows_reporting(items, signed, lambda i, d: pooled.append((i, d)),
                                    slots=slots, workers=2, chunk=4))
    assert pooled == serial == [
        (i, f"$[{i}].recipient: not an email address: 'not-an-address-{i}'") for i in (2, 5, 9)]
    assert [json.loads(r[2])["credentialSubject"]["name"] for r in many] == \
        [json.loads(r[2])["credentialSubject"]["name"] for r in one] == \
        [f"Learner {i}" for i in range(11) if i not in (2, 5, 9)]
    # each good item keeps the slot it was given, whichever process built it
    assert [(r[3], r[4]) for r in many] == [(r[3], r[4]) for r in one] == \
        [s for i, s in enumerate(slots) if i not in (2, 5, 9)]


def test_issue_all_over_the_pool_stores_all_or_nothing_in_file_order(store, issuer):
    import functools

    from credanchor.errors import InvalidInput
    from credanchor.issuing.pipeline import issue_all

    build = functools.partial(bulk.rows_reporting, workers=2, chunk=4)
    with pytest.raises(InvalidInput) as refusal:
        issue_all(store, issuer, issuance(issuer.id), _file_with_bad_items(13, (0, 12)),
                  build=build)
    assert refusal.value.extra["refused"] == [
        "$[0].recipient: not an email address: 'not-an-address-0'",
        "$[12].recipient: not an email address: 'not-an-address-12'"]
    assert rows(store) == []

    counted: list[int] = []
    accepted = issue_all(store, issuer, issuance(issuer.id), sample_items(13), build=build,
                         progress=counted.append)
    stored = rows(store)
    assert [a.id for a in accepted] == [r[0] for r in stored] and sum(counted) == 13
    created = set()
    for i, row in enumerate(stored):
        credential = check_signed_row(row, issuer.id)  # signature verified, slot matches
        assert credential["credentialSubject"]["name"] == f"Learner {i}"
        created.add(credential["proof"][0]["created"])
    assert len(created) == 1  # one creation time for the file, whichever worker signed
    assert len({(r[3], r[4]) for r in stored}) == 13
