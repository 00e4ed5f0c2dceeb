"""A stuck anchoring transaction, against a real anvil with automine off and a real worker
process (``CREDANCHOR_TX_TIMEOUT=1``):

* nothing is mined: the worker replaces the transaction (same nonce, fees +15 %), every
  replacement persisted in ``tx_attempts`` before it is sent;
* the market moves above the pending fee (a base fee higher than its max fee): the next
  replacement follows the market, and is mined;
* with a fee cap below what a replacement needs, nothing is sent above the cap: the batch stays
  ``submitted`` with ``lastError`` saying why (``GET /batches/{id}``), the worker says it on
  stderr, and the transaction already in flight is mined once blocks come: nothing is lost."""

from __future__ import annotations

import subprocess

import pytest

from credanchor.issuing.pipeline import issue
from credanchor.web import create_app
from kit.service import assert_exactly_once, deploy_service, spawn_worker, stop, wait_for
from kit.settings import sample_items

pytestmark = [pytest.mark.anvil, pytest.mark.slow]
GWEI = 10**9


def test_stuck_transaction_is_replaced_within_the_cap_and_nothing_is_lost(node, tmp_path):
    service = deploy_service(node, tmp_path / "data", CREDANCHOR_TX_TIMEOUT="1",
                             CREDANCHOR_PRIORITY_FEE_GWEI="1", CREDANCHOR_BATCH_MAX_AGE="0.2")
    node.rpc("evm_setAutomine", [False])
    rt = service.runtime()
    store = rt.store()
    issuer = store.get_issuer(service.issuer_id)
    client = create_app(runtime=rt).test_client()
    auth = {"Authorization": f"Bearer {service.api_key}"}
    ids: list[str] = []

    def issue_some(n: int, start: int) -> None:
        got = issue(store, issuer, rt.issuance(issuer), sample_items(n, start=start),
                    max_items=n)
        ids.extend(a.id for a in got)

    def attempts(batch_id: int):
        return store.attempts("batches", batch_id)

    try:
        # -- 1. no blocks: replaced with bumped fees, same nonce --------------------------------
        issue_some(3, 0)
        worker = spawn_worker(service)
        try:
            wait_for(lambda: len(attempts(1)) >= 3, 30, "two replacements of the stuck tx")
            first, second, third = attempts(1)[:3]
            assert first.nonce == second.nonce == third.nonce
            assert second.max_fee_per_gas >= first.max_fee_per_gas * 115 // 100
            assert second.max_priority_fee_per_gas >= first.max_priority_fee_per_gas * 110 // 100
            assert third.max_fee_per_gas > second.max_fee_per_gas
            assert store.get_batch(1).status == "submitted"

            # -- 2. the market moves above the pending fee: a block comes, without it -------
            newest = attempts(1)[-1]
            market = newest.max_fee_per_gas * 3
            node.rpc("anvil_setNextBlockBaseFeePerGas", [hex(market)])
            node.rpc("evm_mine")
            assert rt.chain.receipt(newest.tx_hash) is None  # below the base fee: left out
            wait_for(lambda: attempts(1)[-1].max_fee_per_gas >= market, 30,
                     "a replacement at the new market fee")
            node.rpc("evm_mine")
            wait_for(lambda: store.get_batch(1).status == "confirmed", 30, "confirmation")
        finally:
            stop(worker)
        batch = store.get_batch(1)
        hashes = {a.tx_hash for a in attempts(1)}
        assert batch.tx_hash in hashes
        mined = [a for a in attempts(1) if a.tx_hash == batch.tx_hash]
        assert mined[0].max_fee_per_gas >= market

        # -- 3. a cap below the replacement fee: told, not sent, nothing lost ----------------
        block = node.rpc("eth_getBlockByNumber", ["latest", False])
        base = int(block["baseFeePerGas"], 16)
        first_fee = 2 * base + GWEI  # what the worker offers first (2 x base + tip)
        cap_gwei = first_fee * 105 // 100 / GWEI  # room for it, not for +10 %
        issue_some(2, 100)
        worker = spawn_worker(service, stderr=subprocess.PIPE,
                              CREDANCHOR_MAX_FEE_GWEI=f"{cap_gwei:.9f}")
        try:
            def refused():
                b = store.get_batch(2) if len(store.list_batches()) >= 2 else None
                return b if b is not None and b.last_error else None

            stuck = wait_for(refused, 30, "the cap to refuse a replacement")
            view = client.get("/api/v1/batches/2", headers=auth).get_json()
            assert view["status"] == "submitted"
            assert view["lastError"].startswith("FeeTooHigh: a replacement needs max fee")
            assert "but the cap is" in view["lastError"] and "nothing was sent" in view["lastError"]
            assert stuck.status == "submitted"
            [only] = attempts(2)  # no replacement was signed above the cap
            assert only.max_fee_per_gas == first_fee <= cap_gwei * GWEI
            # Blocks come again: the transaction in flight is mined, the batch confirmed.
            node.rpc("evm_mine")
            wait_for(lambda: store.get_batch(2).status == "confirmed", 30, "confirmation")
            assert store.get_batch(2).tx_hash == only.tx_hash
            assert store.get_batch(2).last_error is None
        finally:
            stop(worker)
            stderr = worker.stderr.read().decode() if worker.stderr else ""
        assert "batches 2: a replacement needs max fee" in stderr, stderr
        assert "nothing was sent" in stderr
        assert_exactly_once(rt, ids)
    finally:
        rt.close()
