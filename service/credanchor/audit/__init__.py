"""Auditing: replay the contract's events and reconcile them with an issuer's ledger."""
