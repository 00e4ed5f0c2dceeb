"""Settings and sample data for tests and benchmarks (no pytest here)."""

from __future__ import annotations

import json
from pathlib import Path

from credanchor.usecases.config import Secret, load_settings

ROOT = Path(__file__).resolve().parents[2]
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
