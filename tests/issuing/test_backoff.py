"""Issue 12: an operator's explicit anchor (`credanchor anchor`, `issue --anchor`) tries at
once, instead of waiting out the back-off an earlier failure stored; the background worker
keeps backing off. On the embedded EVM; the failure is a real one (the network fee above the
configured cap), which the operator then fixes. The same over anvil with an unfunded issuer:
tests/integration/test_readme_anvil.py."""

from __future__ import annotations

import dataclasses
import json
import time

from credanchor.issuing.anchoring import Anchorer
from credanchor.issuing.pipeline import issue
from credanchor.usecases.container import Runtime
from kit.settings import make_settings, sample_items

# What the worker waits after eight failures in a row (2 s doubling): the 256 s of the issue.
WORKER_BACKOFF = 256.0


def test_explicit_run_clears_a_stored_backoff_the_worker_keeps(tmp_path):
    data = tmp_path / "data"
    rt = Runtime.open(make_settings(data, max_fee_gwei=1e-9))  # 1 wei: below any base fee
    issuer = rt.store().list_issuers()[0]
    issue(rt.store(), issuer, rt.issuance(issuer), sample_items(3), max_items=3)
    policy = dataclasses.replace(rt.policy(), retry_delay=WORKER_BACKOFF)
    report = Anchorer(rt.store(), rt.chain, rt.signer_for, policy).step(force_seal=True)
    assert len(report.errors) == 1 and "above the cap" in report.errors[0]
    (batch,) = rt.store().list_batches()
    assert batch.status == "queued"
    assert batch.next_attempt_at > time.time() + WORKER_BACKOFF - 30
    rt.close()

    rt = Runtime.open(make_settings(data))  # the operator raised the fee cap again
    try:
        worker = rt.anchorer()
        report = worker.step()
        assert not report.busy and report.errors == []  # the worker still waits it out
        assert rt.store().get_batch(batch.id).status == "queued"

        started = time.monotonic()
        rt.anchorer().run_until_idle(timeout=20)
        assert time.monotonic() - started < 20
        done = rt.store().get_batch(batch.id)
        assert done.status == "confirmed" and done.next_attempt_at == 0
        cleared = [e for e in rt.store().events() if e["kind"] == "op.retry-now"]
        assert [(e["entity"], json.loads(e["data"])["ids"]) for e in cleared] == [
            ("batches", [batch.id])]
    finally:
        rt.close()
