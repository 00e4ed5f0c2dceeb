"""Every shared fixture lives in tests/kit/fixtures.py, loaded here as a plugin; folder
conftests only override ``runtime`` (or ``world``) for tests that run in another world."""

from __future__ import annotations

pytest_plugins = ["kit.fixtures"]
