"""The issuer's ledger: one SQLite file (WAL) through sqlite-utils.

What lives here: issuers, their API keys (hashed), credentials, batches with their Merkle trees,
chain operations (anchors and revocations) with every signed transaction, idempotency records,
and an append-only event log of every state change.

Rules that keep the exactly-once promise:

* every state transition is one ``BEGIN IMMEDIATE`` transaction, and appends its event in it;
* a signed transaction is written (:meth:`Store.record_attempt`) before it is broadcast;
* a credential's status is derived from its batch (``pending`` while it has none), so the two
  cannot disagree.

WARNING: no private key and no API key is ever stored here in clear: API keys are stored as
SHA-256 digests (they are 256-bit random strings, so a plain digest is not brute-forceable),
and issuer signing keys live in encrypted keystore files outside the database. The file still
holds names and salted e-mail hashes with their salts, so it is created 0600 in a 0700
directory (:func:`make_private_file`); SQLite gives its -wal and -shm files the same mode.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import sqlite3
import stat
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from credanchor import faults
from credanchor.errors import Conflict, NotFound, StoreError

log = logging.getLogger(__name__)

API_KEY_PREFIX = "cak_"

#: Modes the data directory and the ledger are created with: only the service's user reads them.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600

#: Batch / chain-operation states, in order. ``failed`` is terminal and needs an operator.
OP_STATES = ("queued", "submitted", "confirmed", "failed")

# Each migration is applied once, in order, inside one transaction; PRAGMA user_version records
# how many ran. Never edit a released migration: append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE issuers (
        id INTEGER PRIMARY KEY,
        address TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        url TEXT,
        keystore TEXT,
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
        created_at REAL NOT NULL
    );
    CREATE TABLE api_keys (
        id INTEGER PRIMARY KEY,
        issuer_id INTEGER NOT NULL REFERENCES issuers(id),
        key_hash BLOB NOT NULL UNIQUE,
        hint TEXT NOT NULL,
        created_at REAL NOT NULL,
        revoked_at REAL
    );
    CREATE TABLE batches (
        id INTEGER PRIMARY KEY,
        issuer_id INTEGER NOT NULL REFERENCES issuers(id),
        kind TEXT NOT NULL DEFAULT 'credentials',
        root BLOB NOT NULL UNIQUE,
        count INTEGER NOT NULL,
        tree BLOB NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'submitted', 'confirmed', 'failed')),
        sealed_at REAL NOT NULL,
        submitted_at REAL,
        tx_hash TEXT,
        block_number INTEGER,
        block_hash TEXT,
        anchored_at INTEGER,
        confirmed_at REAL,
        last_error TEXT,
        next_attempt_at REAL NOT NULL DEFAULT 0
    );
    CREATE INDEX batches_status ON batches(status, next_attempt_at);
    CREATE INDEX batches_issuer ON batches(issuer_id, id);
    CREATE TABLE credentials (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        issuer_id INTEGER NOT NULL REFERENCES issuers(id),
        credential_hash BLOB NOT NULL UNIQUE,
        document TEXT NOT NULL,
        batch_id INTEGER REFERENCES batches(id),
        created_at REAL NOT NULL
    );
    CREATE INDEX credentials_pending ON credentials(issuer_id, batch_id, seq);
    CREATE INDEX credentials_batch ON credentials(batch_id, seq);
    CREATE TABLE revocations (
        id INTEGER PRIMARY KEY,
        issuer_id INTEGER NOT NULL REFERENCES issuers(id),
        kind TEXT NOT NULL CHECK (kind IN ('credential', 'batch')),
        target BLOB NOT NULL,
        reason INTEGER NOT NULL,
        note TEXT,
        op_id INTEGER REFERENCES revocation_ops(id),
        created_at REAL NOT NULL,
        UNIQUE (issuer_id, kind, target)
    );
    CREATE INDEX revocations_op ON revocations(op_id);
    CREATE TABLE revocation_ops (
        id INTEGER PRIMARY KEY,
        issuer_id INTEGER NOT NULL REFERENCES issuers(id),
        kind TEXT NOT NULL CHECK (kind IN ('credential', 'batch')),
        reason INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'submitted', 'confirmed', 'failed')),
        created_at REAL NOT NULL,
        submitted_at REAL,
        tx_hash TEXT,
        block_number INTEGER,
        block_hash TEXT,
        confirmed_at REAL,
        last_error TEXT,
        next_attempt_at REAL NOT NULL DEFAULT 0
    );
    CREATE INDEX revocation_ops_status ON revocation_ops(status, next_attempt_at);
    CREATE TABLE tx_attempts (
        id INTEGER PRIMARY KEY,
        op_table TEXT NOT NULL CHECK (op_table IN ('batches', 'revocation_ops')),
        op_id INTEGER NOT NULL,
        sender TEXT NOT NULL,
        nonce INTEGER NOT NULL,
        tx_hash TEXT NOT NULL UNIQUE,
        raw BLOB NOT NULL,
        max_fee_per_gas INTEGER NOT NULL,
        max_priority_fee_per_gas INTEGER NOT NULL,
        gas INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX tx_attempts_op ON tx_attempts(op_table, op_id, id);
    CREATE TABLE idempotency (
        issuer_id INTEGER NOT NULL REFERENCES issuers(id),
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        response TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (issuer_id, key)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        issuer_id INTEGER,
        entity TEXT,
        entity_id TEXT,
        data TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: issuers opt in, per credential, to a public page (/c/<id>).
    """
    ALTER TABLE credentials ADD COLUMN shared INTEGER NOT NULL DEFAULT 0;
    """,
    # 3: stack definitions (credanchor.usecases.stacks). The document itself is a credentials row, so
    # it is sealed, anchored and proved like a credential; this table says which rows are
    # definitions. Published definitions are immutable: a change would silently alter the
    # rule of every qualification granted under them.
    """
    CREATE TABLE stack_definitions (
        id INTEGER PRIMARY KEY,
        issuer_id INTEGER NOT NULL REFERENCES issuers(id),
        stack TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        credential_id TEXT NOT NULL UNIQUE REFERENCES credentials(id),
        created_at REAL NOT NULL,
        UNIQUE (issuer_id, stack, version)
    );
    CREATE TRIGGER stack_definitions_no_update BEFORE UPDATE ON stack_definitions
        BEGIN SELECT RAISE(ABORT, 'a published stack definition is immutable'); END;
    CREATE TRIGGER stack_definitions_no_delete BEFORE DELETE ON stack_definitions
        BEGIN SELECT RAISE(ABORT, 'a published stack definition is immutable'); END;
    CREATE TRIGGER stack_definition_documents_immutable
        BEFORE UPDATE OF id, credential_hash, document ON credentials
        WHEN EXISTS (SELECT 1 FROM stack_definitions s WHERE s.credential_id = OLD.id)
        BEGIN SELECT RAISE(ABORT, 'a published stack definition is immutable'); END;
    """,
    # 4: the chain's issuer list, indexed (credanchor.usecases.issuer_index): a cache of the contract's
    # records, rebuilt from its events whenever needed; the cursor (last block scanned and its
    # hash) lives in meta. Not ledger state: it appends no event.
    """
    CREATE TABLE chain_issuers (
        chain_id INTEGER NOT NULL,
        contract TEXT NOT NULL,
        address TEXT NOT NULL,
        record TEXT NOT NULL,
        first_block INTEGER NOT NULL,
        first_log INTEGER NOT NULL,
        PRIMARY KEY (chain_id, contract, address)
    );
    CREATE INDEX chain_issuers_order ON chain_issuers(chain_id, contract, first_block, first_log);
    """,
)


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) 0700, or take group and others' access away from
    an existing one. Only the last component is tightened: the parents are not ours."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    owner_only(path)


def make_private_file(path: Path) -> None:
    """Create ``path`` empty and 0600 unless it exists (then take group and others' access
    away), so that whatever opens it next never creates it readable under the umask."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        owner_only(path)


