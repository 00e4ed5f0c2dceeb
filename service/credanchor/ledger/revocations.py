"""Revocations requested by issuers, grouped into chain operations (revocation_ops)."""

from __future__ import annotations

from typing import Any

from credanchor.errors import NotFound
from credanchor.ledger.base import LedgerBase
from credanchor.ledger.records import RevocationOp, row_of


class RevocationLedger(LedgerBase):
    """Revocations to carry to the chain, and the operations that carry them."""

    def add_revocation(
        self, issuer_id: int, kind: str, target: bytes, reason: int, note: str | None = None
    ) -> bool:
        """Record a revocation to be carried to the chain. False if it was already recorded."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO revocations (issuer_id, kind, target, reason, note, "
                "created_at) VALUES (?,?,?,?,?,?)",
                (issuer_id, kind, target, reason, note, self.clock()),
            )
            if cur.rowcount:
                self._event(
                    f"revocation.{kind}.requested", issuer_id=issuer_id,
                    entity=kind, entity_id="0x" + target.hex(), reason=reason,
                )
            return bool(cur.rowcount)

    def revocation_of(self, issuer_id: int, kind: str, target: bytes) -> dict[str, Any] | None:
        return self._one(
            "SELECT r.*, o.status AS op_status, o.tx_hash FROM revocations r "
            "LEFT JOIN revocation_ops o ON o.id = r.op_id "
            "WHERE r.issuer_id = ? AND r.kind = ? AND r.target = ?",
            (issuer_id, kind, target),
        )

    def revocations(self, issuer_id: int | None = None) -> list[dict[str, Any]]:
        where, params = ("WHERE r.issuer_id = ?", [issuer_id]) if issuer_id else ("", [])
        return list(
            self.db.query(
                "SELECT r.*, o.status AS op_status, o.tx_hash FROM revocations r "
                f"LEFT JOIN revocation_ops o ON o.id = r.op_id {where} ORDER BY r.id",
                params,
            )
        )

    def group_revocations(self, *, max_count: int = 500) -> list[RevocationOp]:
        """Turn unassigned revocations into queued chain operations: one per batch revocation,
        one bulk ``revokeCredentials`` per (issuer, reason) for credentials."""
        created: list[int] = []
        with self.transaction() as conn:
            now = self.clock()
            rows = conn.execute(
                "SELECT id, issuer_id, kind, reason FROM revocations WHERE op_id IS NULL "
                "ORDER BY id"
            ).fetchall()
            groups: dict[tuple[int, str, int], list[int]] = {}
            for rid, issuer_id, kind, reason in rows:
                # one operation per batch revocation; credentials grouped by reason
                key = (issuer_id, kind, -rid) if kind == "batch" else (issuer_id, kind, reason)
                groups.setdefault(key, []).append(rid)
            for (issuer_id, kind, _), ids in groups.items():
                for start in range(0, len(ids), max_count):
                    chunk = ids[start : start + max_count]
                    reason = conn.execute(
                        "SELECT reason FROM revocations WHERE id = ?", (chunk[0],)
                    ).fetchone()[0]
                    op_id = conn.execute(
                        "INSERT INTO revocation_ops (issuer_id, kind, reason, status, created_at)"
                        " VALUES (?,?,?, 'queued', ?)",
                        (issuer_id, kind, reason, now),
                    ).lastrowid
                    conn.executemany(
                        "UPDATE revocations SET op_id = ? WHERE id = ?", [(op_id, i) for i in chunk]
                    )
                    self._event(
                        "revocation.queued", issuer_id=issuer_id, entity="revocation_op",
                        entity_id=op_id, target_kind=kind, count=len(chunk),
                    )
                    created.append(int(op_id or 0))
        return [self.get_revocation_op(i) for i in created]

    def get_revocation_op(self, op_id: int) -> RevocationOp:
        row = self._one("SELECT * FROM revocation_ops WHERE id = ?", (op_id,))
        if row is None:
            raise NotFound(f"no revocation operation {op_id}")
        return row_of(RevocationOp, row)

    def revocation_targets(self, op_id: int) -> list[bytes]:
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT target FROM revocations WHERE op_id = ? ORDER BY id", (op_id,)
            )
        ]
