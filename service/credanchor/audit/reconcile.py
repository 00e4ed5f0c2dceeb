"""Audit: replay the contract's events into an on-chain picture and reconcile it with a ledger.

An auditor needs an RPC URL, the contract address and the issuer's ledger (its SQLite file or
an export, :mod:`credanchor.ledger.export`) — not the issuer's service. Three steps:

1. :func:`replay` reads every event of the contract from its deployment block to the head in
   block ranges (``step`` blocks per ``eth_getLogs``, halved when a provider refuses a range)
   and folds them into an :class:`OnChainPicture`: issuers with their accreditation history
   (``IssuerAccredited``, ``IssuerReactivated``, ``IssuerProfileUpdated``, ``IssuerSuspended``:
   one event per kind of change, nothing inferred), anchors and batch revocations keyed by
   (issuer, root) as the contract keys them, credential revocations, admins. With a checkpoint file it saves the
   picture and the next block to read every few seconds and on any interruption, and resumes
   from there (after checking that the last block read is still on the canonical chain).
2. :func:`reconcile` compares the picture with the ledger and returns typed
   :class:`Discrepancy` values (kinds in :data:`KINDS`): roots anchored by a ledger issuer the
   ledger does not know (a leaked key?), confirmed batches missing on chain, a batch's root also
   anchored by another address (a copied, front-run transaction), counts or anchor records that
   differ, revocations out of sync in either direction, and batches whose tree does not rebuild
   from their credential hashes. Work the ledger says is still in flight (queued or
   submitted) is counted, not reported.
3. :func:`build_report` adds per-issuer figures; :func:`render_markdown` and
   :func:`render_html` summarise the report for people, its JSON (:func:`write_report`) is for
   machines.

Only issuers present in the ledger are reconciled: other issuers of a shared registry appear in
the figures, and their anchors are never "unknown" to a ledger that is not theirs.
"""

from __future__ import annotations

import html
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address
from hexbytes import HexBytes

from credanchor import __version__
from credanchor.chain.contract import ChainEvent, CredentialAnchor
from credanchor.chain.tx import chain_errors
from credanchor.core.hashing import from_hex32, to_hex
from credanchor.core.merkle import MerkleTree
from credanchor.errors import ChainError, ChainUnavailable, InvalidInput, MerkleError
from credanchor.ledger.export import BatchMaterial, LedgerBatch, LedgerView, standard_tree_indices

__all__ = [
    "KINDS",
    "Discrepancy",
    "OnChainPicture",
    "build_report",
    "find_deploy_block",
    "reconcile",
    "render_html",
    "render_markdown",
    "replay",
    "write_report",
]

REPORT_FORMAT = "credanchor-audit-report"
CHECKPOINT_FORMAT = "credanchor-audit-checkpoint"
# 2: anchors and batch revocations keyed by (issuer, root), issuer DIDs, "reactivated" history
# entries (contract with per-issuer anchors; version 1 pictures are of the earlier contract).
VERSION = 2
DEFAULT_STEP = 2_000
ADMIN_ROLE = b"\x00" * 32

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


# The contract's accreditation events and the history entry each one makes.
_PROFILE_EVENTS = {
    "IssuerAccredited": "accredited",
    "IssuerReactivated": "reactivated",
    "IssuerProfileUpdated": "updated",
}


def _utc(ts: float | None = None) -> str:
    dt = datetime.now(UTC) if ts is None else datetime.fromtimestamp(ts, UTC)
    return dt.replace(microsecond=0).isoformat().replace("+00:00", "Z")


# --- the on-chain picture -------------------------------------------------------------------


@dataclass
class IssuerRecord:
    """An issuer as the events describe it; ``history`` lists accreditation changes."""

    address: str
    name: str = ""
    profile_uri: str = ""
    active: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    did: str = ""


@dataclass(frozen=True)
class AnchorFact:
    root: bytes
    issuer: str
    count: int
    block: int
    tx_hash: str


