"""A service (re)started while its node is down comes up degraded instead of dying: issuing is
accepted, /verify says ERROR, and the chain-id check runs on first contact with the node.
anvil keeps its state across the restart through --state (written on SIGTERM)."""

from __future__ import annotations

import pytest
import requests

from credanchor.chain.keys import Signer
from credanchor.core.report import Status
from credanchor.errors import ChainIdMismatch, ConfigError
from credanchor.issuing.pipeline import issue
from credanchor.usecases.config import Secret
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuers import add_issuer, deploy_contract
from credanchor.web import create_app
from kit.anvil import AnvilNode, free_port, fund_on_anvil, start_anvil
from kit.chain import key_hex
from kit.settings import make_settings, sample_items

pytestmark = [pytest.mark.anvil]


class Node:
    """anvil on a fixed port with a state file, so it can be stopped and started again."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state = tmp_path / "anvil-state.json"
        self.node: AnvilNode | None = None

    def start(self):
        self.node = start_anvil(port=self.port, state=self.state)

    def stop(self):
        if self.node is not None:
            self.node.stop()  # SIGTERM: anvil writes --state

    def rpc(self, method, params):
        return requests.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                             "params": params}, timeout=5).json()["result"]


@pytest.fixture
def node(tmp_path):
    n = Node(tmp_path)
    n.start()
    yield n
    n.stop()


def test_restart_during_an_outage_comes_up_degraded_and_recovers(node, tmp_path):
    admin = Signer.generate()
    fund_on_anvil(node, admin)
    key = Secret(key_hex(admin))
    base = {"rpc_url": node.url, "chain": "rpc", "chain_id": 31337, "admin_key": key}
    deployed = deploy_contract(make_settings(tmp_path / "data", **base))
    settings = make_settings(tmp_path / "data", contract_address=deployed.address, **base)
    rt = Runtime.open(settings)
    result = add_issuer(rt, name="Acme")
    fund_on_anvil(node, rt.signer_for(result.issuer))
    [a] = issue(rt.store(), result.issuer, rt.issuance(result.issuer), sample_items(1),
                max_items=1)
    rt.anchorer().run_until_idle(timeout=60)
    doc = rt.proofs().credential_file(rt.store().get_credential(a.id))
    rt.close()

    node.stop()
    with pytest.raises(ConfigError, match="CREDANCHOR_CHAIN_ID is not set"):
        Runtime.open(make_settings(tmp_path / "data", contract_address=deployed.address,
                                   **{**base, "chain_id": None}))
    rt = Runtime.open(settings)  # the node is down: this used to raise
    try:
        client = create_app(runtime=rt).test_client()
        assert client.get("/healthz").status_code == 503
        assert client.post("/api/v1/verify", json=doc).get_json()["status"] == "ERROR"
        key_ = rt.store().create_api_key(result.issuer.id)
        resp = client.post("/api/v1/credentials", json=sample_items(2, start=5),
                           headers={"Authorization": f"Bearer {key_}"})
        assert resp.status_code == 202

        node.start()
        assert rt.verify(doc).status == Status.VALID
        rt.anchorer().run_until_idle(timeout=60)
        assert rt.store().pending_summary()[0] == 0
        assert client.get("/healthz").status_code == 200
    finally:
        rt.close()


def test_the_chain_id_is_still_checked_on_first_contact(node, tmp_path):
    admin = Signer.generate()
    fund_on_anvil(node, admin)
    base = {"rpc_url": node.url, "chain": "rpc", "admin_key": Secret(key_hex(admin))}
    deployed = deploy_contract(make_settings(tmp_path / "d", chain_id=31337, **base))
    node.stop()
    rt = Runtime.open(make_settings(tmp_path / "d", contract_address=deployed.address,
                                    chain_id=5, **base))
    try:
        node.start()
        with pytest.raises(ChainIdMismatch, match="serves chain id 31337"):
            rt.chain.head()
    finally:
        rt.close()
