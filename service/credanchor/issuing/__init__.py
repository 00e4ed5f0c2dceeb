"""Issuing: items to credentials (idempotent, in bulk), anchoring batches exactly once, holder files."""
