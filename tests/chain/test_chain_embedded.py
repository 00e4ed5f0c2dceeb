"""The embedded chain: persistence across processes, locking, timestamps, speed, threads."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from eth_tester.backends.pyevm.main import _get_transaction_by_hash
from hexbytes import HexBytes

from credanchor.chain.contract import CredentialAnchor
from credanchor.chain.embedded import EmbeddedChain, open_embedded
from credanchor.chain.keys import Signer
from credanchor.chain.tx import (
    BroadcastStatus,
    broadcast,
    build_and_sign,
    next_nonce,
    send_and_wait,
    suggest_fees,
)
from credanchor.core.merkle import MerkleTree
from credanchor.errors import ChainError, ChainIdMismatch, ChainUnavailable, ContractReverted
from kit.chain import POLICY, Deployed, random_hash


def run_python(snippet: str) -> str:
    """Run a snippet in a fresh interpreter (a new process, as after a restart)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(snippet)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def anchor_batch(d: Deployed, size: int = 5) -> tuple[MerkleTree, list[bytes], dict]:
    hashes = [random_hash() for _ in range(size)]
    tree = MerkleTree.from_credential_hashes(hashes)
    receipt = send_and_wait(d.w3, d.issuer, d.contract.anchor(tree.root, size), policy=POLICY)
    return tree, hashes, receipt


def test_deploy_accredit_anchor_verify(embedded_deployed: Deployed) -> None:
    d = embedded_deployed
    me = d.issuer.address
    info = d.contract.issuer_info(me)
    assert (info.name, info.profile_uri, info.active) == ("Test U", "https://t", True)
    assert info.did == f"did:pkh:eip155:1337:{me}"
    assert d.contract.is_admin(d.admin.address)

    tree, hashes, receipt = anchor_batch(d)
    block = d.w3.eth.get_block(receipt["blockNumber"])
    on_chain = d.contract.anchor_of(me, tree.root)
    assert on_chain is not None
    assert (on_chain.issuer, on_chain.count) == (me, 5)
    assert on_chain.anchored_at == block["timestamp"]
    assert d.contract.anchor_of(d.admin.address, tree.root) is None  # anchors are per issuer

    result = d.contract.verify(me, hashes[3], tree.proof(hashes[3]), tree.root)
    assert (result.status, result.status_name, result.issuer) == (0, "Valid", me)
    assert result.anchored_at == on_chain.anchored_at and result.issuer_active
    wrong = d.contract.verify(me, hashes[3], tree.proof(hashes[1]), tree.root)
    assert (wrong.status, wrong.status_name) == (2, "InvalidProof")
    unknown = d.contract.verify(me, hashes[0], [], random_hash())
    assert (unknown.status_name, unknown.anchored_at, unknown.issuer_active) == (
        "NotAnchored", 0, True)
    other = d.contract.verify(d.admin.address, hashes[3], tree.proof(hashes[3]), tree.root)
    assert (other.status_name, other.anchored_at, other.issuer_active) == ("NotAnchored", 0, False)
    assert d.contract.anchor_of(me, random_hash()) is None
    # The Python leaf and the contract's leaf agree.
    assert d.contract.leaf_of(hashes[0]) == MerkleTree.from_credential_hashes([hashes[0]]).root

    send_and_wait(d.w3, d.issuer, d.contract.revoke_credential(hashes[1], 7), policy=POLICY)
    revoked = d.contract.verify(me, hashes[1], tree.proof(hashes[1]), tree.root)
    assert revoked.status_name == "CredentialRevoked"
    revocation = d.contract.credential_revocation(d.issuer.address, hashes[1])
    assert revocation is not None and revocation.reason == 7
    assert d.contract.credential_revocation(d.issuer.address, hashes[2]) is None

    send_and_wait(d.w3, d.admin, d.contract.revoke_batch(me, tree.root, 3), policy=POLICY)
    assert d.contract.verify(me, hashes[2], tree.proof(hashes[2]), tree.root).status_name == (
        "BatchRevoked"
    )
    batch = d.contract.batch_revocation(me, tree.root)
    assert batch is not None and (batch.issuer, batch.by, batch.reason) == (me, d.admin.address, 3)
    assert d.contract.batch_revocation(d.admin.address, tree.root) is None

    results = d.contract.verify_many([(me, h, tree.proof(h), tree.root) for h in hashes])
    assert [r.status_name for r in results] == ["BatchRevoked"] * 5

    names = [e.name for e in d.contract.events()]
    assert names == [
        "RoleGranted",
        "IssuerAccredited",
        "Anchored",
        "CredentialRevoked",
        "BatchRevoked",
    ]
    (anchored,) = d.contract.events(names=["Anchored"], indexed={"root": tree.root})
    assert anchored.args == {"root": tree.root, "issuer": d.issuer.address, "count": 5}
    assert anchored.block_number == receipt["blockNumber"]
    assert anchored.tx_hash == receipt["transactionHash"].to_0x_hex()
    (revoked_event,) = d.contract.events(
        indexed={"issuer": d.issuer.address, "credentialHash": hashes[1]}
    )
    assert (revoked_event.name, revoked_event.args["reason"]) == ("CredentialRevoked", 7)
    assert d.contract.events(indexed={"credentialHash": hashes[2]}) == []


