"""docs/proof-format.md: its numbers are what the code computes, and match the contract ABI.

v3 (the signed example the doc renders) is recomputed step by step: RDFC-1.0 with the
reference canonicaliser and the fast path, SHA-256, Ed25519 with the key taken from the
did:key, JCS with two encoders, keccak256, the tree and the calldata. v2 (unsigned, did:pkh)
and v1 (first contract) stay checked as the legacy forms."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eth_abi import encode as abi_encode

from credanchor.chain.contract import verify_calldata
from credanchor.core import dataintegrity, rdfc, rdfc_fast
from credanchor.core.credentials import validate_credential
from credanchor.core.dataintegrity import proof_configuration
from credanchor.core.hashing import (
    canonicalize,
    credential_hash,
    from_hex32,
    keccak256,
    leaf_hash,
    signed_content,
    to_hex,
)
from credanchor.core.merkle import MerkleTree, make_tree
from credanchor.core.multikey import Ed25519KeyPair, b58encode, multibase_decode, parse_did_key
from credanchor.core.proof import extract_proof
from credanchor.core.report import Status
from credanchor.errors import ProofFormatError
from credanchor.verify.offline import verify_offline

from . import worked_example as we

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "proof-format.md"
ARTIFACT = ROOT / "service" / "credanchor" / "artifacts" / "CredentialAnchor.json"


def _vector():
    """v3, the signed example the doc renders."""
    return json.loads(we.VECTOR.read_text())


def _vector_v2():
    """v2, the unsigned legacy example (did:pkh issuer)."""
    return json.loads(we.VECTOR_V2.read_text())


def _vector_v1():
    return json.loads(we.VECTOR_V1.read_text())


def _check_numbers(v) -> list[bytes]:
    """Everything derived from the credentials (the same in v1 and v2: the proof is outside
    the hashed bytes)."""
    files = v["credentials"]
    assert len(files) == 3
    hashes = []
    for i, f in enumerate(files):
        body = {k: x for k, x in f.items() if k != "proof"}
        assert canonicalize(body).decode() == v["canonical"][i]
        h = credential_hash(f)
        assert to_hex(h) == v["credentialHashes"][i] == f["proof"][0]["credentialHash"]
        assert to_hex(keccak256(v["canonical"][i].encode())) == v["credentialHashes"][i]
        assert to_hex(leaf_hash(h)) == v["leaves"][i]
        hashes.append(h)
    tree = MerkleTree.from_credential_hashes(hashes)
    assert [to_hex(x) for x in make_tree(sorted(leaf_hash(h) for h in hashes))] == v["tree"]
    assert to_hex(tree.root) == v["root"] == v["tree"][0]
    assert [tree.tree_index(h) for h in hashes] == v["treeIndexes"]
    assert [[to_hex(x) for x in tree.proof(h)] for h in hashes] == v["proofs"]
    return hashes


def test_vector_numbers_are_what_the_code_computes():
    v = _vector_v2()
    _check_numbers(v)
    for i, f in enumerate(v["credentials"]):
        p = extract_proof(f)
        assert to_hex(p.merkle_root) == v["root"]
        assert [to_hex(x) for x in p.merkle_proof] == v["proofs"][i]
        assert p.anchor.issuer_account == we.ISSUER.address
        assert f["issuer"]["id"] == we.ISSUER.did  # the DID names the anchoring account
        validate_credential(f)
        assert verify_offline(f, datetime(2027, 1, 1, tzinfo=UTC)).status == Status.VALID


def test_v1_vector_still_holds_and_differs_only_where_v2_changed_the_format():
    # The v1 vector (first, pre-release contract) is golden too: its hashes and tree are
    # still what the code computes; its proofs lack anchor.issuerAccount, which v2 requires.
    v1, v2 = _vector_v1(), _vector_v2()
    _check_numbers(v1)
    for f in v1["credentials"]:
        assert "issuerAccount" not in f["proof"][0]["anchor"]
        with pytest.raises(ProofFormatError, match=r"anchor\.issuerAccount"):
            extract_proof(f)
    same = ("canonical", "credentialHashes", "leaves", "tree", "treeIndexes", "root", "proofs")
    assert {k: v1[k] for k in same} == {k: v2[k] for k in same}
    for old, new in zip(v1["credentials"], v2["credentials"], strict=True):
        anchor = dict(new["proof"][0]["anchor"])
        del anchor["issuerAccount"]
        assert old["proof"][0]["anchor"] == anchor
        assert {**old, "proof": None} == {**new, "proof": None}


def test_the_example_is_the_builders_output():
    # Rebuilding with the same seed gives the same batch: the example is the library's own
    # output, not a hand-edited document. If the builder's output changes on purpose, write a
    # new vector file (golden files are never edited), point VECTOR at it and re-render the doc.
    assert we.build_v2() == _vector_v2()
    assert we.build() == _vector()


@pytest.mark.parametrize("load", [_vector_v2, _vector], ids=["v2", "v3"])
def test_calldata_matches_an_independent_abi_encoder(load):
    v = load()
    issuer = we.ISSUER.address
    for i, h in enumerate(v["credentialHashes"]):
        args = [issuer, from_hex32(h), [from_hex32(p) for p in v["proofs"][i]],
                from_hex32(v["root"])]
        types = ["address", "bytes32", "bytes32[]", "bytes32"]
        expected = we.VERIFY_SELECTOR + abi_encode(types, args)
        assert v["verifyCalldata"][i] == to_hex(expected)
    assert v["anchorOfCalldata"] == to_hex(
        we.ANCHOR_OF_SELECTOR + abi_encode(["address", "bytes32"], [issuer, from_hex32(v["root"])])
    )
    # and the service's own encoder (chain.contract.verify_calldata) agrees
    for i, h in enumerate(v["credentialHashes"]):
        ours = verify_calldata(issuer, from_hex32(h), [from_hex32(p) for p in v["proofs"][i]],
                               from_hex32(v["root"]))
        assert to_hex(ours) == v["verifyCalldata"][i]


def test_v1_calldata_is_the_v1_abi():
    v1 = _vector_v1()
    for i, h in enumerate(v1["credentialHashes"]):
        args = [from_hex32(h), [from_hex32(p) for p in v1["proofs"][i]], from_hex32(v1["root"])]
        expected = we.V1_VERIFY_SELECTOR + abi_encode(["bytes32", "bytes32[]", "bytes32"], args)
        assert v1["verifyCalldata"][i] == to_hex(expected)
    assert v1["anchorOfCalldata"] == to_hex(
        we.V1_ANCHOR_OF_SELECTOR + abi_encode(["bytes32"], [from_hex32(v1["root"])])
    )


def test_doc_section_is_rendered_from_the_vector():
    doc = DOC.read_text()
    start, end = doc.index(we.BEGIN), doc.index(we.END) + len(we.END)
    assert doc[start:end] == we.render(_vector())


def test_every_hash_in_the_doc_is_accounted_for():
    v = _vector()
    known = set(v["credentialHashes"] + v["leaves"] + v["tree"])
    known |= {v["credentials"][0]["proof"][-1]["anchor"]["transactionHash"]}
    known |= {"0x" + keccak256(b"").hex()}
    section = DOC.read_text()
    for h in re.findall(r"0x[0-9a-f]{64}\b", section):
        assert h in known, h
    for h in v["credentialHashes"] + v["leaves"] + v["tree"]:
        assert h in section


SIGNATURES = (
    "verify(address,bytes32,bytes32[],bytes32)",
    "anchorOf(address,bytes32)",
    "leafOf(bytes32)",
    "issuerInfo(address)",
    "credentialRevocation(address,bytes32)",
    "batchRevocation(address,bytes32)",
)


def test_doc_selectors_and_constants():
    doc = DOC.read_text()
    for signature in SIGNATURES:
        selector = "0x" + keccak256(signature.encode())[:4].hex()
        assert f"| `{signature}` | `{selector}` |" in doc
    assert "`0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470`" in doc
    for status, name in enumerate(
        ["Valid", "NotAnchored", "InvalidProof", "CredentialRevoked", "BatchRevoked"]
    ):
        assert f"| {status} | `{name}` |" in doc


def test_doc_matches_the_contract_abi():
    abi = {f["name"]: f for f in json.loads(ARTIFACT.read_text())["abi"] if f.get("name")}

    def sig(name):
        f = abi[name]
        return [i["type"] for i in f["inputs"]], [o["type"] for o in f["outputs"]]

    assert sig("verify") == (
        ["address", "bytes32", "bytes32[]", "bytes32"],
        ["uint8", "uint64", "bool"],
    )
    assert sig("anchorOf") == (["address", "bytes32"], ["bool", "uint64", "uint32"])
    assert sig("leafOf") == (["bytes32"], ["bytes32"])
    assert sig("issuerInfo") == (
        ["address"], ["string", "string", "string", "bool", "uint64", "uint64"])
    assert sig("credentialRevocation") == (["address", "bytes32"], ["uint64", "uint8"])
    assert sig("batchRevocation") == (["address", "bytes32"], ["address", "uint64", "uint8"])
    for signature in SIGNATURES:
        name, args = signature[:-1].split("(")
        assert [i["type"] for i in abi[name]["inputs"]] == (args.split(",") if args else [])


# --- v3: the signed example -----------------------------------------------------------------


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_v3_issuer_key_is_the_stated_seeds_and_its_did_key():
    v = _vector()
    issuer = v["issuer"]
    assert bytes.fromhex(issuer["seed"]) == we.SEED_V3
    key = Ed25519KeyPair.from_seed(bytes.fromhex(issuer["seed"]))
    assert key.public_key.hex() == issuer["publicKey"]
    # The did:key holds the key: z + base58btc(0xed 0x01 + key), decoded here by hand.
    assert issuer["did"] == "did:key:" + issuer["publicKeyMultibase"]
    assert multibase_decode(issuer["publicKeyMultibase"]) == b"\xed\x01" + key.public_key
    assert parse_did_key(issuer["did"]) == key.public_key
    assert issuer["verificationMethod"] == f"{issuer['did']}#{issuer['publicKeyMultibase']}"
    assert issuer["anchoringAccount"] == we.ISSUER.address


def test_v3_signature_numbers_are_what_the_code_computes():
    """RDFC-1.0 (the pyld reference and the fast path), SHA-256 and Ed25519, per credential,
    recomputed from the holder file alone."""
    v = _vector()
    public_key = parse_did_key(v["issuer"]["did"])
    assert len(v["credentials"]) == 3
    for i, f in enumerate(v["credentials"]):
        sig, anchor_proof = f["proof"]
        assert sig["type"] == "DataIntegrityProof" and sig["cryptosuite"] == "eddsa-rdfc-2022"
        assert sig["verificationMethod"] == v["issuer"]["verificationMethod"]
        assert sig["created"] == "2026-03-02T09:15:00Z"
        assert f["issuer"]["id"] == v["issuer"]["did"]
        assert f["credentialStatus"] == {
            "id": f"https://skills.northwind.example/status/1/1#{v['statusSlots'][i][1]}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(v["statusSlots"][i][1]),
            "statusListCredential": "https://skills.northwind.example/status/1/1",
        }
        document = {k: x for k, x in f.items() if k != "proof"}
        options = {k: x for k, x in sig.items() if k != "proofValue"}
        assert v["proofOptions"][i] == {"@context": document["@context"], **options}
        # The document: the reference canonicaliser, and the fast path where it answers (it
        # declines credentialStatus today, and must then leave it to the reference).
        assert rdfc.reference(document) == v["documentNquads"][i]
        assert rdfc_fast.canonical_nquads(document) in (None, v["documentNquads"][i])
        assert rdfc.canonical_nquads(document) == v["documentNquads"][i]
        # The proof options: both paths must answer, byte for byte alike.
        config = v["proofOptions"][i]
        assert rdfc.reference(config) == v["proofOptionsNquads"][i]
        assert rdfc_fast.canonical_nquads(config) == v["proofOptionsNquads"][i]
        assert proof_configuration(document, sig) == v["proofOptionsNquads"][i]
        assert _sha256(v["documentNquads"][i]) == v["documentSha256"][i]
        assert _sha256(v["proofOptionsNquads"][i]) == v["proofOptionsSha256"][i]
        message = bytes.fromhex(v["proofOptionsSha256"][i] + v["documentSha256"][i])
        assert message.hex() == v["hashData"][i]
        signature = bytes.fromhex(v["signatures"][i])
        assert sig["proofValue"] == "z" + b58encode(signature)
        # Ed25519 with the key from the did:key, through `cryptography` directly.
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
        with pytest.raises(InvalidSignature):
            Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message[::-1])
        # RFC 8032 signatures are deterministic: re-signing gives the same bytes.
        assert we.KEY_V3.sign(message) == signature
        assert anchor_proof["previousProof"] == sig["id"]


def test_v3_hash_numbers_are_what_the_code_computes():
    """What is anchored: keccak256(JCS(the credential with only its signature as proof))."""
    v = _vector()
    for i, f in enumerate(v["credentials"]):
        signed = {k: x for k, x in f.items() if k != "proof"}
        signed["proof"] = [f["proof"][0]]
        assert signed_content(f) == signed
        assert canonicalize(signed).decode() == v["canonical"][i]
        assert rfc8785.dumps(signed).decode() == v["canonical"][i]  # the independent encoder
        assert to_hex(keccak256(v["canonical"][i].encode())) == v["credentialHashes"][i]
        assert to_hex(credential_hash(f)) == v["credentialHashes"][i]
        assert f["proof"][1]["credentialHash"] == v["credentialHashes"][i]
        # Without the signature the hash would differ: the anchor covers the signature.
        assert credential_hash({**signed, "proof": []}) != credential_hash(f)
    hashes = [from_hex32(h) for h in v["credentialHashes"]]
    tree = MerkleTree.from_credential_hashes(hashes)
    assert [to_hex(leaf_hash(h)) for h in hashes] == v["leaves"]
    assert [to_hex(x) for x in make_tree(sorted(leaf_hash(h) for h in hashes))] == v["tree"]
    assert to_hex(tree.root) == v["root"] == v["tree"][0]
    assert [tree.tree_index(h) for h in hashes] == v["treeIndexes"]
    assert [[to_hex(x) for x in tree.proof(h)] for h in hashes] == v["proofs"]
    for i, f in enumerate(v["credentials"]):
        p = extract_proof(f)
        assert p.previous_proof == f["proof"][0]["id"]
        assert to_hex(p.merkle_root) == v["root"]
        assert [to_hex(x) for x in p.merkle_proof] == v["proofs"][i]
        assert p.anchor.issuer_account == v["issuer"]["anchoringAccount"]
        validate_credential(f)
        assert verify_offline(f, datetime(2027, 1, 1, tzinfo=UTC)).status == Status.VALID


def test_v3_signatures_verify_with_the_library_and_an_edit_breaks_them():
    v = _vector()
    for f in v["credentials"]:
        result = dataintegrity.verify(f)  # did:key: resolved offline from the DID itself
        assert result.verified
        assert [(p.index, p.id, p.controller) for p in result.proofs] == [
            (0, f["proof"][0]["id"], v["issuer"]["did"])
        ]
        assert result.ignored == (1,)  # the anchor proof is not a signature
        edited = copy.deepcopy(f)
        edited["credentialStatus"]["statusListIndex"] = "1"
        bad = dataintegrity.verify(edited)
        assert not bad.verified
        assert bad.proofs[0].failure == dataintegrity.Failure.BAD_SIGNATURE
        assert credential_hash(edited) != credential_hash(f)


def test_issuance_draws_a_fresh_proof_id_unless_one_is_given():
    """The proof_id parameter exists for reproducible examples only; the default stays a
    random urn:uuid per signature (two equal ids would make previousProof ambiguous)."""
    issuance = we.Issuance(
        profile=we.ISSUER_V3, issuer_id=1, seed=we.SEED_V3,
        verification_method=we.KEY_V3.verification_method, status_base=we.BASE_URL,
        created=we.SIGNED_AT,
    )  # fmt: skip
    body = {k: x for k, x in _vector()["credentials"][0].items() if k != "proof"}
    a, b = (issuance.sign(body)["proof"][0]["id"] for _ in range(2))
    assert a != b and a.startswith("urn:uuid:") and b.startswith("urn:uuid:")
    fixed = issuance.sign(body, proof_id="urn:uuid:8c25cee2-5758-4ddd-92db-4398a0ba3e1e")
    assert fixed["proof"] == [_vector()["credentials"][0]["proof"][0]]


@pytest.mark.interop
def test_v3_holder_file_signature_is_accepted_by_third_party_verifiers(tmp_path):
    """Both verifiers of tests/interop accept the signature. The status list URL cannot be
    fetched offline (the harness refuses it), so only the signature verdicts are asserted."""
    from interop import verifiers

    v = _vector()
    path = tmp_path / "worked-example-v3-0.json"
    path.write_text(json.dumps(v["credentials"][0], indent=2), encoding="utf-8")
    (verdict,) = verifiers.verify(path)
    assert verdict.core_signature is True
    assert "invalid_signature" not in [e["name"] for e in verdict.verifier_core["errors"]]
    assert "signature" not in str(verdict.db_vc.get("error") or "").lower()
    assert set(verdict.refused) == {"verifierCore", "dbVc"}
    for refused in verdict.refused.values():
        assert set(refused) <= {"https://skills.northwind.example/status/1/1"}
