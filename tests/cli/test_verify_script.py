"""scripts/verify.py against anvil: 10,000 holder files verified in bulk, with revoked,
batch-revoked and tampered ones among them, each reported with its own status; inputs as
folders, globs and CSV listings; an unreachable node is exit 4, never INVALID."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from credanchor.chain.keys import Signer
from credanchor.cli.verifying import verify_command
from credanchor.issuing.pipeline import issue
from credanchor.usecases.config import Secret
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuers import add_issuer, deploy_contract
from kit.anvil import free_port, fund_on_anvil, start_anvil
from kit.chain import key_hex
from kit.registry import run_inline, run_script
from kit.settings import make_settings, sample_items

pytestmark = pytest.mark.anvil

BULK = 10_000


@dataclass
class Files:
    node_url: str
    contract: str
    folder: Path
    expected: dict[str, str]  # file name -> status

    def chain_args(self) -> list[str]:
        return ["--rpc", self.node_url, "--chain-id", "31337", "--contract", self.contract]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """10,000 credentials anchored in one batch plus a batch of 5, written as holder files;
    20 revoked one by one, the batch of 5 revoked whole, 20 files tampered with."""
    tmp = tmp_path_factory.mktemp("bulk")
    node = start_anvil()
    admin = Signer.generate()
    fund_on_anvil(node, admin)
    settings = make_settings(tmp / "data", rpc_url=node.url, chain="rpc", chain_id=31337,
                             admin_key=Secret(key_hex(admin)))
    deployed = deploy_contract(settings)
    rt = Runtime.open(make_settings(tmp / "data", rpc_url=node.url, chain="rpc", chain_id=31337,
                                    admin_key=settings.admin_key,
                                    contract_address=deployed.address,
                                    deploy_block=deployed.deploy_block))
    try:
        result = add_issuer(rt, name="Bulk Academy")
        fund_on_anvil(node, rt.signer_for(result.issuer))
        store, anchorer = rt.store(), rt.anchorer()
        profile = rt.issuance(result.issuer)
        big = issue(store, result.issuer, profile, sample_items(BULK), max_items=BULK)
        [big_batch] = anchorer.seal_due(force=True)
        small = issue(store, result.issuer, profile, sample_items(5, start=BULK), max_items=5)
        anchorer.run_until_idle(timeout=60)
        revoked = [a.id for a in big[::500]]  # 20 credentials
        for cid in revoked:
            store.add_revocation(result.issuer.id, "credential",
                                 store.get_credential(cid).credential_hash, 1)
        small_batch = store.get_credential(small[0].id).batch_id
        assert small_batch != big_batch.id
        store.add_revocation(result.issuer.id, "batch", store.get_batch(small_batch).root, 2)
        anchorer.run_until_idle(timeout=60, force_seal=False)

        folder = tmp / "badges"
        folder.mkdir()
        proofs = rt.proofs()
        expected: dict[str, str] = {}
        for cred in [*store.batch_credentials(big_batch.id), *store.batch_credentials(small_batch)]:
            name = cred.id[len("urn:uuid:"):] + ".json"
            (folder / name).write_text(json.dumps(proofs.credential_file(cred)), encoding="utf-8")
            expected[name] = "VALID"
        for cid in revoked:
            expected[cid[9:] + ".json"] = "REVOKED"
        for a in small:
            expected[a.id[9:] + ".json"] = "REVOKED"
        for a in big[250::500]:  # 20 others altered after issue
            path = folder / (a.id[9:] + ".json")
            doc = json.loads(path.read_text())
            doc["credentialSubject"]["name"] = "Mallory"
            path.write_text(json.dumps(doc))
            expected[path.name] = "INVALID"
    finally:
        rt.close()
    yield Files(node.url, deployed.address, folder, expected)
    node.stop()


def verify(capsys, *args: str):
    return run_inline(verify_command, *args, capsys=capsys)


def test_bulk_verify_reports_each_of_10000_files(files):
    r = run_script("verify.py", *files.chain_args(), str(files.folder), "--json", timeout=300)
    assert r.returncode == 1, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    got = {Path(row["file"]).name: row["status"] for row in rows}
    assert len(rows) == len(files.expected) == BULK + 5
    assert got == files.expected
    by_status = {s: sum(1 for v in got.values() if v == s) for s in set(got.values())}
    assert by_status == {"VALID": BULK - 40, "REVOKED": 25, "INVALID": 20}
    tampered = next(row for row in rows if row["status"] == "INVALID")
    failed = {c["name"]: c["outcome"] for c in tampered["checks"]}
    assert failed["integrity"] == "fail"
    revoked = next(row for row in rows if row["status"] == "REVOKED")
    assert next(c for c in revoked["checks"] if c["name"] == "revocation")["outcome"] == "fail"
    assert f"verified {BULK + 5} file(s): {BULK - 40} VALID, 25 REVOKED, 20 INVALID" in r.stderr
    print(r.stderr.strip().splitlines()[-1])  # the measured rate, for the record


def test_globs_csv_listings_and_a_table(files, tmp_path, capsys):
    valid = sorted(n for n, s in files.expected.items() if s == "VALID")[:6]
    bad = next(n for n, s in files.expected.items() if s == "INVALID")
    sub = tmp_path / "sub"
    sub.mkdir()
    for name in valid[:3]:
        shutil.copy(files.folder / name, sub / name)
    listing = tmp_path / "listing.csv"
    listing.write_text("holder,path\n" + "".join(
        f"someone,{files.folder / n}\n" for n in valid[3:]) + f"someone,sub/{valid[0]}\n")
    r = verify(capsys, *files.chain_args(), str(tmp_path / "sub" / "*.json"),
                   str(listing))
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["STATUS", "FILE", "DETAIL"]
    assert len(lines) == 1 + 6 and all(line.startswith("VALID ") for line in lines[1:])

    plain = tmp_path / "plain.csv"  # no header: the first column
    plain.write_text(f"{files.folder / bad}\n{files.folder / valid[0]}\n")
    (tmp_path / "notjson.json").write_text("{not json")
    r = verify(capsys, *files.chain_args(), str(plain), str(tmp_path / "notjson.json"))
    assert r.returncode == 1
    rows = {line.split()[1]: line for line in r.stdout.splitlines()[1:]}
    assert rows[str(files.folder / bad)].startswith("INVALID") and "integrity:" in rows[
        str(files.folder / bad)]
    assert rows[str(files.folder / valid[0])].startswith("VALID")
    assert "not a credential file" in rows[str(tmp_path / "notjson.json")]

    r = verify(capsys, *files.chain_args(), str(tmp_path / "missing.json"))
    assert r.returncode == 3 and r.stderr == f"error: no such file or folder: {tmp_path / 'missing.json'}\n"
    (tmp_path / "gap.csv").write_text("path\nnope.json\n")
    r = verify(capsys, *files.chain_args(), str(tmp_path / "gap.csv"))
    assert r.returncode == 3 and "row 2: no such file: nope.json" in r.stderr


def test_trust_is_the_callers_not_the_files(files, tmp_path, capsys):
    one = files.folder / next(n for n, s in files.expected.items() if s == "VALID")
    other = "0x" + "12" * 20
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps({"trusted": [{"chainId": 31337, "contract": files.contract,
                                              "name": "Bulk registry"}]}))
    r = verify(capsys, "--rpc", files.node_url, "--trust-list", str(trust), str(one))
    assert r.returncode == 0, r.stderr
    # a contract with no code is refused up front; a trusted contract on another chain
    # (no --rpc for it) leaves the file ERROR, not INVALID
    r = verify(capsys, "--rpc", files.node_url, "--chain-id", "31337", "--contract",
                   other, str(one))
    assert r.returncode == 3 and "no contract at" in r.stderr
    trust.write_text(json.dumps([{"chainId": 31337, "contract": files.contract},
                                 {"chainId": 5, "contract": other}]))
    doc = json.loads(one.read_text())
    doc["proof"][-1]["anchor"].update(chainId=5, contract=other)
    moved = tmp_path / "moved.json"
    moved.write_text(json.dumps(doc))
    r = verify(capsys, "--rpc", files.node_url, "--trust-list", str(trust), str(moved),
                   "--json")
    assert r.returncode == 4 and json.loads(r.stdout)["status"] == "ERROR"
    # without the trust list that file names an untrusted registry: INVALID
    r = verify(capsys, *files.chain_args(), str(moved), "--json")
    assert r.returncode == 1
    checks = {c["name"]: c["outcome"] for c in json.loads(r.stdout)["checks"]}
    assert checks["trusted-anchor"] == "fail"


def test_unreachable_chain_exits_4(files):
    one = files.folder / next(iter(files.expected))
    r = run_script("verify.py", "--rpc", f"http://127.0.0.1:{free_port()}", "--chain-id",
                   "31337", "--contract", files.contract, str(one))
    assert r.returncode == 4, r.stderr
    assert r.stderr.startswith("error: the chain could not be reached") and r.stdout == ""
    r = run_script("verify.py", "--rpc", files.node_url, str(one))
    assert r.returncode == 3 and "say what to trust" in r.stderr


def test_hand_encoded_batches_answer_like_web3(files):
    from credanchor.chain.contract import CredentialAnchor, Deployment
    from credanchor.chain.gateway import ChainReader
    from credanchor.chain.rpc import connect_rpc
    from credanchor.core.proof import extract_proof
    from credanchor.verify.bulk import batched_revocations, batched_verify, verify_calldata

    contract = CredentialAnchor(connect_rpc(files.node_url, expected_chain_id=31337),
                                files.contract)
    keys = []
    for status, count in (("VALID", 3), ("REVOKED", 25), ("INVALID", 3)):  # both revocations
        for name in [n for n, s in files.expected.items() if s == status][:count]:
            p = extract_proof(json.loads((files.folder / name).read_text()))
            keys.append((p.anchor.issuer_account, p.credential_hash, tuple(p.merkle_proof),
                         p.merkle_root))
    me, h, path, root = keys[0]
    stranger = "0x" + "ab" * 20
    keys += [(me, h, path[1:], root), (me, h, path, bytes(32)), (me, h, (), h),  # bad proof,
             (stranger, h, path, root)]  # unknown roots, a root anchored by another account
    ours = batched_verify(contract, keys, batch=4)
    theirs = contract.verify_many(keys)
    assert [(v.status, v.issuer, v.anchored_at, v.issuer_active) for v in ours] == [
        (r.status, r.issuer, r.anchored_at, r.issuer_active) for r in theirs]
    assert {v.status for v in ours} == {0, 1, 2, 3, 4}
    assert (ours[-1].status, ours[-1].issuer.lower(), ours[-1].anchored_at) == (1, stranger, 0)
    # revocation details, batched, worded as the verifier's reader words them
    chain = ChainReader(contract.w3, contract, Deployment(31337, contract.address, 0))
    creds = [(v.issuer, k[1]) for k, v in zip(keys, ours, strict=True) if v.status in (0, 3)]
    batches = [(k[0], k[3]) for k, v in zip(keys, ours, strict=True) if v.status in (0, 4)]
    batches.append((stranger, root))  # not that account's batch: nothing revoked
    cred_details, batch_details = batched_revocations(contract, creds, batches)
    assert cred_details == [chain.revocation_reason(i, h, bytes(32)) for i, h in creds]
    assert batch_details == [chain.revocation_reason(i, bytes(32), r) for i, r in batches]
    assert batch_details[-1] == {}
    assert {d.get("scope") for d in cred_details + batch_details} == {None, "credential", "batch"}
    assert verify_calldata(me, h, list(path), root) == bytes.fromhex(
        contract._contract.encode_abi("verify", args=[me, h, list(path), root])[2:])


def _where(result):
    """A digest run in the worker: which process verified the file, and its status."""
    return os.getpid(), result.path.name, result.status.value


def test_processes_and_a_node_lost_mid_run(files):
    from credanchor.verify.bulk import open_bulk_verifier, verify_files_in_processes

    names = sorted(files.expected)[:60] + [n for n, s in files.expected.items() if s != "VALID"][:6]
    paths = [files.folder / n for n in names]
    options = {"rpc_urls": [files.node_url], "contract": files.contract, "chain_id": 31337}
    bulk = open_bulk_verifier(chunk=25, **options)
    single = [(r.path.name, r.status.value) for r in bulk.verify_files(paths)]
    assert single == [(n, files.expected[n]) for n in names]
    parallel = list(verify_files_in_processes(paths, jobs=2, chunk=20, min_task=10,
                                              digest=_where, **options))
    assert [(name, status) for _, name, status in parallel] == single
    # the first file in this process, the others in two workers
    assert parallel[0][0] == os.getpid()
    assert len({pid for pid, _, _ in parallel[1:]} - {os.getpid()}) == 2

    [reader] = bulk.readers.values()
    reader.chain.w3.provider.endpoint_uri = f"http://127.0.0.1:{free_port()}"  # the node goes
    reader._head = None
    # the tampered files stay INVALID (altered bytes are fake, whatever the chain says); every
    # other file is ERROR, never INVALID
    results = list(bulk.verify_files(paths))
    assert [r.status.value for r in results] == [
        "INVALID" if files.expected[n] == "INVALID" else "ERROR" for n in names]
    results = [r for r in results if r.status.value == "ERROR"]
    assert "node unreachable" in results[0].reason()


def _mixed_folder(files: Files, folder: Path) -> dict[str, str]:
    """About 250 files, sorted so that every kind lands in several tasks: valid, revoked one
    by one, of the revoked batch, tampered, and files that are no credentials at all (bad
    JSON, not UTF-8, empty, an array, an empty object, a damaged proof, a name with an
    escape sequence). Returns file name -> expected status."""
    folder.mkdir()
    by_status: dict[str, list[str]] = {}
    for name, status in sorted(files.expected.items()):
        by_status.setdefault(status, []).append(name)
    expected = {n: files.expected[n]
                for n in by_status["VALID"][:200] + by_status["REVOKED"] + by_status["INVALID"]}
    for name in expected:
        shutil.copy(files.folder / name, folder / name)
    odd = {"3-bad.json": b"{not json", "6-latin1.json": b'{"name": "\xe9"}', "9-empty.json": b"",
           "a-array.json": b"[1, 2]", "c-object.json": b"{}",
           "f-esc\x1b[31mred.json": (files.folder / by_status["VALID"][0]).read_bytes()}
    for name, content in odd.items():
        (folder / name).write_bytes(content)
    damaged = json.loads((files.folder / by_status["VALID"][1]).read_text())
    damaged["proof"][-1]["merkleRoot"] = "not a root"
    (folder / "d-damaged.json").write_text(json.dumps(damaged))
    expected.update({"3-bad.json": "INVALID", "6-latin1.json": "INVALID",
                     "9-empty.json": "INVALID", "a-array.json": "INVALID",
                     "c-object.json": "INVALID", "d-damaged.json": "INVALID",
                     "f-esc\x1b[31mred.json": "VALID"})
    return expected


def _timeless(output: str) -> str:
    """The output without the validity check's ``checkedAt`` (the second it was checked)."""
    return re.sub(r'"checkedAt": "[^"]*"', '"checkedAt": "…"', output)


