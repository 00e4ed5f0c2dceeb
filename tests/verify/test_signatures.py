"""The ``signature`` and ``did-binding`` checks on badges made by the real issuing pipeline.

Offline part: badges are built and signed by ``credanchor.issuing.items.build_rows`` with an
``Issuance`` (real Ed25519 keys, real eddsa-rdfc-2022 proofs), put in a real Merkle tree and
given an anchor proof, then verified by ``verify_offline``. A did:web issuer's DID document is
built by ``core.did_document.issuer_did_document`` (what the service publishes) and handed to
the verifier through its resolver port (a DID -> document callable), except for the
unreachable case, which uses a real ``DidDocumentResolver`` against a closed localhost port.

Chain part: a Runtime on the embedded chain issues, anchors and verifies.
"""

from __future__ import annotations

import copy
import json
import socket
from datetime import UTC, datetime, timedelta

import pytest

from credanchor.core.credentials import IssuerProfile
from credanchor.core.dataintegrity import create_proof
from credanchor.core.did_document import IssuerKey, issuer_did_document, key_method_id
from credanchor.core.hashing import credential_hash
from credanchor.core.merkle import MerkleTree
from credanchor.core.multikey import Ed25519KeyPair
from credanchor.core.proof import AnchorRef, CredanchorProof, attach_proof
from credanchor.core.report import Outcome, Status
from credanchor.issuing.items import build_rows
from credanchor.issuing.pipeline import issue
from credanchor.issuing.signing import Issuance, signature_id
from credanchor.usecases.container import Runtime
from credanchor.verify.did_resolver import DidDocumentResolver
from credanchor.verify.offline import verify_offline
from credanchor.verify.verifier import Verifier
from kit.settings import make_settings, sample_items

ACCOUNT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ANCHORED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
SEEDS = {"key": bytes(range(32)), "other": bytes(range(1, 33))}
KEY = Ed25519KeyPair.from_seed(SEEDS["key"])
OTHER_KEY = Ed25519KeyPair.from_seed(SEEDS["other"])


def seed_of(key: Ed25519KeyPair) -> bytes:
    return SEEDS["key"] if key is KEY else SEEDS["other"]


def profile(did: str = "") -> IssuerProfile:
    return IssuerProfile(address=ACCOUNT, chain_id=31337, name="Northwind Skills Academy",
                         url="https://skills.northwind.example", did=did)


def did_key_issuance(key: Ed25519KeyPair = KEY) -> Issuance:
    return Issuance(profile=profile(key.did), issuer_id=1, seed=seed_of(key),
                    verification_method=key.verification_method,
                    status_base="https://skills.northwind.example")


def did_web_issuance(did: str, key: Ed25519KeyPair = KEY) -> Issuance:
    return Issuance(profile=profile(did), issuer_id=1, seed=seed_of(key),
                    verification_method=key_method_id(did, key.public_multibase),
                    status_base="https://skills.northwind.example")


def anchored(documents: list[dict], at: datetime = ANCHORED_AT) -> list[dict]:
    """The anchor proof issuance attaches after anchoring (real tree, previousProof set)."""
    hashes = [credential_hash(d) for d in documents]
    tree = MerkleTree.from_credential_hashes(hashes)
    ref = AnchorRef(chain_id=31337, contract=CONTRACT, transaction_hash="0x" + "ab" * 32,
                    block_number=42, anchored_at=at, issuer_account=ACCOUNT)
    return [attach_proof(d, CredanchorProof(h, tree.root, tuple(p), ref, at,
                                            previous_proof=signature_id(d)), check=True)
            for d, h, p in zip(documents, hashes, tree.iter_proofs(), strict=True)]


def issued(issuer: Issuance | IssuerProfile, n: int = 2, at: datetime = ANCHORED_AT) -> list[dict]:
    slots = [(0, i) for i in range(n)] if isinstance(issuer, Issuance) else None
    rows = build_rows(sample_items(n), issuer, slots=slots)
    return anchored([json.loads(row[2]) for row in rows], at)


def outcome(report, name):
    return report.check(name).outcome


# --- offline: did:key -------------------------------------------------------------------------


