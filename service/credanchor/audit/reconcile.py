"""Audit, step 2: reconcile the on-chain picture with a ledger.

An auditor needs an RPC URL, the contract address and the issuer's ledger (its SQLite file or
an export, read through :mod:`credanchor.ledger.view`) — not the issuer's service. Three steps:

1. :func:`credanchor.audit.replay.replay` folds the contract's events into an
   :class:`~credanchor.audit.replay.OnChainPicture` (with checkpoints);
2. :func:`reconcile` compares the picture with the ledger and returns typed
   :class:`Discrepancy` values (kinds in :data:`KINDS`): roots anchored by a ledger issuer the
   ledger does not know (a leaked key?), confirmed batches missing on chain, a batch's root also
   anchored by another address (a copied, front-run transaction), counts or anchor records that
   differ, revocations out of sync in either direction, and batches whose tree does not rebuild
   from their credential hashes. Work the ledger says is still in flight (queued or
   submitted) is counted, not reported.
3. :func:`credanchor.audit.summary.build_report` adds per-issuer figures;
   ``render_markdown`` and ``render_html`` there summarise the report for people, its JSON
   (``write_report``) is for machines.

Only issuers present in the ledger are reconciled: other issuers of a shared registry appear in
the figures, and their anchors are never "unknown" to a ledger that is not theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from credanchor.audit.replay import AnchorFact, OnChainPicture
from credanchor.core.hashing import to_hex
from credanchor.core.merkle import MerkleTree
from credanchor.errors import MerkleError
from credanchor.ledger.view import BatchMaterial, LedgerBatch, LedgerView, standard_tree_indices

__all__ = [
    "KINDS",
    "Discrepancy",
    "reconcile",
]

# Discrepancy kinds, in report order, with what each means.
ROOT_NOT_IN_LEDGER = "root-not-in-ledger"
ANCHOR_MISSING = "anchor-missing-on-chain"
ANCHORED_BY_OTHER = "anchored-by-another-issuer"
COUNT_MISMATCH = "count-mismatch"
ANCHOR_RECORD_MISMATCH = "anchor-record-mismatch"
STATUS_MISMATCH = "status-mismatch"
TREE_MISMATCH = "tree-mismatch"
DOCUMENT_MISMATCH = "document-mismatch"
REVOCATION_MISSING_ON_CHAIN = "revocation-missing-on-chain"
REVOCATION_MISSING_IN_LEDGER = "revocation-missing-in-ledger"
ISSUER_NOT_ACCREDITED = "issuer-not-accredited"

KINDS: dict[str, str] = {
    ROOT_NOT_IN_LEDGER: "A ledger issuer's address anchored a root the ledger has no batch for: "
                        "its key was used behind the ledger's back, or a batch row was lost.",
    ANCHOR_MISSING: "The ledger says the batch is confirmed, but the chain never recorded it.",
    ANCHORED_BY_OTHER: "Another address also anchored the batch's root (a copy of the issuer's "
                       "transaction, e.g. front-running it). Anchors are recorded per issuer, so "
                       "the batch is unaffected and never credited to the copier, but an "
                       "accredited issuer copied another's root: report it to the registry admin.",
    COUNT_MISMATCH: "Ledger count, credentials in the ledger and count on chain disagree.",
    ANCHOR_RECORD_MISMATCH: "The ledger's anchoring transaction or block is not the chain's, so "
                            "holders' files name the wrong transaction.",
    STATUS_MISMATCH: "The ledger marks the batch failed, but the chain has anchored it.",
    TREE_MISMATCH: "The stored tree does not rebuild from the batch's credential hashes, or "
                   "they do not rebuild the batch's root.",
    DOCUMENT_MISMATCH: "A stored credential document no longer hashes to its credential hash.",
    REVOCATION_MISSING_ON_CHAIN: "The ledger records a revocation as sent (or failed) that the "
                                 "chain does not have.",
    REVOCATION_MISSING_IN_LEDGER: "The chain has a revocation of the issuer's that the ledger "
                                  "did not record.",
    ISSUER_NOT_ACCREDITED: "The ledger holds the issuer as active, but the chain does not "
                           "accredit it (it cannot anchor).",
}


@dataclass(frozen=True)
class Discrepancy:
    """One disagreement between the chain and the ledger. ``subject`` is the root, credential
    hash or address concerned (0x hex); ``data`` holds the facts behind ``detail``."""

    kind: str
    issuer: str | None
    subject: str
    detail: str
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "issuer": self.issuer, "subject": self.subject,
                "detail": self.detail, "data": dict(self.data)}

    def sort_key(self) -> tuple[int, str, str]:
        order = list(KINDS)
        return (order.index(self.kind) if self.kind in order else len(order),
                (self.issuer or "").lower(), self.subject)


ReconcileProgress = Callable[[int], None]  # called with credentials checked per batch


def reconcile(picture: OnChainPicture, ledger: LedgerView,
              *, progress: ReconcileProgress | None = None) -> list[Discrepancy]:
    """Every discrepancy between ``picture`` and ``ledger``, sorted by kind, issuer, subject."""
    found: list[Discrepancy] = []
    ours = {i.address.lower(): i for i in ledger.issuers()}
    batches = ledger.batches()
    by_root = {b.root: b for b in batches}

    # Issuers: the ledger's active issuers must be accredited on chain.
    for key, li in ours.items():
        rec = picture.issuers.get(key)
        if li.status == "active" and (rec is None or not rec.active):
            found.append(Discrepancy(
                ISSUER_NOT_ACCREDITED, li.address, li.address,
                f"{li.name} is active in the ledger but "
                + ("was never accredited on chain" if rec is None else
                   f"was suspended on chain in block {rec.history[-1]['block']}")
                + ": it cannot anchor", {"ledgerStatus": li.status}))

    # Batches: each tree rebuilt from its hashes; each anchor compared with the chain.
    rebuilt_roots: dict[bytes, int] = {}
    anchors_of_root = picture.anchors_of_root()
    for b in batches:
        material = ledger.material(b)
        found += _check_tree(b, material, rebuilt_roots)
        found += _check_anchor(b, len(material.credential_hashes), picture,
                               anchors_of_root.get(b.root, []))
        if progress is not None:
            progress(len(material.credential_hashes))
    for issuer, chash, cid in ledger.document_mismatches():
        found.append(Discrepancy(
            DOCUMENT_MISMATCH, issuer, to_hex(chash),
            f"the stored document of {cid} does not hash to its credential hash: it was "
            "changed after issue", {"credentialId": cid}))

    # Anchors on chain by a ledger issuer that the ledger has no batch for.
    orphans = {}
    for batch_id, (_, hashes) in ledger.orphans().items():
        try:
            orphans[MerkleTree.from_credential_hashes(hashes).root] = (batch_id, len(hashes))
        except MerkleError:
            continue
    for (issuer_key, root), fact in picture.anchors.items():
        # A root the ledger has a batch for under another of its issuers is reported on that
        # batch (anchored-by-another-issuer), not here.
        if issuer_key not in ours or root in by_root:
            continue
        data: dict[str, Any] = {"block": fact.block, "txHash": fact.tx_hash, "count": fact.count}
        if root in orphans:
            batch_id, n = orphans[root]
            data["ledgerBatchId"] = batch_id
            why = (f"the ledger has no batch row for it, but its {n} credentials still filed "
                   f"under batch {batch_id} rebuild this root: the batch row was lost or deleted")
        elif root in rebuilt_roots:
            data["ledgerBatchId"] = rebuilt_roots[root]
            why = (f"ledger batch {rebuilt_roots[root]}'s credential hashes rebuild this root, "
                   "but the batch records another: its stored root was altered")
        else:
            why = ("no ledger batch or credentials rebuild it: it was anchored with the "
                   "issuer's key behind the ledger's back — check that the key has not leaked")
        found.append(Discrepancy(
            ROOT_NOT_IN_LEDGER, fact.issuer, to_hex(root),
            f"anchored in block {fact.block} ({fact.count} credentials declared); {why}", data))

    found += _check_revocations(picture, ledger, ours, by_root)
    found.sort(key=Discrepancy.sort_key)
    return found


def _check_tree(b: LedgerBatch, m: BatchMaterial, rebuilt_roots: dict[bytes, int]
                ) -> list[Discrepancy]:
    subject = to_hex(b.root)
    hashes = m.credential_hashes
    n = len(hashes)
    if n == 0:
        return [Discrepancy(TREE_MISMATCH, b.issuer, subject,
                            f"batch {b.id} has no credential hashes to rebuild its tree from",
                            {"batchId": b.id})]
    try:
        rebuilt = MerkleTree.from_credential_hashes(hashes)
    except MerkleError as exc:
        return [Discrepancy(TREE_MISMATCH, b.issuer, subject,
                            f"batch {b.id}'s credential hashes cannot form a tree ({exc.detail})",
                            {"batchId": b.id})]
    rebuilt_roots[rebuilt.root] = b.id
    if rebuilt.root != b.root:
        return [Discrepancy(
            TREE_MISMATCH, b.issuer, subject,
            f"batch {b.id}'s {n} credential hashes rebuild root {to_hex(rebuilt.root)}, not "
            "the batch's root", {"batchId": b.id, "rebuiltRoot": to_hex(rebuilt.root)})]
    expected = rebuilt.nodes_blob()
    if m.nodes != expected:
        if len(m.nodes) != len(expected):
            what = (f"the stored tree has {len(m.nodes) / 32:g} nodes where {n} credentials "
                    f"make {2 * n - 1}")
            node = None
        else:
            node = next(i for i in range(0, len(expected), 32)
                        if m.nodes[i:i + 32] != expected[i:i + 32]) // 32
            what = (f"the stored tree differs from the tree rebuilt from its {n} credential "
                    f"hashes (first at node {node})")
        return [Discrepancy(
            TREE_MISMATCH, b.issuer, subject,
            f"batch {b.id}: {what}; proofs made from it would not verify",
            {"batchId": b.id, "node": node})]
    if m.tree_indices is not None and m.tree_indices != standard_tree_indices(hashes):
        bad = next(i for i, (x, y) in enumerate(
            zip(m.tree_indices, standard_tree_indices(hashes), strict=True)) if x != y)
        return [Discrepancy(TREE_MISMATCH, b.issuer, subject,
                            f"batch {b.id}: the dump's values[{bad}].treeIndex is wrong",
                            {"batchId": b.id})]
    return []


def _check_anchor(b: LedgerBatch, held: int, picture: OnChainPicture,
                  same_root: list[AnchorFact]) -> list[Discrepancy]:
    """The batch's own anchor (under its issuer) against the ledger, and any other issuer's
    anchor of the same root (``same_root``: every anchor of ``b.root``)."""
    subject = to_hex(b.root)
    fact = picture.anchors.get((b.issuer.lower(), b.root))
    base = {"batchId": b.id, "ledgerStatus": b.status}
    out = [Discrepancy(
        ANCHORED_BY_OTHER, b.issuer, subject,
        f"batch {b.id}'s root was also anchored by {other.issuer} in block {other.block} "
        f"(tx {other.tx_hash}); the batch counts only under its own issuer",
        {**base, "anchoredBy": other.issuer, "block": other.block, "txHash": other.tx_hash})
        for other in same_root if other.issuer.lower() != b.issuer.lower()]
    counts = {"ledger": b.count, "credentials": held}
    if fact is not None:
        counts["chain"] = fact.count
    if len(set(counts.values())) > 1:
        out.append(Discrepancy(
            COUNT_MISMATCH, b.issuer, subject,
            f"batch {b.id}: " + ", ".join(f"{v} ({k})" for k, v in counts.items()),
            {**base, "counts": counts}))
    if b.status == "confirmed":
        if fact is None:
            out.append(Discrepancy(
                ANCHOR_MISSING, b.issuer, subject,
                f"batch {b.id} is confirmed in the ledger (tx {b.tx_hash}, block "
                f"{b.block_number}) but the root is not anchored on chain",
                {**base, "txHash": b.tx_hash, "block": b.block_number}))
        elif (str(b.tx_hash).lower(), b.block_number) != (fact.tx_hash.lower(), fact.block):
            out.append(Discrepancy(
                ANCHOR_RECORD_MISMATCH, b.issuer, subject,
                f"batch {b.id}: the ledger says tx {b.tx_hash} in block {b.block_number}, the "
                f"chain anchored it with tx {fact.tx_hash} in block {fact.block}",
                {**base, "ledger": {"txHash": b.tx_hash, "block": b.block_number},
                 "chain": {"txHash": fact.tx_hash, "block": fact.block}}))
    elif b.status == "failed" and fact is not None:
        out.append(Discrepancy(
            STATUS_MISMATCH, b.issuer, subject,
            f"batch {b.id} is marked failed in the ledger, but was anchored in block "
            f"{fact.block}: its holders never got their files", {**base, "block": fact.block}))
    return out


def _check_revocations(picture: OnChainPicture, ledger: LedgerView,
                       ours: Mapping[str, Any], by_root: Mapping[bytes, LedgerBatch]
                       ) -> list[Discrepancy]:
    out = []
    recorded: set[tuple[str, str, bytes]] = set()
    for r in ledger.revocations():
        recorded.add((r.issuer.lower(), r.kind, r.target))
        on_chain: Any = (picture.credential_revocations if r.kind == "credential"
                         else picture.batch_revocations).get((r.issuer.lower(), r.target))
        if on_chain is not None or r.state in ("unsent", "queued", "submitted"):
            continue  # in sync, or still in flight
        what = "credential" if r.kind == "credential" else "batch"
        out.append(Discrepancy(
            REVOCATION_MISSING_ON_CHAIN, r.issuer, to_hex(r.target),
            f"the ledger records this {what} revocation as {r.state}"
            + (f" (tx {r.tx_hash})" if r.tx_hash else "") + ", but the chain does not have it",
            {"scope": r.kind, "state": r.state, "txHash": r.tx_hash, "reason": r.reason}))
    for (issuer_key, chash), fact in picture.credential_revocations.items():
        if issuer_key not in ours or (issuer_key, "credential", chash) in recorded:
            continue
        batch_id = ledger.batch_of(chash)
        whose = (f"a credential of ledger batch {batch_id}" if batch_id is not None
                 else "a hash the ledger does not know")
        out.append(Discrepancy(
            REVOCATION_MISSING_IN_LEDGER, fact.issuer, to_hex(chash),
            f"revoked on chain in block {fact.block} (reason {fact.reason}), {whose}; the "
            "ledger has no record of it",
            {"scope": "credential", "block": fact.block, "txHash": fact.tx_hash,
             "reason": fact.reason, "ledgerBatchId": batch_id}))
    for (issuer_key, root), brev in picture.batch_revocations.items():
        if issuer_key not in ours or (issuer_key, "batch", root) in recorded:
            continue
        issuer = brev.issuer
        by = "its issuer" if brev.by.lower() == issuer_key else f"{brev.by} (an admin)"
        b = by_root.get(root)
        if b is not None and b.issuer.lower() != issuer_key:
            b = None  # the ledger's batch of this root is another issuer's
        out.append(Discrepancy(
            REVOCATION_MISSING_IN_LEDGER, issuer, to_hex(root),
            f"batch {b.id if b else '(unknown to the ledger)'} was revoked on chain by {by} in "
            f"block {brev.block}; the ledger has no record of it",
            {"scope": "batch", "by": brev.by, "block": brev.block, "txHash": brev.tx_hash,
             "reason": brev.reason, "ledgerBatchId": b.id if b else None}))
    return out
