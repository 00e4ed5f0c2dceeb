"""Credentials: accepted pending, filed under a batch when sealed; their status derives from it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

from credanchor.errors import Conflict, NotFound
from credanchor.ledger.base import LedgerBase
from credanchor.ledger.records import (
    CREDENTIAL_STATUS_SQL,
    CREDENTIAL_STATUSES,
    CREDENTIALS_WITH_DOCUMENTS,
    StoredCredential,
    row_of,
)


class CredentialLedger(LedgerBase):
    """Credentials, accepted all or nothing; their status derives from their batch."""

    def add_credentials(
        self, issuer_id: int, items: Iterable[tuple[Any, ...]], *, chunk: int = 50_000
    ) -> int:
        """Accept credentials ``(id, credential_hash, canonical_json[, status_list,
        status_index])`` as pending, atomically (the slot from :meth:`allocate_status_slots`).

        All or nothing: a duplicate id, hash or status slot rolls the whole call back
        (Conflict)."""
        now = self.clock()
        total = 0
        with self.transaction() as conn:
            batch: list[tuple[Any, ...]] = []
            try:
                for row in items:
                    batch.append(row)
                    if len(batch) >= chunk:
                        self._insert_credentials(conn, issuer_id, now, batch)
                        total += len(batch)
                        batch.clear()
                if batch:
                    self._insert_credentials(conn, issuer_id, now, batch)
                    total += len(batch)
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"credential already exists (same id or hash): {exc}") from exc
            self._event("credentials.accepted", issuer_id=issuer_id, count=total)
        return total

    def _credential_query(self, where: str) -> str:
        return (
            f"SELECT c.*, d.document, {CREDENTIAL_STATUS_SQL} AS status "
            f"FROM {CREDENTIALS_WITH_DOCUMENTS} "
            f"LEFT JOIN batches b ON b.id = c.batch_id WHERE {where}"
        )

    def get_credential(self, credential_id: str, *, issuer_id: int | None = None) -> StoredCredential:
        row = self._one(self._credential_query("c.id = ?"), (credential_id,))
        # Another issuer's credential answers exactly like a missing one: no existence oracle.
        if row is None or (issuer_id is not None and row["issuer_id"] != issuer_id):
            raise NotFound(f"no credential {credential_id}")
        return row_of(StoredCredential, row)

    def get_credential_by_hash(self, credential_hash: bytes) -> StoredCredential | None:
        row = self._one(self._credential_query("c.credential_hash = ?"), (credential_hash,))
        return None if row is None else row_of(StoredCredential, row)

    def list_credentials(
        self,
        issuer_id: int,
        *,
        status: str | None = None,
        batch_id: int | None = None,
        after_seq: int = 0,
        limit: int = 100,
    ) -> list[StoredCredential]:
        clauses = ["c.issuer_id = ?", "c.seq > ?"]
        params: list[Any] = [issuer_id, after_seq]
        if batch_id is not None:
            clauses.append("c.batch_id = ?")
            params.append(batch_id)
        if status is not None:
            if status not in CREDENTIAL_STATUSES:
                raise ValueError(status)
            clauses.append(f"({CREDENTIAL_STATUS_SQL}) = ?")
            params.append(status)
        sql = self._credential_query(" AND ".join(clauses)) + " ORDER BY c.seq LIMIT ?"
        params.append(limit)
        return [row_of(StoredCredential, r) for r in self.db.query(sql, params)]

    def set_shared(self, credential_id: str, shared: bool, *, issuer_id: int) -> None:
        with self.transaction() as conn:
            self.get_credential(credential_id, issuer_id=issuer_id)
            conn.execute("UPDATE credentials SET shared = ? WHERE id = ?", (int(shared), credential_id))
            self._event("credential.shared" if shared else "credential.unshared",
                        issuer_id=issuer_id, entity="credential", entity_id=credential_id)

    def is_shared(self, credential_id: str) -> bool:
        row = self.conn.execute("SELECT shared FROM credentials WHERE id = ?", (credential_id,)).fetchone()
        return bool(row and row[0])

    def batch_credentials(self, batch_id: int) -> list[StoredCredential]:
        sql = self._credential_query("c.batch_id = ?") + " ORDER BY c.seq"
        return [row_of(StoredCredential, r) for r in self.db.query(sql, (batch_id,))]

    def batch_credential_hashes(self, batch_id: int) -> list[bytes]:
        """The batch's credential hashes in sealing order (the tree's input order)."""
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT credential_hash FROM credentials WHERE batch_id = ? ORDER BY seq",
                (batch_id,),
            )
        ]

    def pending_summary(self, issuer_id: int | None = None) -> tuple[int, float | None]:
        """How many credentials wait for a batch, and when the oldest arrived."""
        where, params = "batch_id IS NULL", []
        if issuer_id is not None:
            where += " AND issuer_id = ?"
            params.append(issuer_id)
        n, oldest = self.conn.execute(
            f"SELECT count(*), min(created_at) FROM credentials WHERE {where}", params
        ).fetchone()
        return int(n), oldest

    def unconfirmed_count(self, issuer_id: int) -> int:
        """The issuer's credentials not anchored and confirmed yet (pending, or in a batch that
        is not confirmed)."""
        return int(self.conn.execute(
            "SELECT count(*) FROM credentials c LEFT JOIN batches b ON b.id = c.batch_id "
            "WHERE c.issuer_id = ? AND (c.batch_id IS NULL OR b.status != 'confirmed')",
            (issuer_id,)).fetchone()[0])

    def issuers_with_pending(self) -> list[tuple[int, int, float]]:
        """(issuer_id, pending count, oldest created_at) for every issuer with a backlog."""
        return [
            (r[0], r[1], r[2])
            for r in self.conn.execute(
                "SELECT issuer_id, count(*), min(created_at) FROM credentials "
                "WHERE batch_id IS NULL GROUP BY issuer_id"
            )
        ]

    def orphaned_credentials(self, issuer_id: int | None = None
                             ) -> list[tuple[int, int, bytes]]:
        """(batch id, issuer id, hash) of credentials filed under a batch id that has no row,
        in sealing order: a lost or deleted batch row (the audit reports them)."""
        where, params = ("AND issuer_id = ?", (issuer_id,)) if issuer_id is not None else ("", ())
        return [(int(b), int(i), bytes(h)) for b, i, h in self.conn.execute(
            "SELECT batch_id, issuer_id, credential_hash FROM credentials "
            "WHERE batch_id IS NOT NULL AND batch_id NOT IN (SELECT id FROM batches) "
            f"{where} ORDER BY batch_id, seq", params)]

    def stored_documents(self, issuer_id: int | None = None
                         ) -> Iterator[tuple[int, bytes, str, str]]:
        """(issuer id, stored hash, credential id, document) of every credential, in order."""
        where, params = ("WHERE c.issuer_id = ?", (issuer_id,)) if issuer_id is not None else ("", ())
        for i, h, cid, doc in self.conn.execute(
                f"SELECT c.issuer_id, c.credential_hash, c.id, d.document FROM "
                f"{CREDENTIALS_WITH_DOCUMENTS} {where} ORDER BY c.seq", params):
            yield int(i), bytes(h), cid, doc