def test_a_did_key_badge_verifies_offline_with_its_signature():
    doc = issued(did_key_issuance())[0]
    assert [p["type"] for p in doc["proof"]] == ["DataIntegrityProof", "CredanchorMerkleProof2026"]
    report = verify_offline(doc, NOW)
    assert report.status == Status.VALID
    assert [c.name for c in report.checks] == ["schema", "integrity", "signature", "merkle",
                                               "validity"]
    sig = report.check("signature")
    assert sig.outcome == Outcome.PASS
    assert sig.data == {"verificationMethod": KEY.verification_method, "issuer": KEY.did}
    assert sig.message.startswith("Signed by the issuer")


def test_a_did_key_signature_needs_no_resolver_even_when_one_is_given():
    # A did:key document is derived from the DID: any resolver would answer the same, so the
    # verifier does not ask one (the API's resolver copied and parsed it for every badge).
    # A resolver that would fail proves it is not consulted; the verdicts stay the same.
    asked: list[str] = []

    def resolver(did: str) -> dict:
        asked.append(did)
        raise AssertionError("a did:key needs no resolver")

    doc = issued(did_key_issuance())[0]
    report = verify_offline(doc, NOW, resolver=resolver)
    assert report.status == Status.VALID and report.check("signature").outcome == Outcome.PASS
    edited = copy.deepcopy(doc)
    edited["credentialSubject"]["name"] = "Mallory"
    sig = verify_offline(edited, NOW, resolver=resolver).check("signature")
    assert sig.outcome == Outcome.FAIL and sig.data["failure"] == "bad-signature"
    assert asked == []


def test_altered_content_fails_integrity_and_signature():
    doc = copy.deepcopy(issued(did_key_issuance())[0])
    doc["credentialSubject"]["achievement"]["name"] = "Advanced Modelling"
    report = verify_offline(doc, NOW)
    assert report.status == Status.INVALID
    assert outcome(report, "integrity") == Outcome.FAIL
    assert outcome(report, "signature") == Outcome.FAIL
    assert report.check("signature").data["failure"] == "bad-signature"


def test_a_self_consistent_forgery_is_caught_by_the_signature_alone():
    """Content altered, then re-anchored around a root of the forger's own: integrity and
    merkle hold offline; only the issuer's signature shows the badge is not what it signed."""
    doc = issued(did_key_issuer := did_key_issuance())[0]
    assert did_key_issuer.signs
    forged = {k: v for k, v in doc.items() if k != "proof"}
    forged["credentialSubject"] = dict(forged["credentialSubject"], name="Mallory")
    forged["proof"] = [doc["proof"][0]]  # the issuer's genuine signature, kept
    [forged] = anchored([forged])
    report = verify_offline(forged, NOW)
    assert report.status == Status.INVALID
    assert [c.name for c in report.checks if c.outcome == Outcome.FAIL] == ["signature"]
    assert report.check("signature").data["failure"] == "bad-signature"
    assert "does not match the badge" in report.check("signature").message


def test_a_tampered_signature_value_is_invalid():
    doc = issued(did_key_issuance())[0]
    body = {k: v for k, v in doc.items() if k != "proof"}
    sig = dict(doc["proof"][0])
    sig["proofValue"] = sig["proofValue"][:-2] + ("1" if sig["proofValue"][-2] != "1" else "2") \
        + sig["proofValue"][-1]
    [tampered] = anchored([dict(body, proof=[sig])])  # re-anchored: only the signature is off
    report = verify_offline(tampered, NOW)
    assert report.status == Status.INVALID
    assert [c.name for c in report.checks if c.outcome == Outcome.FAIL] == ["signature"]
    assert report.check("signature").data["failure"] in ("bad-signature",
                                                         "malformed-proof-value")


def test_a_signature_by_someone_elses_did_key_naming_our_issuer_fails():
    """The forger signs with their own did:key: the key is real, but it is not the issuer's."""
    doc = issued(did_key_issuance())[0]
    body = {k: v for k, v in doc.items() if k != "proof"}
    theirs = create_proof(body, OTHER_KEY, created="2026-03-01T12:00:00Z",
                          proof_id="urn:uuid:00000000-0000-4000-8000-000000000000")
    [forged] = anchored([dict(body, proof=[theirs])])
    report = verify_offline(forged, NOW)
    assert report.status == Status.INVALID
    sig = report.check("signature")
    assert sig.outcome == Outcome.FAIL
    assert sig.data["failure"] == "issuer-mismatch"
    assert sig.data["verificationMethod"] == OTHER_KEY.verification_method


