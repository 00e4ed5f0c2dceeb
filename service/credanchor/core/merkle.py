"""OpenZeppelin ``StandardMerkleTree`` (format ``standard-v1``, leaf encoding ``["bytes32"]``).

Layout, identical to @openzeppelin/merkle-tree 1.0.x so its dumps, proofs and Solidity's
``MerkleProof.verify`` all agree with ours:

* leaf = keccak256(keccak256(credentialHash)); leaves are sorted ascending (unsigned big-endian,
  i.e. bytewise);
* the tree is an array of 2n-1 nodes with the sorted leaves placed from the end,
  ``tree[2n-2-i] = sorted_leaf[i]``, and every inner node ``tree[i]`` is the keccak256 of its two
  children ``tree[2i+1]``, ``tree[2i+2]`` concatenated smaller-first; ``root = tree[0]``;
* the proof of tree index j lists the siblings met walking up to the root; a verifier folds it
  with the same smaller-first pair hash, so no left/right flags are needed.

The pure functions (``hash_pair``, ``make_tree``, ``proof_for_index``, ``process_proof``,
``verify_proof``) are the reference; :class:`MerkleTree` is the fast, compact implementation
for batches of millions: it keeps the 2n-1 nodes in one ``bytes`` blob (32 bytes each, no
per-node objects) and derives each proof on demand by a binary search over the sorted leaves.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tiny_keccak import keccak256 as _keccak

from credanchor.core.hashing import from_hex32, keccak256, leaf_hash, to_hex
from credanchor.errors import MerkleError

__all__ = [
    "DUMP_FORMAT",
    "LEAF_ENCODING",
    "MerkleTree",
    "fold_proof",
    "hash_pair",
    "make_tree",
    "process_proof",
    "proof_for_index",
    "verify_proof",
]

DUMP_FORMAT = "standard-v1"
LEAF_ENCODING = ("bytes32",)


def _check_node(node: bytes, what: str) -> None:
    if not isinstance(node, bytes | bytearray) or len(node) != 32:
        raise MerkleError(f"{what} must be 32 bytes")


# --- pure functions -------------------------------------------------------------------------


def hash_pair(a: bytes, b: bytes) -> bytes:
    """keccak256 of the two nodes concatenated smaller-first (OZ ``standardNodeHash``)."""
    return keccak256(a + b if a <= b else b + a)


def make_tree(leaves: Sequence[bytes]) -> list[bytes]:
    """The 2n-1 node array for ``leaves`` placed in the given order (callers sort them first)."""
    if not leaves:
        raise MerkleError("a Merkle tree needs at least one leaf")
    for leaf in leaves:
        _check_node(leaf, "every leaf")
    n = len(leaves)
    tree: list[bytes] = [b""] * (n - 1) + [bytes(x) for x in reversed(leaves)]
    for i in range(n - 2, -1, -1):
        tree[i] = hash_pair(tree[2 * i + 1], tree[2 * i + 2])
    return tree


def proof_for_index(tree: Sequence[bytes], tree_index: int) -> list[bytes]:
    """Sibling hashes from the leaf at ``tree_index`` up to (excluding) the root."""
    if not (len(tree) // 2 <= tree_index < len(tree)):
        raise MerkleError(f"tree index {tree_index} is not a leaf of a {len(tree)}-node tree")
    proof = []
    i = tree_index
    while i > 0:
        proof.append(tree[i - 1 if i % 2 == 0 else i + 1])
        i = (i - 1) // 2
    return proof


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root a leaf and its proof lead to (OZ ``processProof`` / Solidity ``processProof``)."""
    _check_node(leaf, "the leaf")
    for sibling in proof:
        _check_node(sibling, "every proof element")
    return fold_proof(bytes(leaf), [bytes(s) for s in proof])


def fold_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """``process_proof`` without argument checks, for callers holding validated 32-byte
    ``bytes`` values (a parsed CredanchorProof); the offline verifier calls it once per
    credential."""
    k = _keccak
    node = leaf
    for sibling in proof:
        node = k(node + sibling if node <= sibling else sibling + node)
    return node


