#!/usr/bin/env python3
"""Where the CPU of ``POST /api/v1/verify`` goes under the benchmark's load, round by round.

Starts what ``scripts/bench.py``'s chain section starts (anvil, the contract, gunicorn and the
anchoring worker), posts and anchors ``--anchored`` signed badges, writes 500 of their holder
files, warms up with 300 requests, then runs ``--rounds`` rounds of ``--requests`` requests at 32
at a time with the bench's load generator. For each round it prints the rate and latencies and,
read from ``/proc`` before and after, every process's CPU divided by the round's requests:
each gunicorn worker, the anchoring worker, anvil, and the load generator (this process).

    python bench/api_cpu.py                                  # 2,000 anchored, 3 rounds of 10,000
    python bench/api_cpu.py --anchored 100000 --rounds 3     # as after the bench's end to end

Printed for a person; docs/benchmarks.md quotes its figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
import run

_TICK = os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--anchored", type=int, default=2_000, help="badges posted and anchored first")
    ap.add_argument("--rounds", type=int, default=3, help="measured rounds [3]")
    ap.add_argument("--requests", type=int, default=10_000, help="requests a round [10,000]")
    args = ap.parse_args(argv)
    if args.anchored < 500 or args.rounds < 1 or args.requests < 1:
        ap.error("--anchored must be at least 500 (the files cycled), --rounds and --requests "
                 "at least 1")

    work = Path(tempfile.mkdtemp(prefix="credanchor-api-cpu-"))
    dep = harness.deploy(work / "data", batch_size=10_000)
    try:
        harness.start_services(dep, api_workers=2)
        run._post_all(dep, args.anchored)
        run._wait_anchored(dep, args.anchored, timeout=1800)
        run._export_files(dep, work / "files", limit=500)
        bodies = run._verify_bodies(dep, work / "files", warmup=300)
        gunicorn, worker = dep.procs
        names = {gunicorn.pid: "gunicorn master"}
        names.update({p: "gunicorn worker" for p in _descendants(gunicorn.pid)[1:]})
        names.update({p: "anchoring worker" for p in _descendants(worker.pid)})
        names.update({p: "anvil" for p in _descendants(dep.node.process.pid)})
        print(f"{args.anchored:,} badges anchored; 500 files cycled, 32 concurrent")
        for n in range(1, args.rounds + 1):
            before = {p: _cpu_seconds(p) for p in names}
            mine = os.times()
            r = harness.load_test(dep.base, "/api/v1/verify", bodies, total=args.requests,
                                  concurrency=32, max_seconds=120)
            mine_after = os.times()
            after = {p: _cpu_seconds(p) for p in names}
            done = r["requests"] or 1
            print(f"round {n}: {r['requests']:,} requests, {r['rps']:,.0f} rps, "
                  f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, statuses {r['statuses']}")
            for p, name in names.items():
                print(f"  {name:17} {p:>7}  {(after[p] - before[p]) / done * 1e6:6.0f} µs a request")
            spent = (mine_after.user + mine_after.system) - (mine.user + mine.system)
            print(f"  {'load generator':17} {os.getpid():>7}  {spent / done * 1e6:6.0f} µs a request")
    finally:
        dep.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
