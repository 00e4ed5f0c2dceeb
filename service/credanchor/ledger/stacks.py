"""Stack definitions (credanchor.usecases.stacks): each one is a credentials row, published
immutably under the next version."""

from __future__ import annotations

import sqlite3
from typing import Any

from credanchor.errors import Conflict
from credanchor.ledger.base import LedgerBase
from credanchor.ledger.records import (
    CREDENTIAL_STATUS_SQL,
    StoredCredential,
    row_of,
)


class StackLedger(LedgerBase):
    """Published, immutable stack definitions."""

    def add_stack_definition(self, issuer_id: int, stack: str, build) -> int:
        """Publish the next version of ``stack``: ``build(version) -> (id, hash,
        canonical_json)`` runs inside the write transaction, so two publishers racing get
        distinct versions. The document becomes a pending credentials row. Returns the
        version."""
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT max(version) FROM stack_definitions WHERE issuer_id = ? AND stack = ?",
                (issuer_id, stack),
            ).fetchone()
            version = int(row[0] or 0) + 1
            cid, chash, doc = build(version)
            now = self.clock()
            try:
                self._insert_credentials(conn, issuer_id, now, [(cid, chash, doc)])
                conn.execute(
                    "INSERT INTO stack_definitions (issuer_id, stack, version, credential_id, "
                    "created_at) VALUES (?,?,?,?,?)",
                    (issuer_id, stack, version, cid, now),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"stack definition already exists: {exc}") from exc
            self._event(
                "stack.published", issuer_id=issuer_id, entity="credential", entity_id=cid,
                stack=stack, version=version, definition_hash="0x" + chash.hex(),
            )
        return version

    def stack_definitions(
        self, issuer_id: int, *, stack: str | None = None, version: int | None = None
    ) -> list[tuple[str, int, StoredCredential]]:
        """``(stack, version, credential row)`` of the issuer's definitions, oldest first."""
        clauses: list[str] = ["s.issuer_id = ?"]
        params: list[Any] = [issuer_id]
        if stack is not None:
            clauses.append("s.stack = ?")
            params.append(stack)
        if version is not None:
            clauses.append("s.version = ?")
            params.append(version)
        sql = (
            f"SELECT s.stack AS stack_name, s.version AS stack_version, c.*, d.document, "
            f"{CREDENTIAL_STATUS_SQL} AS status FROM stack_definitions s "
            "JOIN credentials c ON c.id = s.credential_id "
            "JOIN credential_documents d ON d.seq = c.seq "
            "LEFT JOIN batches b ON b.id = c.batch_id "
            f"WHERE {' AND '.join(clauses)} ORDER BY s.stack, s.version"
        )
        return [
            (r["stack_name"], r["stack_version"], row_of(StoredCredential, r))
            for r in self.db.query(sql, params)
        ]