def test_a_signature_by_another_key_under_our_key_id_fails():
    doc = issued(did_key_issuance())[0]
    body = {k: v for k, v in doc.items() if k != "proof"}
    theirs = create_proof(body, OTHER_KEY, verification_method=KEY.verification_method,
                          created="2026-03-01T12:00:00Z")
    [forged] = anchored([dict(body, proof=[theirs])])
    report = verify_offline(forged, NOW)
    assert report.status == Status.INVALID
    assert report.check("signature").data["failure"] == "bad-signature"


def test_a_did_key_badge_with_its_signature_removed_is_invalid():
    doc = issued(did_key_issuance())[0]
    [stripped] = anchored([{k: v for k, v in doc.items() if k != "proof"}])
    report = verify_offline(stripped, NOW)
    assert report.status == Status.INVALID
    sig = report.check("signature")
    assert (sig.outcome, sig.data["failure"]) == (Outcome.FAIL, "missing-signature")


def test_a_legacy_did_pkh_badge_stays_valid_and_is_reported_unsigned():
    doc = issued(profile())[0]  # a bare profile issues unsigned, as before signatures
    assert doc["issuer"]["id"] == f"did:pkh:eip155:31337:{ACCOUNT}"
    assert [p["type"] for p in doc["proof"]] == ["CredanchorMerkleProof2026"]
    report = verify_offline(doc, NOW)
    assert report.status == Status.VALID
    sig = report.check("signature")
    assert sig.outcome == Outcome.SKIPPED
    assert sig.data["reason"] == "unsigned"
    assert sig.message == ("Not signed: issued before credanchor signed its badges; its "
                           "authenticity rests on its blockchain record.")


# --- offline: did:web -------------------------------------------------------------------------

WEB_DID = "did:web:skills.northwind.example"


def test_a_did_web_badge_offline_without_a_resolver_is_not_judged_on_its_signature():
    report = verify_offline(issued(did_web_issuance(WEB_DID))[0], NOW)
    assert report.status == Status.VALID
    sig = report.check("signature")
    assert sig.outcome == Outcome.SKIPPED
    assert sig.data["reason"] == "needs-network" and sig.data["advisory"] is True


def test_a_did_web_badge_verifies_with_its_published_document():
    document = issuer_did_document(WEB_DID, [IssuerKey(KEY.public_multibase)])
    report = verify_offline(issued(did_web_issuance(WEB_DID))[0], NOW,
                            resolver={WEB_DID: document}.get)
    assert report.status == Status.VALID
    assert report.check("signature").data["verificationMethod"] == key_method_id(
        WEB_DID, KEY.public_multibase)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens


def test_an_unreachable_did_web_document_is_an_error_never_invalid():
    did = f"did:web:localhost%3A{closed_port()}"
    doc = issued(did_web_issuance(did))[0]
    report = verify_offline(doc, NOW, resolver=DidDocumentResolver(timeout=2))
    assert report.status == Status.ERROR
    sig = report.check("signature")
    assert sig.outcome == Outcome.ERROR
    assert "Could not fetch the issuer's public keys" in sig.message


@pytest.mark.parametrize(("retired", "expected"), [
    (ANCHORED_AT + timedelta(days=30), Status.VALID),   # retired after the badge was anchored
    (ANCHORED_AT - timedelta(days=1), Status.INVALID),  # already retired when it was anchored
])
def test_a_retired_key_vouches_only_for_badges_anchored_before_its_retirement(retired, expected):
    old, new = KEY, OTHER_KEY
    document = issuer_did_document(WEB_DID, [IssuerKey(old.public_multibase, retired=retired),
                                             IssuerKey(new.public_multibase)])
    assert key_method_id(WEB_DID, old.public_multibase) not in document["assertionMethod"]
    doc = issued(did_web_issuance(WEB_DID, old))[0]
    report = verify_offline(doc, NOW, resolver={WEB_DID: document}.get)
    assert report.status == expected
    sig = report.check("signature")
    if expected == Status.VALID:
        assert sig.data["retiredKey"] is True
        assert "has since been retired" in sig.message
    else:
        assert sig.data["failure"] == "verification-method-not-authorized"


