"""Shared fixtures: real parts only — an embedded EVM persisted in tmp_path, a real SQLite
ledger, real keystores (with a cheap KDF so tests stay fast)."""

from __future__ import annotations

import pytest

from credanchor.usecases.container import Runtime
from support import make_settings

pytest_plugins = ["browserkit"]


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path / "data")


@pytest.fixture
def runtime(settings):
    rt = Runtime.open(settings)
    yield rt
    rt.close()


@pytest.fixture
def local_issuer(runtime):
    """The issuer the embedded bootstrap created and accredited."""
    return runtime.store().list_issuers()[0]


