"""The Merkle tree against OpenZeppelin's golden vectors, and its properties."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credanchor.core.hashing import from_hex32, keccak256, leaf_hash, to_hex
from credanchor.core.merkle import (
    MerkleTree,
    hash_pair,
    make_tree,
    process_proof,
    proof_for_index,
    verify_proof,
)
from credanchor.errors import MerkleError
from kit.credentials import VECTORS

OZ = VECTORS / "merkle"
SIZES = (1, 2, 3, 7, 1000)


def _vector(n):
    return json.loads((OZ / f"oz-standard-v1-n{n}.json").read_text())


def _compact(d):
    """``JSON.stringify(d)``: the same key order, no whitespace, non-ASCII kept."""
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False)


def test_all_golden_vectors_exist():
    # Fails (never skips) if the OpenZeppelin-generated files go missing.
    present = {p.name for p in OZ.glob("oz-standard-v1-n*.json")}
    assert {f"oz-standard-v1-n{n}.json" for n in SIZES} <= present


@pytest.mark.parametrize("n", SIZES)
def test_golden_vector(n):
    v = _vector(n)
    hashes = [from_hex32(h) for h in v["credentialHashes"]]
    assert len(hashes) == n
    assert [to_hex(leaf_hash(h)) for h in hashes] == v["leaves"]
    tree = MerkleTree.from_credential_hashes(hashes)
    assert to_hex(tree.root) == v["root"]
    assert tree.count == n
    assert [[to_hex(x) for x in tree.proof(h)] for h in hashes] == v["proofs"]
    assert [[to_hex(x) for x in tree.proof_at(i)] for i in range(n)] == v["proofs"]
    assert [[to_hex(x) for x in p] for p in tree.iter_proofs()] == v["proofs"]
    for h, proof in zip(hashes, v["proofs"], strict=True):
        assert verify_proof(tree.root, leaf_hash(h), [from_hex32(p) for p in proof])


@pytest.mark.parametrize("n", SIZES)
def test_dump_is_byte_equal_to_openzeppelin(n):
    v = _vector(n)
    tree = MerkleTree.from_credential_hashes([from_hex32(h) for h in v["credentialHashes"]])
    ours = tree.to_oz_dump()
    assert ours == v["dump"]
    assert _compact(ours) == _compact(v["dump"])
    # JSON.stringify(dump, null, 2) and json.dumps(indent=2) agree for this shape too.
    assert json.dumps(ours, indent=2) == json.dumps(v["dump"], indent=2)
    loaded = MerkleTree.from_oz_dump(v["dump"])
    assert loaded == tree
    assert _compact(loaded.to_oz_dump()) == _compact(v["dump"])
    assert loaded.credential_hashes == tree.credential_hashes


@pytest.mark.parametrize("n", SIZES)
def test_pure_functions_agree_with_the_compact_tree(n):
    v = _vector(n)
    hashes = [from_hex32(h) for h in v["credentialHashes"]]
    tree = MerkleTree.from_credential_hashes(hashes)
    nodes = make_tree(sorted(leaf_hash(h) for h in hashes))
    assert b"".join(nodes) == tree.nodes_blob()
    assert [to_hex(x) for x in nodes] == v["dump"]["tree"]
    for i, h in enumerate(hashes):
        assert proof_for_index(nodes, tree.tree_index(h)) == tree.proof_at(i)


def test_single_leaf_tree_has_an_empty_proof():
    h = keccak256(b"only")
    tree = MerkleTree.from_credential_hashes([h])
    assert tree.root == leaf_hash(h)
    assert tree.proof(h) == []
    assert process_proof(leaf_hash(h), []) == tree.root


def test_hash_pair_is_order_independent():
    a, b = keccak256(b"a"), keccak256(b"b")
    assert hash_pair(a, b) == hash_pair(b, a) == keccak256(min(a, b) + max(a, b))


def test_the_checked_functions_take_any_bytes_like_node():
    """The public functions accept bytearray and memoryview nodes, as before tiny-keccak
    (which takes only bytes): each gives what it gives for the same bytes."""
    hashes = [keccak256(bytes([i])) for i in range(5)]
    tree = MerkleTree.from_credential_hashes(hashes)
    assert MerkleTree.from_credential_hashes([bytearray(h) for h in hashes]) == tree
    leaf, proof = leaf_hash(hashes[3]), tree.proof(hashes[3])
    assert leaf_hash(bytearray(hashes[3])) == leaf_hash(memoryview(hashes[3])) == leaf
    a, b = bytearray(hashes[0]), bytearray(hashes[1])
    assert hash_pair(a, b) == hash_pair(b, a) == hash_pair(hashes[0], hashes[1])
    assert process_proof(bytearray(leaf), [bytearray(p) for p in proof]) == tree.root
    assert verify_proof(tree.root, leaf, [bytearray(p) for p in proof])


# --- properties ------------------------------------------------------------------------------

_hashes = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70, unique=True)


@settings(max_examples=80, deadline=None)
@given(_hashes)
def test_every_leaf_proves_against_its_root(hashes):
    tree = MerkleTree.from_credential_hashes(hashes)
    for i, h in enumerate(hashes):
        proof = tree.proof(h)
        assert proof == tree.proof_at(i)
        assert verify_proof(tree.root, leaf_hash(h), proof)
        assert len(proof) <= len(hashes).bit_length()


@settings(max_examples=60, deadline=None)
@given(_hashes, _hashes)
def test_a_proof_from_another_tree_fails(a, b):
    ta, tb = MerkleTree.from_credential_hashes(a), MerkleTree.from_credential_hashes(b)
    if set(a) == set(b):
        assert ta.root == tb.root  # the tree depends on the set, not the input order
        return
    for h in b:
        assert not verify_proof(ta.root, leaf_hash(h), tb.proof(h)) or h in a


@settings(max_examples=80, deadline=None)
@given(_hashes.filter(lambda h: len(h) >= 2), st.data())
def test_flipping_any_bit_breaks_the_proof(hashes, data):
    tree = MerkleTree.from_credential_hashes(hashes)
    i = data.draw(st.integers(0, len(hashes) - 1))
    leaf, proof, root = leaf_hash(hashes[i]), tree.proof_at(i), tree.root
    bit = data.draw(st.integers(0, 255))

    def flip(b):
        return bytes(x ^ (1 << (bit % 8)) if j == bit // 8 else x for j, x in enumerate(b))

    assert verify_proof(root, leaf, proof)
    assert not verify_proof(root, flip(leaf), proof)
    assert not verify_proof(flip(root), leaf, proof)
    k = data.draw(st.integers(0, len(proof) - 1))
    assert not verify_proof(root, leaf, [flip(p) if j == k else p for j, p in enumerate(proof)])


@settings(max_examples=60, deadline=None)
@given(_hashes)
def test_nodes_blob_round_trip(hashes):
    tree = MerkleTree.from_credential_hashes(hashes)
    blob = tree.nodes_blob()
    assert len(blob) == (2 * len(hashes) - 1) * 32
    assert blob[:32] == tree.root
    for verify in (True, False):
        again = MerkleTree.from_nodes_blob(blob, hashes, verify=verify)
        assert again == tree
        assert again.root == tree.root
        assert [again.proof_at(i) for i in range(len(hashes))] == list(tree.iter_proofs())
        assert again.to_oz_dump() == tree.to_oz_dump()


def test_tree_does_not_depend_on_input_order_but_dump_keeps_it():
    hashes = [keccak256(bytes([i])) for i in range(9)]
    a = MerkleTree.from_credential_hashes(hashes)
    b = MerkleTree.from_credential_hashes(hashes[::-1])
    assert a.nodes_blob() == b.nodes_blob()
    assert a.credential_hashes == tuple(hashes)
    assert [v["value"][0] for v in b.to_oz_dump()["values"]] == [to_hex(h) for h in hashes[::-1]]


def test_memory_is_a_flat_blob():
    hashes = [os.urandom(32) for _ in range(5000)]
    tree = MerkleTree.from_credential_hashes(hashes)
    assert isinstance(tree.nodes_blob(), bytes)
    assert not hasattr(tree, "__dict__")  # slots: no per-tree dict, no per-node objects


# --- errors ----------------------------------------------------------------------------------


def test_empty_and_duplicate_batches_are_refused():
    with pytest.raises(MerkleError, match="at least one"):
        MerkleTree.from_credential_hashes([])
    h = keccak256(b"x")
    with pytest.raises(MerkleError, match="duplicate credential hash") as exc:
        MerkleTree.from_credential_hashes([keccak256(b"y"), h, keccak256(b"z"), h])
    assert exc.value.extra["credentialHash"] == to_hex(h)
    assert "#1 and #3" in exc.value.detail


@pytest.mark.parametrize("bad", [b"\x00" * 31, b"\x00" * 33, "0x" + "00" * 32, None])
def test_hashes_must_be_32_bytes(bad):
    with pytest.raises(MerkleError, match="32 bytes"):
        MerkleTree.from_credential_hashes([keccak256(b"a"), bad])


def test_proof_for_unknown_hash_or_index():
    tree = MerkleTree.from_credential_hashes([keccak256(b"a"), keccak256(b"b")])
    with pytest.raises(MerkleError, match="not in this batch"):
        tree.proof(keccak256(b"c"))
    with pytest.raises(MerkleError, match="out of range"):
        tree.proof_at(2)
    with pytest.raises(MerkleError, match="not a leaf"):
        proof_for_index(make_tree([keccak256(b"a"), keccak256(b"b")]), 0)
    with pytest.raises(MerkleError):
        verify_proof(tree.root, b"short", [])
    with pytest.raises(MerkleError):
        make_tree([])


def test_inconsistent_blob_is_refused():
    hashes = [keccak256(bytes([i])) for i in range(6)]
    blob = bytearray(MerkleTree.from_credential_hashes(hashes).nodes_blob())
    with pytest.raises(MerkleError, match="bytes"):
        MerkleTree.from_nodes_blob(bytes(blob[:-32]), hashes)
    blob[3 * 32] ^= 1
    with pytest.raises(MerkleError, match=r"node 3\)"):
        MerkleTree.from_nodes_blob(bytes(blob), hashes)
    with pytest.raises(MerkleError, match="does not match"):
        MerkleTree.from_nodes_blob(
            MerkleTree.from_credential_hashes(hashes).nodes_blob(), [*hashes[:5], keccak256(b"x")]
        )
    with pytest.raises(MerkleError, match="32 bytes"):
        MerkleTree.from_nodes_blob(
            bytes(blob),
            [h[:31] for h in hashes[:3]] + [h + b"\0" for h in hashes[3:]],
            verify=False,
        )
    # verify=False trusts the blob: only sizes are checked.
    assert MerkleTree.from_nodes_blob(bytes(blob), hashes, verify=False).count == 6


def _edit(d, fn):
    d = json.loads(json.dumps(d))
    fn(d)
    return d


@pytest.mark.parametrize(
    "edit,problem",
    [
        (lambda d: d.update(format="standard-v2"), "unknown tree dump format"),
        (lambda d: d.update(leafEncoding=["uint256"]), "leafEncoding"),
        (lambda d: d.update(values=[]), "non-empty"),
        (lambda d: d["tree"].pop(), "tree nodes"),
        (lambda d: d["tree"].__setitem__(1, "0x" + "00" * 32), r"tree\[1\] does not match"),
        (lambda d: d["tree"].__setitem__(0, "0x1234"), r"tree\[0\]"),
        (lambda d: d["values"][0].update(treeIndex=0), "leaf index"),
        (lambda d: d["values"][0].update(treeIndex="3"), "leaf index"),
        (lambda d: d["values"][0].update(value=["0x" + "11" * 32]), "does not match"),
        (lambda d: d["values"][0].update(value="0x" + "11" * 32), "one-element array"),
        (lambda d: d["values"].__setitem__(0, 7), "one-element array"),
    ],
)
def test_bad_dumps_are_refused(edit, problem):
    good = _vector(7)["dump"]
    with pytest.raises(MerkleError, match=problem):
        MerkleTree.from_oz_dump(_edit(good, edit))


def test_unsorted_layout_is_refused():
    # What StandardMerkleTree.of(values, enc, {sortLeaves: false}) may produce: valid for OZ
    # but not the standard layout every credanchor proof assumes.
    hashes = [keccak256(bytes([i])) for i in range(4)]
    leaves = [leaf_hash(h) for h in hashes]
    order = sorted(range(4), key=lambda i: leaves[i], reverse=True)  # descending: not standard
    nodes = make_tree([leaves[i] for i in order])
    dump = {
        "format": "standard-v1",
        "leafEncoding": ["bytes32"],
        "tree": [to_hex(x) for x in nodes],
        "values": [
            {"value": [to_hex(h)], "treeIndex": 6 - order.index(i)} for i, h in enumerate(hashes)
        ],
    }
    with pytest.raises(MerkleError, match="sorted layout"):
        MerkleTree.from_oz_dump(dump)


def test_bench_entry_point_runs(capsys):
    import importlib.util

    from kit.settings import ROOT

    # The benchmark lives in bench/ (not a package), beside the others, not in the core.
    spec = importlib.util.spec_from_file_location("bench_micro", ROOT / "bench" / "micro.py")
    assert spec is not None and spec.loader is not None
    micro = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(micro)
    assert micro.main(["merkle", "--bench", "2000"]) == 0
    out = capsys.readouterr().out
    assert "build" in out and "us/leaf" in out
