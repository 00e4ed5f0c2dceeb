"""`credanchor status` reads the ledger and the chain head without opening the runtime (issue
#15): the figures it prints are the ledger's and the chain's own, it answers while another
process holds the embedded chain, it imports neither py-evm nor web3, and an unreachable node
is a head "unavailable" with its reason and exit 4, the ledger's figures still printed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import rlp

from credanchor.chain.embedded import open_embedded
from credanchor.chain.head import header_number
from credanchor.cli.errors import EXIT_CHAIN
from credanchor.ledger.store import Store
from kit.anvil import start_anvil

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
ENV = {"CREDANCHOR_KEYSTORE_PASSWORD": "cli-test-password", "CREDANCHOR_KDF_WORK_FACTOR": "1024"}


def _child_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDANCHOR_")}
    return {**env, **ENV, "CREDANCHOR_DATA_DIR": str(data_dir),
            "PYTHONPATH": str(ROOT / "service"), **extra}


def _contract(data_dir: Path) -> str:
    return json.loads((data_dir / "embedded.json").read_text())["contract_address"]


def _real_head(data_dir: Path) -> int:
    with open_embedded(data_dir / "chain.sqlite") as chain:
        return int(chain.w3.eth.block_number)


def test_status_prints_the_ledgers_counts_and_the_chains_real_head(cli, tmp_path):
    data = tmp_path / "data"
    cli("issue", str(EXAMPLES / "badges.csv"), "--anchor")
    cli("issue", str(EXAMPLES / "badges.csv"))  # 4 more, left pending
    head = _real_head(data)
    assert head > 1  # deploy, funding, accreditation and the anchor each made a block
    lines = cli("status").splitlines()
    store = Store.open_read_only(data / "ledger.sqlite")
    last = store.last_confirmed_batch()
    store.close()
    assert last is not None
    assert lines == [
        f"chain      1337 contract {_contract(data)} head {head}",
        "pending    4 credential(s)",
        "batches    queued 0, submitted 0, confirmed 1, failed 0",
        f"last       batch {last.id} tx {last.tx_hash}",
    ]


# A second process holding the embedded chain as the service does (open_embedded takes the
# exclusive lock), mining blocks, printing its head and waiting for stdin to close.
_HOLDER = """
import sys
from pathlib import Path
from credanchor.chain.embedded import open_embedded
chain = open_embedded(Path(sys.argv[1]))
chain.mine(3)
print(chain.w3.eth.block_number, flush=True)
sys.stdin.read()
chain.close()
"""


def test_status_answers_while_another_process_holds_the_embedded_chain(cli, tmp_path):
    """Before: status opened the runtime, so the chain's lock made it fail ("already open in
    another process") whenever the service ran."""
    data = tmp_path / "data"
    cli("issue", str(EXAMPLES / "badges.csv"), "--anchor")
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(data / "chain.sqlite")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env=_child_env(data))
    try:
        assert holder.stdout is not None
        held_head = int(holder.stdout.readline())
        proc = subprocess.run([sys.executable, "-m", "credanchor", "status"], env=_child_env(data),
                              capture_output=True, text=True, timeout=60)
        assert holder.poll() is None  # still holding the lock
    finally:
        holder.communicate("", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"chain      1337 contract {_contract(data)} head {held_head}"
    assert _real_head(data) == held_head


_IMPORTS = """
import json, runpy, sys
sys.argv = ["credanchor", "status"]
try:
    runpy.run_module("credanchor", run_name="__main__")
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in sys.modules
               if m.split(".")[0] in {"eth", "evm", "web3", "eth_account", "eth_utils", "py_ecc",
                                      "eth_tester", "rlp", "requests"})
print(json.dumps({"code": code, "heavy": heavy}))
"""


def test_status_imports_neither_the_evm_nor_web3(cli, tmp_path):
    data = tmp_path / "data"
    cli("issue", str(EXAMPLES / "badges.csv"), "--anchor")
    proc = subprocess.run([sys.executable, "-c", _IMPORTS], env=_child_env(data),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    *lines, last = proc.stdout.splitlines()
    assert json.loads(last) == {"code": 0, "heavy": []}
    assert lines[0] == f"chain      1337 contract {_contract(data)} head {_real_head(data)}"


def test_status_on_a_fresh_data_directory_bootstraps_it_as_before(cli, tmp_path):
    lines = cli("status").splitlines()
    data = tmp_path / "data"
    assert lines[0] == f"chain      1337 contract {_contract(data)} head {_real_head(data)}"
    assert lines[1:] == ["pending    0 credential(s)",
                         "batches    queued 0, submitted 0, confirmed 0, failed 0",
                         "last       none"]


CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def _rpc_env(monkeypatch, tmp_path, url: str) -> None:
    monkeypatch.setenv("CREDANCHOR_CHAIN", "rpc")
    monkeypatch.setenv("CREDANCHOR_RPC_URL", url)
    monkeypatch.setenv("CREDANCHOR_CHAIN_ID", "31337")
    monkeypatch.setenv("CREDANCHOR_CONTRACT_ADDRESS", CONTRACT.lower())
    Store(tmp_path / "data" / "ledger.sqlite").close()  # a ledger the service made


def test_status_on_an_unreachable_node_says_why_and_exits_4(cli, tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _rpc_env(monkeypatch, tmp_path, f"http://127.0.0.1:{port}/v3/secret-api-key")
    lines = cli("status", code=EXIT_CHAIN).splitlines()
    assert lines[0].startswith(f"chain      31337 contract {CONTRACT} head unavailable "
                               f"(http://127.0.0.1:{port}: ")
    assert "refused" in lines[0].lower() and "secret-api-key" not in lines[0]
    assert lines[1:] == ["pending    0 credential(s)",
                         "batches    queued 0, submitted 0, confirmed 0, failed 0",
                         "last       none"]


@pytest.mark.anvil
def test_status_on_an_rpc_chain_reads_the_nodes_head(cli, tmp_path, monkeypatch):
    node = start_anvil()
    try:
        node.rpc("anvil_mine", [hex(7)])
        _rpc_env(monkeypatch, tmp_path, node.url)
        assert cli("status").splitlines()[0] == f"chain      31337 contract {CONTRACT} head 7"
        monkeypatch.setenv("CREDANCHOR_CHAIN_ID", "1")
        line = cli("status", code=EXIT_CHAIN).splitlines()[0]
        assert line == (f"chain      1 contract {CONTRACT} head unavailable "
                        f"({node.url} serves chain 31337, not 1)")
    finally:
        node.stop()


@pytest.mark.parametrize("number", [0, 1, 127, 128, 255, 256, 65_535, 2**40])
def test_header_number_reads_the_ninth_field_of_any_header(number):
    header = [b"\x11" * 32, b"\x22" * 32, b"\x33" * 20, b"\x44" * 32, b"\x55" * 32,
              b"\x66" * 32, b"\x77" * 256, 0, number, 30_000_000, 21_000, 1_700_000_000,
              b"", b"\x88" * 32, b"\x00" * 8, 10**9, b"\x99" * 32]
    assert header_number(rlp.encode(header)) == number
    with pytest.raises(ValueError):
        header_number(rlp.encode(header)[:-1])
