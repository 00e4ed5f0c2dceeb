"""credanchor.usecases.status_lists.status_list_document on a real runtime (embedded chain,
SQLite ledger): what the list says follows the chain, it is signed once per state, and a
re-sign of the same state says the same thing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from credanchor.core.dataintegrity import verify as verify_signature
from credanchor.core.statuslist import credential_status_entry, parse_status_list_credential
from credanchor.errors import NotFound
from credanchor.usecases import revocation
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuing import issue_request
from credanchor.usecases.status_lists import status_list_document
from kit.settings import sample_items


def issue_anchored(runtime: Runtime, issuer, n: int) -> list:
    accepted = issue_request(runtime, issuer, sample_items(n))
    runtime.anchorer().run_until_idle(timeout=60, force_seal=True)
    store = runtime.store()
    return [store.get_credential(a.to_dict()["id"]) for a in accepted]


def indexes(document) -> set[int]:
    return set(parse_status_list_credential(document).bits.set_indexes())


def test_a_batch_revocation_sets_every_members_bit_once_confirmed(runtime, local_issuer):
    batch_a = issue_anchored(runtime, local_issuer, 3)
    batch_b = issue_anchored(runtime, local_issuer, 2)
    slots = {c.id: c.status_index for c in batch_a + batch_b}
    assert all(c.status_list == 1 for c in batch_a + batch_b)
    assert len(set(slots.values())) == 5

    revocation.revoke_batch(runtime, batch_a[0].batch_id, 3)
    assert indexes(status_list_document(runtime, 1, 1)) == set()  # queued only
    revocation.carry_to_chain(runtime, timeout=60)
    document = status_list_document(runtime, 1, 1)
    assert indexes(document) == {slots[c.id] for c in batch_a}
    assert verify_signature(document).verified

    revocation.revoke_credential(runtime, batch_b[1].id, 1)
    revocation.carry_to_chain(runtime, timeout=60)
    assert indexes(status_list_document(runtime, 1, 1)) == (
        {slots[c.id] for c in batch_a} | {slots[batch_b[1].id]})


def test_the_list_id_is_the_url_in_the_badges(runtime, local_issuer):
    [cred] = issue_anchored(runtime, local_issuer, 1)
    entry = credential_status_entry(runtime.proofs().credential_file(cred))
    document = status_list_document(runtime, 1, 1)
    assert document["id"] == entry.list_url
    assert document["credentialSubject"]["id"] == entry.list_url + "#list"
    assert document["issuer"] == local_issuer.did


def test_signed_once_per_state_and_the_same_content_when_signed_again(settings, local_issuer,
                                                                       runtime):
    issue_anchored(runtime, local_issuer, 2)
    first = status_list_document(runtime, 1, 1)
    assert status_list_document(runtime, 1, 1) is first  # not signed again
    runtime.close()

    # Another process (here: a fresh runtime on the same data) signs the same state anew:
    # another proof, the same list and the same validFrom.
    again = Runtime.open(settings)
    try:
        second = status_list_document(again, 1, 1)
        assert second["proof"][0]["id"] != first["proof"][0]["id"]
        strip = lambda d: {k: v for k, v in d.items() if k != "proof"}  # noqa: E731
        assert strip(second) == strip(first)
        assert first["validFrom"] == datetime.fromtimestamp(
            int(local_issuer.created_at), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert verify_signature(second).verified
    finally:
        again.close()


def test_what_has_no_list_is_not_found(runtime, local_issuer):
    with pytest.raises(NotFound):
        status_list_document(runtime, 1, 1)  # nothing issued yet
    issue_anchored(runtime, local_issuer, 1)
    status_list_document(runtime, 1, 1)
    legacy = runtime.store().add_issuer(address="0x" + "cd" * 20, name="Before Signatures")
    for issuer_id, list_no in ((1, 2), (legacy.id, 1), (99, 1), (0, 1), (1, 0), (-1, 1),
                               (2**63, 1), (1, 2**64)):
        with pytest.raises(NotFound):
            status_list_document(runtime, issuer_id, list_no)
