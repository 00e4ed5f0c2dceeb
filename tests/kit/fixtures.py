from __future__ import annotations

import pytest

from credanchor.usecases.issuers import add_issuer
from credanchor.web import create_app


@pytest.fixture
def app(runtime):
    app = create_app(runtime=runtime)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api_key(runtime, local_issuer):
    return runtime.store().create_api_key(local_issuer.id)


@pytest.fixture
def auth(api_key):
    return {"Authorization": f"Bearer {api_key}"}


@pytest.fixture
def other_auth(runtime):
    """A second accredited issuer with its own key."""
    result = add_issuer(runtime, name="Other Academy", url="https://other.example")
    return {"Authorization": f"Bearer {result.api_key}"}
