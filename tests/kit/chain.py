"""Chain-side builders: a fee policy that never decides a test, a deployed and accredited
CredentialAnchor, random roots, and the one way tests spell a signer's private key."""

from __future__ import annotations

import os
from dataclasses import dataclass

from web3 import Web3

from credanchor.chain.contract import CredentialAnchor, deploy
from credanchor.chain.keys import Signer
from credanchor.chain.tx import FeePolicy, send_and_wait

# Local chains: a generous cap, fixed tip, so fees never decide a test unless it says so.
POLICY = FeePolicy(max_fee_per_gas_cap=500 * 10**9, priority_fee=10**9)
KDF_WORK_FACTOR = 2**10  # scrypt N; eth-keyfile's default (2**18) costs ~1 s per keystore


def key_hex(signer: Signer) -> str:
    """The signer's private key as ``0x…`` hex, as CREDANCHOR_ADMIN_KEY takes it. Tests and
    benchmarks need the clear key to configure a service; the service itself never prints it."""
    return "0x" + signer._account.key.hex()


@dataclass
class Deployed:
    w3: Web3
    contract: CredentialAnchor
    admin: Signer
    issuer: Signer


def deploy_and_accredit(w3: Web3, admin: Signer, issuer: Signer) -> Deployed:
    deployment = deploy(w3, admin, policy=POLICY)
    contract = CredentialAnchor(w3, deployment.address, deploy_block=deployment.deploy_block)
    did = f"did:pkh:eip155:{w3.eth.chain_id}:{issuer.address}"
    send_and_wait(
        w3, admin, contract.accredit_issuer(issuer.address, "Test U", "https://t", did=did),
        policy=POLICY,
    )
    return Deployed(w3, contract, admin, issuer)


def random_hash() -> bytes:
    return os.urandom(32)