def test_without_an_anchor_the_keys_are_judged_as_of_now():
    document = issuer_did_document(
        WEB_DID, [IssuerKey(KEY.public_multibase, retired=NOW - timedelta(days=1)),
                  IssuerKey(OTHER_KEY.public_multibase)])
    rows = build_rows(sample_items(1), did_web_issuance(WEB_DID), slots=[(0, 0)])
    pending = json.loads(rows[0][2])  # signed, not anchored yet
    report = verify_offline(pending, NOW, resolver={WEB_DID: document}.get)
    assert report.status == Status.INVALID
    assert report.check("signature").data["failure"] == "verification-method-not-authorized"


# --- on the chain -----------------------------------------------------------------------------


@pytest.fixture
def rt(tmp_path):
    runtime = Runtime.open(make_settings(tmp_path / "d"))
    yield runtime
    runtime.close()


def anchor_one(rt: Runtime, issuer, profile_or_issuance) -> dict:
    [a] = issue(rt.store(), issuer, profile_or_issuance, sample_items(1), max_items=1)
    rt.anchorer().run_until_idle(timeout=60)
    return rt.proofs().credential_file(rt.store().get_credential(a.id))


def test_a_signed_badge_is_valid_end_to_end(rt):
    issuer = rt.store().list_issuers()[0]
    assert issuer.did.startswith("did:key:")
    doc = anchor_one(rt, issuer, rt.issuance(issuer))
    report = rt.verifier().verify(doc)
    assert report.status == Status.VALID, report.to_dict()
    assert [c.name for c in report.checks] == [
        "schema", "integrity", "signature", "merkle", "validity", "trusted-anchor", "anchored",
        "did-binding", "issuer", "revocation", "confirmations", "status-list"]
    assert all(c.outcome == Outcome.PASS for c in report.checks)
    assert report.check("did-binding").data == {"did": issuer.did,
                                                 "issuerAccount": issuer.address}


def test_did_binding_fails_when_the_registry_records_another_did(rt):
    issuer = rt.store().list_issuers()[0]
    doc = anchor_one(rt, issuer, rt.issuance(issuer))
    impostor = OTHER_KEY.did
    rt.chain.admin_send(rt.chain.contract.update_issuer_profile(
        issuer.address, issuer.name, issuer.url or "", did=impostor))
    report = rt.verifier().verify(doc)
    assert report.status == Status.INVALID
    assert [c.name for c in report.checks if c.outcome == Outcome.FAIL] == ["did-binding"]
    binding = report.check("did-binding")
    assert binding.data == {"claimed": issuer.did, "onChain": impostor,
                            "issuerAccount": issuer.address}
    assert report.check("issuer").outcome == Outcome.SKIPPED


def test_a_legacy_badge_is_valid_on_chain_and_reported_unsigned(rt):
    issuer = rt.store().list_issuers()[0]
    legacy = IssuerProfile(address=issuer.address, chain_id=rt.chain.chain_id,
                           name=issuer.name, url=issuer.url)  # did:pkh, issues unsigned
    doc = anchor_one(rt, issuer, legacy)
    report = rt.verifier().verify(doc)
    assert report.status == Status.VALID, report.to_dict()
    assert report.check("signature").data["reason"] == "unsigned"
    assert report.check("did-binding").outcome == Outcome.PASS


def test_the_verifier_reports_an_unreachable_did_document_as_error(rt, tmp_path):
    """A did:web issuer whose website is down: the chain-backed verdict is ERROR."""
    web = Runtime.open(make_settings(tmp_path / "web",
                                     public_url=f"https://localhost:{closed_port()}"))
    try:
        issuer = web.store().list_issuers()[0]
        assert issuer.did.startswith("did:web:localhost%3A")
        doc = anchor_one(web, issuer, web.issuance(issuer))
        # The service's own verifier reads its own issuers' documents from its ledger.
        assert web.verifier().verify(doc).status == Status.VALID
        outside = Verifier(web.trust, lambda trusted: web.chain.reader,
                           resolver=DidDocumentResolver(timeout=2))
        report = outside.verify(doc)
        assert report.status == Status.ERROR
        assert report.check("signature").outcome == Outcome.ERROR
        assert report.check("did-binding").outcome == Outcome.PASS
    finally:
        web.close()