def verify_proof(root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
    """True if ``proof`` leads from ``leaf`` to ``root``."""
    _check_node(root, "the root")
    return process_proof(leaf, proof) == root


# --- the compact tree -----------------------------------------------------------------------


def _sorted_leaves(hashes: Sequence[bytes]) -> tuple[list[bytes], list[int]]:
    """Leaf hashes in input order, and the input indexes sorted by leaf; rejects duplicates."""
    k = _keccak
    # One C-level pass instead of a Python loop: this runs for every leaf of a million-leaf batch.
    types = set(map(type, hashes))
    if types - {bytes, bytearray} or set(map(len, hashes)) != {32}:
        raise MerkleError("every credential hash must be 32 bytes")
    if bytearray in types:  # tiny-keccak takes bytes only
        hashes = [bytes(h) for h in hashes]
    leaves = [k(k(h)) for h in hashes]
    order = sorted(range(len(leaves)), key=leaves.__getitem__)
    for r in range(1, len(order)):
        if leaves[order[r]] == leaves[order[r - 1]]:
            raise MerkleError(
                "duplicate credential hash in one batch: "
                f"{to_hex(hashes[order[r]])} (inputs #{order[r - 1]} and #{order[r]})",
                credentialHash=to_hex(hashes[order[r]]),
            )
    return leaves, order


def _tree_positions(order: list[int]) -> array:
    """Tree index of each input, from the input indexes in sorted-leaf order."""
    last = 2 * len(order) - 2
    positions = array("I", bytes(4 * len(order)))
    for rank, idx in enumerate(order):
        positions[idx] = last - rank
    return positions


def _leaf_region(leaves: list[bytes], order: list[int]) -> bytearray:
    """A (2n-1)*32-byte buffer whose last n slots hold the sorted leaves (tree[2n-2-r] =
    sorted_leaf[r]); the inner nodes are filled in by ``_fill_inner``."""
    buf = bytearray(32 * (len(leaves) - 1))
    buf += b"".join([leaves[i] for i in reversed(order)])
    return buf


def _fill_inner(buf: bytearray) -> bytes:
    """Hash every inner node in place, bottom-up; returns the finished blob.

    One bytearray rather than a list of 2n bytes objects: the same speed, and with the leaf
    list freed first, about 160 MB less peak memory for a million leaves.
    """
    k = _keccak
    view = memoryview(buf)
    for i in range(len(buf) // 64 - 1, -1, -1):
        off = 64 * i + 32  # children 2i+1 and 2i+2 are adjacent
        pair = view[off : off + 64].tobytes()
        a = pair[:32]
        b = pair[32:]
        buf[32 * i : 32 * i + 32] = k(pair if a <= b else b + a)
    view.release()
    return bytes(buf)


class MerkleTree:
    """An immutable OZ standard-v1 tree over credential hashes, stored as one node blob.

    Memory is about 96 bytes per credential (64 for the 2n-1 nodes, 32 for the input hashes)
    plus a 4-byte tree index per credential; proofs are derived when asked for.
    """

    __slots__ = ("_count", "_hashes", "_hashes_tuple", "_nodes", "_positions")

    def __init__(self, nodes: bytes, hashes: bytes, count: int, positions: array | None) -> None:
        # Private: use from_credential_hashes / from_nodes_blob / from_oz_dump.
        self._nodes = nodes
        self._hashes = hashes
        self._count = count
        self._positions = positions
        self._hashes_tuple: tuple[bytes, ...] | None = None

    # constructors ---------------------------------------------------------------------------

    @classmethod
    def from_credential_hashes(cls, hashes: Sequence[bytes]) -> MerkleTree:
        """Build the tree for a batch; rejects an empty batch and repeated hashes."""
        n = len(hashes)
        if n == 0:
            raise MerkleError("a batch needs at least one credential")
        if n >= 2**31:
            raise MerkleError("a batch may hold at most 2**31 - 1 credentials")
        leaves, order = _sorted_leaves(hashes)
        positions = _tree_positions(order)
        buf = _leaf_region(leaves, order)
        del leaves, order  # ~110 MB per million leaves, no longer needed while hashing
        nodes = _fill_inner(buf)
        del buf
        return cls(nodes, b"".join(bytes(h) for h in hashes), n, positions)

    @classmethod
    def from_nodes_blob(
        cls, blob: bytes, credential_hashes: Sequence[bytes], *, verify: bool = True
    ) -> MerkleTree:
        """Reload a tree stored with :meth:`nodes_blob` and its hashes in input order.

        With ``verify`` (the default) every node is recomputed and a mismatch raises
        MerkleError; ``verify=False`` only checks sizes — use it for blobs this process wrote.
        """
        n = len(credential_hashes)
        if n == 0:
            raise MerkleError("a batch needs at least one credential")
        if len(blob) != (2 * n - 1) * 32:
            raise MerkleError(
                f"node blob is {len(blob)} bytes; {n} credentials need {(2 * n - 1) * 32}"
            )
        if set(map(len, credential_hashes)) != {32}:
            raise MerkleError("every credential hash must be 32 bytes")
        hashes = b"".join(bytes(h) for h in credential_hashes)
        blob = bytes(blob)
        if not verify:
            return cls(blob, hashes, n, None)
        rebuilt = cls.from_credential_hashes(credential_hashes)
        if rebuilt._nodes != blob:
            bad = next(
                i for i in range(2 * n - 1) if rebuilt._node(i) != blob[32 * i : 32 * i + 32]
            )
            raise MerkleError(f"stored tree does not match its credential hashes (node {bad})")
        return rebuilt

    @classmethod
    def from_oz_dump(cls, d: Mapping[str, Any]) -> MerkleTree:
        """Load the JSON dump of @openzeppelin/merkle-tree (``StandardMerkleTree.dump()``).

        Only dumps with the default sorted-leaf layout are accepted (what ``of()`` produces);
        every leaf and inner node is checked, as OZ's ``load()`` does.
        """
        if not isinstance(d, Mapping):
            raise MerkleError("a tree dump must be a JSON object")
        if d.get("format") != DUMP_FORMAT:
            raise MerkleError(f"unknown tree dump format {d.get('format')!r}")
        if list(d.get("leafEncoding") or ()) != list(LEAF_ENCODING):
            raise MerkleError(f"leafEncoding must be {list(LEAF_ENCODING)}")
        tree_hex, values = d.get("tree"), d.get("values")
        if not isinstance(tree_hex, list) or not isinstance(values, list) or not values:
            raise MerkleError("a tree dump needs non-empty 'tree' and 'values' arrays")
        n = len(values)
        size = 2 * n - 1
        if len(tree_hex) != size:
            raise MerkleError(f"{n} values need {size} tree nodes, the dump has {len(tree_hex)}")
        tree = [from_hex32(x, what=f"tree[{i}]", error=MerkleError) for i, x in enumerate(tree_hex)]
        hashes: list[bytes] = []
        positions = array("I", bytes(4 * n))
        for i, entry in enumerate(values):
            value = entry.get("value") if isinstance(entry, Mapping) else None
            tree_index = entry.get("treeIndex") if isinstance(entry, Mapping) else None
            if not isinstance(value, list) or len(value) != 1:
                raise MerkleError(f"values[{i}].value must be a one-element array")
            if type(tree_index) is not int or not n - 1 <= tree_index < size:
                raise MerkleError(f"values[{i}].treeIndex must be a leaf index")
            h = from_hex32(value[0], what=f"values[{i}].value[0]", error=MerkleError)
            if tree[tree_index] != leaf_hash(h):
                raise MerkleError(f"values[{i}] does not match tree[{tree_index}]")
            hashes.append(h)
            positions[i] = tree_index
        for j in range(n - 1, size - 1):
            # Leaves from the end ascending means this region is strictly descending; that also
            # proves every leaf slot is used exactly once (distinct values, one slot each).
            if tree[j] <= tree[j + 1]:
                raise MerkleError("tree leaves are not in the standard sorted layout")
        # Bottom-up, so the node reported is the corrupted one rather than its ancestor.
        for i in range(n - 2, -1, -1):
            if tree[i] != hash_pair(tree[2 * i + 1], tree[2 * i + 2]):
                raise MerkleError(f"tree[{i}] does not match its children")
        return cls(b"".join(tree), b"".join(hashes), n, positions)

    # accessors ------------------------------------------------------------------------------

    @property
    def root(self) -> bytes:
        return self._nodes[:32]

    @property
    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    @property
    def credential_hashes(self) -> tuple[bytes, ...]:
        """The credential hashes in input order (materialised once, on first use)."""
        if self._hashes_tuple is None:
            h = self._hashes
            self._hashes_tuple = tuple(h[i : i + 32] for i in range(0, len(h), 32))
        return self._hashes_tuple

    def nodes_blob(self) -> bytes:
        """The 2n-1 nodes, 32 bytes each, root first: the form to store."""
        return self._nodes

    def _node(self, i: int) -> bytes:
        return self._nodes[32 * i : 32 * i + 32]

    def _positions_array(self) -> array:
        if self._positions is None:
            _, order = _sorted_leaves(self.credential_hashes)
            self._positions = _tree_positions(order)
        return self._positions

    def tree_index(self, credential_hash: bytes) -> int:
        """Tree index of a credential's leaf, by binary search over the sorted leaves."""
        _check_node(credential_hash, "a credential hash")
        leaf = leaf_hash(bytes(credential_hash))
        nodes, n = self._nodes, self._count
        last = 2 * n - 2
        # sorted_leaf[r] lives at tree index last - r; search r in [0, n).
        lo, hi = 0, n
        while lo < hi:
            mid = (lo + hi) // 2
            off = 32 * (last - mid)
            if nodes[off : off + 32] < leaf:
                lo = mid + 1
            else:
                hi = mid
        off = 32 * (last - lo)
        if lo == n or nodes[off : off + 32] != leaf:
            raise MerkleError(f"credential {to_hex(credential_hash)} is not in this batch")
        return last - lo

    def _proof_at_tree_index(self, i: int) -> list[bytes]:
        nodes = self._nodes
        proof = []
        while i > 0:
            s = i - 1 if i % 2 == 0 else i + 1
            proof.append(nodes[32 * s : 32 * s + 32])
            i = (i - 1) // 2
        return proof

    def proof(self, credential_hash: bytes) -> list[bytes]:
        """Merkle proof (siblings, leaf to root) for a credential hash in this batch."""
        return self._proof_at_tree_index(self.tree_index(credential_hash))

    def proof_at(self, index: int) -> list[bytes]:
        """Proof for the credential at ``index`` in input order (no search)."""
        if not 0 <= index < self._count:
            raise MerkleError(f"index {index} out of range for {self._count} credentials")
        return self._proof_at_tree_index(self._positions_array()[index])

    def iter_proofs(self) -> Iterator[list[bytes]]:
        """Proofs for every credential, in input order."""
        positions = self._positions_array()
        for i in range(self._count):
            yield self._proof_at_tree_index(positions[i])

    # OZ interop -----------------------------------------------------------------------------

    def to_oz_dump(self) -> dict[str, Any]:
        """``StandardMerkleTree.dump()``: ``json.dumps(d, separators=(",", ":"))`` equals OZ's
        ``JSON.stringify(tree.dump())`` when OZ was given the lowercase 0x hex values."""
        positions = self._positions_array()
        nodes, hashes = self._nodes, self._hashes
        return {
            "format": DUMP_FORMAT,
            "leafEncoding": list(LEAF_ENCODING),
            "tree": ["0x" + nodes[i : i + 32].hex() for i in range(0, len(nodes), 32)],
            "values": [
                {"value": ["0x" + hashes[32 * i : 32 * i + 32].hex()], "treeIndex": positions[i]}
                for i in range(self._count)
            ],
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MerkleTree):
            return NotImplemented
        return self._nodes == other._nodes and self._hashes == other._hashes

    def __hash__(self) -> int:
        return hash(self.root)

    def __repr__(self) -> str:
        return f"MerkleTree(count={self._count}, root={to_hex(self.root)})"
