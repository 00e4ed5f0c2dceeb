"""The load script, briefly: 10 clients for 5 seconds against anvil + gunicorn (4 workers) +
the worker. The 60-second, 50-client run is one documented command (docs/reliability.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from kit.settings import ROOT

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def test_load_script_smoke_run_has_no_errors_and_loses_nothing(tmp_path):
    out = tmp_path / "load.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py"), "--duration", "5", "--clients", "10",
         "--json", str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.rstrip().endswith("OK: zero errors, zero lost credentials")
    report = json.loads(out.read_text())
    assert report["errors"] == 0 and report["lost"] == 0 and report["notAnchored"] == 0
    assert report["requests"]["issue"] >= 10 and report["requests"]["verify"] >= 10
    assert report["credentialsInLedger"] == report["credentialsAccepted"]
    assert report["credentialsByBatchStatus"] == {"confirmed": report["credentialsAccepted"]}
    assert report["anchorsOnChain"] == report["batches"] and report["rootsAnchoredTwice"] == 0
    assert report["verdicts"] == {"VALID": report["requests"]["verify"]}
    assert report["sampleNotValid"] == 0
    for kind in ("issue", "verify"):
        lat = report["latencyMs"][kind]
        assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
