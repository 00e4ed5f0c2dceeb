"""Fixtures of the reliability suite: real anvil nodes, stopped at teardown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chain.chainkit import AnvilNode, start_anvil


@pytest.fixture
def node() -> Iterator[AnvilNode]:
    n = start_anvil()
    yield n
    n.stop()


# -- the HTTP API in-process, on the embedded chain (tests/conftest.py gives `runtime`) --------


@pytest.fixture
def app(runtime):
    from credanchor.web import create_app

    app = create_app(runtime=runtime)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def local_issuer(runtime):
    return runtime.store().list_issuers()[0]


@pytest.fixture
def auth(runtime, local_issuer):
    return {"Authorization": f"Bearer {runtime.store().create_api_key(local_issuer.id)}"}
