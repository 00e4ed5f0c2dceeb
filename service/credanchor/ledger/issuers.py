"""Issuers and their API keys (stored as SHA-256 digests, never in clear)."""

from __future__ import annotations

import secrets
import sqlite3

from credanchor.errors import Conflict, NotFound
from credanchor.ledger.base import LedgerBase
from credanchor.ledger.records import API_KEY_PREFIX, Issuer, hash_api_key, row_of


class IssuerLedger(LedgerBase):
    """Issuers (active or suspended) and their API keys."""

    def add_issuer(
        self, *, address: str, name: str, url: str | None = None, keystore: str | None = None
    ) -> Issuer:
        with self.transaction() as conn:
            try:
                cur = conn.execute(
                    "INSERT INTO issuers (address, name, url, keystore, created_at) "
                    "VALUES (?,?,?,?,?)",
                    (address, name, url, keystore, self.clock()),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"an issuer with address {address} already exists") from exc
            self._event("issuer.added", issuer_id=cur.lastrowid, address=address, name=name)
        return self.get_issuer(int(cur.lastrowid or 0))

    def get_issuer(self, issuer_id: int) -> Issuer:
        row = self._one("SELECT * FROM issuers WHERE id = ?", (issuer_id,))
        if row is None:
            raise NotFound(f"no issuer with id {issuer_id}")
        return row_of(Issuer, row)

    def find_issuer(self, key: str) -> Issuer:
        """By numeric id or by address (case-insensitive)."""
        if key.isdigit():
            return self.get_issuer(int(key))
        row = self._one("SELECT * FROM issuers WHERE lower(address) = lower(?)", (key,))
        if row is None:
            raise NotFound(f"no issuer {key}")
        return row_of(Issuer, row)

    def list_issuers(self) -> list[Issuer]:
        return [row_of(Issuer, r) for r in self.db.query("SELECT * FROM issuers ORDER BY id")]

    def set_issuer_status(self, issuer_id: int, status: str) -> Issuer:
        with self.transaction() as conn:
            self.get_issuer(issuer_id)
            conn.execute("UPDATE issuers SET status = ? WHERE id = ?", (status, issuer_id))
            self._event(f"issuer.{status}", issuer_id=issuer_id)
        return self.get_issuer(issuer_id)

    def set_issuer_did(self, issuer_id: int, did: str) -> Issuer:
        """Record the issuer's signing DID, once: a DID is what its badges name it by, so it
        never changes afterwards (Conflict)."""
        with self.transaction() as conn:
            issuer = self.get_issuer(issuer_id)
            if issuer.did is not None and issuer.did != did:
                raise Conflict(f"issuer {issuer_id} already signs as {issuer.did}")
            conn.execute("UPDATE issuers SET did = ? WHERE id = ?", (did, issuer_id))
            self._event("issuer.did", issuer_id=issuer_id, did=did)
        return self.get_issuer(issuer_id)

    def suspended_issuer_ids(self) -> set[int]:
        """Issuers suspended in the ledger: the worker neither seals nor anchors for them."""
        return {r[0] for r in self.conn.execute(
            "SELECT id FROM issuers WHERE status = 'suspended'")}

    def held_work(self) -> tuple[int, int]:
        """(pending credentials, queued batches) of issuers suspended in the ledger: work
        that waits for their reinstatement."""
        pending = self.conn.execute(
            "SELECT count(*) FROM credentials c JOIN issuers i ON i.id = c.issuer_id "
            "WHERE c.batch_id IS NULL AND i.status = 'suspended'").fetchone()[0]
        queued = self.conn.execute(
            "SELECT count(*) FROM batches b JOIN issuers i ON i.id = b.issuer_id "
            "WHERE b.status = 'queued' AND i.status = 'suspended'").fetchone()[0]
        return int(pending), int(queued)

    def create_api_key(self, issuer_id: int) -> str:
        """A new API key for the issuer. The plaintext is returned once and never stored."""
        self.get_issuer(issuer_id)
        key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO api_keys (issuer_id, key_hash, hint, created_at) VALUES (?,?,?,?)",
                (issuer_id, hash_api_key(key), key[:8] + "…", self.clock()),
            )
            self._event("api_key.created", issuer_id=issuer_id, hint=key[:8] + "…")
        return key

    def authenticate(self, key: str) -> Issuer | None:
        """The issuer owning this API key, or None (unknown or revoked key)."""
        row = self._one(
            "SELECT issuer_id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
            (hash_api_key(key),),
        )
        return None if row is None else self.get_issuer(row["issuer_id"])
