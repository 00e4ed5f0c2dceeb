"""The issuer's ledger: SQLite schema and migrations, the Store, the read-only export."""