@dataclass(frozen=True)
class BatchRevocationFact:
    root: bytes
    issuer: str  # whose batch
    by: str  # that issuer or an admin
    reason: int
    block: int
    tx_hash: str


@dataclass(frozen=True)
class CredentialRevocationFact:
    issuer: str
    credential_hash: bytes
    reason: int
    block: int
    tx_hash: str


@dataclass
class OnChainPicture:
    """Everything the contract's events say, up to (not including) ``next_block``."""

    chain_id: int
    contract: str
    from_block: int
    next_block: int
    last_block_hash: str | None = None
    events: int = 0
    resumed_from: int | None = None
    resumed_events: int = 0  # events already in the checkpoint resumed from
    issuers: dict[str, IssuerRecord] = field(default_factory=dict)  # by lowercase address
    anchors: dict[tuple[str, bytes], AnchorFact] = field(
        default_factory=dict)  # by (lowercase issuer, root), as the contract keys them
    batch_revocations: dict[tuple[str, bytes], BatchRevocationFact] = field(
        default_factory=dict)  # by (lowercase issuer, root)
    credential_revocations: dict[tuple[str, bytes], CredentialRevocationFact] = field(
        default_factory=dict)  # by (lowercase issuer, credential hash)
    admins: dict[str, bool] = field(default_factory=dict)  # address -> holds the admin role
    notes: list[str] = field(default_factory=list)

    @property
    def to_block(self) -> int:
        return self.next_block - 1

    def issuer(self, address: str) -> IssuerRecord | None:
        return self.issuers.get(address.lower())

    def anchors_of_root(self) -> dict[bytes, list[AnchorFact]]:
        """Every issuer's anchor of each root, in the order they were anchored."""
        out: dict[bytes, list[AnchorFact]] = {}
        for fact in sorted(self.anchors.values(), key=lambda f: f.block):
            out.setdefault(fact.root, []).append(fact)
        return out

    def apply(self, e: ChainEvent) -> None:
        """Fold one event in; events must come in (block, log index) order."""
        self.events += 1
        a = e.args
        where = {"block": e.block_number, "txHash": e.tx_hash}
        if e.name in _PROFILE_EVENTS:
            rec = self.issuers.setdefault(a["issuer"].lower(), IssuerRecord(a["issuer"]))
            rec.history.append({"event": _PROFILE_EVENTS[e.name], "name": a["name"],
                                "did": a["did"], **where})
            rec.name, rec.profile_uri, rec.did = a["name"], a["profileURI"], a["did"]
            if e.name != "IssuerProfileUpdated":  # a profile update never changes accreditation
                rec.active = True
        elif e.name == "IssuerSuspended":
            rec = self.issuers.setdefault(a["issuer"].lower(), IssuerRecord(a["issuer"]))
            rec.history.append({"event": "suspended", **where})
            rec.active = False
        elif e.name == "Anchored":
            self.anchors.setdefault((a["issuer"].lower(), a["root"]), AnchorFact(
                a["root"], a["issuer"], int(a["count"]), e.block_number, e.tx_hash))
        elif e.name == "BatchRevoked":
            self.batch_revocations.setdefault((a["issuer"].lower(), a["root"]), BatchRevocationFact(
                a["root"], a["issuer"], a["by"], int(a["reason"]), e.block_number, e.tx_hash))
        elif e.name == "CredentialRevoked":
            key = (a["issuer"].lower(), a["credentialHash"])
            self.credential_revocations.setdefault(key, CredentialRevocationFact(
                a["issuer"], a["credentialHash"], int(a["reason"]), e.block_number, e.tx_hash))
        elif e.name in ("RoleGranted", "RoleRevoked") and a["role"] == ADMIN_ROLE:
            self.admins[a["account"]] = e.name == "RoleGranted"

    # -- checkpoint form --

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "version": VERSION,
            "chainId": self.chain_id,
            "contract": self.contract,
            "fromBlock": self.from_block,
            "nextBlock": self.next_block,
            "lastBlockHash": self.last_block_hash,
            "events": self.events,
            "issuers": [{"address": r.address, "name": r.name, "profileURI": r.profile_uri,
                         "did": r.did, "active": r.active, "history": r.history}
                        for r in self.issuers.values()],
            "anchors": [[to_hex(f.root), f.issuer, f.count, f.block, f.tx_hash]
                        for f in self.anchors.values()],
            "batchRevocations": [[to_hex(f.root), f.issuer, f.by, f.reason, f.block, f.tx_hash]
                                 for f in self.batch_revocations.values()],
            "credentialRevocations": [[f.issuer, to_hex(f.credential_hash), f.reason, f.block,
                                       f.tx_hash] for f in self.credential_revocations.values()],
            "admins": self.admins,
            "notes": self.notes,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> OnChainPicture:
        if d.get("format") != CHECKPOINT_FORMAT or d.get("version") != VERSION:
            raise InvalidInput("not a credanchor audit checkpoint (or another version)")
        try:
            p = cls(int(d["chainId"]), to_checksum_address(d["contract"]), int(d["fromBlock"]),
                    int(d["nextBlock"]), d.get("lastBlockHash"), int(d["events"]))
            for i in d["issuers"]:
                p.issuers[i["address"].lower()] = IssuerRecord(
                    i["address"], i["name"], i["profileURI"], bool(i["active"]), list(i["history"]),
                    str(i["did"]))
            for root, issuer, count, block, tx in d["anchors"]:
                r = from_hex32(root)
                p.anchors[(issuer.lower(), r)] = AnchorFact(r, issuer, int(count), int(block), tx)
            for root, issuer, by, reason, block, tx in d["batchRevocations"]:
                r = from_hex32(root)
                p.batch_revocations[(issuer.lower(), r)] = BatchRevocationFact(
                    r, issuer, by, int(reason), int(block), tx)
            for issuer, chash, reason, block, tx in d["credentialRevocations"]:
                h = from_hex32(chash)
                p.credential_revocations[(issuer.lower(), h)] = CredentialRevocationFact(
                    issuer, h, int(reason), int(block), tx)
            p.admins = {str(k): bool(v) for k, v in d["admins"].items()}
            p.notes = [str(n) for n in d.get("notes", [])]
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, InvalidInput):
                raise
            raise InvalidInput(f"damaged audit checkpoint ({exc})") from exc
        return p


