"""The service's shared verifier caches per head block (issue 15), measured at a real anvil through
:class:`~kit.rpc_proxy.CountingProxy`: how many JSON-RPC requests a repeated verification costs,
how soon a revocation shows, that a cached anchor transaction does not outlive a
reorganisation above the final depth, and that every cache is bounded.

The bound (docs/reliability.md, "Verification caches"): an answer read under a head block is
reused only while the head — read again at most every ``SHARED_HEAD_TTL`` seconds, by number
and hash — is that block; an anchor transaction is kept for good once it is
``max(confirmations, recheck_depth)`` blocks deep."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from credanchor.chain.keys import Signer
from credanchor.chain.tx import Fees
from credanchor.issuing.pipeline import issue
from credanchor.usecases.config import Secret
from credanchor.usecases.container import SHARED_HEAD_TTL, Runtime
from credanchor.usecases.issuers import add_issuer, deploy_contract
from credanchor.verify.cache import TtlCache as _Cache
from credanchor.verify.verifier import Verifier
from credanchor.web import create_app
from kit.anvil import AnvilNode, fund_on_anvil, start_anvil
from kit.chain import key_hex
from kit.rpc_proxy import CountingProxy
from kit.settings import make_settings, sample_items

pytestmark = [pytest.mark.anvil]

RECHECK_DEPTH = 3  # final from 3 blocks deep (confirmations is 1)


class Setup:
    """anvil behind a counting proxy, the contract, one funded issuer, and a runtime in rpc
    mode whose node is the proxy."""

    def __init__(self, tmp: Path) -> None:
        self.node: AnvilNode = start_anvil()
        self.proxy = CountingProxy(self.node.url)
        admin = Signer.generate()
        fund_on_anvil(self.node, admin)
        base: dict[str, Any] = {"rpc_url": self.proxy.url, "chain": "rpc", "chain_id": 31337,
                                "admin_key": Secret(key_hex(admin))}
        contract = deploy_contract(make_settings(tmp / "d", **base)).address
        self.rt = Runtime.open(make_settings(
            tmp / "d", contract_address=contract, recheck_depth=RECHECK_DEPTH,
            verify_cache_ttl=600.0, **base))
        self.issuer = add_issuer(self.rt, name="Acme Academy").issuer
        fund_on_anvil(self.node, self.rt.signer_for(self.issuer))
        self.client = create_app(runtime=self.rt).test_client()

    def issue(self, n: int) -> list[str]:
        store = self.rt.store()
        return [a.id for a in issue(store, self.issuer, self.rt.issuance(self.issuer),
                                    sample_items(n), max_items=n)]

    def file(self, cid: str) -> dict[str, Any]:
        return self.rt.proofs().credential_file(self.rt.store().get_credential(cid))

    def verify(self, doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
        """The API's report, and the JSON-RPC calls it cost (method -> count)."""
        self.proxy.reset()
        r = self.client.post("/api/v1/verify", data=json.dumps(doc),
                             content_type="application/json")
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.get_json(), dict(self.proxy.methods)

    def close(self) -> None:
        self.rt.close()
        self.proxy.close()
        self.node.stop()


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    s = Setup(tmp_path)
    yield s
    s.close()


def next_head() -> None:
    """Past the shared verifier's head TTL: its next verification reads the head again."""
    time.sleep(SHARED_HEAD_TTL + 0.05)


