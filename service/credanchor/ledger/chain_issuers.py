"""The chain's issuer list, indexed (credanchor.usecases.issuer_index): a cache of the
contract's records with its cursor in meta. Not ledger state: it appends no event."""

from __future__ import annotations

import json
from typing import Any

from credanchor.ledger.base import LedgerBase


class ChainIssuerLedger(LedgerBase):
    """The indexed copy of the chain's issuer list and its cursor."""

    @staticmethod
    def _index_key(chain_id: int, contract: str) -> str:
        return f"issuer-index:{chain_id}:{contract.lower()}"

    def issuer_index_cursor(self, chain_id: int, contract: str) -> tuple[int, str] | None:
        """(last block scanned, its hash), or None before the first scan."""
        raw = self.get_meta(self._index_key(chain_id, contract))
        if raw is None:
            return None
        value = json.loads(raw)
        return int(value["block"]), str(value["hash"])

    def indexed_issuers(self, chain_id: int, contract: str) -> list[dict[str, Any]]:
        """The indexed records, in the order the issuers first appeared on chain."""
        return [
            json.loads(r[0])
            for r in self.conn.execute(
                "SELECT record FROM chain_issuers WHERE chain_id = ? AND contract = ? "
                "ORDER BY first_block, first_log",
                (chain_id, contract.lower()),
            )
        ]

    def update_issuer_index(
        self, chain_id: int, contract: str, records: dict[str, dict[str, Any]],
        first_seen: dict[str, tuple[int, int]], *, cursor: tuple[int, str], rebuild: bool,
    ) -> bool:
        """Store fresh records (an issuer keeps its first position) and move the cursor, in one
        transaction. Unless rebuilding, a scan that ends below the stored cursor is dropped:
        another process got further, and its records are at least as new. False then."""
        key = self._index_key(chain_id, contract)
        contract = contract.lower()
        with self.transaction() as conn:
            if not rebuild:
                current = self.issuer_index_cursor(chain_id, contract)
                if current is not None and current[0] > cursor[0]:
                    return False
            else:
                conn.execute("DELETE FROM chain_issuers WHERE chain_id = ? AND contract = ?",
                             (chain_id, contract))
            conn.executemany(
                "INSERT INTO chain_issuers (chain_id, contract, address, record, first_block, "
                "first_log) VALUES (?,?,?,?,?,?) ON CONFLICT (chain_id, contract, address) "
                "DO UPDATE SET record = excluded.record",
                [(chain_id, contract, address, json.dumps(record), *first_seen[address])
                 for address, record in records.items()],
            )
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps({"block": cursor[0], "hash": cursor[1]})),
            )
        return True
