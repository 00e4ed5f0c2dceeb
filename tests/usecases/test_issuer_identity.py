"""Issue 14: every issuer gets an Ed25519 signing key and a DID — did:key by default, did:web
under an https public URL — recorded in the ledger and in its on-chain profile; did:web keys
rotate; issuers from before signatures are upgraded in place.

Real parts: the embedded chain, the ledger file, the encrypted key ring on disk.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from credanchor.core import dataintegrity
from credanchor.core.credentials import issuer_did
from credanchor.core.did_document import parse_did_document
from credanchor.core.multikey import did_key
from credanchor.errors import Conflict
from credanchor.issuing.issuer_keys import IssuerKeyRing
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuer_identity import (
    did_document_for,
    key_ring,
    rotate_key,
)
from credanchor.usecases.issuers import add_issuer
from kit.settings import make_settings, sample_items


def test_the_local_issuer_signs_as_did_key_and_the_chain_records_it(runtime: Runtime) -> None:
    [issuer] = runtime.store().list_issuers()
    ring = key_ring(runtime, issuer)
    assert issuer.did == did_key(ring.current().public_multibase)
    assert runtime.chain.contract.issuer_info(issuer.address).did == issuer.did
    issuance = runtime.issuance(issuer)
    assert issuance.signs and issuance.profile.did == issuer.did
    assert issuance.verification_method == f"{issuer.did}#{issuer.did.removeprefix('did:key:')}"


def test_the_signing_key_is_nowhere_in_clear(runtime: Runtime, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    [issuer] = runtime.store().list_issuers()
    seed, _ = runtime.ed25519_seed(issuer, key_ring(runtime, issuer))
    key = key_ring(runtime, issuer).load_current(runtime.keystore_password())
    secrets = (seed.hex().encode(), key.secret_multibase().encode(), seed)
    for path in Path(runtime.settings.data_dir).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(s in data for s in secrets), path
    assert not any(s.decode("latin-1") in caplog.text for s in secrets[:2])


def test_a_new_issuer_gets_its_own_did_key_accredited_with_it(runtime: Runtime) -> None:
    result = add_issuer(runtime, name="Second Academy")
    issuer = result.issuer
    assert issuer.did and issuer.did.startswith("did:key:z6Mk")
    assert issuer.did != runtime.store().get_issuer(1).did
    info = runtime.chain.contract.issuer_info(issuer.address)
    assert info.active and info.did == issuer.did


def test_a_did_key_issuer_cannot_rotate(runtime: Runtime) -> None:
    [issuer] = runtime.store().list_issuers()
    with pytest.raises(Conflict, match="did:web"):
        rotate_key(runtime, issuer)


@pytest.fixture
def web_runtime(tmp_path: Path):
    rt = Runtime.open(make_settings(tmp_path / "data", public_url="https://badges.example.org"))
    yield rt
    rt.close()


def test_did_web_under_an_https_public_url(web_runtime: Runtime) -> None:
    first = web_runtime.store().get_issuer(1)
    assert first.did == "did:web:badges.example.org"
    second = add_issuer(web_runtime, name="Second Academy").issuer
    assert second.did == f"did:web:badges.example.org:issuers:{second.id}"
    assert web_runtime.chain.contract.issuer_info(second.address).did == second.did
    document = parse_did_document(did_document_for(web_runtime, second), second.did)
    # Each can be found from the other: the key signs, the account anchors.
    assert document.names_account(web_runtime.chain.chain_id, second.address)
    vm = web_runtime.issuance(second).verification_method
    assert vm is not None and document.is_assertion_method(vm)


def test_a_rotated_did_web_key_stays_in_the_document_with_its_retirement(
    web_runtime: Runtime,
) -> None:
    issuer = web_runtime.store().get_issuer(1)
    before = web_runtime.issuance(issuer)
    old_vm = before.verification_method
    signed_before = before.sign(_credential(before))
    rotate_key(web_runtime, issuer)
    after = web_runtime.issuance(issuer)
    assert after.verification_method != old_vm
    raw = did_document_for(web_runtime, issuer)
    document = parse_did_document(raw, issuer.did)
    assert document.is_revoked(old_vm) and not document.is_assertion_method(old_vm)
    assert document.is_assertion_method(after.verification_method)
    # New badges are signed with the new key, which the published document authorises.
    signed_after = after.sign(_credential(after))
    assert dataintegrity.verify(signed_after, resolver=raw).verified
    # The old key no longer signs for the issuer in the current document (a verifier judges
    # old badges by the document as of their anchor time).
    assert not dataintegrity.verify(signed_before, resolver=raw).verified


def _credential(issuance) -> dict:
    from credanchor.issuing.items import build_from_item

    return build_from_item(sample_items(1)[0], issuance.profile)


def test_an_issuer_from_before_signatures_is_upgraded_when_the_service_opens(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path / "data")
    runtime = Runtime.open(settings)
    issuer = runtime.store().list_issuers()[0]
    pkh = issuer_did(runtime.chain.chain_id, issuer.address)
    # Make it what a ledger from before issue 14 holds: no DID, no Ed25519 key, and the
    # chain profile naming its did:pkh.
    runtime.store().conn.execute("UPDATE issuers SET did = NULL")
    for path in (Path(settings.data_dir) / "keys").glob("*.ed25519*"):
        path.unlink()
    chain = runtime.chain
    chain.admin_send(chain.contract.update_issuer_profile(issuer.address, issuer.name, "",
                                                          did=pkh))
    legacy = runtime.issuance(runtime.store().get_issuer(issuer.id))
    assert not legacy.signs and legacy.profile.did == pkh
    runtime.close()

    reopened = Runtime.open(settings)
    try:
        upgraded = reopened.store().get_issuer(issuer.id)
        assert upgraded.did and upgraded.did.startswith("did:key:")
        assert reopened.chain.contract.issuer_info(issuer.address).did == upgraded.did
        events = [json.loads(r["data"]) for r in reopened.store().db.query(
            "SELECT data FROM events WHERE kind = 'issuer.did'")]
        assert {"did": upgraded.did} in [{"did": e.get("did")} for e in events]
    finally:
        reopened.close()


def test_a_rotation_by_another_process_is_used_at_the_next_issue(web_runtime: Runtime) -> None:
    issuer = web_runtime.store().get_issuer(1)
    before = web_runtime.issuance(issuer).verification_method
    # What `credanchor issuer rotate-key` does on disk from another process (the embedded
    # chain admits one process, so the ring is rotated directly, behind this runtime's back).
    ring = IssuerKeyRing(Path(web_runtime.settings.data_dir) / "keys", issuer.address,
                         work_factor=web_runtime.settings.kdf_work_factor)
    info = ring.rotate(web_runtime.keystore_password())
    after = web_runtime.issuance(issuer).verification_method
    assert after != before and after == f"{issuer.did}#{info.public_multibase}"


def test_rotation_waits_until_every_badge_signed_with_the_key_is_anchored(
    web_runtime: Runtime,
) -> None:
    from credanchor.usecases.issuing import anchor_pending, issue_request

    issuer = web_runtime.store().get_issuer(1)
    issue_request(web_runtime, issuer, sample_items(2))
    with pytest.raises(Conflict, match="2 credential"):
        rotate_key(web_runtime, issuer)
    assert len(key_ring(web_runtime, issuer).list_keys()) == 1
    assert anchor_pending(web_runtime, timeout=120) == 0
    rotate_key(web_runtime, issuer)
    assert len(key_ring(web_runtime, issuer).list_keys()) == 2
