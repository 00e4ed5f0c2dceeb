"""Fixtures for the chain tests: a real embedded chain in tmp_path and a deployment on it or on
anvil (kit.fixtures gives ``anvil`` and ``anvil_factory``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from credanchor.chain.embedded import EmbeddedChain, open_embedded
from credanchor.chain.keys import Signer
from credanchor.chain.rpc import connect_rpc
from kit.anvil import ANVIL_CHAIN_ID, AnvilNode, fund_on_anvil
from kit.chain import Deployed, deploy_and_accredit


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
