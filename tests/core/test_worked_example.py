"""docs/proof-format.md: its numbers are what the code computes, and match the contract ABI."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eth_abi import encode as abi_encode

from credanchor.chain.contract import verify_calldata
from credanchor.core.credentials import validate_credential
from credanchor.core.hashing import (
    canonicalize,
    credential_hash,
    from_hex32,
    keccak256,
    leaf_hash,
    to_hex,
)
from credanchor.core.merkle import MerkleTree, make_tree
from credanchor.core.proof import extract_proof
from credanchor.core.report import Status
from credanchor.errors import ProofFormatError
from credanchor.verify.offline import verify_offline

from . import worked_example as we

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "proof-format.md"
ARTIFACT = ROOT / "service" / "credanchor" / "artifacts" / "CredentialAnchor.json"


def _vector():
    return json.loads(we.VECTOR.read_text())


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
    v = _vector()
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
    v1, v2 = _vector_v1(), _vector()
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
    assert we.build() == _vector()


def test_calldata_matches_an_independent_abi_encoder():
    v = _vector()
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
    known |= {v["credentials"][0]["proof"][0]["anchor"]["transactionHash"]}
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
