#!/usr/bin/env python3
"""Bounded load test on loopback: the production layout under concurrent issuers and verifiers.

Starts a fresh anvil, deploys CredentialAnchor, adds an issuer, then runs gunicorn (``-w 4``) and
one ``credanchor worker`` exactly as the README's production layout does. ``--clients`` threads
then, for ``--duration`` seconds, each either issue 1-3 credentials (``POST /api/v1/credentials``)
or verify an anchored badge (``POST /api/v1/verify``). Afterwards it waits for the worker to
anchor everything, checks that every accepted credential is anchored exactly once (ledger against
the chain's ``Anchored`` events), verifies a sample of them through the API, prints latency
percentiles per request kind, and exits non-zero on any error or lost credential.

All traffic goes to 127.0.0.1; every loop is bounded in time (``--duration`` at most 600 s).

Example (the figures in docs/reliability.md):

    python bench/load.py --duration 60 --clients 50

The public rate limit is raised for the run (every client shares one address; the limiter is
tested elsewhere), and keystores use a cheap scrypt factor so that start-up stays quick.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "service"), str(ROOT / "tests")]

from kit.service import Service, start_world  # noqa: E402

MAX_DURATION = 600.0


# -- processes ----------------------------------------------------------------------------------


def wait_until(fn, timeout: float, what: str, poll: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = fn()
        except (requests.RequestException, RuntimeError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(poll)


def start_stack(data_dir: Path, *, workers: int, block_time: float | None) -> Service:
    """anvil (a block every ``block_time`` s, else one per transaction), the contract, one funded
    issuer, then gunicorn and the worker: tests/kit/service.py, as the reliability tests run it."""
    return start_world(
        data_dir, workers=workers,
        anvil_args=("--block-time", str(block_time)) if block_time else (),
        wei=10**21, password="load-test-password",
        CREDANCHOR_BATCH_MAX_AGE="1", CREDANCHOR_WORKER_INTERVAL="0.2",
        CREDANCHOR_RPC_TIMEOUT="10", CREDANCHOR_PUBLIC_RATE_LIMIT="1000000/minute")


# -- the clients ----------------------------------------------------------------------------------


def item(n: int) -> dict[str, Any]:
    return {
        "recipient": {"name": f"Load Learner {n}", "email": f"learner{n}@example.org"},
        "achievement": {"name": "Data Literacy", "description": "Reads and presents data.",
                        "criteria": "Passed the final assessment."},
        "validFrom": "2026-01-15T09:00:00Z",
    }


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"issue": [], "verify": []})
    errors: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    verdicts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def client_loop(stack: Service, files: list[dict[str, Any]], deadline: float, seed: int,
                issue_share: float, results: Results) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    auth = {"Authorization": f"Bearer {stack.api_key}"}
    n = seed * 1_000_000
    while time.monotonic() < deadline:
        kind = "issue" if rng.random() < issue_share else "verify"
        t0 = time.perf_counter()
        try:
            if kind == "issue":
                count = rng.randint(1, 3)
                resp = session.post(f"{stack.base}/api/v1/credentials",
                                    json=[item(n + i) for i in range(count)], headers=auth,
                                    timeout=30)
                n += count
                ok = resp.status_code == 202
                ids = [c["id"] for c in resp.json()["credentials"]] if ok else []
            else:
                resp = session.post(f"{stack.base}/api/v1/verify", json=rng.choice(files),
                                    timeout=30)
                ok = resp.status_code == 200
                verdict = resp.json().get("status") if ok else None
                ok = ok and verdict == "VALID"
        except (requests.RequestException, ValueError) as exc:
            with results.lock:
                results.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            continue
        elapsed = time.perf_counter() - t0
        with results.lock:
            results.latencies[kind].append(elapsed)
            if not ok:
                results.errors.append(f"{kind}: HTTP {resp.status_code} {resp.text[:200]}")
            elif kind == "issue":
                results.accepted.extend(ids)
            else:
                results.verdicts[verdict] = results.verdicts.get(verdict, 0) + 1


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


# -- after the run --------------------------------------------------------------------------------


def audit(stack: Service, accepted: list[str], timeout: float) -> dict[str, Any]:
    """Wait for the worker to anchor everything, then compare ledger and chain."""
    from credanchor.usecases.config import load_settings
    from credanchor.usecases.container import Runtime

    runtime = Runtime.open(load_settings(env=stack.env))
    try:
        store = runtime.store()
        t0 = time.monotonic()

        def drained() -> bool:
            pending, _ = store.pending_summary()
            return pending == 0 and not store.due_ops("batches", ("queued", "submitted"),
                                                      float("inf"))

        wait_until(drained, timeout, "the worker to anchor the backlog", poll=0.5)
        drain_seconds = time.monotonic() - t0
        status = dict(store.db.execute(
            "SELECT b.status, count(*) FROM credentials c JOIN batches b ON b.id = c.batch_id "
            "GROUP BY b.status").fetchall())
        ledger_ids = {r[0] for r in store.db.execute("SELECT id FROM credentials")}
        lost = sorted(set(accepted) - ledger_ids)
        not_anchored = [cid for cid in accepted if cid in ledger_ids
                        and store.get_credential(cid).status != "anchored"]
        batches = store.list_batches(limit=10**6)
        roots = [bytes(e.args["root"]) for e in runtime.chain.contract.events(names=["Anchored"])]
        sample = random.Random(1).sample(accepted, min(100, len(accepted)))
        proofs = runtime.proofs()
        verifier = runtime.verifier()
        invalid = [cid for cid in sample
                   if verifier.verify(proofs.credential_file(store.get_credential(cid)))
                   .status.value != "VALID"]
        return {
            "drainSeconds": round(drain_seconds, 1),
            "credentialsInLedger": len(ledger_ids),
            "credentialsByBatchStatus": status,
            "lost": len(lost),
            "notAnchored": len(not_anchored),
            "batches": len(batches),
            "anchorsOnChain": len(roots),
            "rootsAnchoredTwice": len(roots) - len(set(roots)),
            "rootsMissingOnChain": len({b.root for b in batches} - set(roots)),
            "sampleVerified": len(sample),
            "sampleNotValid": len(invalid),
        }
    finally:
        runtime.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Bounded load test of credanchor on loopback (anvil + gunicorn + worker).",
        epilog="Example: python bench/load.py --duration 60 --clients 50")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (max 600)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent client threads")
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--issue-share", type=float, default=0.5,
                        help="fraction of requests that issue (the rest verify)")
    parser.add_argument("--block-time", type=float, default=None,
                        help="anvil block time in seconds (default: a block per transaction)")
    parser.add_argument("--drain-timeout", type=float, default=180.0)
    parser.add_argument("--json", dest="json_out", help="also write the results to this file")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= MAX_DURATION:
        parser.error(f"--duration must be in (0, {MAX_DURATION:.0f}]")
    if not 1 <= args.clients <= 500:
        parser.error("--clients must be 1-500")

    data_dir = Path(tempfile.mkdtemp(prefix="credanchor-load-"))
    print(f"starting anvil, gunicorn -w {args.gunicorn_workers} and the worker in {data_dir}",
          flush=True)
    stack = start_stack(data_dir, workers=args.gunicorn_workers, block_time=args.block_time)
    try:
        auth = {"Authorization": f"Bearer {stack.api_key}"}
        warm = requests.post(f"{stack.base}/api/v1/credentials",
                             json=[item(i) for i in range(20)], headers=auth, timeout=30).json()
        warm_ids = [c["id"] for c in warm["credentials"]]

        def anchored_files() -> list[dict[str, Any]] | None:
            files = []
            for cid in warm_ids:
                r = requests.get(f"{stack.base}/api/v1/credentials/{cid}?download=1",
                                 headers=auth, timeout=10)
                if r.status_code != 200:
                    return None
                files.append(r.json())
            return files

        files = wait_until(anchored_files, 60, "the warm-up badges to be anchored", poll=0.5)
        results = Results()
        print(f"{args.clients} clients for {args.duration:.0f}s …", flush=True)
        started = time.monotonic()
        deadline = started + args.duration
        threads = [threading.Thread(target=client_loop, daemon=True,
                                    args=(stack, files, deadline, i + 1, args.issue_share,
                                          results)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=args.duration + 60)
        elapsed = time.monotonic() - started
        accepted = warm_ids + results.accepted
        checked = audit(stack, accepted, args.drain_timeout)
    finally:
        stack.close()
        shutil.rmtree(data_dir, ignore_errors=True)

    report: dict[str, Any] = {
        "durationSeconds": round(elapsed, 1),
        "clients": args.clients,
        "gunicornWorkers": args.gunicorn_workers,
        "requests": {k: len(v) for k, v in results.latencies.items()},
        "requestsPerSecond": round(sum(len(v) for v in results.latencies.values()) / elapsed, 1),
        "latencyMs": {k: {f"p{q}": round(percentile(v, q) * 1000, 1) for q in (50, 95, 99)}
                      | {"max": round(max(v) * 1000, 1) if v else None}
                      for k, v in results.latencies.items()},
        "credentialsAccepted": len(accepted),
        "verdicts": results.verdicts,
        "errors": len(results.errors),
        "errorSamples": results.errors[:5],
        **checked,
    }
    print(json.dumps(report, indent=2))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2) + "\n")
    failed = (results.errors or checked["lost"] or checked["notAnchored"]
              or checked["rootsAnchoredTwice"] or checked["rootsMissingOnChain"]
              or checked["sampleNotValid"])
    print("FAILED" if failed else "OK: zero errors, zero lost credentials")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