def test_custom_error_is_named(embedded_deployed: Deployed) -> None:
    d = embedded_deployed
    tree, _, _ = anchor_batch(d)
    with pytest.raises(ContractReverted) as raised:
        send_and_wait(d.w3, d.issuer, d.contract.anchor(tree.root, 5), policy=POLICY)
    assert raised.value.error == "CredentialAnchorRootAlreadyAnchored"
    assert raised.value.error_args == (tree.root, d.issuer.address)
    assert "CredentialAnchorRootAlreadyAnchored(0x" in raised.value.detail

    stranger = Signer.generate()
    with pytest.raises(ContractReverted) as raised:
        build_and_sign(
            d.w3,
            stranger,
            d.contract.suspend_issuer(d.issuer.address),
            nonce=0,
            fees=suggest_fees(d.w3, POLICY),
        )
    assert raised.value.error == "AccessControlUnauthorizedAccount"
    assert raised.value.error_args == (stranger.address, b"\x00" * 32)


def test_reopen_in_new_process_sees_same_state(
    tmp_path: Path, chain: EmbeddedChain, embedded_deployed: Deployed
) -> None:
    d = embedded_deployed
    tree, _, _ = anchor_batch(d)
    expected = {
        "issuer": d.issuer.address,
        "anchored_at": d.contract.anchor_of(d.issuer.address, tree.root).anchored_at,  # type: ignore[union-attr]
        "nonce": d.w3.eth.get_transaction_count(d.issuer.address),
        "code": d.w3.eth.get_code(d.contract.address).to_0x_hex(),
        "head": d.w3.eth.block_number,
    }
    chain.close()

    started = time.perf_counter()
    out = run_python(f"""
        import json, time
        from pathlib import Path
        t = time.perf_counter()
        from credanchor.chain.embedded import open_embedded
        from credanchor.chain.contract import CredentialAnchor
        chain = open_embedded(Path({str(tmp_path / "chain.sqlite")!r}))
        opened_ms = (time.perf_counter() - t) * 1000
        w3 = chain.w3
        anchor = CredentialAnchor(w3, {d.contract.address!r}).anchor_of(
            {d.issuer.address!r}, bytes.fromhex({tree.root.hex()!r}))
        print(json.dumps({{
            "issuer": anchor.issuer, "anchored_at": anchor.anchored_at,
            "nonce": w3.eth.get_transaction_count({d.issuer.address!r}),
            "code": w3.eth.get_code({d.contract.address!r}).to_0x_hex(),
            "head": w3.eth.block_number, "chain_id": w3.eth.chain_id,
        }}))
        chain.close()
    """)
    seen = json.loads(out)
    assert seen.pop("chain_id") == 1337
    assert seen == expected
    assert time.perf_counter() - started < 30

    # And this process can carry on where the other left off.
    reopened = open_embedded(tmp_path / "chain.sqlite")
    try:
        contract = CredentialAnchor(reopened.w3, d.contract.address)
        send_and_wait(reopened.w3, d.issuer, contract.anchor(random_hash(), 1), policy=POLICY)
        assert reopened.w3.eth.get_transaction_count(d.issuer.address) == expected["nonce"] + 1
    finally:
        reopened.close()


