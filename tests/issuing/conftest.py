"""Fixtures of the issuing tests: a ledger file and its one issuer (no chain)."""

from __future__ import annotations

import pytest

from credanchor.ledger.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "ledger.sqlite")
    yield s
    s.close()
