"""One world for the stacking tests: a real runtime (embedded EVM, SQLite ledger) with three
accredited issuers, Ada's and Grace's anchored badges, and two anchored stack definitions by Acme.

Anchoring is the slow part, so the world is built once per package; tests that revoke or
publish make their own badges or stacks and never change the shared ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from credanchor.usecases import stacks as stacking
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuers import add_issuer
from credanchor.web import create_app
from support import make_settings

from .stackkit import ADA, GRACE, World, badge, data_analyst, data_literacy


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
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
def app(world: World) -> Flask:
    app = create_app(runtime=world.runtime)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def acme_auth(world: World) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.runtime.store().create_api_key(world.acme.id)}"}


@pytest.fixture
def other_auth(world: World) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.runtime.store().create_api_key(world.other.id)}"}