def test_the_output_is_the_same_whatever_the_number_of_workers(files, tmp_path):
    expected = _mixed_folder(files, tmp_path / "mixed")
    summary = "verified 252 file(s): 201 VALID, 26 INVALID, 25 REVOKED"
    for options in (["--json"], [], ["--problems-only"]):
        runs = {n: run_script("verify.py", *files.chain_args(), str(tmp_path / "mixed"),
                              *options, "-j", str(n), timeout=300) for n in (1, 2)}
        one = runs[1]
        assert one.returncode == 1, one.stderr
        assert one.stderr.startswith(summary), one.stderr
        for n, run in runs.items():  # byte for byte, and the same exit code and summary
            assert (run.returncode, _timeless(run.stdout)) == (1, _timeless(one.stdout)), n
            assert run.stderr.split(" — ")[0] == one.stderr.split(" — ")[0]
        if options == ["--json"]:
            json_lines = one.stdout
            got = {Path(json.loads(line)["file"]).name: json.loads(line)["status"]
                   for line in one.stdout.splitlines()}
            assert got == expected
        elif options == []:
            assert len(one.stdout.splitlines()) == 1 + len(expected)
            assert "\x1b" not in one.stdout and "f-esc\\x1b[31mred.json" in one.stdout
        else:
            assert len(one.stdout.splitlines()) == 1 + len(expected) - 201
    # the default is one worker per CPU: the same again
    default = run_script("verify.py", *files.chain_args(), str(tmp_path / "mixed"), "--json",
                         timeout=300)
    assert (default.returncode, _timeless(default.stdout)) == (1, _timeless(json_lines))


