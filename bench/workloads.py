"""Workloads that bench/run.py runs in child processes, one per measurement, so that each
reports its own peak memory. Usage: python bench/workloads.py KIND ARGS… → one JSON line.

  pipeline N WORKERS DIR   build + canonicalise + hash + store (credanchor.issuing.bulk), then seal:
                           Merkle tree + batch row (Store.seal_batch, as the worker does)
  tree HASHES_FILE         credanchor.core.merkle.MerkleTree over the hashes (32 bytes each)
  offline N                offline verification of N credential files on one core
  issue LEDGER ISSUER N    bulk-issue N credentials into an existing ledger (pending)
  signed-pipeline N WORKERS DIR   pipeline, every credential with its status entry and an
                           eddsa-rdfc-2022 signature (a did:key issuer), as a signing issuer issues
  sign N PATH              signed badges per core: build + status entry + sign + hash on one
                           core (items.build_rows); writes the first unsigned credential to PATH
                           (the input of bench/peers/dbvc_issue.mjs)
  offline-signed N         offline verification of N signed, anchored files on one core, the
                           signature included (verify_offline checks it: did:key, offline)
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ACHIEVEMENT = {
    "name": "Excel Modelling",
    "description": "Builds, tests and documents financial models in spreadsheets.",
    "criteria": "Passed a practical assessment marked by two assessors.",
    "skills": [{"framework": "ESCO", "code": "S5.6.1", "name": "use spreadsheets software",
                "url": "http://data.europa.eu/esco/skill/1973c966-f236-40c9-b2d4-5d71a89019be"}],
}


def items(n: int, start: int = 0) -> Iterator[dict[str, Any]]:
    """Simple-form items as an API request or a CSV file gives them: one cohort, one badge."""
    for i in range(start, start + n):
        yield {"recipient": {"name": f"Learner {i}", "email": f"learner{i}@example.org"},
               "achievement": ACHIEVEMENT, "validFrom": "2026-01-15T09:00:00Z"}


def _rss_mb(*, children: bool = False) -> float:
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


#: The bench issuer's Ed25519 seed (a benchmark key, nothing secret).
SEED = bytes(range(32))


def signing_issuance(issuer_id: int = 1) -> Any:
    """The bench issuer as a signing issuer: did:key, status lists under bench.example."""
    from credanchor.core.credentials import IssuerProfile
    from credanchor.core.multikey import Ed25519KeyPair, did_key
    from credanchor.issuing.signing import Issuance

    key = Ed25519KeyPair.from_seed(SEED)
    profile = IssuerProfile(address="0x" + "ab" * 20, chain_id=31337, name="Bench Academy",
                            url="https://bench.example", did=did_key(key.public_key))
    return Issuance(profile=profile, issuer_id=issuer_id, seed=SEED,
                    verification_method=key.verification_method,
                    status_base="https://bench.example")


def pipeline(n: int, workers: int, directory: str, *, signed: bool = False) -> dict[str, Any]:
    from credanchor.core.credentials import IssuerProfile
    from credanchor.issuing.anchoring import build_tree
    from credanchor.issuing.bulk import issue_bulk
    from credanchor.ledger.store import Store

    store = Store(Path(directory) / "ledger.sqlite")
    address = "0x" + "ab" * 20
    issuer = store.add_issuer(address=address, name="Bench Academy")
    profile: Any = IssuerProfile(address=address, chain_id=31337, name="Bench Academy",
                                 url="https://bench.example")
    if signed:
        profile = signing_issuance(issuer.id)
    t0 = time.perf_counter()
    result = issue_bulk(store, issuer.id, profile, items(n), workers=workers)
    t1 = time.perf_counter()
    gc.disable()
    batch = store.seal_batch(issuer.id, max_count=n, build_tree=build_tree)
    t2 = time.perf_counter()
    assert batch is not None and batch.count == n == result.count
    size = Path(directory, "ledger.sqlite").stat().st_size
    store.close()
    parent, worker = _rss_mb(), _rss_mb(children=True)
    return {"n": n, "workers": workers, "signed": signed, "accept_s": t1 - t0,
            "seal_s": t2 - t1,
            "total_s": t2 - t0, "per_s": n / (t2 - t0), "rss_parent_mb": parent,
            "rss_worker_mb": worker,
            "rss_total_mb": parent + (worker * workers if workers > 1 else 0),
            "ledger_mb": size / 2**20}


def tree(path: str) -> dict[str, Any]:
    from credanchor.core.merkle import MerkleTree

    data = Path(path).read_bytes()
    hashes = [data[i : i + 32] for i in range(0, len(data), 32)]
    t0 = time.perf_counter()
    t = MerkleTree.from_credential_hashes(hashes)
    seconds = time.perf_counter() - t0
    return {"root": "0x" + t.root.hex(), "seconds": seconds, "n": len(hashes),
            "rss_mb": _rss_mb()}


def offline(n: int) -> dict[str, Any]:
    import random

    from credanchor.core.credentials import IssuerProfile
    from credanchor.core.hashing import credential_hash
    from credanchor.core.merkle import MerkleTree
    from credanchor.core.proof import AnchorRef, CredanchorProof, attach_proof
    from credanchor.issuing.pipeline import build_from_item
    from credanchor.verify.offline import verify_offline

    random.seed(7)
    profile = IssuerProfile(address="0x" + "ab" * 20, chain_id=31337, name="Bench Academy")
    batch = 4096  # a proof of 12 hashes
    creds = [build_from_item(it, profile, validate=False) for it in items(batch)]
    hashes = [credential_hash(c) for c in creds]
    t = MerkleTree.from_credential_hashes(hashes)
    anchor = AnchorRef(31337, "0x" + "cd" * 20, "0x" + "ee" * 32, 1, datetime(2026, 1, 16, tzinfo=UTC),
                       "0x" + "ab" * 20)
    files = [attach_proof(c, CredanchorProof(h, t.root, tuple(p), anchor,
                                             datetime(2026, 1, 16, tzinfo=UTC)))
             for c, h, p in zip(creds, hashes, t.iter_proofs(), strict=True)]
    # What a verifier receives: bytes, which verify_offline parses (loads_plain) as part of
    # the work, as scripts/verify.py and the API do.
    blobs = [json.dumps(f).encode() for f in files]
    now = datetime(2026, 6, 1, tzinfo=UTC)
    out: dict[str, Any] = {"proof_length": len(t.proof_at(0)), "file_bytes": len(blobs[0])}
    for schema in (False, True):
        count = n
        # Warm-up, untimed: the first call of a process compiles the schema validators (and
        # cross-checks the first verdict, see validate_credential): once per process.
        verify_offline(blobs[-1], now, schema=schema)
        t0 = time.perf_counter()
        for i in range(count):
            report = verify_offline(blobs[i % batch], now, schema=schema)
        dt = time.perf_counter() - t0
        assert report.status.value == "VALID", report
        out["with_schema" if schema else "without_schema"] = {"n": count, "per_s": count / dt}
    out["rss_mb"] = _rss_mb()
    return out


def sign(n: int, path: str) -> dict[str, Any]:
    from credanchor.issuing.items import build_rows

    issuance = signing_issuance()
    its = list(items(n))
    slots = [(1 + i // 131_072, i % 131_072) for i in range(n)]
    build_rows(its[:50], issuance, slots=slots[:50])  # warm-up: imports, caches
    gc.disable()
    t0 = time.perf_counter()
    rows = build_rows(its, issuance, slots=slots)
    seconds = time.perf_counter() - t0
    first = json.loads(rows[0][2])
    first.pop("proof")
    Path(path).write_text(json.dumps(first))
    return {"n": n, "seconds": seconds, "per_s": n / seconds,
            "us_per_badge": 1e6 * seconds / n, "rss_mb": _rss_mb()}


def offline_signed(n: int) -> dict[str, Any]:
    from credanchor.core.merkle import MerkleTree
    from credanchor.core.proof import AnchorRef, CredanchorProof, attach_proof
    from credanchor.issuing.items import build_rows
    from credanchor.verify.offline import verify_offline

    batch = min(n, 4096)
    rows = build_rows(list(items(batch)), signing_issuance(),
                      slots=[(1, i) for i in range(batch)])
    t = MerkleTree.from_credential_hashes([r[1] for r in rows])
    when = datetime(2026, 1, 16, tzinfo=UTC)
    anchor = AnchorRef(31337, "0x" + "cd" * 20, "0x" + "ee" * 32, 1, when, "0x" + "ab" * 20)
    blobs = []
    for r, p in zip(rows, t.iter_proofs(), strict=True):
        signed = json.loads(r[2])
        proof = CredanchorProof(r[1], t.root, tuple(p), anchor, when,
                                previous_proof=signed["proof"][0]["id"])
        blobs.append(json.dumps(attach_proof(signed, proof)).encode())
    now = datetime(2026, 6, 1, tzinfo=UTC)
    gc.disable()
    t0 = time.perf_counter()
    for i in range(n):
        report = verify_offline(blobs[i % batch], now, schema=False)  # parsed there
        # verify_offline checks the signature itself (the `signature` check, did:key offline).
        assert report.status.value == "VALID", report
        assert report.checks[2].name == "signature" and report.checks[2].outcome == "pass"
    dt = time.perf_counter() - t0
    return {"n": n, "seconds": dt, "per_s": n / dt, "us_per_file": 1e6 * dt / n,
            "file_bytes": len(blobs[0]), "rss_mb": _rss_mb()}


def issue(ledger: str, issuer_id: int, n: int, start: int) -> dict[str, Any]:
    from credanchor.core.credentials import IssuerProfile
    from credanchor.issuing.bulk import issue_bulk
    from credanchor.ledger.store import Store

    store = Store(ledger)
    iss = store.get_issuer(issuer_id)
    profile = IssuerProfile(address=iss.address, chain_id=31337, name=iss.name, url=iss.url)
    t0 = time.perf_counter()
    result = issue_bulk(store, issuer_id, profile, items(n, start))
    store.close()
    return {"n": result.count, "seconds": time.perf_counter() - t0, "rss_mb": _rss_mb()}


def main(argv: list[str]) -> int:
    kind, args = argv[0], argv[1:]
    if kind == "pipeline":
        directory = args[2] if len(args) > 2 else tempfile.mkdtemp(prefix="bench-pipe-")
        out = pipeline(int(args[0]), int(args[1]), directory)
    elif kind == "signed-pipeline":
        directory = args[2] if len(args) > 2 else tempfile.mkdtemp(prefix="bench-pipe-")
        out = pipeline(int(args[0]), int(args[1]), directory, signed=True)
    elif kind == "sign":
        out = sign(int(args[0]), args[1])
    elif kind == "offline-signed":
        out = offline_signed(int(args[0]))
    elif kind == "tree":
        out = tree(args[0])
    elif kind == "offline":
        out = offline(int(args[0]))
    elif kind == "issue":
        out = issue(args[0], int(args[1]), int(args[2]), int(args[3]))
    else:
        raise SystemExit(f"unknown workload {kind!r}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
