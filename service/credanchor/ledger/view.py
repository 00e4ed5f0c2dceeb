"""The ledger as an auditor reads it: a read-only view, the same facts from the service's
SQLite file (:class:`SqliteLedger`, through the :class:`~credanchor.ledger.store.Store`'s own
reads, opened ``mode=ro``) or from an export (:class:`credanchor.ledger.export.ExportLedger`).

The audit (:mod:`credanchor.audit`) and the export both read through :class:`LedgerView`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from eth_utils import is_address, to_checksum_address

from credanchor.core.hashing import keccak256, leaf_hash
from credanchor.errors import InvalidInput, NotFound, StoreError
from credanchor.ledger.schema import MIGRATIONS
from credanchor.ledger.store import Store

__all__ = [
    "BatchMaterial",
    "LedgerBatch",
    "LedgerIssuer",
    "LedgerRevocation",
    "LedgerView",
    "SqliteLedger",
    "checksum_address",
    "standard_tree_indices",
]


# --- the facts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerIssuer:
    address: str  # EIP-55
    name: str
    status: str  # active | suspended (the ledger's view; the chain has its own)
    pending: int = 0  # credentials accepted but not yet sealed into a batch


@dataclass(frozen=True)
class LedgerBatch:
    id: int
    issuer: str  # EIP-55 address of the issuer that seals and anchors it
    root: bytes
    count: int
    status: str  # queued | submitted | confirmed | failed
    tx_hash: str | None
    block_number: int | None
    anchored_at: int | None


@dataclass(frozen=True)
class LedgerRevocation:
    issuer: str
    kind: str  # credential | batch
    target: bytes  # the credential hash or the batch root
    reason: int
    state: str  # unsent (not yet grouped) | queued | submitted | confirmed | failed
    tx_hash: str | None


@dataclass(frozen=True)
class BatchMaterial:
    """What a batch's tree is made of, as stored: its input hashes and its node blob."""

    credential_hashes: list[bytes]  # sealing order
    nodes: bytes  # the stored 2n-1 nodes, root first
    tree_indices: list[int] | None = None  # an export's ``treeIndex`` per value


class LedgerView(Protocol):
    """Read access to one issuer's (or one service's) ledger, for the audit."""

    source: str  # "sqlite" | "export"
    path: Path
    chain_id: int | None  # the chain and contract the ledger says it anchors in, if it says
    contract: str | None

    def issuers(self) -> list[LedgerIssuer]: ...

    def batches(self) -> list[LedgerBatch]: ...

    def material(self, batch: LedgerBatch) -> BatchMaterial: ...

    def revocations(self) -> list[LedgerRevocation]: ...

    def orphans(self) -> dict[int, tuple[str, list[bytes]]]:
        """Credential hashes filed under a batch id the ledger has no row for:
        ``{batch_id: (issuer, hashes in sealing order)}``."""
        ...

    def batch_of(self, credential_hash: bytes) -> int | None:
        """The ledger batch a credential hash belongs to (None: unknown or not sealed)."""
        ...

    def document_mismatches(self) -> Iterator[tuple[str, bytes, str]]:
        """(issuer, stored hash, credential id) of stored documents whose keccak256 is not
        their stored hash. Only a database holds documents; an export yields nothing."""
        ...

    def close(self) -> None: ...


def checksum_address(address: Any, where: str) -> str:
    if not isinstance(address, str) or not is_address(address):
        raise InvalidInput(f"{where}: {address!r} is not an Ethereum address")
    return to_checksum_address(address)


def standard_tree_indices(hashes: list[bytes]) -> list[int]:
    """``treeIndex`` of each hash in a standard-v1 tree: leaves sorted ascending, placed from
    the end of the 2n-1 array."""
    n = len(hashes)
    leaves = [leaf_hash(h) for h in hashes]
    order = sorted(range(n), key=leaves.__getitem__)
    indices = [0] * n
    for rank, i in enumerate(order):
        indices[i] = 2 * n - 2 - rank
    return indices


# --- the service's database -----------------------------------------------------------------


