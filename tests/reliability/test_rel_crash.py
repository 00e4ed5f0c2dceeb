"""100 SIGKILLs of a real ``credanchor worker`` process against a real anvil node, while
credentials keep being issued and a few are revoked.

Each run of the worker ends in SIGKILL: either it kills itself at a named fault point of the
anchoring state machine (``CREDANCHOR_CRASH_AT``, every point of ``faults.POINTS`` eight times)
or the test kills it after a random delay. Then one clean worker drains the backlog, and the
ledger, the chain and every holder file are audited: every accepted credential anchored exactly
once, no root anchored twice, every proof VALID (REVOKED for the revoked ones)."""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from collections import Counter

import pytest

from credanchor import faults
from credanchor.issuing.pipeline import issue
from kit.service import assert_exactly_once, deploy_service, spawn_worker, stop, wait_for
from kit.settings import sample_items

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

KILLS = 100
ROUNDS_PER_POINT = 8  # 7 points x 8 = 56 kills at fault points, 44 at random instants


class Issuing(threading.Thread):
    """Issues two credentials every ``period`` seconds through the library, as the API does."""

    def __init__(self, service, period: float = 0.25) -> None:
        super().__init__(name="issuing", daemon=True)
        self.service = service
        self.period = period
        self.stop_event = threading.Event()
        self.accepted: list[str] = []
        self.errors: list[BaseException] = []

    def run(self) -> None:
        rt = self.service.runtime()
        try:
            store = rt.store()
            issuer = store.get_issuer(self.service.issuer_id)
            profile = rt.issuance(issuer)
            n = 0
            while not self.stop_event.is_set():
                got = issue(store, issuer, profile, sample_items(2, start=n), max_items=2)
                self.accepted += [a.id for a in got]
                n += 2
                self.stop_event.wait(self.period)
        except BaseException as exc:  # reported by the test, not lost in a thread
            self.errors.append(exc)
        finally:
            rt.close()


def test_hundred_sigkills_lose_nothing_and_anchor_each_root_once(node, tmp_path):
    service = deploy_service(node, tmp_path / "data", CREDANCHOR_BATCH_SIZE="20",
                             CREDANCHOR_BATCH_MAX_AGE="0.4", CREDANCHOR_TX_TIMEOUT="5")
    rng = random.Random(20260308)
    plan = [("point", p) for p in faults.POINTS for _ in range(ROUNDS_PER_POINT)]
    plan += [("random", None)] * (KILLS - len(plan))
    rng.shuffle(plan)
    log_path = tmp_path / "worker-stderr.log"
    reached: Counter[str] = Counter()
    not_reached: Counter[str] = Counter()
    revoked: dict[str, str] = {}
    issuing = Issuing(service)
    issuing.start()
    rt = service.runtime()
    started = time.monotonic()
    try:
        with open(log_path, "ab") as log:
            for i, (kind, point) in enumerate(plan):
                if kind == "point":
                    proc = spawn_worker(service, stderr=log, CREDANCHOR_CRASH_AT=point)
                    try:
                        proc.wait(timeout=10)
                        reached[point] += 1
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait(timeout=10)
                        not_reached[point] += 1
                else:
                    proc = spawn_worker(service, stderr=log)
                    time.sleep(rng.uniform(0.8, 2.2))
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(timeout=10)
                # The worker never dies of anything but our SIGKILL.
                assert proc.returncode == -signal.SIGKILL, (i, kind, point, proc.returncode)
                if i % 12 == 11:
                    # Revoke one anchored credential now and then: revocations are chain
                    # operations too, and must survive the kills as well.
                    store = rt.store()
                    anchored = store.list_credentials(service.issuer_id, status="anchored",
                                                      limit=1000)
                    candidates = [c for c in anchored if c.id not in revoked]
                    if candidates:
                        c = rng.choice(candidates)
                        store.add_revocation(service.issuer_id, "credential", c.credential_hash,
                                             1)
                        revoked[c.id] = "REVOKED"
        kill_phase = time.monotonic() - started
    finally:
        issuing.stop_event.set()
        issuing.join(timeout=30)
    assert not issuing.errors, issuing.errors
    assert sum(reached.values()) + sum(not_reached.values()) == len(
        [p for p in plan if p[0] == "point"])
    # Every fault point was really reached by a real process (most of the time, every time).
    assert set(reached) == set(faults.POINTS), (reached, not_reached)

    # One clean worker drains everything; then it stops on SIGTERM like a deployed one.
    with open(log_path, "ab") as log:
        final = spawn_worker(service, stderr=log)  # the child keeps its own copy of the fd
    try:
        store = rt.store()

        def drained() -> bool:
            pending, _ = store.pending_summary()
            busy = store.due_ops("batches", ("queued", "submitted"), float("inf"))
            busy += store.due_ops("revocation_ops", ("queued", "submitted"), float("inf"))
            unassigned = store.db.execute(
                "SELECT count(*) FROM revocations WHERE op_id IS NULL").fetchone()[0]
            return pending == 0 and not busy and unassigned == 0

        wait_for(drained, 120, "the clean worker to drain the backlog", poll=0.5)
    finally:
        stop(final)
    assert final.returncode == 0
    stderr = log_path.read_text(errors="replace")
    assert "Traceback" not in stderr, stderr[-3000:]

    audit = assert_exactly_once(rt, issuing.accepted, revoked=revoked)
    rt.close()
    assert audit.credentials == len(issuing.accepted) > 300
    assert audit.statuses.get("REVOKED", 0) == len(revoked) >= 5
    print(f"\n{KILLS} SIGKILLs in {kill_phase:.0f}s: fault points {dict(reached)}, "
          f"not reached in 10s {dict(not_reached)}; {audit.credentials} credentials in "
          f"{audit.batches} batches, {audit.anchors_on_chain} anchors on chain, "
          f"statuses {audit.statuses}")
