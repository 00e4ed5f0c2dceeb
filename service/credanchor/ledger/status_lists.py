"""Credentials' places in their issuer's Bitstring Status Lists, and which bits are set.

Each issuer has numbered lists (1, 2, …) of :data:`credanchor.core.statuslist.DEFAULT_LENGTH`
bits. A credential's slot (list, index) is chosen at random among the free indexes of the
issuer's newest list with room, when it is issued, and stored in its row
(``credentials.status_list`` / ``status_index``, unique per issuer): an index is never given
twice, even after a revocation. A bit is set once the revocation that covers the credential
(its own, or its batch's) is confirmed on chain: the chain is the authority, the list follows.
"""

from __future__ import annotations

from random import Random
from typing import Any

from credanchor.core.statuslist import DEFAULT_LENGTH, allocate_indexes
from credanchor.ledger.base import LedgerBase

__all__ = ["SlotAllocator", "StatusListLedger"]

#: Revoked credentials of one issuer's list: by their own confirmed revocation or their
#: batch's.
_REVOKED_SQL = """
    SELECT c.status_index FROM credentials c
    JOIN revocations r ON r.issuer_id = c.issuer_id AND r.kind = 'credential'
                      AND r.target = c.credential_hash
    JOIN revocation_ops o ON o.id = r.op_id AND o.status = 'confirmed'
    WHERE c.issuer_id = :issuer AND c.status_list = :list
    UNION
    SELECT c.status_index FROM credentials c
    JOIN batches b ON b.id = c.batch_id
    JOIN revocations r ON r.issuer_id = c.issuer_id AND r.kind = 'batch' AND r.target = b.root
    JOIN revocation_ops o ON o.id = r.op_id AND o.status = 'confirmed'
    WHERE c.issuer_id = :issuer AND c.status_list = :list
"""


class SlotAllocator:
    """Hands out free slots of one issuer's lists, remembering what it gave: a run that
    allocates chunk by chunk before inserting (the bulk path) never gets a slot twice. Use it
    inside the write transaction that stores the credentials."""

    def __init__(self, conn: Any, issuer_id: int, rng: Random, length: int) -> None:
        self._conn = conn
        self._issuer = issuer_id
        self._rng = rng
        self._length = length
        row = conn.execute(
            "SELECT max(status_list) FROM credentials WHERE issuer_id = ?", (issuer_id,)
        ).fetchone()
        self._list = int(row[0] or 1)
        self._used = self._load(self._list)

    def _load(self, list_no: int) -> set[int]:
        return {r[0] for r in self._conn.execute(
            "SELECT status_index FROM credentials WHERE issuer_id = ? AND status_list = ?",
            (self._issuer, list_no))}

    def take(self, count: int) -> list[tuple[int, int]]:
        """``count`` free (list, index) slots, at random within each list, filling the newest
        list before opening the next."""
        slots: list[tuple[int, int]] = []
        while len(slots) < count:
            take = min(count - len(slots), self._length - len(self._used))
            if take > 0:
                got = allocate_indexes(self._rng, self._used, take, length=self._length,
                                       used_count=len(self._used))
                self._used.update(got)
                slots += [(self._list, i) for i in got]
            if len(slots) < count:
                self._list += 1
                self._used = self._load(self._list)
        return slots


class StatusListLedger(LedgerBase):
    """Status list slots: allocation at issue, revoked bits for the served lists."""

    def status_slots(
        self, issuer_id: int, rng: Random, *, length: int = DEFAULT_LENGTH
    ) -> SlotAllocator:
        """An allocator of free slots for new credentials of ``issuer_id``.

        Nothing is recorded: the caller stores the slots with the credentials in the same
        write transaction (create and use the allocator inside it, so no other writer can
        take the same slots; the unique index refuses a duplicate anyway)."""
        return SlotAllocator(self.conn, issuer_id, rng, length)

    def status_list_numbers(self, issuer_id: int) -> list[int]:
        """The issuer's lists that hold at least one credential."""
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT status_list FROM credentials WHERE issuer_id = ? "
            "AND status_list IS NOT NULL ORDER BY status_list", (issuer_id,))]

    def revoked_status_indexes(self, issuer_id: int, list_no: int) -> list[int]:
        """The bits to set in list ``list_no``: credentials whose revocation, or whose batch's,
        is confirmed on chain."""
        return sorted(r[0] for r in self.conn.execute(
            _REVOKED_SQL, {"issuer": issuer_id, "list": list_no}))

    def revocations_version(self, issuer_id: int) -> tuple[int, float]:
        """Changes whenever one of the issuer's revocations is confirmed: (count, latest
        confirmation time). A served list signed for one version stays right until the next."""
        row = self.conn.execute(
            "SELECT count(*), coalesce(max(confirmed_at), 0) FROM revocation_ops "
            "WHERE issuer_id = ? AND status = 'confirmed'", (issuer_id,)).fetchone()
        return int(row[0]), float(row[1])
