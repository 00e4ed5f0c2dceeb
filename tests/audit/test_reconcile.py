"""The audit library on the embedded chain: every other discrepancy kind, checkpoints that
survive a reorg, the report's renderings, and `credanchor audit` / `credanchor export`."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest
from click.testing import CliRunner

from credanchor.audit import reconcile as audit
from credanchor.audit.reconcile import reconcile
from credanchor.audit.replay import OnChainPicture, replay
from credanchor.audit.summary import build_report, render_html
from credanchor.cli.main import main
from credanchor.core.hashing import keccak256, leaf_hash, to_hex
from credanchor.core.merkle import MerkleTree
from credanchor.issuing.pipeline import issue
from credanchor.ledger.export import export_ledger, open_ledger, tree_dump
from kit.registry import ledger_copy_of
from kit.settings import EXAMPLES, sample_items


@pytest.fixture
def anchored(runtime, local_issuer):
    """Three anchored batches of the embedded issuer and one revoked credential."""
    store, anchorer = runtime.store(), runtime.anchorer()
    for size, start in ((4, 0), (3, 4), (2, 7)):
        issue(store, local_issuer, runtime.issuance(local_issuer),
              sample_items(size, start=start), max_items=size)
        anchorer.seal_due(force=True)
    anchorer.run_until_idle(timeout=60)
    first = store.list_batches()[0]
    store.add_revocation(local_issuer.id, "credential",
                         store.batch_credential_hashes(first.id)[0], 1)
    anchorer.run_until_idle(timeout=60, force_seal=False)
    return store.list_batches()


def test_each_other_kind_of_discrepancy(runtime, local_issuer, anchored, tmp_path):
    picture = replay(runtime.chain.contract)
    clean = open_ledger(runtime.settings.ledger_path)
    assert reconcile(picture, clean) == []
    b1, b2, b3 = anchored
    ledger = ledger_copy_of(runtime.settings.ledger_path, tmp_path / "ledger.sqlite")
    stranger = "0x" + "ab" * 20
    doc = '{"id":"urn:uuid:made-up"}'
    fake_hash = keccak256(doc.encode())
    fake_root = leaf_hash(fake_hash)
    with sqlite3.connect(ledger) as db:
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute("UPDATE batches SET count = count + 1 WHERE id = ?", (b1.id,))
        db.execute("UPDATE credential_documents SET document = replace(document, 'Learner 1', "
                   "'Learner X') WHERE document LIKE '%Learner 1\"%' AND seq IN "
                   "(SELECT seq FROM credentials WHERE batch_id = ?)", (b1.id,))
        db.execute("UPDATE batches SET tx_hash = ? WHERE id = ?", ("0x" + "11" * 32, b2.id))
        db.execute("UPDATE batches SET status = 'failed' WHERE id = ?", (b3.id,))
        db.execute("INSERT INTO issuers (id, address, name, status, created_at) "
                   "VALUES (7, ?, 'Ghost', 'active', 0)", (stranger,))
        # a confirmed batch the chain never saw (a one-credential tree: root = its leaf)
        db.execute("INSERT INTO batches (id, issuer_id, root, count, tree, status, sealed_at, "
                   "tx_hash, block_number) VALUES (99, ?, ?, 1, ?, 'confirmed', 0, ?, 1)",
                   (local_issuer.id, fake_root, fake_root, "0x" + "22" * 32))
        seq = db.execute("INSERT INTO credentials (id, issuer_id, credential_hash, batch_id, "
                         "created_at) VALUES ('urn:uuid:made-up', ?, ?, 99, 0)",
                         (local_issuer.id, fake_hash)).lastrowid
        db.execute("INSERT INTO credential_documents (seq, document) VALUES (?, ?)", (seq, doc))
        # a revocation the ledger says is confirmed, but which never reached the chain
        db.execute("INSERT INTO revocation_ops (id, issuer_id, kind, reason, status, created_at, "
                   "tx_hash) VALUES (50, ?, 'credential', 2, 'confirmed', 0, ?)",
                   (local_issuer.id, "0x" + "33" * 32))
        db.execute("INSERT INTO revocations (issuer_id, kind, target, reason, op_id, created_at) "
                   "VALUES (?, 'credential', ?, 2, 50, 0)", (local_issuer.id, fake_hash))
    # and a batch of the ledger's issuer now filed under another issuer
    with sqlite3.connect(ledger) as db:
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute("UPDATE batches SET issuer_id = 7 WHERE id = ?", (b3.id,))
    view = open_ledger(ledger)
    found = reconcile(picture, view)
    me = local_issuer.address
    ghost = "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"
    assert [(d.kind, d.issuer, d.subject) for d in found] == [
        (audit.ANCHOR_MISSING, me, to_hex(fake_root)),
        (audit.ANCHORED_BY_OTHER, ghost, to_hex(b3.root)),
        (audit.COUNT_MISMATCH, me, to_hex(b1.root)),
        (audit.ANCHOR_RECORD_MISMATCH, me, to_hex(b2.root)),
        (audit.DOCUMENT_MISMATCH, me, found[4].subject),
        (audit.REVOCATION_MISSING_ON_CHAIN, me, to_hex(fake_hash)),
        (audit.ISSUER_NOT_ACCREDITED, ghost, ghost),
    ]
    assert found[2].data["counts"] == {"ledger": 5, "credentials": 4, "chain": 4}
    assert found[4].subject in {to_hex(h) for h in open_ledger(ledger).material(b1)
                                .credential_hashes}
    assert "never accredited on chain" in found[6].detail

    # failed-but-anchored: the batch back under its issuer, still marked failed
    with sqlite3.connect(ledger) as db:
        db.execute("UPDATE batches SET issuer_id = ? WHERE id = ?", (local_issuer.id, b3.id))
    assert [d.kind for d in reconcile(picture, open_ledger(ledger))
            if d.subject == to_hex(b3.root)] == [audit.STATUS_MISMATCH]

    report = build_report(picture, view, found)
    assert report["summary"]["discrepancies"] == 7 and not report["clean"]
    page = render_html(report)
    assert page.startswith("<!doctype html>") and "anchor-missing-on-chain" in page
    assert "<script" not in page


def test_tree_dump_is_the_oz_dump_and_exports_are_rejected_as_input(runtime, anchored, tmp_path):
    view = open_ledger(runtime.settings.ledger_path)
    for b in view.batches():
        material = view.material(b)
        assert tree_dump(material) == MerkleTree.from_credential_hashes(
            material.credential_hashes).to_oz_dump()
    out = tmp_path / "export"
    summary = export_ledger(view, out, chain_id=runtime.chain.chain_id,
                            contract=runtime.chain.contract_address)
    assert (summary.batches, summary.credentials, summary.revocations) == (3, 9, 1)
    assert sorted(p.name for p in (out / "batches").iterdir()) == [
        f"{b.id:06d}.json" for b in view.batches()]
    exported = open_ledger(out)
    assert exported.chain_id == runtime.chain.chain_id
    assert reconcile(replay(runtime.chain.contract), exported) == []


def test_checkpoint_after_a_reorg_starts_over(runtime, anchored, tmp_path):
    contract = runtime.chain.contract
    checkpoint = tmp_path / "ckpt.json"
    first = replay(contract, checkpoint=checkpoint)
    data = json.loads(checkpoint.read_text())
    assert OnChainPicture.from_json(data).to_json() == first.to_json()
    data["lastBlockHash"] = "0x" + "44" * 32  # the block we stopped at is no longer canonical
    checkpoint.write_text(json.dumps(data))
    again = replay(contract, checkpoint=checkpoint)
    assert again.resumed_from is None and again.events == first.events
    assert "reorg" in again.notes[0]
    other = tmp_path / "other.json"
    data["contract"] = "0x" + "12" * 20
    other.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="is for contract"):
        replay(contract, checkpoint=other)


def test_credanchor_audit_and_export_use_the_service_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv("CREDANCHOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CREDANCHOR_KEYSTORE_PASSWORD", "cli-test-password")
    monkeypatch.setenv("CREDANCHOR_KDF_WORK_FACTOR", "1024")
    runner = CliRunner()
    r = runner.invoke(main, ["issue", str(EXAMPLES / "badges.csv"), "--anchor"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["audit", "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["clean"] and report["ledger"]["credentials"] == 4
    r = runner.invoke(main, ["export", "--out", str(tmp_path / "e.json")])
    assert r.exit_code == 0, r.output
    manifest = json.loads((tmp_path / "e.json").read_text())
    assert manifest["chain"]["chainId"] == report["chain"]["chainId"]
    r = runner.invoke(main, ["audit", "--ledger", str(tmp_path / "e.json"), "--summary",
                             str(tmp_path / "s.md")])
    assert r.exit_code == 0, r.output
    assert "**Result: clean.**" in (tmp_path / "s.md").read_text()
    ledger = tmp_path / "data" / "ledger.sqlite"
    with sqlite3.connect(ledger) as db:
        db.execute("UPDATE batches SET count = 5")
    r = runner.invoke(main, ["audit"])
    assert r.exit_code == 1 and "count-mismatch" in r.stdout
    assert os.path.exists(ledger)


def test_accreditation_history_comes_from_distinct_events(runtime, local_issuer, anchored):
    """Accredited, suspended, reactivated, profile updated: each is its own contract event, so
    the picture names each change without inferring it (a profile update of a suspended
    issuer leaves it suspended), and records the DID each one set."""
    chain = runtime.chain
    me = local_issuer.address
    pkh = f"did:pkh:eip155:{chain.chain_id}:{me}"
    did = local_issuer.did
    chain.admin_send(chain.contract.suspend_issuer(me))
    chain.admin_send(chain.contract.update_issuer_profile(me, "Renamed while suspended",
                                                          did="did:web:renamed.example"))
    suspended = replay(chain.contract).issuer(me)
    assert suspended is not None and suspended.active is False
    assert suspended.did == "did:web:renamed.example"
    chain.admin_send(chain.contract.accredit_issuer(me, "Back again", did=did))
    chain.admin_send(chain.contract.update_issuer_profile(me, "Back again", "https://b.example",
                                                          did=did))
    picture = replay(chain.contract)
    rec = picture.issuer(me)
    assert rec is not None and rec.active and (rec.name, rec.profile_uri, rec.did) == (
        "Back again", "https://b.example", did)
    assert [(h["event"], h.get("name"), h.get("did")) for h in rec.history] == [
        ("accredited", runtime.settings.issuer_name, pkh),
        # its signing DID, recorded when the service first opened (issue 14)
        ("updated", runtime.settings.issuer_name, did),
        ("suspended", None, None),
        ("updated", "Renamed while suspended", "did:web:renamed.example"),
        ("reactivated", "Back again", did),
        ("updated", "Back again", did),
    ]
    assert OnChainPicture.from_json(picture.to_json()).to_json() == picture.to_json()
    report = build_report(picture, open_ledger(runtime.settings.ledger_path), [])
    [entry] = [i for i in report["issuers"] if i["address"] == me]
    assert entry["onChain"]["did"] == did and entry["onChain"]["active"] is True
    assert report["version"] == 2


def test_a_copied_root_is_reported_on_the_batch_and_harms_nothing(runtime, local_issuer,
                                                                  anchored):
    """Another accredited issuer anchors one of our roots (as a front-runner would): the
    batch still reconciles (its own anchor is under its issuer), and the copy is reported."""
    from credanchor.chain.keys import Signer
    from credanchor.chain.tx import FeePolicy, send_and_wait

    chain = runtime.chain
    copier = Signer.generate()
    chain.embedded.fund(copier.address, 10**20)
    chain.admin_send(chain.contract.accredit_issuer(copier.address, "Copycat", did="did:ex:c"))
    b1 = anchored[0]
    receipt = send_and_wait(chain.w3, copier, chain.contract.anchor(b1.root, b1.count),
                            policy=FeePolicy(max_fee_per_gas_cap=10**12))
    picture = replay(chain.contract)
    assert {(i, r) for i, r in picture.anchors if r == b1.root} == {
        (local_issuer.address.lower(), b1.root), (copier.address.lower(), b1.root)}
    found = reconcile(picture, open_ledger(runtime.settings.ledger_path))
    assert [(d.kind, d.issuer, d.subject) for d in found] == [
        (audit.ANCHORED_BY_OTHER, local_issuer.address, to_hex(b1.root))]
    assert found[0].data["anchoredBy"] == copier.address
    assert found[0].data["txHash"] == receipt["transactionHash"].to_0x_hex()
    assert "counts only under its own issuer" in found[0].detail
