"""The ledger's rows as values, and the SQL that derives a credential's status."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

API_KEY_PREFIX = "cak_"

#: Batch / chain-operation states, in order. ``failed`` is terminal and needs an operator.
OP_STATES = ("queued", "submitted", "confirmed", "failed")


def hash_api_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


@dataclass(frozen=True)
class Issuer:
    id: int
    address: str
    name: str
    url: str | None
    keystore: str | None
    status: str
    created_at: float
    #: The signing DID (did:key / did:web); None for an issuer from before signatures.
    did: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True)
class StoredCredential:
    seq: int
    id: str
    issuer_id: int
    credential_hash: bytes
    document: str
    batch_id: int | None
    created_at: float
    status: str  # pending | sealed | submitted | anchored | failed
    #: Its Bitstring Status List slot (list number, bit); None for credentials from before.
    status_list: int | None = None
    status_index: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return json.loads(self.document)


@dataclass(frozen=True)
class Batch:
    id: int
    issuer_id: int
    kind: str
    root: bytes
    count: int
    status: str
    sealed_at: float
    submitted_at: float | None
    tx_hash: str | None
    block_number: int | None
    block_hash: str | None
    anchored_at: int | None
    confirmed_at: float | None
    last_error: str | None
    next_attempt_at: float


@dataclass(frozen=True)
class RevocationOp:
    id: int
    issuer_id: int
    kind: str
    reason: int
    status: str
    created_at: float
    submitted_at: float | None
    tx_hash: str | None
    block_number: int | None
    block_hash: str | None
    confirmed_at: float | None
    last_error: str | None
    next_attempt_at: float


@dataclass(frozen=True)
class TxAttempt:
    id: int
    op_table: str
    op_id: int
    sender: str
    nonce: int
    tx_hash: str
    raw: bytes
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    gas: int
    created_at: float


CREDENTIAL_STATUS_SQL = """
    CASE WHEN c.batch_id IS NULL THEN 'pending'
         WHEN b.status = 'queued' THEN 'sealed'
         WHEN b.status = 'submitted' THEN 'submitted'
         WHEN b.status = 'confirmed' THEN 'anchored'
         ELSE 'failed' END
"""

CREDENTIAL_STATUSES = ("pending", "sealed", "submitted", "anchored", "failed")


def row_of(cls: type, row: dict[str, Any]) -> Any:
    names = cls.__dataclass_fields__  # type: ignore[attr-defined]
    return cls(**{k: row[k] for k in names})


#: A credential's row, then its document's (credential_documents, keyed by the same ``seq``:
#: see migration 7). Both are written by LedgerBase._insert_credentials.
INSERT_CREDENTIAL = (
    "INSERT INTO credentials (seq, id, issuer_id, credential_hash, created_at, "
    "status_list, status_index) VALUES (?,?,?,?,?,?,?)"
)
INSERT_DOCUMENT = "INSERT INTO credential_documents (seq, document) VALUES (?,?)"

#: The credentials table joined to the documents, as ``c`` (``d`` is the document's row).
CREDENTIALS_WITH_DOCUMENTS = "credentials c JOIN credential_documents d ON d.seq = c.seq"
