"""Fixtures of the reliability suite: real anvil nodes, stopped at teardown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chain.chainkit import AnvilNode, start_anvil


@pytest.fixture
def node() -> Iterator[AnvilNode]:
    n = start_anvil()
    yield n
    n.stop()