class SqliteLedger:
    """The service's ``ledger.sqlite``, opened read-only (``mode=ro``): auditing never
    migrates, locks for writing or otherwise changes the file under audit. Every fact comes
    from the Store's own reads."""

    source = "sqlite"
    chain_id: int | None = None
    contract: str | None = None

    def __init__(self, path: str | Path, *, issuer: str | None = None) -> None:
        self.path = Path(path)
        try:
            self.store = Store.open_read_only(self.path)
            version = self.store.schema_version
            tables = self.store.tables()
        except sqlite3.Error as exc:
            raise InvalidInput(f"cannot open the ledger {self.path}: {exc}") from exc
        if not {"issuers", "batches", "credentials", "revocations"} <= tables:
            raise InvalidInput(f"{self.path} is not a credanchor ledger")
        if not 1 <= version <= len(MIGRATIONS):
            raise InvalidInput(f"{self.path} has ledger schema version {version}; this "
                               f"credanchor reads 1 to {len(MIGRATIONS)}")
        self._issuer_id: int | None = None
        if issuer is not None:
            with self._reading():
                try:
                    self._issuer_id = self.store.find_issuer(issuer).id
                except NotFound:
                    raise NotFound(f"the ledger has no issuer {issuer}") from None

    @property
    def conn(self) -> sqlite3.Connection:
        return self.store.conn

    @contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, StoreError) as exc:
            raise InvalidInput(f"reading the ledger {self.path}: {exc}") from exc

    def _addresses(self) -> dict[int, str]:
        return {i.id: i.address for i in self.store.list_issuers()}

    def issuers(self) -> list[LedgerIssuer]:
        with self._reading():
            rows = [i for i in self.store.list_issuers()
                    if self._issuer_id is None or i.id == self._issuer_id]
            return [LedgerIssuer(checksum_address(i.address, "issuers.address"), i.name,
                                 i.status, self.store.pending_summary(i.id)[0]) for i in rows]

    def batches(self) -> list[LedgerBatch]:
        out: list[LedgerBatch] = []
        with self._reading():
            addresses = self._addresses()
            after = 0
            while True:
                page = self.store.list_batches(issuer_id=self._issuer_id, after_id=after,
                                               limit=1000)
                for b in page:
                    out.append(LedgerBatch(
                        b.id, checksum_address(addresses.get(b.issuer_id), f"batch {b.id} issuer"),
                        bytes(b.root), int(b.count), b.status, b.tx_hash, b.block_number,
                        b.anchored_at))
                if len(page) < 1000:
                    return out
                after = page[-1].id

    def material(self, batch: LedgerBatch) -> BatchMaterial:
        with self._reading():
            nodes = self.store.batch_tree(batch.id)
            return BatchMaterial(self.store.batch_credential_hashes(batch.id), nodes)

    def revocations(self) -> list[LedgerRevocation]:
        with self._reading():
            addresses = self._addresses()
            rows = self.store.revocations(self._issuer_id)
        return [LedgerRevocation(checksum_address(addresses.get(r["issuer_id"]),
                                                  "revocation issuer"),
                                 r["kind"], bytes(r["target"]), int(r["reason"]),
                                 r["op_status"] or "unsent", r["tx_hash"])
                for r in rows]

    def orphans(self) -> dict[int, tuple[str, list[bytes]]]:
        with self._reading():
            addresses = self._addresses()
            rows = self.store.orphaned_credentials(self._issuer_id)
        out: dict[int, tuple[str, list[bytes]]] = {}
        for batch_id, issuer_id, chash in rows:
            out.setdefault(batch_id, (to_checksum_address(addresses[issuer_id]), []))[1].append(
                chash)
        return out

    def batch_of(self, credential_hash: bytes) -> int | None:
        with self._reading():
            cred = self.store.get_credential_by_hash(bytes(credential_hash))
        return None if cred is None else cred.batch_id

    def document_mismatches(self) -> Iterator[tuple[str, bytes, str]]:
        with self._reading():
            addresses = self._addresses()
            for issuer_id, chash, cid, document in self.store.stored_documents(self._issuer_id):
                if keccak256(document.encode("utf-8")) != chash:
                    yield to_checksum_address(addresses[issuer_id]), chash, cid

    def close(self) -> None:
        self.store.close()
