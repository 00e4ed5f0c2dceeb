"""Exactly-once anchoring on the embedded EVM: the whole flow, restarts, and a crash at every
step boundary of the state machine (the reliability suite adds real SIGKILLs)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from credanchor import faults
from credanchor.core.report import Status
from credanchor.issuing.anchoring import Anchorer
from credanchor.issuing.pipeline import issue
from credanchor.usecases.container import Runtime
from kit.settings import make_settings, sample_items


def issue_n(runtime, issuer, n, start=0):
    return issue(runtime.store(), issuer, runtime.issuance(issuer), sample_items(n, start=start),
                 max_items=n)


def anchored_events(runtime, root: bytes) -> int:
    return len(runtime.chain.contract.events(names=["Anchored"], indexed={"root": root}))


def test_thousand_credentials_anchor_and_verify_valid_across_a_restart(tmp_path, settings):
    rt = Runtime.open(settings)
    issuer = rt.store().list_issuers()[0]
    accepted = issue_n(rt, issuer, 1000)
    assert {a.status for a in accepted} == {"pending"}
    rt.anchorer().run_until_idle(timeout=120)
    batches = rt.store().list_batches()
    assert [(b.count, b.status) for b in batches] == [(1000, "confirmed")]
    assert anchored_events(rt, batches[0].root) == 1
    files = tmp_path / "files"
    files.mkdir()
    proofs = rt.proofs()
    verifier = rt.verifier()
    for a in accepted:
        doc = proofs.credential_file(rt.store().get_credential(a.id))
        report = verifier.verify(doc)
        assert report.status == Status.VALID, report.to_dict()
        (files / f"{a.id[9:]}.json").write_text(json.dumps(doc))
    rt.close()

    # A new process opens the same data directory: the embedded chain persisted.
    code = (
        "import json,sys,pathlib\n"
        "from credanchor.usecases.container import Runtime\n"
        "from credanchor.usecases.config import load_settings, Secret\n"
        f"rt = Runtime.open(load_settings(env={{}}, data_dir=pathlib.Path({str(settings.data_dir)!r}),"
        " keystore_password=Secret('test-keystore-password')))\n"
        "v = rt.verifier()\n"
        f"out = [v.verify(json.loads(p.read_text())).status.value for p in sorted(pathlib.Path({str(files)!r}).glob('*.json'))]\n"
        "rt.close()\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    statuses = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(statuses) == 1000 and set(statuses) == {"VALID"}


@pytest.mark.parametrize("point", faults.POINTS)
def test_crash_at_every_step_then_resume_anchors_exactly_once(tmp_path, point):
    rt = Runtime.open(make_settings(tmp_path / "data"))
    try:
        issuer = rt.store().list_issuers()[0]
        issue_n(rt, issuer, 5)
        with faults.crash_at(point) as fired, pytest.raises(faults.SimulatedCrash):
            rt.anchorer().run_until_idle(timeout=30)
        assert fired == [point]
        # "Restart": a fresh anchorer on a fresh ledger connection, same chain.
        from credanchor.ledger.store import Store

        resumed = Anchorer(Store(rt.settings.ledger_path), rt.chain, rt.signer_for, rt.policy())
        issue_n(rt, issuer, 3, start=100)  # issuance goes on meanwhile
        resumed.run_until_idle(timeout=60)
        store = rt.store()
        batches = store.list_batches()
        assert all(b.status == "confirmed" for b in batches), batches
        creds = store.list_credentials(issuer.id, limit=100)
        assert len(creds) == 8 and {c.status for c in creds} == {"anchored"}
        assert sum(b.count for b in batches) == 8
        for b in batches:
            assert anchored_events(rt, b.root) == 1
            on_chain = rt.chain.anchor_of(issuer.address, b.root)
            assert on_chain is not None and on_chain.count == b.count
        verifier = rt.verifier()
        for c in creds:
            assert verifier.verify(rt.proofs().credential_file(c)).status == Status.VALID
    finally:
        rt.close()


def test_revocation_goes_through_the_durable_path(runtime, local_issuer):
    accepted = issue_n(runtime, local_issuer, 3)
    runtime.anchorer().run_until_idle(timeout=60)
    store = runtime.store()
    victim = store.get_credential(accepted[1].id)
    assert store.add_revocation(local_issuer.id, "credential", victim.credential_hash, reason=1)
    runtime.anchorer().run_until_idle(timeout=60, force_seal=False)
    verifier = runtime.verifier()
    statuses = [verifier.verify(runtime.proofs().credential_file(store.get_credential(a.id))).status
                for a in accepted]
    assert statuses == [Status.VALID, Status.REVOKED, Status.VALID]
    report = verifier.verify(runtime.proofs().credential_file(victim))
    assert report.check("revocation").data["reason"] == 1

    batch = store.get_batch(victim.batch_id)
    store.add_revocation(local_issuer.id, "batch", batch.root, reason=3)
    runtime.anchorer().run_until_idle(timeout=60, force_seal=False)
    fresh = runtime.verifier()
    statuses = [fresh.verify(runtime.proofs().credential_file(store.get_credential(a.id))).status
                for a in accepted]
    assert statuses == [Status.REVOKED] * 3
    assert store.list_batches(status="confirmed")[0].id == batch.id
    ops = store.conn.execute("SELECT kind, status FROM revocation_ops ORDER BY id").fetchall()
    assert ops == [("credential", "confirmed"), ("batch", "confirmed")]


def test_a_root_already_anchored_by_us_counts_as_success(runtime, local_issuer):
    """Someone (a previous life of this worker) anchored the root but the ledger never saw
    the receipt: the anchorer must adopt the existing anchor, not send a second one."""
    issue_n(runtime, local_issuer, 4)
    anchorer = runtime.anchorer()
    [batch] = anchorer.seal_due(force=True)
    signer = runtime.signer_for(local_issuer)
    from credanchor.chain import tx as txmod

    txmod.send_and_wait(runtime.chain.w3, signer, runtime.chain.build_anchor(batch.root, batch.count),
                        policy=runtime.chain.fee_policy)
    anchorer.run_until_idle(timeout=30, force_seal=False)
    b = runtime.store().get_batch(batch.id)
    assert b.status == "confirmed" and b.tx_hash is not None
    assert runtime.store().attempts("batches", b.id) == []  # we never signed a second anchor
    assert anchored_events(runtime, b.root) == 1


def test_a_root_another_issuer_anchored_first_is_still_anchored_by_us(runtime, local_issuer):
    """Another accredited issuer anchors our sealed root before our worker sends anything (a
    copy of it, as a front-runner would make): that anchor is not ours, so the worker still
    anchors the batch under its issuer, and its credentials verify. (Keyed by root alone, the
    worker took the copy for the batch's effect and marked the batch failed for good.)"""
    from credanchor.chain import tx as txmod
    from credanchor.usecases.issuers import add_issuer

    copier = add_issuer(runtime, name="Copycat College").issuer
    accepted = issue_n(runtime, local_issuer, 4)
    anchorer = runtime.anchorer()
    [batch] = anchorer.seal_due(force=True)
    chain = runtime.chain
    copy = txmod.send_and_wait(chain.w3, runtime.signer_for(copier),
                               chain.build_anchor(batch.root, batch.count), policy=chain.fee_policy)
    anchorer.run_until_idle(timeout=30, force_seal=False)
    store = runtime.store()
    b = store.get_batch(batch.id)
    assert b.status == "confirmed", b.last_error
    [attempt] = store.attempts("batches", b.id)  # we did send our own anchor
    assert b.tx_hash == attempt.tx_hash != copy["transactionHash"].to_0x_hex()
    assert chain.anchor_of(local_issuer.address, b.root) is not None
    assert chain.anchor_of(copier.address, b.root) is not None
    assert anchored_events(runtime, b.root) == 2
    verifier = runtime.verifier()
    for a in accepted:
        doc = runtime.proofs().credential_file(store.get_credential(a.id))
        assert doc["proof"][-1]["anchor"]["issuerAccount"] == local_issuer.address
        assert verifier.verify(doc).status == Status.VALID


def test_one_issuers_missing_key_does_not_block_the_others(runtime, local_issuer):
    """An issuer whose key cannot be loaded gets its batch retried with the error recorded;
    another issuer's batch is anchored in the same pass."""
    from credanchor.usecases.issuers import add_issuer

    broken = add_issuer(runtime, name="Keyless").issuer
    runtime.forget_key(broken)
    object.__setattr__(runtime.settings, "keystore_password", None)
    issue_n(runtime, broken, 2)
    issue_n(runtime, local_issuer, 2, start=10)
    anchorer = runtime.anchorer()
    anchorer.seal_due(force=True)
    report = anchorer.step()
    store = runtime.store()
    statuses = {b.issuer_id: (b.status, b.last_error) for b in store.list_batches()}
    assert statuses[broken.id][0] == "queued"
    assert "KeyUnavailable" in statuses[broken.id][1]
    assert statuses[local_issuer.id][0] in ("submitted", "confirmed")
    assert any("batches" in e for e in report.errors)
