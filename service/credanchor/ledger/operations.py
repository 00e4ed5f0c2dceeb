"""Chain operations: batches (anchors) and revocation_ops share the same columns and states;
every signed transaction is recorded before it is broadcast."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from credanchor.ledger.batches import BatchLedger
from credanchor.ledger.records import Batch, RevocationOp, TxAttempt, row_of
from credanchor.ledger.revocations import RevocationLedger


class OperationLedger(BatchLedger, RevocationLedger):
    """The state machine of chain operations, over batches and revocation_ops alike."""

    def due_ops(self, table: str, statuses: Sequence[str], now: float) -> list[int]:
        _check_table(table)
        marks = ",".join("?" * len(statuses))
        return [
            r[0]
            for r in self.conn.execute(
                f"SELECT id FROM {table} WHERE status IN ({marks}) AND next_attempt_at <= ? "
                "ORDER BY id",
                (*statuses, now),
            )
        ]

    def recent_confirmed(self, table: str, min_block: int) -> list[int]:
        """Confirmed operations mined above ``min_block`` (still shallow enough to re-check)."""
        _check_table(table)
        return [
            r[0]
            for r in self.conn.execute(
                f"SELECT id FROM {table} WHERE status = 'confirmed' AND block_number > ? "
                "ORDER BY id",
                (min_block,),
            )
        ]

    def get_op(self, table: str, op_id: int) -> Batch | RevocationOp:
        return self.get_batch(op_id) if table == "batches" else self.get_revocation_op(op_id)

    def record_attempt(self, table: str, op_id: int, signed: Any, sender: str) -> None:
        """Persist a signed transaction BEFORE it is broadcast, and mark the op submitted."""
        _check_table(table)
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO tx_attempts (op_table, op_id, sender, nonce, tx_hash, raw, "
                "max_fee_per_gas, max_priority_fee_per_gas, gas, created_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    table, op_id, sender, signed.nonce, signed.hash, bytes(signed.raw),
                    signed.max_fee_per_gas, signed.max_priority_fee_per_gas, signed.gas,
                    self.clock(),
                ),
            )
            conn.execute(
                f"UPDATE {table} SET status = 'submitted', submitted_at = ?, last_error = NULL "
                "WHERE id = ?",
                (self.clock(), op_id),
            )
            self._event(
                "tx.signed", entity=table, entity_id=op_id, tx_hash=signed.hash,
                nonce=signed.nonce, max_fee_per_gas=signed.max_fee_per_gas,
            )

    def attempts(self, table: str, op_id: int) -> list[TxAttempt]:
        return [
            row_of(TxAttempt, r)
            for r in self.db.query(
                "SELECT * FROM tx_attempts WHERE op_table = ? AND op_id = ? ORDER BY id",
                (table, op_id),
            )
        ]

    def max_nonce(self, sender: str) -> int | None:
        """The highest nonce signed for an operation still in flight (``submitted``).

        Attempts of confirmed, failed or requeued operations do not count: their nonce was
        either used on chain (the node's own count covers it) or freed again when their block
        was reorganised away, and reserving a freed nonce leaves a gap no transaction fills."""
        row = self.conn.execute(
            "SELECT max(a.nonce) FROM tx_attempts a "
            "LEFT JOIN batches b ON a.op_table = 'batches' AND b.id = a.op_id "
            "LEFT JOIN revocation_ops r ON a.op_table = 'revocation_ops' AND r.id = a.op_id "
            "WHERE lower(a.sender) = lower(?) AND coalesce(b.status, r.status) = 'submitted'",
            (sender,),
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def mark_mined(
        self, table: str, op_id: int, *, tx_hash: str, block_number: int, block_hash: str,
        anchored_at: int | None = None,
    ) -> None:
        _check_table(table)
        with self.transaction() as conn:
            extra = ", anchored_at = ?" if table == "batches" else ""
            params: list[Any] = [tx_hash, block_number, block_hash]
            if table == "batches":
                params.append(anchored_at)
            conn.execute(
                f"UPDATE {table} SET tx_hash = ?, block_number = ?, block_hash = ?{extra} "
                "WHERE id = ?",
                (*params, op_id),
            )
            self._event(
                "tx.mined", entity=table, entity_id=op_id, tx_hash=tx_hash,
                block_number=block_number,
            )

    def mark_confirmed(self, table: str, op_id: int) -> None:
        _check_table(table)
        with self.transaction() as conn:
            conn.execute(
                f"UPDATE {table} SET status = 'confirmed', confirmed_at = ?, last_error = NULL "
                "WHERE id = ?",
                (self.clock(), op_id),
            )
            self._event("op.confirmed", entity=table, entity_id=op_id)

    def mark_retry(self, table: str, op_id: int, error: str, *, delay: float) -> None:
        """Record a transient failure; the op keeps its state and is retried after ``delay``."""
        _check_table(table)
        with self.transaction() as conn:
            conn.execute(
                f"UPDATE {table} SET last_error = ?, next_attempt_at = ? WHERE id = ?",
                (error[:500], self.clock() + delay, op_id),
            )
            self._event("op.retry", entity=table, entity_id=op_id, error=error[:500])

    def retry_now(self, table: str) -> list[int]:
        """Clear the back-off of every operation still in flight, so the next pass tries them
        at once (an operator's explicit anchor); returns the ids that were waiting."""
        _check_table(table)
        with self.transaction() as conn:
            now = self.clock()
            waiting = [r[0] for r in conn.execute(
                f"SELECT id FROM {table} WHERE status IN ('queued', 'submitted') "
                "AND next_attempt_at > ? ORDER BY id", (now,))]
            if waiting:
                conn.execute(
                    f"UPDATE {table} SET next_attempt_at = 0 WHERE status IN "
                    "('queued', 'submitted') AND next_attempt_at > ?", (now,))
                self._event("op.retry-now", entity=table, ids=waiting)
        return waiting

    def mark_failed(self, table: str, op_id: int, error: str) -> None:
        _check_table(table)
        with self.transaction() as conn:
            conn.execute(
                f"UPDATE {table} SET status = 'failed', last_error = ? WHERE id = ?",
                (error[:500], op_id),
            )
            self._event("op.failed", entity=table, entity_id=op_id, error=error[:500])

    def requeue(self, table: str, op_id: int, reason: str) -> None:
        """An anchor or revocation vanished from the chain (reorg, dropped): do it again."""
        _check_table(table)
        with self.transaction() as conn:
            conn.execute(
                f"UPDATE {table} SET status = 'queued', tx_hash = NULL, block_number = NULL, "
                "block_hash = NULL, confirmed_at = NULL, last_error = ?, next_attempt_at = 0 "
                f"{', anchored_at = NULL' if table == 'batches' else ''} WHERE id = ?",
                (reason, op_id),
            )
            self._event("op.requeued", entity=table, entity_id=op_id, reason=reason)


def _check_table(table: str) -> None:
    if table not in ("batches", "revocation_ops"):
        raise ValueError(f"not an operation table: {table}")

