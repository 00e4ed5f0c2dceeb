"""anvil, the real node of the tests, benchmarks and load runs: find the binary, start it on a
free port and wait until it answers, fund accounts, stop it. Needs only the standard library and
requests (no pytest), so bench/ and bench/load.py use it as well."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import requests

ROOT = Path(__file__).resolve().parents[2]
ANVIL_CHAIN_ID = 31337


class _HasAddress(Protocol):
    @property
    def address(self) -> str: ...


def anvil_binary() -> str:
    candidates = [
        ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil",
        ROOT / "node_modules" / ".bin" / "anvil",
    ]
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    found = shutil.which("anvil")
    if found:
        return found
    raise RuntimeError("anvil not found: run `npm ci` (package @foundry-rs/anvil)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(proc: subprocess.Popen[Any], *, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL: a process the caller started, by its own handle."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def wait_for(fn: Callable[[], Any], timeout: float = 60.0, what: str = "condition",
             poll: float = 0.2) -> Any:
    """Poll ``fn`` until it returns something truthy; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(poll)


@dataclass
class AnvilNode:
    url: str
    port: int
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        stop_process(self.process, timeout=5)

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        reply = requests.post(
            self.url,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []},
            timeout=10,
        ).json()
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]


def start_anvil(*extra: str, port: int | None = None, state: Path | None = None,
                chain_id: int = ANVIL_CHAIN_ID) -> AnvilNode:
    """anvil on ``port`` (a free one by default), answering eth_chainId before this returns.
    ``state`` loads (and on exit dumps) a state file: restarting a node "from where it was"
    is ``start_anvil(port=old.port, state=file)``; ``extra`` are further anvil flags."""
    port = port or free_port()
    args = [anvil_binary(), "--port", str(port), "--chain-id", str(chain_id), "--silent"]
    if state is not None:
        args += ["--state", str(state)]
    process = subprocess.Popen([*args, *extra], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    node = AnvilNode(f"http://127.0.0.1:{port}", port, process)
    deadline = time.monotonic() + 15
    while True:
        try:
            node.rpc("eth_chainId")
            return node
        except (requests.ConnectionError, RuntimeError):
            if process.poll() is not None or time.monotonic() > deadline:
                node.stop()
                raise RuntimeError(f"anvil did not start on port {port}") from None
            time.sleep(0.02)


def fund_on_anvil(node: AnvilNode, account: _HasAddress | str, wei: int = 10**20) -> None:
    address = account if isinstance(account, str) else account.address
    node.rpc("anvil_setBalance", [address, hex(wei)])
