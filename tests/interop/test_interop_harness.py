"""The interoperability harness is real and can fail.

Badges built by credanchor's own builder, with the issuer set to a did:key (or did:web), are
signed by Digital Bazaar's reference implementation and handed to two third-party verifiers
(tests/interop/verifiers.mjs, docs/interop.md). Every check here has a negative twin that must
come out the other way: an edited field, a missing Data Integrity proof, a wrong key, an
expired badge, a set status bit. Once credanchor signs badges itself, the same verdicts are
what its signatures must earn.
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from credanchor.core.credentials import (
    AchievementSpec,
    Alignment,
    IssuerProfile,
    Recipient,
    build_credential,
)
from credanchor.core.hashing import credential_hash, leaf_hash
from credanchor.core.proof import PROOF_TYPE, AnchorRef, CredanchorProof, attach_proof
from interop import verifiers
from interop.verifiers import HarnessError, Verdict

pytestmark = pytest.mark.interop

SEED = hashlib.sha256(b"credanchor interop harness: the issuer").digest()
OTHER_SEED = hashlib.sha256(b"credanchor interop harness: someone else").digest()
CREATED = "2026-03-02T09:15:12Z"
WEB_DID = "did:web:badges.northwind.example"
UNKNOWN_CONTEXT = "https://contexts.example/unbundled/v1"
ISSUER = IssuerProfile(
    address="0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    chain_id=31337,
    name="Northwind Skills Academy",
    url="https://skills.northwind.example",
)


def make_badge(
    issuer_id: str,
    *,
    valid_from: datetime = datetime(2026, 3, 2, 9, tzinfo=UTC),
    valid_until: datetime | None = datetime(2036, 3, 2, 9, tzinfo=UTC),
    **extra: Any,
) -> dict[str, Any]:
    """An example badge from credanchor's builder, re-issued under ``issuer_id``."""
    badge = build_credential(
        issuer=ISSUER,
        recipient=Recipient(name="Ada Lovelace", email="ada@example.org"),
        achievement=AchievementSpec(
            name="Data Literacy Foundations",
            description="Reads, questions and presents quantitative data.",
            criteria_narrative="Passed the supervised final assessment.",
            alignments=(
                Alignment(
                    target_name="analyse data",
                    target_url="https://frameworks.example/esco/analyse-data",
                    target_framework="ESCO",
                ),
            ),
            achievement_id="https://skills.northwind.example/achievements/data-literacy",
        ),
        valid_from=valid_from,
        valid_until=valid_until,
        rng=random.Random(8785),
    )
    badge["issuer"]["id"] = issuer_id
    badge.update(extra)
    return badge


