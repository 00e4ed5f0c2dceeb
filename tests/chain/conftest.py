"""Fixtures for the chain tests: a real embedded chain in tmp_path and real anvil processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from chainkit import (
    ANVIL_CHAIN_ID,
    AnvilNode,
    Deployed,
    deploy_and_accredit,
    fund_on_anvil,
    start_anvil,
)
from web3 import Web3

from credanchor.chain.embedded import EmbeddedChain, open_embedded
from credanchor.chain.keys import Signer
from credanchor.chain.rpc import connect_rpc


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
def anvil_w3(anvil: AnvilNode) -> Web3:
    return connect_rpc(anvil.url, expected_chain_id=ANVIL_CHAIN_ID, timeout=5)


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[EmbeddedChain]:
    """A fresh embedded chain persisted in tmp_path/chain.sqlite."""
    opened = open_embedded(tmp_path / "chain.sqlite")
    yield opened
    opened.close()


@pytest.fixture
def embedded_deployed(chain: EmbeddedChain) -> Deployed:
    """CredentialAnchor on the embedded chain with one funded, accredited issuer."""
    issuer = Signer.generate()
    chain.fund(issuer.address, 10**20)
    return deploy_and_accredit(chain.w3, chain.funded_account(0), issuer)


@pytest.fixture
def anvil_deployed(anvil: AnvilNode, anvil_w3: Web3) -> Deployed:
    admin, issuer = Signer.generate(), Signer.generate()
    fund_on_anvil(anvil, admin)
    fund_on_anvil(anvil, issuer)
    return deploy_and_accredit(anvil_w3, admin, issuer)
