"""The ledger on a real SQLite file: migrations, keys, atomic acceptance, sealing, the event log."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from credanchor.errors import Conflict, MerkleError, NotFound, StoreError
from credanchor.ledger.store import MIGRATIONS, Store, hash_api_key


def fake_tree(hashes: list[bytes]) -> tuple[bytes, bytes]:
    # The store does not care how the tree is built; the anchoring tests use the real one.
    return bytes(reversed(hashes[0])), b"".join(hashes)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "ledger.sqlite")
    yield s
    s.close()


@pytest.fixture
def issuer(store):
    return store.add_issuer(address="0x" + "ab" * 20, name="Acme Academy", url="https://acme.test")


def creds(n: int, start: int = 0) -> list[tuple[str, bytes, str]]:
    return [(f"urn:uuid:{i:08d}", i.to_bytes(32, "big"), f'{{"n":{i}}}') for i in range(start, start + n)]


def test_migrations_applied_once_and_reopen_is_idempotent(tmp_path):
    path = tmp_path / "l.sqlite"
    Store(path).close()
    s = Store(path)
    assert s.schema_version == len(MIGRATIONS)
    assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s.close()


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "l.sqlite"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this credanchor"):
        Store(path)


def test_api_key_shown_once_and_stored_hashed(store, issuer, tmp_path):
    key = store.create_api_key(issuer.id)
    assert key.startswith("cak_") and len(key) > 40
    assert store.authenticate(key) == issuer
    assert store.authenticate(key + "x") is None
    stored = store.conn.execute("SELECT key_hash, hint FROM api_keys").fetchone()
    assert stored[0] == hash_api_key(key)
    assert key not in stored[1]
    store.conn.execute("PRAGMA wal_checkpoint(FULL)")
    raw = (tmp_path / "ledger.sqlite").read_bytes()
    assert key.encode() not in raw


def test_accepting_is_all_or_nothing(store, issuer):
    assert store.add_credentials(issuer.id, creds(3)) == 3
    with pytest.raises(Conflict):
        store.add_credentials(issuer.id, creds(2, start=10) + creds(1, start=2))
    assert store.pending_summary(issuer.id)[0] == 3


def test_seal_takes_pending_in_order_and_status_is_derived(store, issuer):
    store.add_credentials(issuer.id, creds(5))
    batch = store.seal_batch(issuer.id, max_count=3, build_tree=fake_tree)
    assert batch is not None and batch.count == 3 and batch.status == "queued"
    assert store.batch_credential_hashes(batch.id) == [i.to_bytes(32, "big") for i in range(3)]
    statuses = [c.status for c in store.list_credentials(issuer.id)]
    assert statuses == ["sealed"] * 3 + ["pending"] * 2
    assert [c.id for c in store.list_credentials(issuer.id, status="pending")] == [
        "urn:uuid:00000003", "urn:uuid:00000004"]
    second = store.seal_batch(issuer.id, max_count=10, build_tree=fake_tree)
    assert second is not None and second.count == 2
    assert store.seal_batch(issuer.id, max_count=10, build_tree=fake_tree) is None


def test_a_seal_whose_tree_fails_leaves_every_credential_pending(store, issuer):
    store.add_credentials(issuer.id, creds(3))

    def broken(hashes):
        raise MerkleError("duplicate credential hash in one batch")

    with pytest.raises(MerkleError, match="duplicate"):
        store.seal_batch(issuer.id, max_count=3, build_tree=broken)
    assert [c.status for c in store.list_credentials(issuer.id)] == ["pending"] * 3
    assert store.list_batches() == []
    # The rows named the batch before its row existed; the deferral of foreign keys ended
    # with the transaction, so a row naming a missing batch is refused at once again.
    assert store.conn.execute("PRAGMA defer_foreign_keys").fetchone()[0] == 0
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"), store.transaction() as conn:
        conn.execute("UPDATE credentials SET batch_id = 99 WHERE seq = 1")
    batch = store.seal_batch(issuer.id, max_count=3, build_tree=fake_tree)
    assert batch is not None and batch.id == 1 and batch.count == 3


def test_the_tree_is_built_beside_the_rows_being_filed(store, issuer):
    store.add_credentials(issuer.id, creds(4))
    seen = []

    def tree(hashes):
        seen.append(threading.current_thread() is threading.main_thread())
        return fake_tree(hashes)

    first = store.seal_batch(issuer.id, max_count=2, build_tree=tree)
    second = store.seal_batch(issuer.id, max_count=2, build_tree=tree)
    assert seen == [False, False]
    # ids follow one another as SQLite numbers rows, and each batch holds its own rows
    assert (first.id, second.id) == (1, 2)
    assert [c.batch_id for c in store.list_credentials(issuer.id)] == [1, 1, 2, 2]
    assert first.root == fake_tree([i.to_bytes(32, "big") for i in range(2)])[0]
    assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_issuers_see_only_their_own(store, issuer):
    other = store.add_issuer(address="0x" + "cd" * 20, name="Other")
    store.add_credentials(issuer.id, creds(1))
    assert store.get_credential("urn:uuid:00000000", issuer_id=issuer.id).issuer_id == issuer.id
    with pytest.raises(NotFound):
        store.get_credential("urn:uuid:00000000", issuer_id=other.id)
    batch = store.seal_batch(issuer.id, max_count=10, build_tree=fake_tree)
    with pytest.raises(NotFound):
        store.get_batch(batch.id, issuer_id=other.id)


def test_event_log_is_append_only(store, issuer):
    store.add_credentials(issuer.id, creds(2))
    kinds = [e["kind"] for e in store.events()]
    assert kinds == ["issuer.added", "credentials.accepted"]
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("DELETE FROM events")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("UPDATE events SET kind = 'x'")


def test_revocations_group_into_bulk_operations(store, issuer):
    for i in range(3):
        assert store.add_revocation(issuer.id, "credential", bytes([i]) * 32, reason=1)
    assert not store.add_revocation(issuer.id, "credential", bytes([0]) * 32, reason=1)
    store.add_revocation(issuer.id, "batch", b"\x09" * 32, reason=2)
    ops = store.group_revocations()
    assert sorted((op.kind, len(store.revocation_targets(op.id))) for op in ops) == [
        ("batch", 1), ("credential", 3)]
    assert store.group_revocations() == []


def test_idempotency_key_reuse_with_other_body_conflicts(store, issuer):
    with store.transaction():
        store.save_idempotent_response(issuer.id, "k1", "h1", {"ids": [1]})
    assert store.idempotent_response(issuer.id, "k1", "h1") == {"ids": [1]}
    with pytest.raises(Conflict):
        store.idempotent_response(issuer.id, "k1", "h2")


def test_memory_store_is_a_full_ledger_without_a_file(tmp_path, monkeypatch):
    # The in-memory seam: the same migrations, triggers and rules as the file, nothing on disk.
    monkeypatch.chdir(tmp_path)
    s = Store.memory(clock=lambda: 1000.0)
    assert s.in_memory and s.schema_version == len(MIGRATIONS)
    issuer = s.add_issuer(address="0x" + "cd" * 20, name="Memo")
    assert s.add_credentials(issuer.id, creds(3)) == 3
    batch = s.seal_batch(issuer.id, max_count=10, build_tree=fake_tree)
    assert batch is not None and batch.count == 3 and batch.sealed_at == 1000.0
    assert [c.status for c in s.list_credentials(issuer.id)] == ["sealed"] * 3
    with pytest.raises(Conflict):
        s.add_credentials(issuer.id, creds(1))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        s.conn.execute("DELETE FROM events")
    assert [e["kind"] for e in s.events()] == [
        "issuer.added", "credentials.accepted", "batch.sealed"]
    s.close()
    assert list(tmp_path.iterdir()) == []


def add_before_7(s: Store, issuer_id: int, rows: list[tuple[str, bytes, str]]) -> None:
    # Credentials as a ledger from before migration 7 held them: the document in the row.
    s.conn.executemany("INSERT INTO credentials (id, issuer_id, credential_hash, document, "
                       "created_at) VALUES (?, ?, ?, ?, 0)",
                       [(cid, issuer_id, h, doc) for cid, h, doc in rows])


def ledger_at(path, version: int, monkeypatch) -> Store:
    # A ledger as a credanchor with only the first ``version`` migrations made it; the
    # caller closes it, and the next Store(path) migrates it.
    import credanchor.ledger.base as base

    with monkeypatch.context() as m:
        m.setattr(base, "MIGRATIONS", MIGRATIONS[:version])
        return Store(path)


def _batch_index_sql(s: Store) -> str:
    return s.conn.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'credentials_batch'").fetchone()[0]


def test_the_batch_index_leaves_pending_credentials_out_and_serves_every_batch_query(
        store, issuer, monkeypatch):
    # Migration 6: accepting a credential adds nothing to credentials_batch. Each query the
    # ledger makes for a batch's credentials must still search it, not scan the table.
    assert _batch_index_sql(store).endswith("WHERE batch_id IS NOT NULL")
    store.add_credentials(issuer.id, creds(5))
    batch = store.seal_batch(issuer.id, max_count=3, build_tree=fake_tree)
    store.add_credentials(issuer.id, creds(2, start=5))
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    try:
        hashes = store.batch_credential_hashes(batch.id)
        members = store.batch_credentials(batch.id)
        listed = store.list_credentials(issuer.id, batch_id=batch.id)
        orphans = store.orphaned_credentials()
    finally:
        store.conn.set_trace_callback(None)
    assert hashes == [i.to_bytes(32, "big") for i in range(3)]
    assert [c.id for c in members] == [c.id for c in listed] == [f"urn:uuid:{i:08d}" for i in range(3)]
    assert orphans == []
    plans = {}
    for sql in seen:
        if sql.lstrip().upper().startswith("SELECT") and "batch_id" in sql:
            plan = " | ".join(r[3] for r in store.conn.execute("EXPLAIN QUERY PLAN " + sql))
            plans[sql] = plan
    assert len(plans) >= 3
    for sql, plan in plans.items():
        assert "SCAN c " not in plan + " " and "SCAN credentials" not in plan, (sql, plan)
        assert "credentials_batch" in plan or "credentials_pending" in plan, (sql, plan)


def test_a_ledger_from_before_migration_6_keeps_every_batch(tmp_path, monkeypatch):
    path = tmp_path / "v5.sqlite"
    old = ledger_at(path, 5, monkeypatch)
    who = old.add_issuer(address="0x" + "cd" * 20, name="Old Academy")
    add_before_7(old, who.id, creds(4))
    sealed = old.seal_batch(who.id, max_count=3, build_tree=fake_tree)
    assert old.schema_version == 5 and "WHERE" not in _batch_index_sql(old)
    old.close()
    s = Store(path)
    try:
        assert s.schema_version == len(MIGRATIONS) == 7
        assert _batch_index_sql(s).endswith("WHERE batch_id IS NOT NULL")
        assert s.batch_credential_hashes(sealed.id) == [i.to_bytes(32, "big") for i in range(3)]
        assert s.seal_batch(who.id, max_count=10, build_tree=fake_tree).count == 1
    finally:
        s.close()


def _columns(s: Store, table: str) -> list[str]:
    return [r[1] for r in s.conn.execute(f"PRAGMA table_info({table})")]


def test_a_ledger_from_before_migration_7_keeps_every_document_and_its_guard(
        tmp_path, monkeypatch):
    # Migration 7 moves documents out of the credentials row (sealing no longer rewrites
    # them). A v6 ledger with pending and sealed credentials and a published stack
    # definition: after it, every document reads back unchanged, under its own seq, and the
    # definition's document still cannot be changed.
    path = tmp_path / "v6.sqlite"
    old = ledger_at(path, 6, monkeypatch)
    who = old.add_issuer(address="0x" + "cd" * 20, name="Old Academy")
    add_before_7(old, who.id, creds(4))
    sealed = old.seal_batch(who.id, max_count=3, build_tree=fake_tree)
    add_before_7(old, who.id, [("urn:uuid:definition", b"\x07" * 32, '{"stack":1}')])
    old.conn.execute("INSERT INTO stack_definitions (issuer_id, stack, version, credential_id, "
                     "created_at) VALUES (?, 'data', 1, 'urn:uuid:definition', 0)", (who.id,))
    before = old.conn.execute("SELECT seq, id, document FROM credentials ORDER BY seq").fetchall()
    assert old.schema_version == 6 and "document" in _columns(old, "credentials")
    old.close()
    s = Store(path)
    try:
        assert s.schema_version == len(MIGRATIONS) == 7
        assert "document" not in _columns(s, "credentials")
        after = s.conn.execute("SELECT seq, id, document FROM credentials "
                               "JOIN credential_documents USING (seq) ORDER BY seq").fetchall()
        assert after == before and len(after) == 5
        assert [c.document for c in s.batch_credentials(sealed.id)] == [
            '{"n":0}', '{"n":1}', '{"n":2}']
        assert s.get_credential("urn:uuid:00000003").document == '{"n":3}'
        with pytest.raises(sqlite3.DatabaseError, match="immutable"):
            s.conn.execute("UPDATE credential_documents SET document = '{}' WHERE seq = ?",
                           (before[-1][0],))
        with pytest.raises(sqlite3.DatabaseError, match="immutable"):
            s.conn.execute("UPDATE credentials SET id = 'urn:uuid:x' WHERE seq = ?",
                           (before[-1][0],))
        s.conn.execute("UPDATE credential_documents SET document = '{}' WHERE seq = ?",
                       (before[0][0],))  # an ordinary credential's row has no such guard
        added = s.add_credentials(who.id, creds(2, start=10))
        assert added == 2 and [c.document for c in s.list_credentials(who.id, after_seq=5)] == [
            '{"n":10}', '{"n":11}']
        assert s.seal_batch(who.id, max_count=10, build_tree=fake_tree).count == 4
    finally:
        s.close()


def test_sealing_rewrites_no_document(store, issuer):
    # The point of migration 7: sealing touches the narrow credentials rows only. SQLite
    # counts the rows each statement changes; the documents table must see none.
    store.add_credentials(issuer.id, creds(50))
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    try:
        batch = store.seal_batch(issuer.id, max_count=50, build_tree=fake_tree)
    finally:
        store.conn.set_trace_callback(None)
    assert batch is not None and batch.count == 50
    writes = [q for q in seen if q.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]
    assert writes and not [q for q in writes if "credential_documents" in q]
    assert [c.document for c in store.batch_credentials(batch.id)] == [
        f'{{"n":{i}}}' for i in range(50)]


def test_an_auditor_reads_a_ledger_from_before_migration_7_without_migrating_it(
        tmp_path, monkeypatch):
    # The audit opens the file read-only and never migrates it: an issuer's v6 copy still
    # has its documents in the credentials rows. They are read there, a changed one is found,
    # and the file is left at version 6.
    from credanchor.core.hashing import keccak256
    from credanchor.ledger.view import SqliteLedger

    path = tmp_path / "v6.sqlite"
    old = ledger_at(path, 6, monkeypatch)
    who = old.add_issuer(address="0x" + "cd" * 20, name="Old Academy")
    docs = [f'{{"n":{i}}}' for i in range(3)]
    add_before_7(old, who.id, [(f"urn:uuid:{i:08d}", keccak256(d.encode()), d)
                               for i, d in enumerate(docs)])
    sealed = old.seal_batch(who.id, max_count=3, build_tree=fake_tree)
    old.conn.execute("UPDATE credentials SET document = '{\"n\":99}' WHERE id = 'urn:uuid:00000001'")
    old.close()
    view = SqliteLedger(path)
    try:
        assert [cid for _, _, cid in view.document_mismatches()] == ["urn:uuid:00000001"]
        assert view.batch_of(keccak256(docs[2].encode())) == sealed.id
    finally:
        view.close()
    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA user_version").fetchone()[0] == 6
        assert "credential_documents" not in {
            r[0] for r in check.execute("SELECT name FROM sqlite_master")}
    finally:
        check.close()


def test_two_processes_opening_an_old_ledger_at_once_migrate_it_once(tmp_path, monkeypatch):
    # gunicorn's workers and the anchoring worker open the ledger together after an upgrade.
    # Each reads the schema version, then takes the write lock to migrate; the one that gets
    # it second must see that the other has migrated meanwhile. That interleaving is forced
    # here: before this opener's first migration transaction, a second opener runs in full.
    import credanchor.ledger.base as base

    path = tmp_path / "v6.sqlite"
    old = ledger_at(path, 6, monkeypatch)
    who = old.add_issuer(address="0x" + "cd" * 20, name="Old Academy")
    add_before_7(old, who.id, creds(2))
    old.close()
    real = base.LedgerBase.transaction
    other: list[Store] = []
    raced: list[bool] = []

    def transaction_after_another_opener(self):
        if not raced:
            raced.append(True)
            other.append(Store(path))  # the other process: migrates to 7 and commits
        return real(self)

    monkeypatch.setattr(base.LedgerBase, "transaction", transaction_after_another_opener)
    s = Store(path)
    monkeypatch.undo()
    try:
        assert other and other[0].schema_version == s.schema_version == len(MIGRATIONS)
        assert [c.document for c in s.list_credentials(who.id)] == ['{"n":0}', '{"n":1}']
    finally:
        s.close()
        other[0].close()
