"""Hardening (issue 12), item 1: an issuer suspended in the ledger only (the operator holds no
admin key, so the contract still lists it as active) gets nothing anchored by the worker.

Its credentials stay pending and a batch sealed before the suspension stays queued — nothing is
lost — and both are anchored once it is reinstated. The real worker thread runs on the embedded
chain; "no admin key" is the runtime's own configuration (``chain.admin`` is None in rpc mode
without ``CREDANCHOR_ADMIN_KEY``), not a fake."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from credanchor.core.report import Status
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuers import add_issuer, reactivate_issuer, suspend_issuer
from credanchor.web import create_app
from kit.settings import make_settings, sample_items


def wait_for(fn: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def statuses(rt: Runtime, ids: list[str]) -> list[str]:
    store = rt.store()
    return [store.get_credential(i).status for i in ids]


def issuer_anchors(rt: Runtime, address: str) -> int:
    return len(rt.chain.contract.events(names=["Anchored"], indexed={"issuer": address}))


def test_worker_holds_a_ledger_suspended_issuers_credentials_until_reinstated(tmp_path, monkeypatch):
    # batch_max_age 0: the worker seals whatever is pending on its next pass.
    rt = Runtime.open(make_settings(tmp_path / "data", batch_max_age=0.0))
    try:
        client = create_app(runtime=rt).test_client()
        store = rt.store()
        a = store.list_issuers()[0]
        a_auth = {"Authorization": f"Bearer {store.create_api_key(a.id)}"}
        b = add_issuer(rt, name="Suspended Academy", url="https://b.example")
        b_auth = {"Authorization": f"Bearer {b.api_key}"}

        # B issues 3 credentials and seals them (batch queued, nothing sent yet), then 2 more.
        r = client.post("/api/v1/credentials", json=sample_items(3), headers=b_auth)
        sealed_ids = [c["id"] for c in r.get_json()["credentials"]]
        [b_batch] = client.post("/api/v1/batches", headers=b_auth).get_json()["batches"]
        r = client.post("/api/v1/credentials", json=sample_items(2, start=3), headers=b_auth)
        pending_ids = [c["id"] for c in r.get_json()["credentials"]]

        # Suspended in the ledger only: no admin key, the contract still says active.
        monkeypatch.setattr(rt.chain, "admin", None)
        result = suspend_issuer(rt, str(b.issuer.id))
        assert result.issuer.status == "suspended" and result.accredited is None
        assert rt.chain.contract.issuer_info(b.issuer.address).active is True

        # The API refuses new credentials for it, as a problem answer.
        refused = client.post("/api/v1/credentials", json=sample_items(1, start=9), headers=b_auth)
        assert refused.status_code == 403
        assert refused.mimetype == "application/problem+json"
        assert refused.get_json()["code"] == "forbidden"
        assert "suspended" in refused.get_json()["detail"]

        # Issuer A keeps working: its credentials are anchored by the real worker loop.
        r = client.post("/api/v1/credentials", json=sample_items(2, start=20), headers=a_auth)
        a_ids = [c["id"] for c in r.get_json()["credentials"]]
        rt.start_worker_thread()
        wait_for(lambda: statuses(rt, a_ids) == ["anchored"] * 2, what="A's credentials")
        time.sleep(0.5)  # ten more worker passes (interval 0.05 s)

        # B's work waited: nothing sealed, nothing signed, nothing on chain.
        assert statuses(rt, sealed_ids) == ["sealed"] * 3
        assert statuses(rt, pending_ids) == ["pending"] * 2
        batch = store.get_batch(b_batch["id"])
        assert batch.status == "queued" and batch.tx_hash is None
        assert store.attempts("batches", batch.id) == []
        assert len(store.list_batches(issuer_id=b.issuer.id)) == 1
        assert issuer_anchors(rt, b.issuer.address) == 0
        assert issuer_anchors(rt, a.address) == 1

        # Reinstated: all five are anchored, and verify.
        again = reactivate_issuer(rt, b.issuer.address)
        assert again.issuer.status == "active" and again.accredited is True
        wait_for(lambda: statuses(rt, sealed_ids + pending_ids) == ["anchored"] * 5,
                 what="B's credentials after reinstatement")
        assert issuer_anchors(rt, b.issuer.address) == 2
        assert store.get_batch(b_batch["id"]).status == "confirmed"
        for cid in (sealed_ids[0], pending_ids[0]):
            document = rt.proofs().credential_file(store.get_credential(cid))
            assert rt.verify(document).status == Status.VALID
    finally:
        rt.close()


def test_anchoring_until_idle_does_not_wait_for_a_suspended_issuers_work(tmp_path):
    """`credanchor anchor` (run_until_idle) finishes everyone else's work and returns; the held
    credentials are still pending afterwards, not lost and not reported as a timeout."""
    rt = Runtime.open(make_settings(tmp_path / "data"))
    try:
        store = rt.store()
        b = add_issuer(rt, name="Suspended Academy")
        a = store.list_issuers()[0]
        from credanchor.issuing.pipeline import issue

        held = issue(store, b.issuer, rt.issuance(b.issuer), sample_items(2), max_items=2)
        done = issue(store, a, rt.issuance(a), sample_items(2, start=5), max_items=2)
        store.set_issuer_status(b.issuer.id, "suspended")
        started = time.monotonic()
        rt.anchorer().run_until_idle(timeout=30)
        assert time.monotonic() - started < 20
        assert statuses(rt, [x.id for x in done]) == ["anchored"] * 2
        assert statuses(rt, [x.id for x in held]) == ["pending"] * 2
        assert store.list_batches(issuer_id=b.issuer.id) == []
    finally:
        rt.close()
