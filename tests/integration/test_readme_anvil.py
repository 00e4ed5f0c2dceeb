"""The README's "Running against a local anvil" walkthrough, run as written (issue 12): its
shell block is read from README.md and each command runs as the `credanchor` subprocess
against a real anvil, so the README stays true. Then the case that sent an operator waiting:
an unfunded issuer's anchor fails and stores a back-off; after `issuer fund` an explicit
`credanchor anchor` completes at once. And `issuer fund` over RPC on a chain that is not a
development chain."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from credanchor.ledger.store import Store
from kit.anvil import ANVIL_CHAIN_ID, AnvilNode, start_anvil

pytestmark = [pytest.mark.anvil, pytest.mark.slow]
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
PASSWORD = "readme-walkthrough"


def readme_block() -> list[str]:
    """The command lines of the first sh block of the README's anvil section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Running against a local anvil", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "no sh block in the README's anvil section"
    return [ln for ln in block.group(1).splitlines() if ln.strip()]


def clean_env(cwd: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDANCHOR_")}
    env["HOME"] = str(cwd)
    return env


def credanchor(env: dict[str, str], cwd: Path, *args: str, timeout: float = 180):
    return subprocess.run([str(BIN / "credanchor"), *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def expand(word: str, env: dict[str, str]) -> str:
    return re.sub(r"\$(\w+)", lambda m: env[m.group(1)], word)


@pytest.fixture
def nodes():
    started: list[AnvilNode] = []
    yield started
    for n in started:
        n.stop()


def follow_readme(tmp_path: Path, nodes: list[AnvilNode], *, stop_before: str | None = None):
    """Run the README's block line by line; returns (env, outputs by command). Placeholders
    (`0x…`, `…`) take what the commands printed, or our password; the port is anvil's."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    env = clean_env(tmp_path)
    outputs: dict[str, subprocess.CompletedProcess[str]] = {}
    for line in readme_block():
        words = shlex.split(line, comments=True)
        if words[:2] == ["npx", "anvil"]:
            assert words[2:] == ["--chain-id", str(ANVIL_CHAIN_ID), "&"]
            nodes.append(start_anvil())
        elif words[0] == "export":
            for assignment in words[1:]:
                name, value = assignment.split("=", 1)
                if name == "CREDANCHOR_RPC_URL":
                    assert value == "http://127.0.0.1:8545"
                    value = nodes[-1].url
                elif value == "0x…":
                    value = outputs["deploy"].stdout.splitlines()[0]
                elif value == "…":
                    value = PASSWORD
                env[name] = value
        else:
            assert words[0] == "credanchor", f"README line not understood: {line}"
            key = " ".join(w for w in words[1:3] if not w.startswith(("-", "$")))
            if stop_before is not None and key.startswith(stop_before):
                return env, outputs
            result = credanchor(env, tmp_path, *(expand(w, env) for w in words[1:]))
            assert result.returncode == 0, f"{line}\n{result.stdout}{result.stderr}"
            outputs[key] = result
    return env, outputs


def test_the_readme_anvil_walkthrough_works_as_written(tmp_path, nodes):
    env, out = follow_readme(tmp_path, nodes)
    assert re.fullmatch(r"0x[0-9a-fA-F]{40}", env["CREDANCHOR_CONTRACT_ADDRESS"])
    assert "accredited on chain: yes" in out["issuer add"].stdout
    funded = out["issuer fund"].stdout.splitlines()
    assert re.match(r"sent 10 ETH to issuer 1 \(0x[0-9a-fA-F]{40}\): tx 0x[0-9a-f]{64}$",
                    funded[0])
    assert funded[1] == "balance: 10 ETH"
    issued = out["issue examples/badges.csv"].stdout
    assert "accepted 4 credential(s)" in issued and "anchored and confirmed" in issued
    header, *verified = out["verify out/anvil-badges/"].stdout.splitlines()
    assert header.split() == ["STATUS", "FILE", "DETAIL"]  # the one verify table
    assert len(verified) == 4 and all(v.startswith("VALID ") for v in verified)
    # The issuer paid for its anchor out of what `issuer fund` sent it.
    address = funded[0].split("(")[1].split(")")[0]
    balance = nodes[0].rpc("eth_getBalance", [address, "latest"])
    assert 0 < int(str(balance), 16) < 10 * 10**18


def test_an_explicit_anchor_retries_at_once_once_the_issuer_is_funded(tmp_path, nodes):
    env, _ = follow_readme(tmp_path, nodes, stop_before="issuer fund")
    failed = credanchor(env, tmp_path, "issue", "examples/badges.csv", "--issuer", "1",
                        "--anchor", "--timeout", "3")
    assert failed.returncode == 3, failed.stdout + failed.stderr
    # The worker's warnings for each try, then the one-line error.
    last = failed.stderr.splitlines()[-1]
    assert last.startswith("error: anchoring did not finish within 3s") and "fund the account" in last
    ledger = tmp_path / env["CREDANCHOR_DATA_DIR"] / "ledger.sqlite"
    store = Store(ledger)
    try:
        (batch,) = store.list_batches()
        # Signed and stored before the broadcast the node refused: submitted, not yet sent.
        assert batch.status == "submitted" and "fund the account" in (batch.last_error or "")
        # What the background worker stores after eight failures in a row (2 s doubling):
        # the 256 s an operator then waited out (3 min 26 s) before this fix.
        store.mark_retry("batches", batch.id, batch.last_error or "", delay=256)
    finally:
        store.close()

    assert credanchor(env, tmp_path, "issuer", "fund", "1", "--eth", "1").returncode == 0
    started = time.monotonic()
    done = credanchor(env, tmp_path, "anchor", "--timeout", "30")
    assert done.returncode == 0, done.stdout + done.stderr
    assert time.monotonic() - started < 30
    assert done.stdout.strip() == "done; 0 credential(s) pending"
    store = Store(ledger)
    try:
        assert store.get_batch(batch.id).status == "confirmed"
    finally:
        store.close()


def test_issuer_fund_is_refused_over_rpc_on_a_chain_that_is_not_for_development(tmp_path,
                                                                                  nodes):
    node = start_anvil(chain_id=11155111)
    nodes.append(node)
    env = {**clean_env(tmp_path), "CREDANCHOR_RPC_URL": node.url,
           "CREDANCHOR_ADMIN_KEY": ANVIL_DEV_KEY, "CREDANCHOR_KEYSTORE_PASSWORD": PASSWORD,
           "CREDANCHOR_KDF_WORK_FACTOR": "1024", "CREDANCHOR_DATA_DIR": "data"}
    deployed = credanchor(env, tmp_path, "deploy", "--rpc", node.url)
    assert deployed.returncode == 0, deployed.stderr
    env["CREDANCHOR_CONTRACT_ADDRESS"] = deployed.stdout.splitlines()[0]
    assert credanchor(env, tmp_path, "issuer", "add", "Sepolia U").returncode == 0

    refused = credanchor(env, tmp_path, "issuer", "fund", "1", "--eth", "1")
    assert refused.returncode == 3 and refused.stdout == ""
    assert refused.stderr.startswith(
        "error: chain 11155111 is not configured as a development chain")
    assert refused.stderr.count("\n") == 1

    forced = credanchor(env, tmp_path, "issuer", "fund", "1", "--eth", "1", "--force")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.splitlines()[1] == "balance: 1 ETH"
