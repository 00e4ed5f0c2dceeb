"""Audit, step 1: replay the contract's events into an on-chain picture, with checkpoints.

:func:`replay` reads every event of the contract from its deployment block to the head in
block ranges (``step`` blocks per ``eth_getLogs``, halved when a provider refuses a range)
and folds them into an :class:`OnChainPicture`: issuers with their accreditation history
(``IssuerAccredited``, ``IssuerReactivated``, ``IssuerProfileUpdated``, ``IssuerSuspended``:
one event per kind of change, nothing inferred), anchors and batch revocations keyed by
(issuer, root) as the contract keys them, credential revocations, admins. With a checkpoint
file it saves the picture and the next block to read every few seconds and on any
interruption, and resumes from there (after checking that the last block read is still on the
canonical chain). :mod:`credanchor.audit.reconcile` compares the picture with a ledger.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address
from hexbytes import HexBytes

from credanchor.chain.contract import ChainEvent, CredentialAnchor
from credanchor.chain.tx import chain_errors
from credanchor.core.hashing import from_hex32, to_hex
from credanchor.errors import ChainError, ChainUnavailable, InvalidInput

__all__ = [
    "AnchorFact",
    "BatchRevocationFact",
    "CredentialRevocationFact",
    "IssuerRecord",
    "OnChainPicture",
    "find_deploy_block",
    "replay",
]

CHECKPOINT_FORMAT = "credanchor-audit-checkpoint"
# 2: anchors and batch revocations keyed by (issuer, root), issuer DIDs, "reactivated" history
# entries (contract with per-issuer anchors; version 1 pictures are of the earlier contract).
VERSION = 2
DEFAULT_STEP = 2_000
ADMIN_ROLE = b"\x00" * 32

# The contract's accreditation events and the history entry each one makes.
_PROFILE_EVENTS = {
    "IssuerAccredited": "accredited",
    "IssuerReactivated": "reactivated",
    "IssuerProfileUpdated": "updated",
}

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

