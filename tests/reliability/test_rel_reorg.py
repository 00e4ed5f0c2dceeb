"""A confirmed anchor vanishes in a reorganisation (anvil ``evm_snapshot`` / ``evm_revert``,
then new blocks on the other branch): a real ``credanchor worker`` process notices within its
re-check depth, anchors the batch again, and the holder files the service hands out from then
on verify VALID. The file handed out before names a transaction the chain no longer has: it is
not VALID, and the API serves the new one (docs/reliability.md)."""

from __future__ import annotations

import time

import pytest

from credanchor.issuing.pipeline import issue
from credanchor.usecases.container import SHARED_HEAD_TTL
from credanchor.web import create_app
from kit.service import assert_exactly_once, deploy_service, spawn_worker, stop, wait_for
from kit.settings import sample_items

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def failing(report) -> list[str]:
    return [c.name for c in report.checks if c.outcome.value in ("fail", "error")]


def test_reorged_anchor_is_detected_reanchored_and_verifies_again(node, tmp_path):
    service = deploy_service(node, tmp_path / "data", CREDANCHOR_RECHECK_DEPTH="12")
    rt = service.runtime()
    try:
        store = rt.store()
        issuer = store.get_issuer(service.issuer_id)
        accepted = issue(store, issuer, rt.issuance(issuer), sample_items(5), max_items=5)
        ids = [a.id for a in accepted]
        snapshot = node.rpc("evm_snapshot")
        rt.anchorer().run_until_idle(timeout=60)
        [batch] = store.list_batches()
        assert batch.status == "confirmed"
        old_files = {cid: rt.proofs().credential_file(store.get_credential(cid)) for cid in ids}
        assert all(rt.verify(f).status.value == "VALID" for f in old_files.values())

        # The branch holding the anchor is abandoned; the other one grows past it.
        assert node.rpc("evm_revert", [snapshot]) is True
        node.rpc("anvil_mine", [hex(3)])
        assert rt.chain.anchor_of(issuer.address, batch.root) is None
        time.sleep(SHARED_HEAD_TTL)  # the web app's verifier reads the head again by then
        report = rt.verify(old_files[ids[0]])
        assert report.status.value == "INVALID" and failing(report) == ["anchored"]
        app = create_app(runtime=rt)
        client = app.test_client()
        auth = {"Authorization": f"Bearer {service.api_key}"}

        worker = spawn_worker(service)
        try:
            def reanchored():
                b = store.get_batch(batch.id)
                return b if b.status == "confirmed" and b.tx_hash != batch.tx_hash else None

            again = wait_for(reanchored, 60, "the worker to anchor the batch again")
        finally:
            stop(worker)
        assert worker.returncode == 0
        assert again.root == batch.root and again.block_hash != batch.block_hash
        requeued = [e for e in store.events(limit=10**6) if e["kind"] == "op.requeued"]
        assert len(requeued) == 1 and "reorganised away" in requeued[0]["data"]

        for cid in ids:
            got = client.get(f"/api/v1/credentials/{cid}", headers=auth).get_json()
            anchor = got["credential"]["proof"][-1]["anchor"]
            assert (anchor["transactionHash"], anchor["blockNumber"]) == (
                again.tx_hash, again.block_number)
            assert client.post("/api/v1/verify", json=got["credential"]).get_json()[
                "status"] == "VALID"
            batch_view = client.get(f"/api/v1/batches/{batch.id}", headers=auth).get_json()
            assert batch_view["transactionHash"] == again.tx_hash
        # The stale file names a transaction that no longer exists: not VALID, to a fresh
        # verifier (the CLI's) and to the web app's shared one alike: it kept the vanished
        # transaction's receipt only under the head it was read at (not final: 12 blocks).
        for verifier in (rt.verifier(), rt.verifier(shared=True)):
            stale = verifier.verify(old_files[ids[0]])
            assert stale.status.value == "INVALID" and failing(stale) == ["anchored"]
        assert_exactly_once(rt, ids)
    finally:
        rt.close()