def test_second_opener_is_refused_at_once(tmp_path: Path, chain: EmbeddedChain) -> None:
    path = tmp_path / "chain.sqlite"
    started = time.perf_counter()
    out = run_python(f"""
        from pathlib import Path
        from credanchor.chain.embedded import open_embedded
        from credanchor.errors import ChainError
        try:
            open_embedded(Path({str(path)!r}))
        except ChainError as exc:
            print("refused:", exc)
    """)
    assert out.startswith("refused: ")
    assert "already open in another process" in out and str(path) in out
    assert time.perf_counter() - started < 30  # no waiting on the lock
    with pytest.raises(ChainError, match="already open"):
        open_embedded(path)  # a second handle in the same process too
    chain.close()
    open_embedded(path).close()  # released on close


def test_reopen_with_another_chain_id_is_refused(tmp_path: Path, chain: EmbeddedChain) -> None:
    chain.close()
    with pytest.raises(ChainIdMismatch, match="chain id 1337, but 5 was requested"):
        open_embedded(tmp_path / "chain.sqlite", chain_id=5)


def test_closed_chain_is_unavailable(chain: EmbeddedChain) -> None:
    chain.close()
    with pytest.raises(ChainUnavailable):
        next_nonce(chain.w3, chain.funded_account().address)


def test_timestamps_follow_the_clock_after_idle_time_and_reopen(
    tmp_path: Path, chain: EmbeddedChain, embedded_deployed: Deployed
) -> None:
    d = embedded_deployed
    # Setup mined several blocks within a second; each block needs a later timestamp than
    # its parent, so the chain clock may be a few seconds ahead. Idle past it, then 2 s more:
    # stock eth-tester would now stamp the next block with the time the last one was mined.
    idle_until = d.w3.eth.get_block("latest")["timestamp"] + 2.2
    time.sleep(max(0.0, idle_until - time.time()))
    before = int(time.time())
    tree, _, receipt = anchor_batch(d, 2)
    stamped = d.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert before <= stamped <= time.time()
    assert d.contract.anchor_of(d.issuer.address, tree.root).anchored_at == stamped  # type: ignore[union-attr]

    chain.close()
    time.sleep(max(0.0, stamped + 1.2 - time.time()))
    reopened = open_embedded(tmp_path / "chain.sqlite")
    try:
        before = int(time.time())
        contract = CredentialAnchor(reopened.w3, d.contract.address)
        receipt = send_and_wait(
            reopened.w3, d.issuer, contract.anchor(random_hash(), 1), policy=POLICY
        )
        later = reopened.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
        assert before <= later <= time.time() and later > stamped
    finally:
        reopened.close()


