"""The ledger's schema: the migrations, applied in order, and how they are applied.

Each migration is applied once, in order, inside one transaction; PRAGMA user_version records
how many ran. Never edit a released migration: append a new one.
"""

from __future__ import annotations

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
    # 5: standard proofs (issue 14). An issuer's signing DID (did:key / did:web; NULL for an
    # issuer from before signatures, known by its did:pkh until it gets a key, see
    # credanchor.usecases.issuer_identity), and each credential's place in its issuer's
    # Bitstring Status Lists: list number and bit index, allocated at random at issue and never
    # reused (the unique index is the backstop). Rows from before have neither: they verify
    # through their anchor as they always did.
    """
    ALTER TABLE issuers ADD COLUMN did TEXT;
    ALTER TABLE credentials ADD COLUMN status_list INTEGER;
    ALTER TABLE credentials ADD COLUMN status_index INTEGER;
    CREATE UNIQUE INDEX credentials_status_slot
        ON credentials(issuer_id, status_list, status_index) WHERE status_list IS NOT NULL;
    """,
    # 6: speed (issue 15). A batch's credentials are looked up by batch_id, never the pending
    # ones (batch_id NULL, found through credentials_pending), so the batch index leaves them
    # out: accepting a credential no longer adds an entry to it, and sealing adds one instead
    # of moving one (a million signed credentials: ~5-8 % faster to accept, measured). Every
    # "batch_id = ?" implies "batch_id IS NOT NULL", so SQLite still uses it for those
    # (tests/ledger/test_store.py reads the plans of the queries the ledger makes).
    """
    DROP INDEX credentials_batch;
    CREATE INDEX credentials_batch ON credentials(batch_id, seq) WHERE batch_id IS NOT NULL;
    """,
    # 7: speed (issue 15). Documents get a table of their own, keyed by the credential's seq.
    # Sealing files each credential under its batch (UPDATE credentials SET batch_id): with
    # the 1-2 KB document in the row, SQLite rewrote the whole row, so sealing a million
    # signed credentials wrote 2.2 GB and took ~22 s; the narrow row is ~130 bytes (sealing a
    # million signed: 22.2 -> 10.6 s, measured). Accepting costs the same. Documents never
    # change; a published stack definition's is guarded as before, its row by a second
    # trigger.
    """
    CREATE TABLE credential_documents (
        seq INTEGER PRIMARY KEY REFERENCES credentials(seq),
        document TEXT NOT NULL
    );
    INSERT INTO credential_documents (seq, document) SELECT seq, document FROM credentials;
    DROP TRIGGER stack_definition_documents_immutable;
    ALTER TABLE credentials DROP COLUMN document;
    CREATE TRIGGER stack_definition_documents_immutable
        BEFORE UPDATE ON credential_documents
        WHEN EXISTS (SELECT 1 FROM stack_definitions s JOIN credentials c
                     ON c.id = s.credential_id WHERE c.seq = OLD.seq)
        BEGIN SELECT RAISE(ABORT, 'a published stack definition is immutable'); END;
    CREATE TRIGGER stack_definition_rows_immutable
        BEFORE UPDATE OF seq, id, credential_hash ON credentials
        WHEN EXISTS (SELECT 1 FROM stack_definitions s WHERE s.credential_id = OLD.id)
        BEGIN SELECT RAISE(ABORT, 'a published stack definition is immutable'); END;
    """,
)


def split_sql(script: str) -> list[str]:
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

