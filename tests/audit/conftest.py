"""Fixtures for the script tests (helpers live in scriptkit.py)."""

from __future__ import annotations

import pytest
from scriptkit import deploy_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = deploy_world(tmp_path_factory.mktemp("world"))
    yield w
    w.node.stop()


@pytest.fixture
def snapshot(world):
    """Undo a test's chain changes (anvil evm_snapshot / evm_revert)."""
    snap = world.node.rpc("evm_snapshot")
    yield
    assert world.node.rpc("evm_revert", [snap]) is True
