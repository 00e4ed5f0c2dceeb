"""Micro-benchmarks of single components, printed for a person (scripts/bench.py runs the
comparisons with peers and writes JSON; bench/workloads.py holds its child-process workloads).

    python bench/micro.py merkle --bench 1000000             # the Merkle tree (core.merkle)
    python bench/micro.py offline --bench 20000 [--batch N]  # offline verification, one core
    python bench/micro.py signed --bench 2000                # per signed badge: issue, verify

They used to be ``python -m credanchor.core.merkle --bench`` and ``python -m
credanchor.verify.offline --bench``; benchmarks live here so the core carries no mains.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))


def bench_merkle(n: int) -> None:
    """Build a tree of ``n`` random leaves, derive every proof, look proofs up by hash."""
    from credanchor.core.merkle import MerkleTree

    hashes = [os.urandom(32) for _ in range(n)]
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    tree = MerkleTree.from_credential_hashes(hashes)
    t1 = time.perf_counter()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    proofs = sum(len(p) for p in tree.iter_proofs())
    t2 = time.perf_counter()
    sample = hashes[: min(n, 10_000)]
    t3 = time.perf_counter()
    for h in sample:
        tree.proof(h)
    t4 = time.perf_counter()
    print(f"leaves                  {n:,}")
    print(f"build                   {t1 - t0:.2f} s ({(t1 - t0) / n * 1e6:.2f} us/leaf)")
    print(
        f"all proofs (input order) {t2 - t1:.2f} s ({(t2 - t1) / n * 1e6:.2f} us/proof,"
        f" {proofs / n:.1f} hashes each)"
    )
    print(f"proof(hash) lookup      {(t4 - t3) / len(sample) * 1e6:.2f} us each")
    print(
        f"stored                  {(len(tree.nodes_blob()) + 36 * n) / 2**20:.0f} MiB "
        "(nodes + hashes + tree indexes)"
    )
    print(f"peak RSS growth in build {(rss1 - rss0) / 1024:.0f} MiB (ru_maxrss)")


def bench_offline(n: int, batch: int) -> None:
    """Offline verification on one core, with and without the schema check, of files from
    one batch of ``batch`` credentials (so the proof depth is log2(batch))."""
    from credanchor.core.credentials import AchievementSpec, Alignment, IssuerProfile, Recipient
    from credanchor.core.credentials import build_credential as build
    from credanchor.core.hashing import canonicalize, credential_hash
    from credanchor.core.merkle import MerkleTree
    from credanchor.core.proof import AnchorRef, CredanchorProof, attach_proof
    from credanchor.verify.offline import verify_offline

    rng = random.Random(7)
    issuer = IssuerProfile(
        address="0x" + "ab" * 20, chain_id=31337, name="Bench Academy", url="https://bench.example"
    )
    spec = AchievementSpec(
        name="Data Literacy",
        description="Reads, questions and presents data.",
        criteria_narrative="Passed the final assessment with a score of at least 70%.",
        achievement_id="https://bench.example/achievements/data-literacy",
        alignments=(Alignment("data literacy", "https://frameworks.example/esco/x", "S1", "ESCO"),),
    )
    t0 = time.perf_counter()
    creds = [
        build(
            issuer=issuer,
            recipient=Recipient(name=f"Learner {i}", email=f"learner{i}@example.org"),
            achievement=spec,
            valid_from=datetime(2026, 1, 1, tzinfo=UTC),
            rng=rng,
        )
        for i in range(batch)
    ]
    t1 = time.perf_counter()
    hashes = [credential_hash(c) for c in creds]
    t2 = time.perf_counter()
    tree = MerkleTree.from_credential_hashes(hashes)
    anchor = AnchorRef(31337, "0x" + "cd" * 20, "0x" + "ee" * 32, 1, datetime.now(UTC),
                       "0x" + "ab" * 20)
    files = [
        attach_proof(c, CredanchorProof(h, tree.root, tuple(p), anchor, datetime.now(UTC)))
        for c, h, p in zip(creds, hashes, tree.iter_proofs(), strict=True)
    ]
    size = len(canonicalize(creds[0]))
    print(f"credentials built        {batch:,} ({(t1 - t0) / batch * 1e6:.1f} us each)")
    print(
        f"credential_hash          {(t2 - t1) / batch * 1e6:.1f} us each ({size} canonical bytes)"
    )
    now = datetime(2026, 6, 1, tzinfo=UTC)
    for schema in (False, True):
        count = n
        # Warm-up, untimed: the first call of a process compiles the schema validators (and
        # cross-checks the first verdict, see validate_credential): once per process.
        verify_offline(files[-1], now, schema=schema)
        t = time.perf_counter()
        for i in range(count):
            verify_offline(files[i % batch], now, schema=schema)
        dt = time.perf_counter() - t
        label = "with schema" if schema else "without schema"
        print(
            f"verify_offline {label:15s} {count / dt:,.0f}/s ({dt / count * 1e6:.0f} us each, "
            f"proof depth {len(tree.proof_at(0))})"
        )


def bench_signed(n: int) -> None:
    """Per signed badge on one core: build + status entry + sign + hash (``items.build_rows``),
    then parse + ``dataintegrity.verify`` (did:key, offline); best of three rounds each."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from credanchor.core.dataintegrity import verify
    from credanchor.core.hashing import loads_strict
    from credanchor.issuing.items import build_rows
    from workloads import items, signing_issuance

    issuance = signing_issuance()
    its = list(items(n))
    slots = [(1 + i // 131_072, i % 131_072) for i in range(n)]
    build_rows(its[:50], issuance, slots=slots[:50])  # imports, caches, the first cross-check
    rounds = []
    for _ in range(3):
        t0 = time.perf_counter()
        rows = build_rows(its, issuance, slots=slots)
        rounds.append(time.perf_counter() - t0)
    print(f"build + sign + hash  {min(rounds) / n * 1e6:6.0f} us per badge (n={n:,}, best of 3)")
    blobs = [r[2].encode() for r in rows[:1000]]
    rounds = []
    for _ in range(3):
        t0 = time.perf_counter()
        for b in blobs:
            assert verify(loads_strict(b)).verified
        rounds.append(time.perf_counter() - t0)
    print(f"parse + verify       {min(rounds) / len(blobs) * 1e6:6.0f} us per badge "
          f"(n={len(blobs):,}, best of 3)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python bench/micro.py",
        description="Benchmark one component on one core.",
        epilog="Examples: python bench/micro.py merkle --bench 1000000; "
        "python bench/micro.py offline --bench 20000",
    )
    sub = parser.add_subparsers(dest="what", required=True)
    merkle = sub.add_parser("merkle", help="the Merkle tree")
    merkle.add_argument("--bench", type=int, metavar="N", required=True, help="number of leaves")
    offline = sub.add_parser("offline", help="offline verification")
    offline.add_argument("--bench", type=int, metavar="N", required=True, help="verifications")
    offline.add_argument("--batch", type=int, default=4096, help="batch size (proof depth)")
    signed = sub.add_parser("signed", help="signing and verifying a signed badge")
    signed.add_argument("--bench", type=int, metavar="N", required=True, help="badges")
    args = parser.parse_args(argv)
    if args.what == "merkle":
        bench_merkle(args.bench)
    elif args.what == "signed":
        bench_signed(args.bench)
    else:
        bench_offline(args.bench, args.batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
