"""Throughput and latency of the chain layer on this machine (not collected by pytest).

    python bench/chain.py [--anchors 300]

Prints, for the embedded chain (SQLite, synchronous=FULL) and for anvil over HTTP:
anchors per second through the full build_and_sign + broadcast + receipt path, reopen time,
receipt lookup, event replay and bulk verification.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "service"), str(ROOT / "tests")]  # credanchor, kit

from credanchor.chain.embedded import open_embedded  # noqa: E402
from credanchor.chain.keys import Signer  # noqa: E402
from credanchor.chain.rpc import connect_rpc  # noqa: E402
from credanchor.chain.tx import (  # noqa: E402
    broadcast,
    build_and_sign,
    next_nonce,
    suggest_fees,
    wait_for_receipt,
)
from credanchor.core.merkle import MerkleTree  # noqa: E402
from kit.anvil import ANVIL_CHAIN_ID, fund_on_anvil, start_anvil  # noqa: E402
from kit.chain import POLICY, Deployed, deploy_and_accredit, random_hash  # noqa: E402


def anchors_per_second(d: Deployed, n: int) -> tuple[float, list[bytes]]:
    roots = [random_hash() for _ in range(n)]
    nonce = next_nonce(d.w3, d.issuer.address)
    started = time.perf_counter()
    for root in roots:
        fees = suggest_fees(d.w3, POLICY)
        signed = build_and_sign(d.w3, d.issuer, d.contract.anchor(root, 10), nonce=nonce, fees=fees)
        broadcast(d.w3, signed)
        receipt = wait_for_receipt(d.w3, signed.hash, timeout=30, poll=0.01)
        assert receipt is not None and receipt["status"] == 1
        nonce += 1
    return n / (time.perf_counter() - started), roots


def reads(d: Deployed, label: str, roots: list[bytes]) -> None:
    hashes = [random_hash() for _ in range(1000)]
    tree = MerkleTree.from_credential_hashes(hashes)
    from credanchor.chain.tx import send_and_wait

    receipt = send_and_wait(d.w3, d.issuer, d.contract.anchor(tree.root, 1000), policy=POLICY)
    runs = []
    for _ in range(20):
        t = time.perf_counter()
        d.w3.eth.get_transaction_receipt(receipt["transactionHash"])
        runs.append(time.perf_counter() - t)
    print(f"{label}: receipt lookup {statistics.median(runs) * 1000:.2f} ms (median of 20)")
    t = time.perf_counter()
    events = d.contract.events(names=["Anchored"])
    print(f"{label}: replay {len(events)} Anchored events in {time.perf_counter() - t:.2f} s")
    items = [(h, tree.proof(h), tree.root) for h in hashes]
    t = time.perf_counter()
    results = d.contract.verify_many(items)
    took = time.perf_counter() - t
    assert all(r.valid for r in results)
    print(f"{label}: verify_many 1000 credentials in {took:.2f} s ({1000 / took:.0f}/s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--anchors", type=int, default=300)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chain.sqlite"
        chain = open_embedded(path)
        issuer = Signer.generate()
        chain.fund(issuer.address, 10**20)
        d = deploy_and_accredit(chain.w3, chain.funded_account(0), issuer)
        started = time.perf_counter()
        for _ in range(100):
            chain.fund(issuer.address, 1)
        print(f"embedded: {100 / (time.perf_counter() - started):.1f} plain transfers/s")
        rate, roots = anchors_per_second(d, args.anchors)
        print(f"embedded: {rate:.1f} anchors/s ({args.anchors} anchors, SQLite FULL sync)")
        reads(d, "embedded", roots)
        head = chain.w3.eth.block_number
        chain.close()
        t = time.perf_counter()
        chain = open_embedded(path)
        took = (time.perf_counter() - t) * 1000
        print(
            f"embedded: reopen at {head} blocks in {took:.1f} ms (imports excluded); "
            f"file {path.stat().st_size / 1e6:.1f} MB"
        )
        chain.close()
        started = time.perf_counter()
        code = (
            "from pathlib import Path; from credanchor.chain.embedded import open_embedded; "
            f"open_embedded(Path({str(path)!r})).close()"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
        took = time.perf_counter() - started
        print(f"embedded: a new process imports, opens and closes it in {took:.2f} s")

    node = start_anvil()
    try:
        w3 = connect_rpc(node.url, expected_chain_id=ANVIL_CHAIN_ID)
        admin, issuer = Signer.generate(), Signer.generate()
        fund_on_anvil(node, admin)
        fund_on_anvil(node, issuer)
        d = deploy_and_accredit(w3, admin, issuer)
        rate, roots = anchors_per_second(d, args.anchors)
        print(f"anvil: {rate:.1f} anchors/s ({args.anchors} anchors over HTTP)")
        reads(d, "anvil", roots)
    finally:
        node.stop()


if __name__ == "__main__":
    main()
