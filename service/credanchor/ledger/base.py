"""The ledger's plumbing: opening the SQLite file (private, WAL), migrating it, one write
transaction at a time, the append-only event log and the meta table. The concepts
(issuers, credentials, batches …) are mixins over :class:`LedgerBase`, composed into
:class:`credanchor.ledger.store.Store`."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from credanchor.errors import StoreError
from credanchor.ledger.records import INSERT_CREDENTIAL, INSERT_DOCUMENT
from credanchor.ledger.schema import MIGRATIONS, split_sql

log = logging.getLogger(__name__)

#: Modes the data directory and the ledger are created with: only the service's user reads them.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


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


class LedgerBase:
    """Plumbing shared by every part of the ledger. Cheap to open; open one per thread
    (sqlite connections are not shared)."""

    def __init__(self, path: str | Path, *, clock=time.time, memory: bool = False,
                 read_only: bool = False) -> None:
        self.clock = clock
        self.in_memory = memory
        self.read_only = read_only
        if read_only:
            # The auditor's view: never migrates, locks for writing or changes the file.
            self.path = Path(path)
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30,
                                   isolation_level=None)
            self.db = sqlite_utils.Database(conn)
            self._documents_in_rows(conn)
            return
        if memory:
            # The in-memory seam for tests: same schema, same rules, nothing on disk.
            self.path = Path(":memory:")
            conn = sqlite3.connect(":memory:", isolation_level=None)
            self.db = sqlite_utils.Database(conn)
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            return
        self.path = Path(path)
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
                # Read again under the write lock: another process opening the ledger at the
                # same moment (gunicorn's workers and the anchoring worker start together after
                # an upgrade) may have applied this migration since the read above.
                if self.conn.execute("PRAGMA user_version").fetchone()[0] > number:
                    continue
                # executescript would COMMIT; run statements one by one inside our transaction
                for statement in split_sql(MIGRATIONS[number]):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number + 1}")

    def tables(self) -> set[str]:
        return {r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}

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

    @staticmethod
    def _documents_in_rows(conn: sqlite3.Connection) -> None:
        """A ledger from before migration 7, read without migrating it (the auditor's copy):
        its documents are still a column of ``credentials``. A temporary view (the
        connection's own, nothing is written to the file) gives them the name the reads use.
        A file that cannot be read is left for the caller's first read to report."""
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if "credential_documents" in tables or "credentials" not in tables:
                return
            conn.execute("CREATE TEMP VIEW credential_documents AS "
                         "SELECT seq, document FROM main.credentials")
        except sqlite3.Error:
            return

    def _insert_credentials(self, conn: sqlite3.Connection, issuer_id: int, created_at: float,
                            rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert ``(id, credential_hash, document[, status_list, status_index])`` rows of
        ``issuer_id``: each credential's row, then its document under the same ``seq``.
        Inside a write transaction only: the new ``seq`` follow the largest one, as SQLite
        would number them, and nobody else can take them meanwhile."""
        assert conn.in_transaction
        first = conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM credentials").fetchone()[0]
        conn.executemany(INSERT_CREDENTIAL, [
            (first + n, r[0], issuer_id, r[1], created_at,
             *((r[3], r[4]) if len(r) > 3 else (None, None)))
            for n, r in enumerate(rows)])
        conn.executemany(INSERT_DOCUMENT, [(first + n, r[2]) for n, r in enumerate(rows)])

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

