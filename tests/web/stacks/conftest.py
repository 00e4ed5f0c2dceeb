"""The stack API and pages run against the shared stack world (kit.fixtures.world)."""

from __future__ import annotations

import pytest

from credanchor.usecases.container import Runtime
from kit.fixtures import bearer
from kit.stacks import World


@pytest.fixture
def runtime(world: World) -> Runtime:
    return world.runtime


@pytest.fixture
def other_auth(world: World) -> dict[str, str]:
    """The world's "Other Academy", which published no stack."""
    return bearer(world.runtime, world.other)
