"""Helpers for the reliability suite: a CredentialAnchor deployment on a real anvil node, the
service's processes (gunicorn, ``credanchor worker``) started as the README's production layout
does, and the assertions every fault test ends with (exactly once, one anchor per root, every
proof verifies)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from chain.chainkit import AnvilNode, free_port, fund_on_anvil, start_anvil
from credanchor.chain.keys import Signer
from credanchor.usecases.config import Secret, load_settings
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuers import add_issuer, deploy_contract
from support import make_settings

BIN = Path(sys.executable).parent
KEYSTORE_PASSWORD = "reliability-password"


@dataclass
class Service:
    """One deployment: the node, the data directory, and what clients need."""

    node: AnvilNode
    data_dir: Path
    env: dict[str, str]
    contract: str
    deploy_block: int
    admin_key: str
    issuer_id: int
    issuer_address: str
    api_key: str
    extra_issuers: list[tuple[int, str, str]] = field(default_factory=list)  # (id, address, key)

    def runtime(self, **env: str) -> Runtime:
        return Runtime.open(load_settings(env={**self.env, **env}))

    def full_env(self, **env: str) -> dict[str, str]:
        return {**os.environ, **self.env, **env}


def deploy_service(node: AnvilNode, data_dir: Path, *, issuers: int = 1, **env: str) -> Service:
    """Deploy the contract on ``node`` with a fresh admin, add and fund ``issuers`` issuers
    (keystores in ``data_dir``), and return the environment a process needs."""
    admin = Signer.generate()
    fund_on_anvil(node, admin)
    admin_key = "0x" + admin._account.key.hex()
    settings = make_settings(data_dir, rpc_url=node.url, chain="rpc", chain_id=31337,
                             admin_key=Secret(admin_key))
    deployed = deploy_contract(settings)
    base = {
        "CREDANCHOR_DATA_DIR": str(data_dir),
        "CREDANCHOR_RPC_URL": node.url,
        "CREDANCHOR_CHAIN_ID": "31337",
        "CREDANCHOR_CONTRACT_ADDRESS": deployed.contract,
        "CREDANCHOR_DEPLOY_BLOCK": str(deployed.deploy_block),
        "CREDANCHOR_ADMIN_KEY": admin_key,
        "CREDANCHOR_KEYSTORE_PASSWORD": KEYSTORE_PASSWORD,
        "CREDANCHOR_KDF_WORK_FACTOR": "1024",
        "CREDANCHOR_BATCH_MAX_AGE": "0.5",
        "CREDANCHOR_WORKER_INTERVAL": "0.1",
        "CREDANCHOR_RPC_TIMEOUT": "3",
        **env,
    }
    rt = Runtime.open(load_settings(env=base))
    try:
        made = []
        for n in range(issuers):
            result = add_issuer(rt, name=f"Academy {n + 1}", url=f"https://a{n + 1}.example")
            fund_on_anvil(node, rt.signer_for(result.issuer))
            assert result.api_key
            made.append((result.issuer.id, result.issuer.address, result.api_key))
    finally:
        rt.close()
    first = made[0]
    return Service(node, data_dir, base, deployed.contract, deployed.deploy_block, admin_key,
                   first[0], first[1], first[2], made[1:])


# -- processes --------------------------------------------------------------------------------


def spawn_worker(service: Service, *, stderr: Any = subprocess.DEVNULL,
                 **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(BIN / "credanchor"), "worker"], env=service.full_env(**env),
                            stdout=subprocess.DEVNULL, stderr=stderr)


def spawn_gunicorn(service: Service, port: int, *, workers: int = 2,
                   stderr: Any = subprocess.DEVNULL, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--timeout", "60",
         "credanchor.web:create_app()"],
        env=service.full_env(**env), stdout=subprocess.DEVNULL, stderr=stderr)


def stop(proc: subprocess.Popen[Any], *, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL: the processes this suite started, by their own handle."""
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
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(poll)