def test_receipt_lookup_uses_the_index(
    chain: EmbeddedChain, embedded_deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A receipt is found through py-evm's tx-hash index: one block read, however long the
    chain (eth-tester's own lookup reads every block from the head down), and an event replay
    reads only the blocks whose bloom filter names the contract. Counted, not timed: speed is
    measured by bench/chain.py, where load does not decide a test."""
    d = embedded_deployed
    _, _, receipt = anchor_batch(d, 1)
    chain.mine(400)
    tx_hash = receipt["transactionHash"]
    anchored_in = receipt["blockNumber"]
    backend_chain = chain._provider._backend.chain
    # A pass-through spy: every call still reads the real block from the SQLite store.
    read_blocks: list[int] = []
    real_read = backend_chain.get_canonical_block_by_number

    def counted_read(number: int) -> object:
        read_blocks.append(int(number))
        return real_read(number)

    monkeypatch.setattr(backend_chain, "get_canonical_block_by_number", counted_read)

    found = d.w3.eth.get_transaction_receipt(tx_hash)
    assert (found["transactionHash"], found["blockNumber"]) == (tx_hash, anchored_in)
    assert read_blocks == [anchored_in]

    read_blocks.clear()
    block, transaction, _ = _get_transaction_by_hash(backend_chain, bytes(tx_hash))
    assert (block.number, transaction.hash) == (anchored_in, bytes(tx_hash))
    assert len(read_blocks) >= 400  # the backwards scan the index replaces

    read_blocks.clear()
    assert [e.name for e in d.contract.events(names=["Anchored"])] == ["Anchored"]
    head = anchored_in + 400  # read to resolve "latest"
    assert anchored_in in read_blocks
    # None of the 400 empty blocks between the anchor and the head: their bloom rules them out.
    assert {n for n in read_blocks if n != head} <= set(range(anchored_in + 1)), read_blocks


def test_eight_threads_sending_at_once_lose_nothing(
    chain: EmbeddedChain, embedded_deployed: Deployed
) -> None:
    d = embedded_deployed
    issuers = [Signer.generate() for _ in range(8)]
    for issuer in issuers:
        chain.fund(issuer.address, 10**19)
        send_and_wait(
            d.w3, d.admin, d.contract.accredit_issuer(issuer.address, "T", "", did="did:ex:t"),
            policy=POLICY,
        )
    per_thread = 8
    roots: dict[str, list[bytes]] = {i.address: [] for i in issuers}
    errors: list[BaseException] = []

    def work(issuer: Signer) -> None:
        try:
            nonce = next_nonce(d.w3, issuer.address)
            for _ in range(per_thread):
                root = random_hash()
                fees = suggest_fees(d.w3, POLICY)
                signed = build_and_sign(
                    d.w3, issuer, d.contract.anchor(root, 3), nonce=nonce, fees=fees
                )
                assert broadcast(d.w3, signed) is BroadcastStatus.SENT
                roots[issuer.address].append(root)
                nonce += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in issuers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    for issuer in issuers:
        assert d.w3.eth.get_transaction_count(issuer.address) == per_thread
        for root in roots[issuer.address]:
            anchor = d.contract.anchor_of(issuer.address, root)
            assert anchor is not None and anchor.issuer == issuer.address
    assert len(d.contract.events(names=["Anchored"])) == 8 * per_thread


def test_broadcasting_twice_is_harmless(embedded_deployed: Deployed) -> None:
    d = embedded_deployed
    signed = build_and_sign(
        d.w3,
        d.issuer,
        d.contract.anchor(random_hash(), 1),
        nonce=next_nonce(d.w3, d.issuer.address),
        fees=suggest_fees(d.w3, POLICY),
    )
    assert broadcast(d.w3, signed) is BroadcastStatus.SENT
    assert broadcast(d.w3, signed) is BroadcastStatus.ALREADY_MINED
    receipt = d.w3.eth.get_transaction_receipt(HexBytes(signed.hash))
    assert receipt["status"] == 1
    assert d.w3.eth.get_transaction_count(d.issuer.address) == signed.nonce + 1


def test_sigkill_mid_loop_keeps_every_acknowledged_transaction(tmp_path: Path) -> None:
    path = tmp_path / "chain.sqlite"
    writer = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from credanchor.chain.embedded import open_embedded
        chain = open_embedded(Path({str(path)!r}))
        while True:
            tx_hash = chain.fund("0x000000000000000000000000000000000000dEaD", 1)
            print(tx_hash, flush=True)  # acknowledged: its receipt was read back
    """)
    acknowledged: list[str] = []
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        for _ in range(15):
            acknowledged.append(proc.stdout.readline().strip())
        proc.send_signal(signal.SIGKILL)  # mid-loop, wherever it is
        proc.wait(timeout=10)

    chain = open_embedded(path)  # the lock died with the process
    try:
        w3 = chain.w3
        for tx_hash in acknowledged:
            assert w3.eth.get_transaction_receipt(tx_hash)["status"] == 1
        sent = w3.eth.get_transaction_count(chain.funded_account(0).address)
        # Each kill may leave one transaction committed but never acknowledged.
        assert len(acknowledged) <= sent <= len(acknowledged) + 3
        assert w3.eth.get_balance("0x000000000000000000000000000000000000dEaD") == sent
        chain.fund("0x000000000000000000000000000000000000dEaD", 1)  # and it carries on
    finally:
        chain.close()
