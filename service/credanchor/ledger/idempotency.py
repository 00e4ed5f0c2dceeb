"""Idempotency records: a repeated Idempotency-Key gets the first response again."""

from __future__ import annotations

import json
from typing import Any

from credanchor.errors import Conflict
from credanchor.ledger.base import LedgerBase


class IdempotencyLedger(LedgerBase):
    """The first response to each (issuer, Idempotency-Key), with its request hash."""

    def idempotent_response(self, issuer_id: int, key: str, request_hash: str) -> Any | None:
        row = self._one(
            "SELECT request_hash, response FROM idempotency WHERE issuer_id = ? AND key = ?",
            (issuer_id, key),
        )
        if row is None:
            return None
        if row["request_hash"] != request_hash:
            raise Conflict(
                "this Idempotency-Key was already used with a different request body",
                idempotency_key=key,
            )
        return json.loads(row["response"])

    def save_idempotent_response(
        self, issuer_id: int, key: str, request_hash: str, response: Any
    ) -> None:
        self.conn.execute(
            "INSERT INTO idempotency (issuer_id, key, request_hash, response, created_at) "
            "VALUES (?,?,?,?,?)",
            (issuer_id, key, request_hash, json.dumps(response), self.clock()),
        )
