"""Fixtures for the pure core: real credentials, real trees, fixed clocks and seeds."""

from __future__ import annotations

import pytest

from ._support import anchor_batch, make_credential


@pytest.fixture
def credential() -> dict:
    return make_credential()


@pytest.fixture
def anchored() -> list[dict]:
    """Five anchored credentials from one batch."""
    return anchor_batch([make_credential(i) for i in range(5)])
