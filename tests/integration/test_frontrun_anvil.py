"""Front-running an anchor, for real: anvil with automine off, the service's own worker signing
and broadcasting the victim's ``anchor(root, count)``, and a second accredited issuer that
reads that pending transaction back from the node (``eth_getTransactionByHash``, ``txpool``),
sends the very same calldata with a ten times higher tip, and gets mined first.

With anchors keyed by root alone, the copier became the root's anchorer, the victim's
transaction reverted with ``CredentialAnchorRootAlreadyAnchored`` and its batch ended
``failed`` for good. Keyed by (issuer, root), both transactions succeed: the victim's batch is
confirmed, its credentials verify VALID, and a holder file edited to credit the copier is
INVALID (the credential's issuer, inside the hashed bytes, is not the copier)."""

from __future__ import annotations

import json

import pytest
from web3 import Web3

from credanchor.chain.keys import Signer
from credanchor.chain.tx import Fees, TxRequest, build_and_sign, receipt_or_none
from credanchor.core.credentials import issuer_did
from credanchor.issuing.pipeline import issue
from kit.anvil import fund_on_anvil, start_anvil
from kit.service import deploy_service
from kit.settings import sample_items

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


@pytest.fixture
def node():
    n = start_anvil()
    yield n
    n.stop()


def failing(report) -> list[str]:
    return [c.name for c in report.checks if c.outcome.value in ("fail", "error")]


def test_a_front_run_anchor_neither_fails_the_batch_nor_credits_the_copier(node, tmp_path):
    service = deploy_service(node, tmp_path / "data")
    rt = service.runtime()
    try:
        chain = rt.chain
        store = rt.store()
        victim = store.get_issuer(service.issuer_id)
        copier = Signer.generate()
        fund_on_anvil(node, copier)
        chain.admin_send(chain.contract.accredit_issuer(
            copier.address, "Copycat College", did=issuer_did(31337, copier.address)))
        accepted = issue(store, victim, rt.issuance(victim), sample_items(5), max_items=5)

        node.rpc("evm_setAutomine", [False])
        anchorer = rt.anchorer()
        report = anchorer.step(force_seal=True)
        [batch_id] = report.sealed
        assert report.submitted == [("batches", batch_id)]
        [attempt] = store.attempts("batches", batch_id)

        # What a front-runner sees: the victim's transaction, pending, in the node's mempool.
        pending = node.rpc("eth_getTransactionByHash", [attempt.tx_hash])
        assert isinstance(pending, dict) and pending["blockNumber"] is None
        pool = node.rpc("txpool_content")
        assert isinstance(pool, dict)
        pooled = [tx["hash"] for by_nonce in pool["pending"].values() for tx in by_nonce.values()]
        assert attempt.tx_hash in pooled
        tip = int(pending["maxPriorityFeePerGas"], 16)
        copy = build_and_sign(
            chain.w3, copier,
            TxRequest(Web3.to_checksum_address(pending["to"]), bytes.fromhex(pending["input"][2:])),
            nonce=0, fees=Fees(int(pending["maxFeePerGas"], 16) + tip * 10, tip * 10),
            gas=int(pending["gas"], 16), chain_id=31337)
        node.rpc("eth_sendRawTransaction", ["0x" + copy.raw.hex()])
        node.rpc("evm_mine")

        ours, theirs = (receipt_or_none(chain.w3, h) for h in (attempt.tx_hash, copy.hash))
        assert ours is not None and theirs is not None
        assert ours["blockNumber"] == theirs["blockNumber"]
        assert theirs["transactionIndex"] < ours["transactionIndex"]  # the copy went first
        assert (theirs["status"], ours["status"]) == (1, 1)

        node.rpc("evm_setAutomine", [True])
        anchorer.run_until_idle(timeout=60, force_seal=False)
        batch = store.get_batch(batch_id)
        assert (batch.status, batch.tx_hash) == ("confirmed", attempt.tx_hash), batch.last_error
        root = batch.root
        mine, copied = chain.anchor_of(victim.address, root), chain.anchor_of(copier.address, root)
        assert mine is not None and copied is not None and mine.count == copied.count == 5

        verifier = rt.verifier()
        files = [rt.proofs().credential_file(store.get_credential(a.id)) for a in accepted]
        for doc in files:
            anchor = doc["proof"][-1]["anchor"]  # after the issuer's signature
            assert (anchor["issuerAccount"], anchor["transactionHash"]) == (
                victim.address, attempt.tx_hash)
            assert verifier.verify(doc).status.value == "VALID"

        # A holder file edited to credit the copier — its account, its (real) transaction, the
        # same block and time — is not the copier's credential: the issuer DID is hashed.
        credited = json.loads(json.dumps(files[0]))
        credited["proof"][-1]["anchor"].update(issuerAccount=copier.address,
                                              transactionHash=copy.hash)
        report = verifier.verify(credited)
        assert report.status.value == "INVALID" and failing(report) == ["did-binding"]
        check = next(c for c in report.checks if c.name == "did-binding")
        assert victim.did and check.data == {"claimed": victim.did,
                                             "onChain": issuer_did(31337, copier.address),
                                             "issuerAccount": copier.address}
        # Nor does naming the copier's transaction under the victim's account pass.
        wrong_tx = json.loads(json.dumps(files[0]))
        wrong_tx["proof"][-1]["anchor"]["transactionHash"] = copy.hash
        report = verifier.verify(wrong_tx)
        assert report.status.value == "INVALID" and failing(report) == ["anchored"]
    finally:
        rt.close()