def with_anchor_proof(credential: dict[str, Any]) -> dict[str, Any]:
    """The credential as credanchor hands it out: a CredanchorMerkleProof2026 appended to its
    proofs (a one-leaf tree; the anchor is illustrative — these verifiers do not read it)."""
    h = credential_hash(credential)
    at = datetime(2026, 3, 2, 9, 15, 12, tzinfo=UTC)
    proof = CredanchorProof(
        credential_hash=h,
        merkle_root=leaf_hash(h),
        merkle_proof=(),
        anchor=AnchorRef(
            chain_id=31337,
            contract="0x5FbDB2315678afecb367f032d93F642f64180aa3",
            transaction_hash="0x" + "ab" * 32,
            block_number=7,
            anchored_at=at,
            issuer_account="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        ),
        created=at,
    )
    return attach_proof(credential, proof, check=True)


@pytest.fixture(scope="module")
def issuer_did() -> str:
    return verifiers.did_key(SEED)


@pytest.fixture(scope="module")
def signed(issuer_did: str) -> dict[str, Any]:
    return verifiers.sign(make_badge(issuer_did), seed=SEED, created=CREATED)


@pytest.fixture(scope="module")
def verdicts(
    tmp_path_factory: pytest.TempPathFactory, issuer_did: str, signed: dict[str, Any]
) -> dict[str, Verdict]:
    """One verifier run over every variant (loading the libraries costs seconds)."""
    tmp = tmp_path_factory.mktemp("interop")
    (expired,) = verifiers.sign_all(
        [
            make_badge(
                issuer_did,
                valid_from=datetime(2020, 1, 1, tzinfo=UTC),
                valid_until=datetime(2021, 1, 1, tzinfo=UTC),
            )
        ],
        seed=SEED,
        created=CREATED,
    )
    web_doc = tmp / "did-web.json"
    web_doc.write_text(json.dumps(verifiers.did_document(SEED, WEB_DID)), encoding="utf-8")
    web = verifiers.sign(make_badge(WEB_DID), seed=SEED, issuer_did=WEB_DID, created=CREATED)
    # Signed with another key under the same verification method id: the DID document says
    # WEB_DID#key-1 is SEED's key.
    wrong_key = verifiers.sign(
        make_badge(WEB_DID), seed=OTHER_SEED, issuer_did=WEB_DID, created=CREATED
    )
    edited = copy.deepcopy(signed)
    edited["credentialSubject"]["achievement"]["name"] = "Data Literacy Mastery"
    unknown_context = copy.deepcopy(signed)
    unknown_context["@context"].append(UNKNOWN_CONTEXT)
    documents = {
        "signed": signed,
        # As an array: credanchor's attach_proof keeps other proofs only from a proof array
        # (a single proof object is dropped), and the OB 3.0 JSON Schema wants an array too.
        "signed_then_anchored": with_anchor_proof({**signed, "proof": [signed["proof"]]}),
        "edited": edited,
        "anchor_proof_only": with_anchor_proof(make_badge(issuer_did)),
        "no_proof": make_badge(issuer_did),
        "expired": expired,
        "did_web": web,
        "wrong_key": wrong_key,
        "unknown_context": unknown_context,
    }
    return verifiers.verify_documents(documents, tmp / "files", did_docs={WEB_DID: web_doc})


# --- signatures -----------------------------------------------------------------------------


def test_reference_signature_is_accepted_by_both(
    verdicts: dict[str, Verdict], signed: dict[str, Any], issuer_did: str
) -> None:
    proof = signed["proof"]
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["created"] == CREATED
    assert proof["verificationMethod"] == f"{issuer_did}#{issuer_did.removeprefix('did:key:')}"
    v = verdicts["signed"]
    assert v.verifier_core["valid_signature"] is True
    assert v.verifier_core["expiration"] is True
    assert v.verifier_core["errors"] == []
    assert v.verifier_core["revocation_status"] is None  # no credentialStatus, nothing checked
    assert v.db_vc == {"verified": True, "error": None, "status": None}
    assert v.accepted and v.offline_complete


def test_anchor_proof_after_the_signature_does_not_disturb_either(
    verdicts: dict[str, Verdict],
) -> None:
    v = verdicts["signed_then_anchored"]
    assert [p["type"] for p in json.loads(Path(v.file).read_text())["proof"]] == [
        "DataIntegrityProof",
        PROOF_TYPE,
    ]
    assert v.accepted, (v.verifier_core, v.db_vc)


def test_one_edited_field_is_rejected_by_both(verdicts: dict[str, Verdict]) -> None:
    v = verdicts["edited"]
    assert v.verifier_core["valid_signature"] is False
    assert [e["name"] for e in v.verifier_core["errors"]] == ["invalid_signature"]
    assert v.db_vc["verified"] is False
    assert "Invalid signature" in v.db_vc["error"]
    assert v.offline_complete  # a verdict on the bytes, not on something it could not fetch


def test_badge_without_data_integrity_proof_is_rejected_by_both(
    verdicts: dict[str, Verdict],
) -> None:
    """Today's credanchor badge shape (only the Merkle anchor proof), and no proof at all."""
    v = verdicts["anchor_proof_only"]
    assert v.verifier_core["valid_signature"] is False
    assert [e["name"] for e in v.verifier_core["errors"]] == ["invalid_signature"]
    assert v.db_vc["verified"] is False
    assert "Did not verify any proofs" in v.db_vc["error"]
    bare = verdicts["no_proof"]
    assert bare.verifier_core["valid_signature"] is False
    assert [e["name"] for e in bare.verifier_core["errors"]] == ["no_proof"]
    assert bare.db_vc["verified"] is False
    assert "No matching proofs found" in bare.db_vc["error"]
    assert not v.accepted and not bare.accepted


def test_expired_badge_is_rejected_by_both(verdicts: dict[str, Verdict]) -> None:
    v = verdicts["expired"]
    assert v.verifier_core["valid_signature"] is True
    assert v.verifier_core["expiration"] is False
    assert v.db_vc["verified"] is False
    assert "validUntil" in v.db_vc["error"]


def test_did_web_issuer_resolves_from_the_given_document(verdicts: dict[str, Verdict]) -> None:
    v = verdicts["did_web"]
    assert json.loads(Path(v.file).read_text())["proof"]["verificationMethod"] == (
        f"{WEB_DID}#key-1"
    )
    assert v.accepted, (v.verifier_core, v.db_vc)
    assert v.offline_complete


def test_signature_by_a_key_the_did_document_does_not_hold_is_rejected(
    verdicts: dict[str, Verdict],
) -> None:
    v = verdicts["wrong_key"]
    assert v.verifier_core["valid_signature"] is False
    assert v.db_vc["verified"] is False
    assert v.offline_complete


def test_unbundled_context_is_refused_not_fetched(verdicts: dict[str, Verdict]) -> None:
    """The run is offline: the URL shows up in `refused` for both, and neither accepts the
    credential. verifier-core words this as an invalid signature; `offline_complete` is how a
    test tells such a verdict from a real one."""
    v = verdicts["unknown_context"]
    assert v.refused == {"verifierCore": [UNKNOWN_CONTEXT], "dbVc": [UNKNOWN_CONTEXT]}
    assert not v.offline_complete
    assert v.verifier_core["valid_signature"] is False
    assert v.db_vc["verified"] is False
    assert UNKNOWN_CONTEXT in v.db_vc["error"]


def test_signing_is_reproducible_for_a_fixed_created_date(
    issuer_did: str, signed: dict[str, Any]
) -> None:
    """What the byte-for-byte cross-check against credanchor's own signer relies on."""
    again = verifiers.sign(make_badge(issuer_did), seed=SEED, created=CREATED)
    assert again == signed


# --- revocation through a Bitstring Status List ---------------------------------------------

INDEX = 5


@pytest.fixture(scope="module")
def status_setup(
    tmp_path_factory: pytest.TempPathFactory, issuer_did: str
) -> Iterator[dict[str, Any]]:
    served = tmp_path_factory.mktemp("served")
    with verifiers.serve_directory(served) as base:
        url = f"{base}/status/1.json"
        missing = f"{base}/status/missing.json"

        def entry(list_url: str) -> dict[str, Any]:
            return {
                "id": f"{list_url}#{INDEX}",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": str(INDEX),
                "statusListCredential": list_url,
            }

        foreign_url = f"{base}/status/foreign.json"
        badge, orphan, foreign_badge = verifiers.sign_all(
            [
                make_badge(issuer_did, credentialStatus=entry(url)),
                make_badge(issuer_did, credentialStatus=entry(missing)),
                make_badge(issuer_did, credentialStatus=entry(foreign_url)),
            ],
            seed=SEED,
            created=CREATED,
        )
        # The neighbours of INDEX are set in the "clear" list: an off-by-one reader would
        # call the badge revoked.
        revoked = verifiers.status_list(seed=SEED, url=url, revoked=[INDEX, 100], created=CREATED)
        clear = verifiers.status_list(
            seed=SEED, url=url, revoked=[INDEX - 1, INDEX + 1], created=CREATED
        )
        # A list at the badge's URL, but signed by someone else's key.
        foreign = verifiers.status_list(
            seed=OTHER_SEED, url=foreign_url, revoked=[INDEX], created=CREATED
        )
        (served / "status").mkdir()
        (served / "status" / "foreign.json").write_text(json.dumps(foreign), encoding="utf-8")
        yield {
            "list_path": served / "status" / "1.json",
            "foreign_badge": foreign_badge,
            "files": tmp_path_factory.mktemp("status-files"),
            "badge": badge,
            "orphan": orphan,
            "revoked": revoked,
            "clear": clear,
        }


def _publish(setup: dict[str, Any], status_list: dict[str, Any]) -> None:
    setup["list_path"].parent.mkdir(parents=True, exist_ok=True)
    setup["list_path"].write_text(json.dumps(status_list), encoding="utf-8")


def test_set_bit_is_reported_revoked_by_both(status_setup: dict[str, Any]) -> None:
    _publish(status_setup, status_setup["revoked"])
    v = verifiers.verify_documents({"badge": status_setup["badge"]}, status_setup["files"])["badge"]
    assert v.verifier_core["valid_signature"] is True
    assert v.verifier_core["revocation_status"] is False
    assert v.core_revoked is True
    assert v.db_revoked is True
    assert v.db_vc["status"]["entries"] == [
        {"statusPurpose": "revocation", "statusListIndex": str(INDEX), "set": True}
    ]
    assert v.offline_complete  # the list came from 127.0.0.1, which is allowed


def test_clear_bit_is_reported_not_revoked_by_both(status_setup: dict[str, Any]) -> None:
    _publish(status_setup, status_setup["clear"])
    v = verifiers.verify_documents({"badge": status_setup["badge"]}, status_setup["files"])["badge"]
    assert v.verifier_core["revocation_status"] is True
    assert v.core_revoked is False
    assert v.db_revoked is False
    assert v.accepted


def test_unreachable_status_list_is_an_error_not_a_revocation(
    status_setup: dict[str, Any],
) -> None:
    v = verifiers.verify_documents({"orphan": status_setup["orphan"]}, status_setup["files"])[
        "orphan"
    ]
    status = v.verifier_core["revocation_status"]
    assert isinstance(status, dict) and status["error"]["name"] == "status_list_not_found"
    assert v.core_revoked is None
    assert v.db_vc["verified"] is False
    assert v.db_revoked is None
    assert "missing.json" in v.db_vc["error"]


def test_status_list_from_another_issuer_is_refused_by_db_vc_only(
    status_setup: dict[str, Any],
) -> None:
    """A known difference, pinned so that an upgrade that changes it is noticed: verifier-core
    beta.11 calls the status check with verifyMatchingIssuers: false, so it reads a list signed
    by any key; @digitalbazaar/vc-bitstring-status-list requires the badge's issuer."""
    v = verifiers.verify_documents(
        {"foreign": status_setup["foreign_badge"]}, status_setup["files"]
    )["foreign"]
    assert v.db_vc["verified"] is False
    assert (
        "Issuers of the status list credential and verifiable credential do not match"
        in (v.db_vc["error"])
    )
    assert v.db_revoked is None
    assert v.verifier_core["valid_signature"] is True
    assert v.core_revoked is True  # the foreign list's bit, taken at face value


def _python_read(encoded_list: str) -> list[int]:
    """The spec's decoding (multibase base64url, GZIP, bit 0 = the first byte's high bit)."""
    assert encoded_list.startswith("u")
    raw = encoded_list[1:]
    bits = gzip.decompress(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    return [i for i in range(len(bits) * 8) if bits[i // 8] >> (7 - i % 8) & 1]


def test_status_list_encoding_reads_the_same_in_python_and_js(
    status_setup: dict[str, Any], issuer_did: str
) -> None:
    revoked = status_setup["revoked"]
    assert revoked["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert revoked["issuer"] == issuer_did
    assert revoked["credentialSubject"]["statusPurpose"] == "revocation"
    assert verifiers.read_status_list(revoked) == (131_072, [INDEX, 100])
    assert _python_read(revoked["credentialSubject"]["encodedList"]) == [INDEX, 100]


# --- the CLI's own failures -----------------------------------------------------------------


def test_sign_refuses_a_credential_whose_issuer_is_not_the_key(issuer_did: str) -> None:
    with pytest.raises(HarnessError, match=r"exited 2: verifiers\.mjs: --issuer-did .* is not"):
        verifiers.sign(make_badge(issuer_did), seed=SEED, issuer_did=verifiers.did_key(OTHER_SEED))


def test_verify_reports_every_file_even_when_one_cannot_be_read(tmp_path: Path) -> None:
    good = tmp_path / "unsigned.json"
    good.write_text(
        json.dumps(make_badge("did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"))
    )
    bad = tmp_path / "not-json.json"
    bad.write_text("{not json", encoding="utf-8")
    proc = verifiers.run("verify", str(good), str(bad), str(tmp_path / "absent.json"), ok=(1,))
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(good), str(bad), str(tmp_path / "absent.json")]
    assert lines[0]["verifierCore"]["valid_signature"] is False
    assert lines[0]["dbVc"]["verified"] is False
    assert "is not JSON" in lines[1]["error"]
    assert "cannot read" in lines[2]["error"] and "ENOENT" in lines[2]["error"]
