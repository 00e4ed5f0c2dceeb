"""The qualification bounds run against the shared stack world (kit.fixtures.world)."""

from __future__ import annotations

import pytest

from credanchor.usecases.container import Runtime
from kit.stacks import World


@pytest.fixture
def runtime(world: World) -> Runtime:
    return world.runtime