# --- replay ---------------------------------------------------------------------------------


ReplayProgress = Callable[[OnChainPicture, int], None]  # (picture so far, last block wanted)


def replay(
    contract: CredentialAnchor,
    *,
    from_block: int | None = None,
    to_block: int | None = None,
    step: int = DEFAULT_STEP,
    checkpoint: str | Path | None = None,
    checkpoint_every: float = 2.0,
    progress: ReplayProgress | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> OnChainPicture:
    """Every event of ``contract`` from ``from_block`` (default: its deploy block) to
    ``to_block`` (default: the head now), folded into an :class:`OnChainPicture`.

    With ``checkpoint`` the picture is saved there every ``checkpoint_every`` seconds, at the
    end and when anything interrupts the replay (ChainUnavailable, Ctrl-C), and a later call
    resumes after the last block saved. Raises ChainUnavailable / ChainError when the node
    cannot serve the logs even one block at a time.
    """
    if step < 1:
        raise InvalidInput("the block step must be at least 1")
    w3 = contract.w3
    with chain_errors("reading the chain id"):
        chain_id = int(w3.eth.chain_id)
    start = contract.deploy_block if from_block is None else int(from_block)
    path = Path(checkpoint) if checkpoint is not None else None
    picture = _resume(path, contract, chain_id, start) if path is not None else None
    if picture is None:
        picture = OnChainPicture(chain_id, contract.address, start, start)
    with chain_errors("reading the head block"):
        head = int(w3.eth.block_number)
    end = head if to_block is None else min(int(to_block), head)

    size = step
    last_save = clock()
    try:
        while picture.next_block <= end:
            lo = picture.next_block
            hi = min(lo + size - 1, end)
            try:
                events = contract.events(lo, hi, chunk_size=size)
            except ChainUnavailable:
                raise
            except ChainError:
                if size == 1:
                    raise
                size = max(1, size // 2)  # providers cap the range or the results per call
                continue
            for e in events:
                picture.apply(e)
            picture.next_block = hi + 1
            picture.last_block_hash = None
            if progress is not None:
                progress(picture, end)
            if path is not None and clock() - last_save >= checkpoint_every:
                _save(path, picture, w3)
                last_save = clock()
    finally:
        if path is not None:
            _save(path, picture, w3)
    if picture.last_block_hash is None:  # pins what was audited: block number and hash
        picture.last_block_hash = _block_hash(w3, picture.to_block)
    return picture


def find_deploy_block(contract: CredentialAnchor) -> int | None:
    """The block the contract was created in, by bisecting ``eth_getCode`` over history
    (about 25 calls). None when the node keeps no old state (a pruned, non-archive node) or
    there is no code at the address."""
    w3 = contract.w3
    try:
        with chain_errors("looking for the deployment block"):
            head = int(w3.eth.block_number)
            if not w3.eth.get_code(contract.address, head):
                return None
            lo, hi = 0, head
            while lo < hi:
                mid = (lo + hi) // 2
                if w3.eth.get_code(contract.address, mid):
                    hi = mid
                else:
                    lo = mid + 1
            return lo
    except ChainUnavailable:
        raise
    except ChainError:
        return None


def _block_hash(w3: Any, number: int) -> str | None:
    if number < 0:
        return None
    try:
        with chain_errors(f"reading block {number}"):
            return HexBytes(w3.eth.get_block(number)["hash"]).to_0x_hex()
    except ChainError:
        return None


def _save(path: Path, picture: OnChainPicture, w3: Any) -> None:
    if picture.last_block_hash is None:
        picture.last_block_hash = _block_hash(w3, picture.to_block)
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(json.dumps(picture.to_json(), separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, path)


def _resume(path: Path, contract: CredentialAnchor, chain_id: int, start: int
            ) -> OnChainPicture | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read the checkpoint {path}: {exc}") from exc
    picture = OnChainPicture.from_json(data)
    if picture.chain_id != chain_id or picture.contract.lower() != contract.address.lower():
        raise InvalidInput(f"the checkpoint {path} is for contract {picture.contract} on chain "
                           f"{picture.chain_id}, not this one")
    if picture.from_block != start:
        fresh = OnChainPicture(chain_id, contract.address, start, start)
        fresh.notes.append(f"checkpoint started at block {picture.from_block}, not {start}: "
                           "replayed from the start")
        return fresh
    if picture.last_block_hash and _block_hash(contract.w3, picture.to_block) not in (
            picture.last_block_hash, None):
        fresh = OnChainPicture(chain_id, contract.address, start, start)
        fresh.notes.append(f"block {picture.to_block} changed since the checkpoint (reorg): "
                           "replayed from the start")
        return fresh
    picture.resumed_from = picture.next_block
    picture.resumed_events = picture.events
    return picture


# --- reconciliation -------------------------------------------------------------------------


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


# --- the report -----------------------------------------------------------------------------


def build_report(
    picture: OnChainPicture,
    ledger: LedgerView,
    discrepancies: Iterable[Discrepancy],
    *,
    elapsed: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The audit report (JSON-ready): scope, result, per-issuer figures, discrepancies."""
    found = list(discrepancies)
    ours = {i.address.lower(): i for i in ledger.issuers()}
    batches = ledger.batches()
    revocations = ledger.revocations()
    per_issuer_d = Counter((d.issuer or "").lower() for d in found)
    anchors_by: dict[str, list[AnchorFact]] = {}
    for f in picture.anchors.values():
        anchors_by.setdefault(f.issuer.lower(), []).append(f)
    addresses = list(dict.fromkeys([*ours, *picture.issuers, *anchors_by]))
    issuers = []
    for key in addresses:
        rec, li = picture.issuers.get(key), ours.get(key)
        mine = anchors_by.get(key, [])
        entry: dict[str, Any] = {
            "address": (li.address if li else rec.address if rec else mine[0].issuer),
            "name": li.name if li else rec.name if rec else "",
            "inLedger": li is not None,
            "onChain": {
                "name": rec.name if rec else None,
                "did": rec.did if rec else None,
                "active": bool(rec and rec.active),
                "history": rec.history if rec else [],
                "anchors": len(mine),
                "credentialsDeclared": sum(f.count for f in mine),
                "credentialRevocations": sum(
                    1 for (i, _) in picture.credential_revocations if i == key),
                "batchRevocations": sum(1 for (i, _) in picture.batch_revocations if i == key),
            },
            "ledger": None,
            "discrepancies": per_issuer_d.get(key, 0),
        }
        if li is not None:
            own = [b for b in batches if b.issuer.lower() == key]
            revs = [r for r in revocations if r.issuer.lower() == key]
            entry["ledger"] = {
                "status": li.status,
                "batches": dict(Counter(b.status for b in own)),
                "credentials": sum(b.count for b in own),
                "pendingCredentials": li.pending,
                "credentialRevocations": sum(1 for r in revs if r.kind == "credential"),
                "batchRevocations": sum(1 for r in revs if r.kind == "batch"),
                "revocationsInFlight": sum(
                    1 for r in revs if r.state in ("unsent", "queued", "submitted")),
            }
        issuers.append(entry)
    return {
        "format": REPORT_FORMAT,
        "version": VERSION,
        "generator": f"credanchor {__version__}",
        "generatedAt": _utc(),
        "chain": {
            "chainId": picture.chain_id,
            "contract": picture.contract,
            "fromBlock": picture.from_block,
            "toBlock": picture.to_block,
            "toBlockHash": picture.last_block_hash,
            "events": picture.events,
            "resumedFrom": picture.resumed_from,
            "anchors": len(picture.anchors),
            "credentialRevocations": len(picture.credential_revocations),
            "batchRevocations": len(picture.batch_revocations),
            "admins": sorted(a for a, held in picture.admins.items() if held),
            "notes": picture.notes,
        },
        "ledger": {
            "source": ledger.source,
            "path": str(ledger.path),
            "issuers": len(ours),
            "batches": len(batches),
            "credentials": sum(b.count for b in batches),
            "revocations": len(revocations),
        },
        "clean": not found,
        "summary": {"discrepancies": len(found),
                    "byKind": dict(Counter(d.kind for d in found))},
        "elapsed": dict(elapsed or {}),
        "issuers": issuers,
        "discrepancies": [d.to_dict() for d in found],
    }


def write_report(report: Mapping[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Mapping[str, Any]) -> str:
    """A summary for people: scope, verdict, per-issuer figures, every discrepancy."""
    c, lg = report["chain"], report["ledger"]
    lines = [
        "# credanchor audit",
        "",
        f"Generated {report['generatedAt']} by {report['generator']}.",
        "",
        "| | |",
        "| --- | --- |",
        f"| chain | {c['chainId']} |",
        f"| contract | `{c['contract']}` |",
        f"| blocks | {c['fromBlock']} – {c['toBlock']} ({c['events']} events) |",
        f"| ledger | {lg['source']} `{_md(lg['path'])}`: {lg['issuers']} issuer(s), "
        f"{lg['batches']} batch(es), {lg['credentials']} credential(s), "
        f"{lg['revocations']} revocation(s) |",
        "",
    ]
    if report["clean"]:
        lines += ["**Result: clean.** The ledger and the chain agree.", ""]
    else:
        by_kind = ", ".join(f"{k} {v}" for k, v in report["summary"]["byKind"].items())
        lines += [f"**Result: {report['summary']['discrepancies']} discrepancies** ({by_kind}).",
                  ""]
    for note in c.get("notes") or []:
        lines += [f"> {_md(note)}", ""]
    lines += [
        "## Issuers",
        "",
        "| issuer | address | on chain | anchors (credentials) | ledger batches | "
        "revocations chain / ledger | discrepancies |",
        "| --- | --- | --- | ---: | --- | --- | ---: |",
    ]
    for i in report["issuers"]:
        oc, led = i["onChain"], i["ledger"]
        accredited = "accredited" if oc["active"] else (
            "suspended" if oc["history"] else "never accredited")
        batches = ("—" if led is None else ", ".join(
            f"{n} {s}" for s, n in sorted(led["batches"].items())) or "none")
        chain_revs = f"{oc['credentialRevocations']} cred, {oc['batchRevocations']} batch"
        ledger_revs = ("—" if led is None else
                       f"{led['credentialRevocations']} cred, {led['batchRevocations']} batch")
        lines.append(
            f"| {_md(i['name'] or '?')} | `{i['address']}` | {accredited} | "
            f"{oc['anchors']} ({oc['credentialsDeclared']}) | {batches} | "
            f"{chain_revs} / {ledger_revs} | {i['discrepancies']} |")
    lines += ["", "### Accreditation history", ""]
    for i in report["issuers"]:
        for h in i["onChain"]["history"]:
            name = f" as “{_md(h['name'])}”" if h.get("name") else ""
            lines.append(f"- `{i['address']}` {h['event']}{name} in block {h['block']} "
                         f"(tx `{h['txHash']}`)")
    if report["discrepancies"]:
        lines += ["", "## Discrepancies", ""]
        for kind in dict.fromkeys(d["kind"] for d in report["discrepancies"]):
            lines += [f"### {kind}", "", _md(KINDS.get(kind, "")), "",
                      "| issuer | subject | detail |", "| --- | --- | --- |"]
            for d in report["discrepancies"]:
                if d["kind"] == kind:
                    lines.append(f"| `{d['issuer']}` | `{d['subject']}` | {_md(d['detail'])} |")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_html(report: Mapping[str, Any]) -> str:
    """The same summary as a standalone HTML page (no scripts, no external resources)."""
    e = html.escape
    c = report["chain"]
    verdict = ("Clean: the ledger and the chain agree." if report["clean"] else
               f"{report['summary']['discrepancies']} discrepancies.")
    rows = "".join(
        f"<tr><td>{e(i['name'] or '?')}</td><td><code>{e(i['address'])}</code></td>"
        f"<td>{'accredited' if i['onChain']['active'] else 'not accredited'}</td>"
        f"<td>{i['onChain']['anchors']}</td><td>{i['onChain']['credentialsDeclared']}</td>"
        f"<td>{'yes' if i['inLedger'] else 'no'}</td><td>{i['discrepancies']}</td></tr>"
        for i in report["issuers"])
    found = "".join(
        f"<tr><td>{e(d['kind'])}</td><td><code>{e(str(d['issuer']))}</code></td>"
        f"<td><code>{e(d['subject'])}</code></td><td>{e(d['detail'])}</td></tr>"
        for d in report["discrepancies"])
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>credanchor audit</title><style>body{font-family:sans-serif;margin:2em}"
        "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.3em .6em;"
        "text-align:left}code{font-size:.85em}</style></head><body>"
        f"<h1>credanchor audit</h1><p>Chain {c['chainId']}, contract <code>{e(c['contract'])}"
        f"</code>, blocks {c['fromBlock']}–{c['toBlock']} ({c['events']} events). Generated "
        f"{e(report['generatedAt'])}.</p><p><strong>{e(verdict)}</strong></p>"
        "<h2>Issuers</h2><table><tr><th>issuer</th><th>address</th><th>on chain</th>"
        "<th>anchors</th><th>credentials</th><th>in ledger</th><th>discrepancies</th></tr>"
        f"{rows}</table>"
        + (("<h2>Discrepancies</h2><table><tr><th>kind</th><th>issuer</th><th>subject</th>"
            f"<th>detail</th></tr>{found}</table>") if found else "")
        + "</body></html>\n")