def test_a_repeated_verification_costs_no_rpc_while_the_head_is_the_same_block(setup):
    [cid] = setup.issue(1)
    setup.rt.anchorer().run_until_idle(timeout=60)
    doc = setup.file(cid)
    report, first = setup.verify(doc)
    assert report["status"] == "VALID"
    # the head, the contract's verify, the anchoring receipt, the issuer's record
    assert first == {"eth_getBlockByNumber": 1, "eth_call": 2, "eth_getTransactionReceipt": 1}

    report, again = setup.verify(doc)
    assert report["status"] == "VALID" and again == {}  # before: 1 eth_call every time

    next_head()  # no new block: the head is read again, every answer under it still stands
    report, same_block = setup.verify(doc)
    assert report["status"] == "VALID" and same_block == {"eth_getBlockByNumber": 1}

    setup.node.rpc("anvil_mine", [hex(RECHECK_DEPTH)])  # the anchor is now final
    next_head()
    report, new_block = setup.verify(doc)
    assert report["status"] == "VALID"
    # verify asked again under the new head; the receipt read once more, now final
    assert new_block == {"eth_getBlockByNumber": 1, "eth_call": 1,
                         "eth_getTransactionReceipt": 1}

    setup.node.rpc("anvil_mine", [hex(1)])
    next_head()
    report, final = setup.verify(doc)
    assert report["status"] == "VALID"
    assert final == {"eth_getBlockByNumber": 1, "eth_call": 1}  # the final receipt is kept
    depth = next(c for c in report["checks"] if c["name"] == "confirmations")["data"]
    assert depth == {"confirmations": RECHECK_DEPTH + 2}


def test_each_badge_is_told_its_own_batchs_anchoring_time(setup):
    """The ``anchored`` message names the minute the chain recorded the badge's batch, in
    UTC: two batches set at different times (the text is remembered per timestamp)."""
    now = int(time.time())
    times = [now + 3 * 86_400 + 125, now + 40 * 86_400 + 3_600 * 5 + 59 * 60 + 59]
    docs = []
    for at in times:
        [cid] = setup.issue(1)
        setup.node.rpc("evm_setNextBlockTimestamp", [at])
        setup.rt.anchorer().run_until_idle(timeout=60)
        docs.append(setup.file(cid))
    for doc, at in zip(docs, times, strict=True):
        assert batch_time(doc) == at
        report, _ = setup.verify(doc)
        anchored = next(c for c in report["checks"] if c["name"] == "anchored")
        assert report["status"] == "VALID" and anchored["data"]["anchoredAt"] == at
        minute = datetime.fromtimestamp(at, UTC)
        assert anchored["message"] == (
            f"Recorded on the blockchain on {minute.day:02d} {minute:%B} {minute.year} "
            f"{minute.hour:02d}:{minute.minute:02d} UTC.")


def test_a_revocation_confirmed_after_a_verification_shows_on_the_next_head(setup):
    a, b = setup.issue(2)
    setup.rt.anchorer().run_until_idle(timeout=60)
    doc_a, doc_b = setup.file(a), setup.file(b)
    first = setup.verify(doc_a)[0]
    assert first["status"] == "VALID"
    listed = next(c for c in first["checks"] if c["name"] == "status-list")
    assert (listed["outcome"], listed["data"]["listed"]) == ("pass", False)
    assert setup.verify(doc_b)[0]["status"] == "VALID"

    store = setup.rt.store()
    cred = store.get_credential(a)
    store.add_revocation(setup.issuer.id, "credential", cred.credential_hash, 3, "misconduct")
    setup.rt.anchorer().run_until_idle(timeout=60, force_seal=False)
    assert setup.rt.chain.contract.credential_revocation(
        setup.issuer.address, cred.credential_hash) is not None  # confirmed on chain

    next_head()
    report, calls = setup.verify(doc_a)
    assert report["status"] == "REVOKED"
    revocation = next(c for c in report["checks"] if c["name"] == "revocation")
    assert revocation["outcome"] == "fail" and revocation["data"]["kind"] == "CredentialRevoked"
    assert revocation["data"]["reason"] == 3
    # the issuer's status list, read again after the same bound, agrees
    listed = next(c for c in report["checks"] if c["name"] == "status-list")
    assert (listed["outcome"], listed["data"]["listed"], listed["data"]["onChain"]) == (
        "pass", True, True)
    # the new head, verify under it, the revocation's detail (two reads), the receipt again
    # (1 block deep: not final yet)
    assert calls["eth_getBlockByNumber"] == 1 and calls["eth_getTransactionReceipt"] == 1
    assert calls["eth_call"] == 3
    assert setup.verify(doc_b)[0]["status"] == "VALID"  # the other badge of the batch


