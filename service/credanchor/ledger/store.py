"""The issuer's ledger: one SQLite file (WAL) through sqlite-utils.

What lives here: issuers, their API keys (hashed), credentials, batches with their Merkle trees,
chain operations (anchors and revocations) with every signed transaction, idempotency records,
and an append-only event log of every state change.

Rules that keep the exactly-once promise:

* every state transition is one ``BEGIN IMMEDIATE`` transaction, and appends its event in it;
* a signed transaction is written (:meth:`Store.record_attempt`) before it is broadcast;
* a credential's status is derived from its batch (``pending`` while it has none), so the two
  cannot disagree.

WARNING: no private key and no API key is ever stored here in clear: API keys are stored as
SHA-256 digests (they are 256-bit random strings, so a plain digest is not brute-forceable),
and issuer signing keys live in encrypted keystore files outside the database. The file still
holds names and salted e-mail hashes with their salts, so it is created 0600 in a 0700
directory (:func:`make_private_file`); SQLite gives its -wal and -shm files the same mode.
"""

from __future__ import annotations

import time
from pathlib import Path

from credanchor.ledger.base import (
    PRIVATE_DIR_MODE,
    PRIVATE_FILE_MODE,
    LedgerBase,
    make_private_dir,
    make_private_file,
    owner_only,
)
from credanchor.ledger.chain_issuers import ChainIssuerLedger
from credanchor.ledger.credentials import CredentialLedger
from credanchor.ledger.idempotency import IdempotencyLedger
from credanchor.ledger.issuers import IssuerLedger
from credanchor.ledger.operations import OperationLedger
from credanchor.ledger.records import (
    API_KEY_PREFIX,
    CREDENTIAL_STATUSES,
    OP_STATES,
    Batch,
    Issuer,
    RevocationOp,
    StoredCredential,
    TxAttempt,
    hash_api_key,
)
from credanchor.ledger.schema import MIGRATIONS
from credanchor.ledger.stacks import StackLedger
from credanchor.ledger.status_lists import StatusListLedger

__all__ = [
    "API_KEY_PREFIX",
    "CREDENTIAL_STATUSES",
    "MIGRATIONS",
    "OP_STATES",
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "Batch",
    "Issuer",
    "RevocationOp",
    "Store",
    "StoredCredential",
    "TxAttempt",
    "hash_api_key",
    "make_private_dir",
    "make_private_file",
    "owner_only",
]


class Store(
    IssuerLedger,
    CredentialLedger,
    IdempotencyLedger,
    OperationLedger,  # batches and revocations, and the chain operations over both
    StackLedger,
    StatusListLedger,
    ChainIssuerLedger,
    LedgerBase,
):
    """The ledger: every concept's reads and writes over one connection. Cheap to open; open
    one per thread (sqlite connections are not shared)."""

    def __init__(self, path: str | Path, *, clock=time.time, memory: bool = False,
                 read_only: bool = False) -> None:
        super().__init__(path, clock=clock, memory=memory, read_only=read_only)

    @classmethod
    def memory(cls, *, clock=time.time) -> Store:
        """A ledger in memory (tests): the same schema, triggers and rules, no file."""
        return cls(":memory:", clock=clock, memory=True)

    @classmethod
    def open_read_only(cls, path: str | Path) -> Store:
        """The ledger at ``path`` opened ``mode=ro``: reads only, no migration (the audit's
        :class:`credanchor.ledger.view.SqliteLedger`)."""
        return cls(path, read_only=True)
