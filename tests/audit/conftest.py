"""The audit tests run against a shared registry on anvil (kit.registry), which overrides the
stack ``world`` of kit.fixtures for this folder."""

from __future__ import annotations

import pytest

from kit.registry import deploy_world


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