def http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def restart_anvil(node: AnvilNode, state: Path, *extra: str) -> AnvilNode:
    """Start a node again on the same port from the state ``node`` dumped on exit."""
    from chain.chainkit import anvil_binary

    process = subprocess.Popen(
        [anvil_binary(), "--port", str(node.port), "--chain-id", "31337", "--silent",
         "--state", str(state), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    again = AnvilNode(node.url, node.port, process)
    deadline = time.monotonic() + 15
    while True:
        try:
            again.rpc("eth_chainId")
            return again
        except (requests.ConnectionError, RuntimeError):
            if process.poll() is not None or time.monotonic() > deadline:
                again.stop()
                raise RuntimeError("anvil did not restart") from None
            time.sleep(0.05)


# -- end-of-test invariants -------------------------------------------------------------------


def ledger_state(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a request could write: equal before and after a refused
    request means nothing was stored half-way."""
    db = runtime.store().db
    return {t: [tuple(r) for r in db.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall()]
            for t in ("credentials", "idempotency", "batches", "revocations", "events",
                      "tx_attempts", "api_keys", "issuers")}


@dataclass(frozen=True)
class Audit:
    credentials: int
    batches: int
    anchors_on_chain: int
    statuses: dict[str, int]


def assert_exactly_once(rt: Runtime, accepted_ids: Iterable[str], *,
                        revoked: Mapping[str, str] | None = None) -> Audit:
    """Every accepted credential is anchored in exactly one confirmed batch, every batch root
    was anchored exactly once on chain (and nothing else was), and every holder file the
    service hands out verifies: VALID, or REVOKED for the ids in ``revoked``."""
    store = rt.store()
    accepted = list(accepted_ids)
    assert len(set(accepted)) == len(accepted)
    ledger = {r["id"]: r for r in store.db.query(
        "SELECT id, credential_hash, batch_id FROM credentials")}
    assert set(ledger) == set(accepted), "the ledger holds exactly the accepted credentials"
    batches = store.list_batches(limit=10**6)
    assert batches and {b.status for b in batches} == {"confirmed"}, \
        [(b.id, b.status, b.last_error) for b in batches if b.status != "confirmed"]
    members: dict[int, int] = {}
    for row in ledger.values():
        assert row["batch_id"] is not None
        members[row["batch_id"]] = members.get(row["batch_id"], 0) + 1
    assert {b.id: b.count for b in batches} == members, "each batch holds what it declares"
    events = rt.chain.contract.events(names=["Anchored"])
    roots_on_chain = [bytes(e.args["root"]) for e in events]
    assert len(roots_on_chain) == len(set(roots_on_chain)), "a root was anchored twice"
    assert set(roots_on_chain) == {b.root for b in batches}, "chain and ledger disagree"
    tx_of = {bytes(e.args["root"]): e.tx_hash for e in events}
    for b in batches:
        assert b.tx_hash == tx_of[b.root], f"batch {b.id} names another transaction"
        on_chain = rt.chain.anchor_of(rt.store().get_issuer(b.issuer_id).address, b.root)
        assert on_chain is not None and on_chain.count == b.count
    verifier = rt.verifier()
    proofs = rt.proofs()
    statuses: dict[str, int] = {}
    revoked = dict(revoked or {})
    for cid in sorted(accepted, key=lambda c: ledger[c]["batch_id"]):
        doc = proofs.credential_file(store.get_credential(cid))
        status = verifier.verify(doc).status.value
        expected = "REVOKED" if cid in revoked else "VALID"
        assert status == expected, (cid, status)
        statuses[status] = statuses.get(status, 0) + 1
    return Audit(len(accepted), len(batches), len(roots_on_chain), statuses)


__all__ = [
    "BIN",
    "Audit",
    "Service",
    "assert_exactly_once",
    "deploy_service",
    "free_port",
    "http_ok",
    "ledger_state",
    "restart_anvil",
    "spawn_gunicorn",
    "spawn_worker",
    "start_anvil",
    "stop",
    "wait_for",
]