def test_a_cached_anchor_transaction_does_not_outlive_a_reorg_above_the_final_depth(setup):
    """The stale file names a transaction that the reorganisation took away, while the same
    root is anchored again in a block of the same number and time: only the transaction
    cross-check tells them apart. Before, the shared verifier kept the vanished receipt for
    CREDANCHOR_VERIFY_CACHE_TTL seconds (here 600) and said VALID."""
    [cid] = setup.issue(1)
    snapshot = setup.node.rpc("evm_snapshot")
    setup.rt.anchorer().run_until_idle(timeout=60)
    stale = setup.file(cid)
    anchor = stale["proof"][-1]["anchor"]
    assert setup.verify(stale)[0]["status"] == "VALID"  # the receipt is cached (1 deep)

    # The branch holding the anchor is abandoned; the issuer's same anchoring is mined again,
    # with another fee (so another transaction hash), in the same block number and second.
    assert setup.node.rpc("evm_revert", [snapshot]) is True
    block = setup.node.rpc("eth_getBlockByNumber", [hex(anchor["blockNumber"]), False])
    assert block is None  # gone
    [batch] = setup.rt.store().list_batches()
    at = int(setup.rt.chain.contract.w3.eth.get_block(anchor["blockNumber"] - 1)["timestamp"])
    assert at <= batch_time(stale)
    setup.node.rpc("evm_setNextBlockTimestamp", [batch_time(stale)])
    chain = setup.rt.chain
    signer = setup.rt.signer_for(setup.issuer)
    fees = chain.fees()
    signed = chain.sign(signer, chain.build_anchor(batch.root, batch.count),
                        nonce=chain.nonce(signer.address, pending=True),
                        fees=Fees(fees.max_fee_per_gas + 7, fees.max_priority_fee_per_gas + 7))
    chain.broadcast(signed.raw)
    receipt = chain.receipt(signed.hash)
    assert receipt is not None and receipt.success
    assert receipt.block_number == anchor["blockNumber"] and signed.hash != anchor[
        "transactionHash"]

    next_head()
    report, calls = setup.verify(stale)
    assert report["status"] == "INVALID", report
    failed = [c["name"] for c in report["checks"] if c["outcome"] == "fail"]
    assert failed == ["anchored"]
    assert "did not record this batch" in next(
        c for c in report["checks"] if c["name"] == "anchored")["message"]
    assert calls["eth_getTransactionReceipt"] == 1  # read again: the head's hash changed


def batch_time(doc: dict[str, Any]) -> int:
    at = doc["proof"][-1]["anchor"]["anchoredAt"]
    return int(datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp())


def test_every_cache_is_bounded(setup):
    ids = setup.issue(5)
    setup.rt.anchorer().run_until_idle(timeout=60)
    setup.node.rpc("anvil_mine", [hex(RECHECK_DEPTH)])
    docs = [setup.file(c) for c in ids]
    chain = setup.rt.chain

    verifier = Verifier(setup.rt.trust, lambda trusted: chain.reader, final_depth=RECHECK_DEPTH,
                        head_ttl=60.0, cache_ttl=60.0, max_cached=2)
    assert [verifier.verify(d).status.value for d in docs] == ["VALID"] * 5
    assert len(verifier._verdict_cache) == 2  # one entry per badge: the last two
    assert len(verifier._final_tx_cache) == 1  # one batch, one transaction, final
    assert len(verifier._issuer_cache) == 1 and len(verifier._head_cache) == 1
    setup.proxy.reset()
    assert verifier.verify(docs[-1]).status.value == "VALID"
    assert setup.proxy.requests == 0  # still cached
    assert verifier.verify(docs[0]).status.value == "VALID"
    assert dict(setup.proxy.methods) == {"eth_call": 1}  # evicted, asked again


def test_the_cache_drops_the_least_recently_used_entry():
    cache = _Cache(None, maxsize=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == (True, 1)  # "a" is now the more recent
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ((True, 1), (False, None),
                                                                (True, 3))
    assert len(cache) == 2
