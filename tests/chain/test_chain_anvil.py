"""Against a real node over JSON-RPC: anvil started on a free port by the fixture."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hexbytes import HexBytes
from web3 import Web3
from web3.datastructures import AttributeDict

from credanchor.chain.contract import CredentialAnchor, deploy
from credanchor.chain.keys import Signer
from credanchor.chain.rpc import BatchHTTPProvider, connect_rpc, redact_url, rpc_session
from credanchor.chain.tx import (
    BroadcastStatus,
    FeePolicy,
    SignedTx,
    broadcast,
    build_and_sign,
    bump,
    confirmations,
    next_nonce,
    receipt_or_none,
    resign,
    send_and_wait,
    suggest_fees,
    wait_for_receipt,
)
from credanchor.core.merkle import MerkleTree
from credanchor.errors import (
    ChainIdMismatch,
    ChainUnavailable,
    ContractReverted,
    FeeTooHigh,
    NonceAlreadyUsed,
)
from kit.anvil import ANVIL_CHAIN_ID, AnvilNode, free_port, fund_on_anvil
from kit.chain import POLICY, Deployed, random_hash

pytestmark = pytest.mark.anvil


def test_deploy_accredit_anchor_verify(anvil_deployed: Deployed) -> None:
    d = anvil_deployed
    assert d.w3.eth.chain_id == ANVIL_CHAIN_ID
    assert d.contract.issuer_info(d.issuer.address).active
    hashes = [random_hash() for _ in range(7)]
    tree = MerkleTree.from_credential_hashes(hashes)
    receipt = send_and_wait(d.w3, d.issuer, d.contract.anchor(tree.root, 7), policy=POLICY)
    assert receipt["status"] == 1 and confirmations(d.w3, receipt) == 1

    me = d.issuer.address
    anchor = d.contract.anchor_of(me, tree.root)
    assert anchor is not None and (anchor.issuer, anchor.count) == (me, 7)
    result = d.contract.verify(me, hashes[4], tree.proof(hashes[4]), tree.root)
    assert (result.status_name, result.issuer, result.issuer_active) == (
        "Valid",
        d.issuer.address,
        True,
    )
    # Bulk verification goes out as JSON-RPC batches (one POST per 200).
    items = [(me, h, tree.proof(h), tree.root) for h in hashes]
    items.append((me, hashes[0], tree.proof(hashes[1]), tree.root))
    items.append((d.admin.address, hashes[0], tree.proof(hashes[0]), tree.root))
    results = d.contract.verify_many(items)
    assert [r.status_name for r in results] == ["Valid"] * 7 + ["InvalidProof", "NotAnchored"]
    assert [r.issuer for r in results] == [me] * 8 + [d.admin.address]
    assert {r.anchored_at for r in results[:8]} == {anchor.anchored_at}

    send_and_wait(d.w3, d.admin, d.contract.suspend_issuer(d.issuer.address), policy=POLICY)
    assert d.contract.verify(me, hashes[4], tree.proof(hashes[4]), tree.root).issuer_active is False
    # Events in small block ranges, as against a public node's getLogs limits.
    names = [e.name for e in d.contract.events(chunk_size=2)]
    assert names == ["RoleGranted", "IssuerAccredited", "Anchored", "IssuerSuspended"]


def test_revert_names_the_custom_error(anvil_deployed: Deployed) -> None:
    d = anvil_deployed
    outsider = Signer.generate()
    with pytest.raises(ContractReverted) as raised:
        build_and_sign(
            d.w3,
            outsider,
            d.contract.anchor(random_hash(), 1),
            nonce=0,
            fees=suggest_fees(d.w3, POLICY),
        )
    assert raised.value.error == "CredentialAnchorIssuerNotAccredited"
    assert raised.value.error_args == (outsider.address,)
    assert raised.value.to_problem()["error"] == "CredentialAnchorIssuerNotAccredited"

    with pytest.raises(ContractReverted) as raised:
        send_and_wait(d.w3, d.issuer, d.contract.anchor(b"\x00" * 32, 1), policy=POLICY)
    assert (raised.value.error, raised.value.error_args) == ("CredentialAnchorZeroRoot", ())

    data = (
        "0x"
        + (
            bytes.fromhex("e2517d3f")  # selector of AccessControlUnauthorizedAccount
            + bytes(12)
            + bytes.fromhex(outsider.address[2:])
            + bytes(32)
        ).hex()
    )
    assert d.contract.decode_error(data) == (
        "AccessControlUnauthorizedAccount",
        (outsider.address, b"\x00" * 32),
    )


def test_wrong_chain_id_is_refused(anvil: AnvilNode) -> None:
    with pytest.raises(ChainIdMismatch) as raised:
        connect_rpc(anvil.url, expected_chain_id=1)
    assert "serves chain id 31337" in raised.value.detail
    assert "chain id 1 is configured" in raised.value.detail


def test_stopped_node_is_unavailable(anvil: AnvilNode, anvil_w3: Web3) -> None:
    address = Signer.generate().address
    assert next_nonce(anvil_w3, address) == 0
    anvil.stop()
    started = time.monotonic()
    with pytest.raises(ChainUnavailable, match="node unreachable"):
        next_nonce(anvil_w3, address)
    with pytest.raises(ChainUnavailable, match=r"connecting to http://127\.0\.0\.1:\d+"):
        connect_rpc(anvil.url, expected_chain_id=ANVIL_CHAIN_ID, timeout=2)
    assert time.monotonic() - started < 10


def test_the_proxy_environment_is_read_once_and_still_obeyed(
    anvil: AnvilNode, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The RPC session reads proxies, CA bundle and ~/.netrc once instead of on every call:
    what it keeps is what requests itself would have used for the node's URL."""
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", dead)
    # a proxy that does not answer: the node is unreachable through it
    with pytest.raises(ChainUnavailable):
        connect_rpc(anvil.url, expected_chain_id=ANVIL_CHAIN_ID, timeout=2, retries=0)
    # bypassed for the node's host: reached directly
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    w3 = connect_rpc(anvil.url, expected_chain_id=ANVIL_CHAIN_ID, timeout=2)
    # read once: a proxy set afterwards does not reach the running process
    monkeypatch.delenv("NO_PROXY")
    assert w3.eth.block_number >= 0

    netrc = tmp_path / "netrc"
    netrc.write_text("machine rpc.example login alice password s3cret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "corporate-ca.pem"))
    session = rpc_session("https://rpc.example/v3/")
    assert session.trust_env is False
    assert session.proxies["https"] == "http://proxy.example:3128"
    assert session.verify == str(tmp_path / "corporate-ca.pem")
    assert session.auth == ("alice", "s3cret")
    assert rpc_session("https://other.example/").auth is None


def test_url_secrets_are_not_repeated() -> None:
    assert redact_url("https://user:pw@rpc.example:8545/v3/SECRETKEY?x=1") == (
        "https://rpc.example:8545"
    )


def _batch_bodies(calls: list[tuple[Any, Any]]) -> tuple[Any, Any]:
    """The same batch as connect_rpc's provider writes it and as web3 does, parsed, each
    call's id apart (ours must be distinct; their values are the counter's business)."""
    ours = json.loads(BatchHTTPProvider("http://127.0.0.1:1").encode_batch_rpc_request(calls))
    theirs = json.loads(Web3.HTTPProvider("http://127.0.0.1:1").encode_batch_rpc_request(calls))
    ids = [call.pop("id") for call in ours]
    assert all(type(i) is int for i in ids) and len(set(ids)) == len(calls)
    for call in theirs:
        del call["id"]
    return ours, theirs


def test_a_batch_body_says_what_web3_would() -> None:
    """The batch body is orjson's; it parses to what web3's own encoder writes, for the
    values web3 passes (bytes and HexBytes as 0x hex, an AttributeDict as its mapping)."""
    calls = [
        ("eth_call", [{"to": "0xfC2d7582Fa77635Bf895326664F9da829837bB71",
                       "data": HexBytes("0x" + "ab" * 68)}, "latest"]),
        ("eth_getLogs", [AttributeDict({"fromBlock": 1, "topics": [b"\x01" * 32, None]})]),
        ("eth_getBlockByNumber", ["0x10", False]),
        ("web3_clientVersion", None),
        ("credanchor_note", ["café ✓", 2**63 - 1, -(2**63)]),
    ]
    ours, theirs = _batch_bodies(calls)
    assert ours == theirs
    assert ours[0]["params"][0]["data"] == "0x" + "ab" * 68
    assert ours[1]["params"][0]["topics"][0] == "0x" + "01" * 32
    assert ours[3]["params"] == []


def test_a_batch_orjson_cannot_write_goes_web3s_way() -> None:
    """An integer beyond 64 bits: orjson refuses it, so the whole batch is web3's."""
    ours, theirs = _batch_bodies([("eth_call", [{"value": 2**70}, "latest"]),
                                  ("eth_chainId", [])])
    assert ours == theirs
    assert ours[0]["params"][0]["value"] == 2**70


def test_a_batch_is_answered_in_order_by_a_real_node(anvil: AnvilNode,
                                                     anvil_w3: Web3) -> None:
    provider = anvil_w3.provider
    assert isinstance(provider, BatchHTTPProvider)
    answers = provider.make_batch_request(
        [("eth_chainId", []), *(("eth_getBlockByNumber", ["0x0", False]),) * 3,
         ("eth_getBalance", [Signer.generate().address, "latest"])])
    assert isinstance(answers, list)
    assert [a["id"] for a in answers] == sorted(a["id"] for a in answers)
    assert int(answers[0]["result"], 16) == ANVIL_CHAIN_ID
    assert {a["result"]["number"] for a in answers[1:4]} == {"0x0"}
    assert answers[4]["result"] == "0x0"


def test_fee_cap_refuses_and_sends_nothing(anvil: AnvilNode, anvil_w3: Web3) -> None:
    signer = Signer.generate()
    fund_on_anvil(anvil, signer)
    base_fee = anvil_w3.eth.get_block("latest")["baseFeePerGas"]
    tight = FeePolicy(max_fee_per_gas_cap=base_fee, priority_fee=10**9)
    with pytest.raises(FeeTooHigh) as raised:
        send_and_wait(anvil_w3, signer, {"to": signer.address, "value": 1}, policy=tight)
    message = raised.value.detail
    assert "nothing was sent" in message and "above the cap" in message
    assert raised.value.extra == {"network_fee_wei": base_fee + 10**9, "cap_wei": base_fee}
    assert next_nonce(anvil_w3, signer.address) == 0
    assert anvil.rpc("txpool_status") == {"pending": "0x0", "queued": "0x0"}


def test_stuck_transaction_is_replaced_with_higher_fees(
    anvil_factory: Callable[..., AnvilNode],
) -> None:
    node = anvil_factory("--no-mining")
    w3 = connect_rpc(node.url, expected_chain_id=ANVIL_CHAIN_ID)
    signer = Signer.generate()
    fund_on_anvil(node, signer)
    fees = suggest_fees(w3, POLICY)
    first = build_and_sign(w3, signer, {"to": signer.address, "value": 1}, nonce=0, fees=fees)
    assert broadcast(w3, first) is BroadcastStatus.SENT
    assert broadcast(w3, first) is BroadcastStatus.ALREADY_KNOWN  # repeat: harmless
    assert wait_for_receipt(w3, first.hash, timeout=0.3, poll=0.05) is None  # stuck

    bumped = bump(first.fees, POLICY)
    assert bumped.max_fee_per_gas >= first.max_fee_per_gas * 115 // 100
    assert bumped.max_priority_fee_per_gas >= first.max_priority_fee_per_gas * 115 // 100
    second = resign(signer, first, bumped)
    assert (second.nonce, second.gas) == (first.nonce, first.gas) and second.hash != first.hash
    assert broadcast(w3, second) is BroadcastStatus.SENT

    node.rpc("evm_mine")
    receipt = wait_for_receipt(w3, second.hash, timeout=5, poll=0.05)
    assert receipt is not None and receipt["status"] == 1
    assert receipt_or_none(w3, first.hash) is None
    assert broadcast(w3, second) is BroadcastStatus.ALREADY_MINED
    with pytest.raises(NonceAlreadyUsed, match=f"{first.hash} will never be mined"):
        broadcast(w3, first)


def test_send_and_wait_replaces_until_mined(anvil_factory: Callable[..., AnvilNode]) -> None:
    node = anvil_factory("--no-mining")
    w3 = connect_rpc(node.url, expected_chain_id=ANVIL_CHAIN_ID)
    signer = Signer.generate()
    fund_on_anvil(node, signer)
    versions: list[SignedTx] = []
    miner = threading.Timer(1.0, lambda: node.rpc("evm_mine"))
    miner.start()
    try:
        receipt = send_and_wait(
            w3,
            signer,
            {"to": signer.address, "value": 1},
            policy=POLICY,
            replace_after=0.3,
            poll=0.05,
            timeout=20,
            on_signed=versions.append,
        )
    finally:
        miner.cancel()
    assert len(versions) >= 2
    assert {v.nonce for v in versions} == {0}
    fees = [v.max_fee_per_gas for v in versions]
    assert fees == sorted(fees) and len(set(fees)) == len(fees)
    # The miner may strike between two replacements, so the last version signed is not
    # necessarily the one mined; exactly one is, and it is a replacement.
    mined = receipt["transactionHash"].to_0x_hex()
    assert mined in {v.hash for v in versions[1:]}
    assert [v.hash for v in versions if receipt_or_none(w3, v.hash)] == [mined]
    assert next_nonce(w3, signer.address) == 1


def test_deploy_checks_the_code(anvil: AnvilNode, anvil_w3: Web3) -> None:
    admin = Signer.generate()
    fund_on_anvil(anvil, admin)
    deployment = deploy(anvil_w3, admin, policy=POLICY)
    receipt = anvil_w3.eth.get_transaction_receipt(HexBytes(deployment.tx_hash))
    assert deployment.deploy_block == receipt["blockNumber"]
    assert deployment.chain_id == ANVIL_CHAIN_ID
    contract = CredentialAnchor(anvil_w3, deployment.address, deploy_block=deployment.deploy_block)
    assert contract.has_code() and contract.is_admin(admin.address)
    assert not contract.is_admin(Signer.generate().address)
