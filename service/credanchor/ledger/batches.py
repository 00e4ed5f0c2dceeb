"""Batches: pending credentials sealed under one Merkle root, with their stored tree."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from credanchor import faults
from credanchor.errors import NotFound, StoreError
from credanchor.ledger.base import LedgerBase
from credanchor.ledger.records import Batch, row_of


class BatchLedger(LedgerBase):
    """Sealing pending credentials into batches, and reading batches."""

    def seal_batch(self, issuer_id: int, *, max_count: int, build_tree) -> Batch | None:
        """Seal up to ``max_count`` of the issuer's pending credentials into a new batch.

        ``build_tree(hashes) -> (root, nodes_blob)`` runs inside the write transaction, so the
        set it sees is exactly the set that gets sealed. Returns None when nothing is pending.

        The tree is built in a second thread while this one files the rows under the batch:
        SQLite's UPDATE runs without the GIL, so the two overlap (a million signed: the ~6 s
        tree and the ~3 s UPDATE, measured in docs/benchmarks.md). The batch's id is taken
        first, under the write lock, and its row written once the tree is done; the rows
        name it before it exists, so foreign keys are checked at commit for this
        transaction (``defer_foreign_keys``, which SQLite resets when it ends)."""
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT seq, credential_hash FROM credentials "
                "WHERE issuer_id = ? AND batch_id IS NULL ORDER BY seq LIMIT ?",
                (issuer_id, max_count),
            ).fetchall()
            if not rows:
                return None
            hashes = [r[1] for r in rows]
            first, last, count = rows[0][0], rows[-1][0], len(rows)
            del rows
            batch_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM batches").fetchone()[0]
            conn.execute("PRAGMA defer_foreign_keys = ON")
            with ThreadPoolExecutor(1, thread_name_prefix="merkle") as pool:
                tree = pool.submit(build_tree, hashes)
                try:
                    updated = conn.execute(
                        "UPDATE credentials SET batch_id = ? "
                        "WHERE issuer_id = ? AND batch_id IS NULL AND seq BETWEEN ? AND ?",
                        (batch_id, issuer_id, first, last),
                    ).rowcount
                finally:
                    root, nodes = tree.result()  # raises what build_tree raised
            if updated != count:  # cannot happen under the write lock; never seal a lie
                raise StoreError(f"sealing batch {batch_id}: {updated} rows moved, not {count}")
            conn.execute(
                "INSERT INTO batches (id, issuer_id, root, count, tree, status, sealed_at) "
                "VALUES (?,?,?,?,?, 'queued', ?)",
                (batch_id, issuer_id, root, count, nodes, self.clock()),
            )
            self._event(
                "batch.sealed", issuer_id=issuer_id, entity="batch", entity_id=batch_id,
                root="0x" + root.hex(), count=count,
            )
            faults.reach("seal:before-commit")
        faults.reach("seal:after-commit")
        return self.get_batch(int(batch_id))

    def get_batch(self, batch_id: int, *, issuer_id: int | None = None) -> Batch:
        if not 0 <= batch_id < 2**63:  # beyond SQLite's INTEGER (ids come from URLs)
            raise NotFound(f"no batch {batch_id}")
        row = self._one("SELECT * FROM batches WHERE id = ?", (batch_id,))
        if row is None or (issuer_id is not None and row["issuer_id"] != issuer_id):
            raise NotFound(f"no batch {batch_id}")
        return row_of(Batch, row)

    def get_batch_by_root(self, root: bytes) -> Batch | None:
        row = self._one("SELECT * FROM batches WHERE root = ?", (root,))
        return None if row is None else row_of(Batch, row)

    def batch_tree(self, batch_id: int) -> bytes:
        row = self.conn.execute("SELECT tree FROM batches WHERE id = ?", (batch_id,)).fetchone()
        if row is None:
            raise NotFound(f"no batch {batch_id}")
        return bytes(row[0])

    def list_batches(
        self, *, issuer_id: int | None = None, status: str | None = None, limit: int = 100,
        after_id: int = 0,
    ) -> list[Batch]:
        clauses: list[str] = ["id > ?"]
        params: list[Any] = [after_id]
        if issuer_id is not None:
            clauses.append("issuer_id = ?")
            params.append(issuer_id)
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        cols = ", ".join(Batch.__dataclass_fields__)
        sql = f"SELECT {cols} FROM batches WHERE {' AND '.join(clauses)} ORDER BY id LIMIT ?"
        return [row_of(Batch, r) for r in self.db.query(sql, [*params, limit])]

    def count_batches_by_status(self) -> dict[str, int]:
        """How many batches are in each status, every status named (0 when none): one query,
        where listing them all only to count them read every row."""
        counts = dict.fromkeys(("queued", "submitted", "confirmed", "failed"), 0)
        for status, n in self.conn.execute(
            "SELECT status, COUNT(*) FROM batches GROUP BY status"
        ):
            counts[str(status)] = int(n)
        return counts

    def last_confirmed_batch(self) -> Batch | None:
        cols = ", ".join(Batch.__dataclass_fields__)
        row = self._one(
            f"SELECT {cols} FROM batches WHERE status = 'confirmed' "
            "ORDER BY confirmed_at DESC LIMIT 1"
        )
        return None if row is None else row_of(Batch, row)