def owner_only(path: Path) -> None:
    """Take group and others' permissions away from ``path`` (the owner's stay as they are:
    0644 becomes 0600, 0755 becomes 0700). Symbolic links are neither followed nor changed;
    a missing path is ignored; a file we may not change is logged, not fatal."""
    try:
        st = os.lstat(path)
        if st.st_mode & 0o077 and not stat.S_ISLNK(st.st_mode):
            os.chmod(path, stat.S_IMODE(st.st_mode) & 0o700)
    except FileNotFoundError:
        pass
    except PermissionError as exc:
        log.warning("cannot make %s private: %s", path, exc)


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


_CREDENTIAL_STATUS_SQL = """
    CASE WHEN c.batch_id IS NULL THEN 'pending'
         WHEN b.status = 'queued' THEN 'sealed'
         WHEN b.status = 'submitted' THEN 'submitted'
         WHEN b.status = 'confirmed' THEN 'anchored'
         ELSE 'failed' END
"""

CREDENTIAL_STATUSES = ("pending", "sealed", "submitted", "anchored", "failed")


def _row(cls: type, row: dict[str, Any]) -> Any:
    names = cls.__dataclass_fields__  # type: ignore[attr-defined]
    return cls(**{k: row[k] for k in names})


class Store:
    """The ledger. Cheap to open; open one per thread (sqlite connections are not shared)."""

    def __init__(self, path: str | Path, *, clock=time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        try:
            make_private_dir(self.path.parent)
            make_private_file(self.path)
            for suffix in ("-wal", "-shm"):  # left readable by an older version
                owner_only(self.path.with_name(self.path.name + suffix))
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 30000")
            self.db = sqlite_utils.Database(conn)
            self.db.enable_wal()
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the ledger at {self.path}: {exc}") from exc

    # -- plumbing -----------------------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def close(self) -> None:
        self.db.close()

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                f"the ledger {self.path} has schema version {version}, newer than this "
                f"credanchor ({len(MIGRATIONS)}); upgrade credanchor"
            )
        for number in range(version, len(MIGRATIONS)):
            with self.transaction():
                # executescript would COMMIT; run statements one by one inside our transaction
                for statement in _split_sql(MIGRATIONS[number]):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number + 1}")

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: takes the write lock up front, so two
        processes never deadlock upgrading a read lock)."""
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"ledger busy or unavailable: {exc}") from exc
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def _event(
        self,
        kind: str,
        *,
        issuer_id: int | None = None,
        entity: str | None = None,
        entity_id: Any = None,
        **data: Any,
    ) -> None:
        self.conn.execute(
            "INSERT INTO events (at, kind, issuer_id, entity, entity_id, data) VALUES (?,?,?,?,?,?)",
            (
                self.clock(),
                kind,
                issuer_id,
                entity,
                None if entity_id is None else str(entity_id),
                json.dumps(data, sort_keys=True, default=str),
            ),
        )

    def _one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = list(self.db.query(sql, params))
        return rows[0] if rows else None

    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else row["value"]

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- issuers and API keys -----------------------------------------------------------------

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
        return _row(Issuer, row)

    def find_issuer(self, key: str) -> Issuer:
        """By numeric id or by address (case-insensitive)."""
        if key.isdigit():
            return self.get_issuer(int(key))
        row = self._one("SELECT * FROM issuers WHERE lower(address) = lower(?)", (key,))
        if row is None:
            raise NotFound(f"no issuer {key}")
        return _row(Issuer, row)

    def list_issuers(self) -> list[Issuer]:
        return [_row(Issuer, r) for r in self.db.query("SELECT * FROM issuers ORDER BY id")]

    def set_issuer_status(self, issuer_id: int, status: str) -> Issuer:
        with self.transaction() as conn:
            self.get_issuer(issuer_id)
            conn.execute("UPDATE issuers SET status = ? WHERE id = ?", (status, issuer_id))
            self._event(f"issuer.{status}", issuer_id=issuer_id)
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

    # -- credentials --------------------------------------------------------------------------

    def add_credentials(
        self, issuer_id: int, items: Iterable[tuple[str, bytes, str]], *, chunk: int = 50_000
    ) -> int:
        """Accept credentials ``(id, credential_hash, canonical_json)`` as pending, atomically.

        All or nothing: a duplicate id or hash rolls the whole call back (Conflict)."""
        now = self.clock()
        total = 0
        with self.transaction() as conn:
            batch: list[tuple[Any, ...]] = []
            try:
                for cid, chash, doc in items:
                    batch.append((cid, issuer_id, chash, doc, now))
                    if len(batch) >= chunk:
                        conn.executemany(_INSERT_CREDENTIAL, batch)
                        total += len(batch)
                        batch.clear()
                if batch:
                    conn.executemany(_INSERT_CREDENTIAL, batch)
                    total += len(batch)
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"credential already exists (same id or hash): {exc}") from exc
            self._event("credentials.accepted", issuer_id=issuer_id, count=total)
        return total

    def _credential_query(self, where: str) -> str:
        return (
            f"SELECT c.*, {_CREDENTIAL_STATUS_SQL} AS status FROM credentials c "
            f"LEFT JOIN batches b ON b.id = c.batch_id WHERE {where}"
        )

    def get_credential(self, credential_id: str, *, issuer_id: int | None = None) -> StoredCredential:
        row = self._one(self._credential_query("c.id = ?"), (credential_id,))
        # Another issuer's credential answers exactly like a missing one: no existence oracle.
        if row is None or (issuer_id is not None and row["issuer_id"] != issuer_id):
            raise NotFound(f"no credential {credential_id}")
        return _row(StoredCredential, row)

    def get_credential_by_hash(self, credential_hash: bytes) -> StoredCredential | None:
        row = self._one(self._credential_query("c.credential_hash = ?"), (credential_hash,))
        return None if row is None else _row(StoredCredential, row)

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
            clauses.append(f"({_CREDENTIAL_STATUS_SQL}) = ?")
            params.append(status)
        sql = self._credential_query(" AND ".join(clauses)) + " ORDER BY c.seq LIMIT ?"
        params.append(limit)
        return [_row(StoredCredential, r) for r in self.db.query(sql, params)]

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
        return [_row(StoredCredential, r) for r in self.db.query(sql, (batch_id,))]

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

    def issuers_with_pending(self) -> list[tuple[int, int, float]]:
        """(issuer_id, pending count, oldest created_at) for every issuer with a backlog."""
        return [
            (r[0], r[1], r[2])
            for r in self.conn.execute(
                "SELECT issuer_id, count(*), min(created_at) FROM credentials "
                "WHERE batch_id IS NULL GROUP BY issuer_id"
            )
        ]

    # -- idempotency --------------------------------------------------------------------------

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

    # -- batches ------------------------------------------------------------------------------

    def seal_batch(self, issuer_id: int, *, max_count: int, build_tree) -> Batch | None:
        """Seal up to ``max_count`` of the issuer's pending credentials into a new batch.

        ``build_tree(hashes) -> (root, nodes_blob)`` runs inside the write transaction, so the
        set it sees is exactly the set that gets sealed. Returns None when nothing is pending."""
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT seq, credential_hash FROM credentials "
                "WHERE issuer_id = ? AND batch_id IS NULL ORDER BY seq LIMIT ?",
                (issuer_id, max_count),
            ).fetchall()
            if not rows:
                return None
            root, nodes = build_tree([r[1] for r in rows])
            now = self.clock()
            cur = conn.execute(
                "INSERT INTO batches (issuer_id, root, count, tree, status, sealed_at) "
                "VALUES (?,?,?,?, 'queued', ?)",
                (issuer_id, root, len(rows), nodes, now),
            )
            batch_id = cur.lastrowid
            first, last = rows[0][0], rows[-1][0]
            updated = conn.execute(
                "UPDATE credentials SET batch_id = ? "
                "WHERE issuer_id = ? AND batch_id IS NULL AND seq BETWEEN ? AND ?",
                (batch_id, issuer_id, first, last),
            ).rowcount
            if updated != len(rows):  # cannot happen under the write lock; never seal a lie
                raise StoreError(f"sealing batch {batch_id}: {updated} rows moved, not {len(rows)}")
            self._event(
                "batch.sealed", issuer_id=issuer_id, entity="batch", entity_id=batch_id,
                root="0x" + root.hex(), count=len(rows),
            )
            faults.reach("seal:before-commit")
        faults.reach("seal:after-commit")
        return self.get_batch(int(batch_id or 0))

    def get_batch(self, batch_id: int, *, issuer_id: int | None = None) -> Batch:
        if not 0 <= batch_id < 2**63:  # beyond SQLite's INTEGER (ids come from URLs)
            raise NotFound(f"no batch {batch_id}")
        row = self._one("SELECT * FROM batches WHERE id = ?", (batch_id,))
        if row is None or (issuer_id is not None and row["issuer_id"] != issuer_id):
            raise NotFound(f"no batch {batch_id}")
        return _row(Batch, row)

    def get_batch_by_root(self, root: bytes) -> Batch | None:
        row = self._one("SELECT * FROM batches WHERE root = ?", (root,))
        return None if row is None else _row(Batch, row)

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
        return [_row(Batch, r) for r in self.db.query(sql, [*params, limit])]

    def last_confirmed_batch(self) -> Batch | None:
        cols = ", ".join(Batch.__dataclass_fields__)
        row = self._one(
            f"SELECT {cols} FROM batches WHERE status = 'confirmed' "
            "ORDER BY confirmed_at DESC LIMIT 1"
        )
        return None if row is None else _row(Batch, row)

    # -- revocations --------------------------------------------------------------------------

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
        return _row(RevocationOp, row)

    def revocation_targets(self, op_id: int) -> list[bytes]:
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT target FROM revocations WHERE op_id = ? ORDER BY id", (op_id,)
            )
        ]

    # -- chain operations (batches and revocation_ops share the same columns) -----------------

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
            _row(TxAttempt, r)
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

    # -- stack definitions (credanchor.usecases.stacks) ----------------------------------------------

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
                conn.execute(_INSERT_CREDENTIAL, (cid, issuer_id, chash, doc, now))
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
            f"SELECT s.stack AS stack_name, s.version AS stack_version, c.*, "
            f"{_CREDENTIAL_STATUS_SQL} AS status FROM stack_definitions s "
            "JOIN credentials c ON c.id = s.credential_id "
            "LEFT JOIN batches b ON b.id = c.batch_id "
            f"WHERE {' AND '.join(clauses)} ORDER BY s.stack, s.version"
        )
        return [
            (r["stack_name"], r["stack_version"], _row(StoredCredential, r))
            for r in self.db.query(sql, params)
        ]

    # -- the chain's issuer list (credanchor.usecases.issuer_index) ---------------------------------------

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

    # -- event log ----------------------------------------------------------------------------

    def events(self, *, after_id: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
            )
        )

    def log(self, kind: str, **data: Any) -> None:
        """Append a free-standing event (operator actions, worker notes)."""
        with self.transaction():
            self._event(kind, **data)

    # -- counting -----------------------------------------------------------------------------

    def count_batches_by_status(self) -> dict[str, int]:
        """How many batches are in each status, every status named (0 when none): one query,
        where listing them all only to count them read every row."""
        counts = dict.fromkeys(("queued", "submitted", "confirmed", "failed"), 0)
        for status, n in self.conn.execute(
            "SELECT status, COUNT(*) FROM batches GROUP BY status"
        ):
            counts[str(status)] = int(n)
        return counts


_INSERT_CREDENTIAL = (
    "INSERT INTO credentials (id, issuer_id, credential_hash, document, created_at) "
    "VALUES (?,?,?,?,?)"
)


def _check_table(table: str) -> None:
    if table not in ("batches", "revocation_ops"):
        raise ValueError(f"not an operation table: {table}")


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (BEGIN … END;) whole."""
    statements: list[str] = []
    current: list[str] = []
    depth = 0
    for line in script.strip().splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        current.append(line)
        upper = stripped.upper()
        if upper.startswith("CREATE TRIGGER") or " BEGIN " in f" {upper} ":
            depth = 1 if "END;" not in upper else 0
        if stripped.endswith(";") and (depth == 0 or upper.endswith("END;")):
            depth = 0
            statements.append("\n".join(current))
            current = []
    if current:
        statements.append("\n".join(current))
    return statements
