"""Every shared fixture, defined once (loaded as a pytest plugin from tests/conftest.py).

Real parts only: an embedded EVM persisted in tmp_path, a real SQLite ledger, real keystores
(with a cheap KDF so tests stay fast), real anvil processes, Debian's chromium.

A folder whose tests run against another world overrides ``runtime`` in its conftest.py (the
page tests: one anchored runtime per module; the stack tests in web/stacks and verify/stacks:
the stack world); ``app``, ``client`` and the auth headers then follow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from credanchor.ledger.store import Issuer
from credanchor.usecases import stacks as stacking
from credanchor.usecases.config import Settings
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuers import add_issuer
from credanchor.web import create_app
from kit.anvil import AnvilNode, start_anvil
from kit.credentials import anchor_batch, make_credential
from kit.settings import make_settings
from kit.stacks import ADA, GRACE, World, badge, data_analyst, data_literacy

pytest_plugins = ["kit.browser"]


def bearer(runtime: Runtime, issuer: Issuer) -> dict[str, str]:
    """An Authorization header with a fresh API key of ``issuer``."""
    return {"Authorization": f"Bearer {runtime.store().create_api_key(issuer.id)}"}


# -- a fresh runtime on the embedded chain, and the HTTP API over it --------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.open(settings)
    yield rt
    rt.close()


@pytest.fixture
def local_issuer(runtime: Runtime) -> Issuer:
    """The issuer the embedded bootstrap created and accredited."""
    return runtime.store().list_issuers()[0]


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    app = create_app(runtime=runtime)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api_key(runtime: Runtime, local_issuer: Issuer) -> str:
    return runtime.store().create_api_key(local_issuer.id)


@pytest.fixture
def auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


@pytest.fixture
def other_auth(runtime: Runtime) -> dict[str, str]:
    """A second accredited issuer with its own key."""
    result = add_issuer(runtime, name="Other Academy", url="https://other.example")
    return {"Authorization": f"Bearer {result.api_key}"}


# -- pure builders ----------------------------------------------------------------------------


@pytest.fixture
def credential() -> dict:
    return make_credential()


@pytest.fixture
def anchored() -> list[dict]:
    """Five anchored credentials from one batch."""
    return anchor_batch([make_credential(i) for i in range(5)])


# -- anvil --------------------------------------------------------------------------------------


@pytest.fixture
def anvil_factory() -> Iterator[Callable[..., AnvilNode]]:
    """Start anvil processes with extra flags; all are stopped at teardown."""
    nodes: list[AnvilNode] = []

    def factory(*extra: str) -> AnvilNode:
        node = start_anvil(*extra)
        nodes.append(node)
        return node

    yield factory
    for node in nodes:
        node.stop()


@pytest.fixture
def anvil(anvil_factory: Callable[..., AnvilNode]) -> AnvilNode:
    """A fresh automining anvil on a free port (chain id 31337)."""
    return anvil_factory()


@pytest.fixture
def node(anvil: AnvilNode) -> AnvilNode:
    """The reliability suite's name for a fresh anvil."""
    return anvil


# -- the stack world ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One world for the stack tests: a real runtime (embedded EVM, SQLite ledger) with three
    accredited issuers, Ada's and Grace's anchored badges, and two anchored stack definitions by
    Acme. Anchoring is the slow part, so it is built once per session (per xdist worker); tests
    that revoke or publish make their own badges or stacks and never change the shared ones.
    tests/audit overrides ``world`` with its registry on anvil."""
    settings = make_settings(tmp_path_factory.mktemp("stacking") / "data",
                             issuer_name="Acme Academy")
    runtime = Runtime.open(settings)
    acme = runtime.store().list_issuers()[0]
    other = add_issuer(runtime, name="Other Academy", url="https://other.example").issuer
    stranger = add_issuer(runtime, name="Stranger Institute").issuer
    w = World(runtime, acme, other, stranger)
    for name, issuer, item in (
        ("ada-excel", acme, badge(ADA, "excel")),
        ("ada-viz", acme, badge(ADA, "viz")),
        ("ada-stats", acme, badge(ADA, "stats")),
        ("ada-excel-old", acme, badge(ADA, "excel", age_days=800)),
        ("ada-sql", other, badge(ADA, "sql")),
        ("ada-sql-stranger", stranger, badge(ADA, "sql")),
        ("grace-sql", other, badge(GRACE, "sql", name="Grace Hopper")),
    ):
        w.ids[name] = w.issue(issuer, item)
    stacking.publish(runtime, acme, data_analyst([other.address]))
    other_did = runtime.issuer_profile(other).did
    stacking.publish(runtime, acme, data_literacy([other_did]))
    w.anchor()
    yield w
    runtime.close()


@pytest.fixture
def acme_auth(world: World) -> dict[str, str]:
    return bearer(world.runtime, world.acme)
