"""The node goes away for 30 seconds while issuers keep issuing, against the production layout
(gunicorn with two workers, one ``credanchor worker`` process, anvil over JSON-RPC).

While the node is down: every ``POST /credentials`` is still accepted (202), ``/verify`` of an
anchored badge answers ERROR (never INVALID; from one head TTL after the node went away), ``/healthz`` says degraded, and the worker neither
dies nor marks anything failed. When the node is back (same chain, restored from its state
file): the worker resumes by itself, everything issued during the outage gets anchored exactly
once, and the same badge verifies VALID again."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
import requests

from credanchor.usecases.container import SHARED_HEAD_TTL
from kit.anvil import free_port, start_anvil
from kit.service import (
    assert_exactly_once,
    deploy_service,
    http_ok,
    restart_anvil,
    spawn_gunicorn,
    spawn_worker,
    stop,
    wait_for,
)
from kit.settings import sample_items

pytestmark = [pytest.mark.anvil, pytest.mark.slow]
OUTAGE = 30.0


def test_node_outage_keeps_accepting_reports_error_and_resumes(tmp_path):
    state = tmp_path / "anvil-state.json"
    node = start_anvil("--state", str(state))
    procs: list[subprocess.Popen] = []
    try:
        service = deploy_service(node, tmp_path / "data")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {service.api_key}"}
        worker_log = tmp_path / "worker.log"
        procs.append(spawn_gunicorn(service, port, workers=2))
        with open(worker_log, "wb") as log:  # the child keeps its own copy of the fd
            procs.append(spawn_worker(service, stderr=log))
        wait_for(lambda: http_ok(f"{base}/healthz"), 30, "gunicorn")

        def post(n: int, start: int) -> list[str]:
            r = requests.post(f"{base}/api/v1/credentials", json=sample_items(n, start=start),
                              headers=auth, timeout=10)
            assert r.status_code == 202, r.text
            return [c["id"] for c in r.json()["credentials"]]

        def anchored_count() -> int:
            n, after = 0, 0
            while True:
                r = requests.get(f"{base}/api/v1/credentials?status=anchored&limit=1000"
                                 f"&after={after}", headers=auth, timeout=10).json()
                n += len(r["items"])
                if r["next"] is None:
                    return n
                after = r["next"]

        ids = post(3, 0)
        wait_for(lambda: anchored_count() == 3, 60, "the first anchor")
        badge = requests.get(f"{base}/api/v1/credentials/{ids[0]}?download=1", headers=auth,
                             timeout=10).json()
        assert requests.post(f"{base}/api/v1/verify", json=badge, timeout=10).json()[
            "status"] == "VALID"

        # -- the node goes away --------------------------------------------------------------
        node.stop()
        down_since = time.monotonic()
        # The web app reuses what it read under the last head for up to SHARED_HEAD_TTL
        # seconds (docs/reliability.md, "Verification caches"); from then on: ERROR.
        time.sleep(SHARED_HEAD_TTL)
        during: list[str] = []
        verdicts: list[str] = []
        health: list[int] = []
        while time.monotonic() - down_since < OUTAGE:
            during += post(2, 1000 + len(during))
            verdicts.append(requests.post(f"{base}/api/v1/verify", json=badge, timeout=30)
                            .json()["status"])
            health.append(requests.get(f"{base}/healthz", timeout=30).status_code)
            time.sleep(0.5)
        assert procs[1].poll() is None, "the worker died during the outage"
        assert len(during) >= 30  # at least 15 requests, all accepted
        assert set(verdicts) == {"ERROR"}, verdicts
        assert set(health) == {503}
        assert anchored_count() == 3  # nothing could be anchored, nothing was marked failed
        r = requests.get(f"{base}/api/v1/credentials?status=failed", headers=auth, timeout=10)
        assert r.json()["items"] == []

        # -- the node is back: same chain, same port --------------------------------------------
        node = restart_anvil(node, state)
        back = time.monotonic()
        wait_for(lambda: anchored_count() == 3 + len(during), 120,
                 "the worker to anchor what was issued during the outage", poll=0.5)
        resumed_after = time.monotonic() - back
        assert requests.post(f"{base}/api/v1/verify", json=badge, timeout=10).json()[
            "status"] == "VALID"
        assert http_ok(f"{base}/healthz")
        late = requests.get(f"{base}/api/v1/credentials/{during[-1]}?download=1", headers=auth,
                            timeout=10).json()
        assert requests.post(f"{base}/api/v1/verify", json=late, timeout=10).json()[
            "status"] == "VALID"
        for p in procs:
            stop(p)
        assert procs[1].returncode == 0
        log = worker_log.read_text()
        assert "node unreachable" in log and "Traceback" not in log
        rt = service.runtime()
        try:
            audit = assert_exactly_once(rt, ids + during)
        finally:
            rt.close()
        print(f"\noutage {OUTAGE:.0f}s: {len(during)} credentials accepted while down, "
              f"all anchored {resumed_after:.1f}s after the node came back; "
              f"{audit.batches} batches")
    finally:
        for p in procs:
            stop(p)
        node.stop()


def test_a_hung_node_costs_one_rpc_timeout_per_verification_and_nothing_else(node, tmp_path):
    """The other way a node fails: it accepts connections and never answers (SIGSTOP). Each
    verification waits for ``CREDANCHOR_RPC_TIMEOUT`` (3 s here) and answers ERROR; issuing
    does not touch the node and stays fast; when the node wakes up everything is anchored."""
    service = deploy_service(node, tmp_path / "data", CREDANCHOR_RPC_TIMEOUT="3")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {service.api_key}"}
    procs = [spawn_gunicorn(service, port, workers=2), spawn_worker(service)]
    try:
        wait_for(lambda: http_ok(f"{base}/healthz"), 30, "gunicorn")
        r = requests.post(f"{base}/api/v1/credentials", json=sample_items(2), headers=auth,
                          timeout=10)
        ids = [c["id"] for c in r.json()["credentials"]]

        def download(cid: str):
            r = requests.get(f"{base}/api/v1/credentials/{cid}?download=1", headers=auth,
                             timeout=10)
            return r.json() if r.status_code == 200 else None

        badge = wait_for(lambda: download(ids[0]), 60, "the first anchor")
        node.process.send_signal(signal.SIGSTOP)
        try:
            issue_times, verify_times = [], []
            hung_since = time.monotonic()
            while time.monotonic() - hung_since < 12:
                t0 = time.monotonic()
                r = requests.post(f"{base}/api/v1/credentials",
                                  json=sample_items(1, start=100 + len(ids)), headers=auth,
                                  timeout=30)
                assert r.status_code == 202, r.text
                ids += [c["id"] for c in r.json()["credentials"]]
                issue_times.append(time.monotonic() - t0)
                t0 = time.monotonic()
                report = requests.post(f"{base}/api/v1/verify", json=badge, timeout=60).json()
                verify_times.append(time.monotonic() - t0)
                assert report["status"] == "ERROR", report
        finally:
            node.process.send_signal(signal.SIGCONT)
        print(f"\nhung node: {len(verify_times)} verifications ERROR in "
              f"{min(verify_times):.1f}-{max(verify_times):.1f}s, {len(issue_times)} issues "
              f"202 in at most {max(issue_times) * 1000:.0f} ms")
        assert max(issue_times) < 2.0, issue_times
        assert 2.5 < max(verify_times) < 15, verify_times
        assert all(p.poll() is None for p in procs), "a process died while the node hung"
        wait_for(lambda: all(download(cid) for cid in ids), 90,
                 "everything issued while the node hung to be anchored", poll=0.5)
        assert requests.post(f"{base}/api/v1/verify", json=badge, timeout=10).json()[
            "status"] == "VALID"
    finally:
        for p in procs:
            stop(p)
    rt = service.runtime()
    try:
        assert_exactly_once(rt, ids)
    finally:
        rt.close()
