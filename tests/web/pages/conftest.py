"""Fixtures for the page tests: one real runtime (embedded EVM and SQLite ledger in a temporary
directory) per module, with two anchored badges — one shared publicly by its issuer, one not.

Anchoring is the slow part (contract deployment, a batch transaction), so it happens once per
module; every test gets a fresh Flask app (kit.fixtures.app) on top of it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from credanchor.issuing.pipeline import issue
from credanchor.usecases.container import Runtime
from kit.pages import EXPLORER, PRIVATE_ITEM, SHARED_ITEM
from kit.settings import make_settings


@dataclass(frozen=True)
class Badges:
    shared_id: str
    shared: dict[str, Any]  # the holder file, proof included
    private_id: str
    private: dict[str, Any]
    issuer_name: str

    def tampered(self) -> dict[str, Any]:
        """The shared badge with its holder's name changed after issuing."""
        doc = copy.deepcopy(self.shared)
        doc["credentialSubject"]["name"] = "Mallory Impostor"
        return doc


@pytest.fixture(scope="module")
def web_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    settings = make_settings(
        tmp_path_factory.mktemp("web") / "data",
        explorer_url=EXPLORER,
        issuer_name="Acme Academy",
    )
    runtime = Runtime.open(settings)
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def badges(web_runtime: Runtime) -> Badges:
    store = web_runtime.store()
    issuer = store.list_issuers()[0]
    accepted = issue(store, issuer, web_runtime.issuance(issuer),
                     [SHARED_ITEM, PRIVATE_ITEM], max_items=10)
    web_runtime.anchorer().run_until_idle(timeout=120)
    shared_id, private_id = accepted[0].id, accepted[1].id
    store.set_shared(shared_id, True, issuer_id=issuer.id)
    shared = web_runtime.shared_credential(shared_id)
    assert shared is not None, "the shared badge should be anchored and public"
    private = web_runtime.proofs().credential_file(store.get_credential(private_id))
    return Badges(shared_id, shared, private_id, private, issuer.name)


@pytest.fixture
def runtime(web_runtime: Runtime) -> Runtime:
    """The page tests' app and client (kit.fixtures) run on the module's anchored runtime."""
    return web_runtime
