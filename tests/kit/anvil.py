"""Helpers shared by the chain tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from web3 import Web3

from credanchor.chain.contract import CredentialAnchor, deploy
from credanchor.chain.keys import Signer
from credanchor.chain.tx import FeePolicy, send_and_wait

ROOT = Path(__file__).resolve().parents[2]
ANVIL_CHAIN_ID = 31337
# Local chains: a generous cap, fixed tip, so fees never decide a test unless it says so.
POLICY = FeePolicy(max_fee_per_gas_cap=500 * 10**9, priority_fee=10**9)
KDF_WORK_FACTOR = 2**10  # scrypt N; eth-keyfile's default (2**18) costs ~1 s per keystore


def anvil_binary() -> str:
    candidates = [
        ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil",
        ROOT / "node_modules" / ".bin" / "anvil",
    ]
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    found = shutil.which("anvil")
    if found:
        return found
    raise RuntimeError("anvil not found: run `npm ci` (package @foundry-rs/anvil)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class AnvilNode:
    url: str
    port: int
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def rpc(self, method: str, params: list[object] | None = None) -> object:
        reply = requests.post(
            self.url,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []},
            timeout=5,
        ).json()
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]


def start_anvil(*extra: str) -> AnvilNode:
    port = free_port()
    process = subprocess.Popen(
        [
            anvil_binary(),
            "--port",
            str(port),
            "--chain-id",
            str(ANVIL_CHAIN_ID),
            "--silent",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    node = AnvilNode(f"http://127.0.0.1:{port}", port, process)
    deadline = time.monotonic() + 15
    while True:
        try:
            node.rpc("eth_chainId")
            return node
        except (requests.ConnectionError, RuntimeError):
            if process.poll() is not None or time.monotonic() > deadline:
                node.stop()
                raise RuntimeError(f"anvil did not start on port {port}") from None
            time.sleep(0.02)


def fund_on_anvil(node: AnvilNode, signer: Signer, wei: int = 10**20) -> None:
    node.rpc("anvil_setBalance", [signer.address, hex(wei)])


@dataclass
class Deployed:
    w3: Web3
    contract: CredentialAnchor
    admin: Signer
    issuer: Signer


def deploy_and_accredit(w3: Web3, admin: Signer, issuer: Signer) -> Deployed:
    deployment = deploy(w3, admin, policy=POLICY)
    contract = CredentialAnchor(w3, deployment.address, deploy_block=deployment.block_number)
    did = f"did:pkh:eip155:{w3.eth.chain_id}:{issuer.address}"
    send_and_wait(
        w3, admin, contract.accredit_issuer(issuer.address, "Test U", "https://t", did=did),
        policy=POLICY,
    )
    return Deployed(w3, contract, admin, issuer)


def random_hash() -> bytes:
    return os.urandom(32)
