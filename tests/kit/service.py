"""Service worlds: a CredentialAnchor deployment on a real anvil node, the service's processes
(gunicorn and ``credanchor worker``) started as the README's production layout does, and the
assertions every fault test ends with (exactly once, one anchor per root, every proof verifies).
Used by tests/reliability, tests/integration, bench/run.py and bench/load.py; no pytest here."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests

from credanchor.chain.keys import Signer
from credanchor.usecases.config import Secret, load_settings
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuers import add_issuer, deploy_contract
from kit.anvil import (
    ANVIL_CHAIN_ID,
    AnvilNode,
    free_port,
    fund_on_anvil,
    start_anvil,
    stop_process,
    wait_for,
)
from kit.chain import key_hex
from kit.settings import make_settings

BIN = Path(sys.executable).parent
KEYSTORE_PASSWORD = "reliability-password"
stop = stop_process  # the name the fault tests use

Stream = int | IO[Any] | None


@dataclass
class Service:
    """One deployment: the node, the data directory, and what clients need. ``start`` runs the
    processes; ``base`` is then the API's URL and ``procs`` is [gunicorn, worker]."""

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
    base: str = ""
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def runtime(self, **env: str) -> Runtime:
        return Runtime.open(load_settings(env={**self.env, **env}))

    def full_env(self, **env: str) -> dict[str, str]:
        return {**os.environ, **self.env, **env}

    def start(self, *, workers: int = 2, log: Path | None = None,
              gunicorn_args: Sequence[str] = ()) -> str:
        """gunicorn ``-w workers`` and one worker; returns once /healthz answers 200."""
        out: Stream = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - children keep it
        port = free_port()
        self.procs = [spawn_gunicorn(self, port, workers=workers, stdout=out, stderr=out,
                                     extra=gunicorn_args),
                      spawn_worker(self, stdout=out, stderr=out)]
        if log:
            out.close()  # type: ignore[union-attr]  # the children hold their own descriptors
        self.base = f"http://127.0.0.1:{port}"
        wait_for(lambda: http_ok(f"{self.base}/healthz"), 60,
                 "gunicorn" + (f" (see {log})" if log else ""))
        return self.base

    def stop(self) -> None:
        """Stop the processes ``start`` ran (the node is the caller's)."""
        for proc in reversed(self.procs):
            stop_process(proc, timeout=15)

    def close(self) -> None:
        """Stop the processes and the node."""
        self.stop()
        self.node.stop()


def deploy_service(node: AnvilNode, data_dir: Path, *, issuers: int = 1, wei: int = 10**20,
                   password: str = KEYSTORE_PASSWORD, **env: str) -> Service:
    """Deploy the contract on ``node`` with a fresh admin, add and fund ``issuers`` issuers
    (keystores in ``data_dir``, ``wei`` each), and return the environment a process needs;
    ``env`` overrides or adds CREDANCHOR_* variables."""
    admin = Signer.generate()
    fund_on_anvil(node, admin, wei)
    admin_key = key_hex(admin)
    settings = make_settings(data_dir, rpc_url=node.url, chain="rpc", chain_id=ANVIL_CHAIN_ID,
                             admin_key=Secret(admin_key))
    deployed = deploy_contract(settings)
    base = {
        "CREDANCHOR_DATA_DIR": str(data_dir),
        "CREDANCHOR_RPC_URL": node.url,
        "CREDANCHOR_CHAIN_ID": str(ANVIL_CHAIN_ID),
        "CREDANCHOR_CONTRACT_ADDRESS": deployed.address,
        "CREDANCHOR_DEPLOY_BLOCK": str(deployed.deploy_block),
        "CREDANCHOR_ADMIN_KEY": admin_key,
        "CREDANCHOR_KEYSTORE_PASSWORD": password,
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
            fund_on_anvil(node, rt.signer_for(result.issuer), wei)
            assert result.api_key
            made.append((result.issuer.id, result.issuer.address, result.api_key))
    finally:
        rt.close()
    first = made[0]
    return Service(node, data_dir, base, deployed.address, deployed.deploy_block, admin_key,
                   first[0], first[1], first[2], made[1:])


def start_world(data_dir: Path, *, workers: int = 2, log: Path | None = None,
                anvil_args: Sequence[str] = (), gunicorn_args: Sequence[str] = (),
                **deploy: Any) -> Service:
    """anvil + the contract + issuers + gunicorn + worker, in one call (bench/run.py,
    bench/load.py); ``Service.close()`` stops all of it."""
    node = start_anvil(*anvil_args)
    try:
        service = deploy_service(node, data_dir, **deploy)
        try:
            service.start(workers=workers, log=log, gunicorn_args=gunicorn_args)
        except BaseException:
            service.stop()
            raise
        return service
    except BaseException:
        node.stop()
        raise


# -- processes --------------------------------------------------------------------------------


def spawn_worker(service: Service, *, stdout: Stream = subprocess.DEVNULL,
                 stderr: Stream = subprocess.DEVNULL, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(BIN / "credanchor"), "worker"], env=service.full_env(**env),
                            stdout=stdout, stderr=stderr)


def spawn_gunicorn(service: Service, port: int, *, workers: int = 2,
                   stdout: Stream = subprocess.DEVNULL, stderr: Stream = subprocess.DEVNULL,
                   extra: Sequence[str] = (), **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--timeout", "60",
         *extra, "credanchor.web:create_app()"],
        env=service.full_env(**env), stdout=stdout, stderr=stderr)


def http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def restart_anvil(node: AnvilNode, state: Path, *extra: str) -> AnvilNode:
    """Start a node again on the same port from the state ``node`` dumped on exit."""
    return start_anvil(*extra, port=node.port, state=state)


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