def test_chain_reads_per_run_not_per_file_or_worker(files, tmp_path):
    """Through a counting proxy in front of anvil: N files of one batch cost N ``verify``
    calls in JSON-RPC batches of 200, and one read of everything else — the anchoring
    transaction, the issuer record, the head — whatever the number of workers."""
    from credanchor.verify.bulk import verify_files_in_processes
    from kit.rpc_proxy import CountingProxy

    valid = [files.folder / n for n, s in sorted(files.expected.items()) if s == "VALID"]
    proxy = CountingProxy(files.node_url)
    try:
        options = {"rpc_urls": [proxy.url], "contract": files.contract, "chain_id": 31337}
        counts = {}
        for n, workers in ((400, 1), (400, 2), (1600, 2)):
            proxy.reset()
            started = time.monotonic()
            results = list(verify_files_in_processes(valid[:n], jobs=workers, **options))
            assert [r.status.value for r in results] == ["VALID"] * n
            counts[(n, workers)] = (proxy.requests, dict(proxy.methods),
                                    (workers + 1) * (1 + (time.monotonic() - started) / 2))
    finally:
        proxy.close()
    for (n, _), (requests_, methods, heads) in counts.items():
        # one eth_call per file (the contract's verify), one more for the issuer record
        assert methods["eth_call"] == n + 1
        assert methods["eth_getTransactionReceipt"] == 1
        assert (methods["eth_chainId"], methods["eth_getCode"]) == (2, 1)  # start-up, once
        # the head: at most once per process every 2 s (however many files)
        assert 1 <= methods["eth_blockNumber"] <= heads
        assert set(methods) == {"eth_call", "eth_getTransactionReceipt", "eth_chainId",
                                "eth_getCode", "eth_blockNumber"}
        # round trips: the verify batches (<= 200 calls, one task at least one) plus a few
        assert requests_ <= -(-n // 100) + 8
    assert {k: v for k, v in counts[(400, 1)][1].items() if k != "eth_blockNumber"} == {
        k: v for k, v in counts[(400, 2)][1].items() if k != "eth_blockNumber"}
