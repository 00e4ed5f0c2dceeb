"""scripts/audit.py and scripts/export.py against anvil: a clean ledger audits clean; four
injected faults are reported exactly, and nothing else; an export audits like its database."""

from __future__ import annotations

import json
import sqlite3

import pytest

from credanchor.audit.reconcile import (
    REVOCATION_MISSING_IN_LEDGER,
    ROOT_NOT_IN_LEDGER,
    TREE_MISMATCH,
)
from credanchor.audit.replay import OnChainPicture, replay
from credanchor.chain.contract import CredentialAnchor
from credanchor.chain.rpc import connect_rpc
from credanchor.chain.tx import send_and_wait
from credanchor.cli.auditing import audit_command
from credanchor.core.hashing import to_hex
from credanchor.core.merkle import MerkleTree
from credanchor.ledger.export import open_ledger
from kit.anvil import free_port
from kit.chain import POLICY, random_hash
from kit.registry import World, ledger_copy, run_inline, run_script

pytestmark = pytest.mark.anvil


def audit(world: World, ledger, tmp_path, *extra: str):
    report = tmp_path / "report.json"
    summary = tmp_path / "summary.md"
    r = run_script("audit.py", *world.chain_args(), "--from-block", str(world.deploy_block),
                   "--ledger", str(ledger), "--report", str(report), "--summary", str(summary),
                   *extra)
    assert r.returncode in (0, 1), r.stderr
    return r, json.loads(report.read_text()), summary.read_text()


def test_clean_ledger_gives_a_clean_report(world, tmp_path):
    r, report, summary = audit(world, world.ledger, tmp_path)
    assert r.returncode == 0, r.stdout
    assert report["clean"] is True and report["discrepancies"] == []
    assert "**Result: clean.**" in summary and summary == r.stdout
    assert report["chain"]["fromBlock"] == world.deploy_block
    assert report["chain"]["admins"] == [world.admin.address]
    figures = {i["name"]: i for i in report["issuers"]}
    assert set(figures) == {"Acme Academy", "Borealis Institute", "Cobalt College", "Elsewhere U"}
    acme, boreal = figures["Acme Academy"], figures["Borealis Institute"]
    assert acme["onChain"]["anchors"] == 2 and acme["onChain"]["credentialsDeclared"] == 10
    assert acme["ledger"]["batches"] == {"confirmed": 2} and acme["ledger"]["credentials"] == 10
    assert acme["onChain"]["credentialRevocations"] == 1
    assert acme["ledger"]["credentialRevocations"] == 1
    assert boreal["onChain"]["batchRevocations"] == 1 and boreal["ledger"]["batchRevocations"] == 1
    assert [h["event"] for h in acme["onChain"]["history"]] == ["accredited"]
    # the foreign issuer is in the figures, and its anchors are nobody's discrepancy
    foreign = figures["Elsewhere U"]
    assert foreign["inLedger"] is False and foreign["ledger"] is None
    assert foreign["onChain"]["anchors"] == 2 and foreign["onChain"]["credentialsDeclared"] == 24
    assert "replayed" in r.stderr and "events/s" in r.stderr


