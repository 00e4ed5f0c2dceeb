"""Shared fixtures: real parts only — an embedded EVM persisted in tmp_path, a real SQLite
ledger, real keystores (with a cheap KDF so tests stay fast)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from credanchor.config import Secret, load_settings
from credanchor.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def make_settings(data_dir: Path, **overrides):
    values = {
        "data_dir": data_dir,
        "keystore_password": Secret("test-keystore-password"),
        "batch_size": 100_000,
        "batch_max_age": 3600.0,
        "confirmations": 1,
        "worker_interval": 0.05,
        "kdf_work_factor": 2**10,
    }
    values.update(overrides)
    return load_settings(env={}, **values)


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


def sample_items(n: int, *, start: int = 0) -> list[dict]:
    return [
        {
            "recipient": {"name": f"Learner {i}", "email": f"learner{i}@example.org"},
            "achievement": {
                "name": "Excel Modelling",
                "description": "Builds and tests financial models in spreadsheets.",
                "criteria": "Passed a practical assessment.",
            },
            "validFrom": "2026-01-15T09:00:00Z",
        }
        for i in range(start, start + n)
    ]


def dump(document: dict, path: Path) -> Path:
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path