def test_injected_discrepancies_are_reported_exactly(world, snapshot, tmp_path):
    ledger = ledger_copy(world, tmp_path / "tampered" / "ledger.sqlite")
    contract = CredentialAnchor(connect_rpc(world.node.url, expected_chain_id=31337),
                                world.contract)
    w3 = contract.w3
    acme, boreal, cobalt = (world.addresses[n] for n in
                            ("Acme Academy", "Borealis Institute", "Cobalt College"))
    view = open_ledger(world.ledger)
    batches = {b.id: b for b in view.batches()}
    deleted = batches[world.batches["Borealis Institute"][0]]
    tampered = batches[world.batches["Acme Academy"][1]]
    victim = view.material(batches[world.batches["Acme Academy"][0]]).credential_hashes[1]
    view.close()

    # 1. a root anchored with Cobalt's key behind the ledger's back
    extra_root = random_hash()
    send_and_wait(w3, world.signers["Cobalt College"], contract.anchor(extra_root, 9),
                  policy=POLICY)
    # 2. a revocation made on chain with Acme's key but not recorded in the ledger
    send_and_wait(w3, world.signers["Acme Academy"], contract.revoke_credential(victim, 4),
                  policy=POLICY)
    with sqlite3.connect(ledger) as db:
        # 3. a batch row deleted from the ledger (its credentials left behind)
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute("DELETE FROM batches WHERE id = ?", (deleted.id,))
        # 4. a tampered stored tree: one inner node changed
        tree = bytearray(db.execute("SELECT tree FROM batches WHERE id = ?",
                                    (tampered.id,)).fetchone()[0])
        tree[3 * 32] ^= 0xFF
        db.execute("UPDATE batches SET tree = ? WHERE id = ?", (bytes(tree), tampered.id))

    r, report, summary = audit(world, ledger, tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert report["clean"] is False
    got = {(d["kind"], d["issuer"], d["subject"]) for d in report["discrepancies"]}
    assert got == {
        (ROOT_NOT_IN_LEDGER, cobalt, to_hex(extra_root)),
        (ROOT_NOT_IN_LEDGER, boreal, to_hex(deleted.root)),
        (REVOCATION_MISSING_IN_LEDGER, acme, to_hex(victim)),
        (TREE_MISMATCH, acme, to_hex(tampered.root)),
    }
    assert len(report["discrepancies"]) == 4
    by_subject = {d["subject"]: d for d in report["discrepancies"]}
    assert "behind the ledger's back" in by_subject[to_hex(extra_root)]["detail"]
    assert by_subject[to_hex(deleted.root)]["data"]["ledgerBatchId"] == deleted.id
    assert "batch row was lost or deleted" in by_subject[to_hex(deleted.root)]["detail"]
    assert by_subject[to_hex(victim)]["data"]["reason"] == 4
    assert by_subject[to_hex(victim)]["data"]["ledgerBatchId"] == world.batches["Acme Academy"][0]
    assert by_subject[to_hex(tampered.root)]["data"] == {"batchId": tampered.id, "node": 3}
    assert report["summary"] == {"discrepancies": 4, "byKind": {
        ROOT_NOT_IN_LEDGER: 2, TREE_MISMATCH: 1, REVOCATION_MISSING_IN_LEDGER: 1}}
    assert "**Result: 4 discrepancies**" in summary and f"`{to_hex(extra_root)}`" in summary
    figures = {i["name"]: i["discrepancies"] for i in report["issuers"]}
    assert figures == {"Acme Academy": 2, "Borealis Institute": 1, "Cobalt College": 1,
                       "Elsewhere U": 0}

    # the export of the tampered ledger audits to exactly the same discrepancies
    out = tmp_path / "export"
    e = run_script("export.py", "--ledger", str(ledger), "--out", str(out), "--chain-id",
                   "31337", "--contract", world.contract)
    assert e.returncode == 0, e.stderr
    assert "exported 3 issuer(s), 5 batch(es), 17 credential hash(es), 2 revocation(s)" in e.stdout
    (tmp_path / "x").mkdir()
    r2, report2, _ = audit(world, out, tmp_path / "x")
    assert r2.returncode == 1
    assert report2["discrepancies"] == report["discrepancies"]
    assert report2["ledger"]["source"] == "export"


def test_export_round_trip_holds_no_personal_data(world, tmp_path):
    out = tmp_path / "acme.json"
    r = run_script("export.py", "--ledger", str(world.data_dir), "--out", str(out),
                   "--issuer", world.addresses["Acme Academy"])
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    # sample_items: "Learner N" <learnerN@example.org>, "Excel Modelling"
    assert "Learner" not in text and "example.org" not in text and "Excel" not in text
    manifest = json.loads(text)
    assert [i["name"] for i in manifest["issuers"]] == ["Acme Academy"]
    assert [b["id"] for b in manifest["batches"]] == world.batches["Acme Academy"]
    view = open_ledger(world.ledger)
    for entry in manifest["batches"]:
        tree = MerkleTree.from_oz_dump(entry["ozDump"])  # loads and checks every node
        assert to_hex(tree.root) == entry["root"]
        [batch] = [b for b in view.batches() if b.id == entry["id"]]
        assert entry["txHash"] == batch.tx_hash and entry["block"] == batch.block_number
        assert tree.to_oz_dump() == entry["ozDump"]
    view.close()
    assert [(x["kind"], x["state"]) for x in manifest["revocations"]] == [
        ("credential", "confirmed")]
    again = run_script("export.py", "--ledger", str(world.ledger), "--out", str(out))
    assert again.returncode == 3 and "already exists" in again.stderr
    a, report, _ = audit(world, out, tmp_path)
    assert a.returncode == 0 and report["clean"] and report["ledger"]["issuers"] == 1


def test_replay_resumes_from_its_checkpoint(world, tmp_path):
    contract = CredentialAnchor(connect_rpc(world.node.url, expected_chain_id=31337),
                                world.contract, deploy_block=world.deploy_block)
    full = replay(contract)
    checkpoint = tmp_path / "audit.ckpt"
    seen: list[int] = []

    def interrupt_after_five(picture: OnChainPicture, end: int) -> None:
        seen.append(picture.next_block)
        if len(seen) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        replay(contract, step=1, checkpoint=checkpoint, progress=interrupt_after_five)
    saved = json.loads(checkpoint.read_text())
    assert saved["nextBlock"] == world.deploy_block + 5 and saved["lastBlockHash"]
    resumed_ranges: list[int] = []
    resumed = replay(contract, step=1, checkpoint=checkpoint,
                     progress=lambda p, end: resumed_ranges.append(p.next_block))
    assert resumed.resumed_from == world.deploy_block + 5
    assert resumed_ranges[0] == world.deploy_block + 6  # nothing read twice
    assert resumed.to_json() == full.to_json()
    assert resumed.events == full.events > 10

    # the script resumes too, and a finished checkpoint only reads what is new
    r = run_script("audit.py", *world.chain_args(), "--from-block", str(world.deploy_block),
                   "--ledger", str(world.ledger), "--checkpoint", str(checkpoint), "--step", "3")
    assert r.returncode == 0, r.stderr
    assert f"(resumed at {full.next_block})" in r.stderr


def test_unreachable_chain_and_bad_input(world, tmp_path, capsys):
    dead = f"http://127.0.0.1:{free_port()}"
    r = run_script("audit.py", "--rpc", dead, "--contract", world.contract,
                   "--ledger", str(world.ledger))
    assert r.returncode == 4, r.stderr
    assert r.stderr.startswith("error: the chain could not be reached") and r.stderr.count("\n") == 1
    r = run_inline(audit_command, "--rpc", world.node.url, "--contract", world.contract,
                   "--ledger", str(tmp_path), capsys=capsys)
    assert r.returncode == 3 and "neither a ledger export" in r.stderr
    r = run_inline(audit_command, "--rpc", world.node.url, "--chain-id", "1",
                   "--contract", world.contract, "--ledger", str(world.ledger), capsys=capsys)
    assert r.returncode == 3 and "serves chain id 31337" in r.stderr
    r = run_inline(audit_command, "--bogus", capsys=capsys)
    assert r.returncode == 2  # bad usage: 2 like `credanchor` (was 3 before the one exit-code table)


def test_the_deployment_block_is_found_when_not_given(world, capsys):
    r = run_inline(audit_command, *world.chain_args(), "--ledger", str(world.ledger), "--json",
                   capsys=capsys)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["chain"]["fromBlock"] == world.deploy_block >= 1
    assert report["chain"]["events"] == replay(CredentialAnchor(
        connect_rpc(world.node.url, expected_chain_id=31337), world.contract,
        deploy_block=world.deploy_block)).events
