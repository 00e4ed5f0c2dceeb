"""A shared registry on anvil with several issuers of this service (tests/audit, bench/tools.py),
each with several anchored batches and some revocations, plus a foreign issuer of the same
registry that this ledger knows nothing about; running scripts/*.py; copying a ledger."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from credanchor.chain.keys import Signer
from credanchor.chain.tx import send_and_wait
from credanchor.issuing.pipeline import issue
from credanchor.usecases.config import Secret
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuers import add_issuer, deploy_contract
from kit.anvil import AnvilNode, fund_on_anvil, start_anvil
from kit.chain import POLICY, key_hex, random_hash
from kit.settings import ROOT, make_settings, sample_items

SCRIPTS = ROOT / "scripts"
ISSUERS = ("Acme Academy", "Borealis Institute", "Cobalt College")
BATCH_SIZES = {"Acme Academy": (3, 7), "Borealis Institute": (5, 1, 4), "Cobalt College": (2,)}


@dataclass
class World:
    node: AnvilNode
    data_dir: Path
    contract: str
    deploy_block: int
    admin: Signer
    signers: dict[str, Signer]  # issuer name -> key
    addresses: dict[str, str]  # issuer name -> address
    batches: dict[str, list[int]]  # issuer name -> ledger batch ids
    foreign: Signer
    foreign_roots: list[bytes] = field(default_factory=list)

    @property
    def ledger(self) -> Path:
        return self.data_dir / "ledger.sqlite"

    def chain_args(self) -> list[str]:
        return ["--rpc", self.node.url, "--chain-id", "31337", "--contract", self.contract]

    def settings(self, **extra):
        return make_settings(self.data_dir, rpc_url=self.node.url, chain="rpc", chain_id=31337,
                             contract_address=self.contract, deploy_block=self.deploy_block,
                             admin_key=Secret(key_hex(self.admin)), **extra)

    def runtime(self) -> Runtime:
        return Runtime.open(self.settings())


def run_script(name: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """scripts/NAME as its users run it: a separate process."""
    return subprocess.run([sys.executable, str(SCRIPTS / name), *args], capture_output=True,
                          text=True, timeout=timeout)


def run_inline(command, *args: str, capsys) -> subprocess.CompletedProcess:
    """The same command in this process (what the script runs, minus the interpreter start),
    for the many small cases; ``capsys`` captures what it prints."""
    from credanchor.cli.errors import run

    capsys.readouterr()
    code = run(command, list(args))
    out = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out.out, out.err)


def deploy_world(tmp: Path) -> World:
    node = start_anvil()
    try:
        admin = Signer.generate()
        fund_on_anvil(node, admin)
        data = tmp / "data"
        base = make_settings(data, rpc_url=node.url, chain="rpc", chain_id=31337,
                             admin_key=Secret(key_hex(admin)))
        deployed = deploy_contract(base)
        world = World(node, data, deployed.address, deployed.deploy_block, admin, {}, {}, {},
                      Signer.generate())
        rt = world.runtime()
        try:
            store = rt.store()
            anchorer = rt.anchorer()
            n = 0
            for name in ISSUERS:
                result = add_issuer(rt, name=name, url=f"https://{name.split()[0].lower()}.example")
                signer = rt.signer_for(result.issuer)
                fund_on_anvil(node, signer)
                world.signers[name], world.addresses[name] = signer, signer.address
                world.batches[name] = []
                for size in BATCH_SIZES[name]:
                    issue(store, result.issuer, rt.issuance(result.issuer),
                          sample_items(size, start=n), max_items=size)
                    n += size
                    [batch] = anchorer.seal_due(force=True, issuer_id=result.issuer.id)
                    world.batches[name].append(batch.id)
            anchorer.run_until_idle(timeout=60)
            # revocations carried to the chain by the service: one credential, one batch
            acme = store.find_issuer(world.addresses["Acme Academy"])
            cred = store.batch_credentials(world.batches["Acme Academy"][1])[2]
            store.add_revocation(acme.id, "credential", cred.credential_hash, 1)
            boreal = store.find_issuer(world.addresses["Borealis Institute"])
            batch = store.get_batch(world.batches["Borealis Institute"][1])
            store.add_revocation(boreal.id, "batch", batch.root, 3)
            anchorer.run_until_idle(timeout=60, force_seal=False)
            # another issuer of the same registry, unknown to this ledger
            chain = rt.chain
            fund_on_anvil(node, world.foreign)
            chain.admin_send(chain.contract.accredit_issuer(
                world.foreign.address, "Elsewhere U",
                did=f"did:pkh:eip155:{chain.chain_id}:{world.foreign.address}"))
            for _ in range(2):
                root = random_hash()
                send_and_wait(chain.w3, world.foreign, chain.contract.anchor(root, 12),
                              policy=POLICY)
                world.foreign_roots.append(root)
            send_and_wait(chain.w3, world.foreign,
                          chain.contract.revoke_credential(random_hash(), 0), policy=POLICY)
        finally:
            rt.close()
        return world
    except BaseException:
        node.stop()
        raise


def ledger_copy(world: World, dest: Path) -> Path:
    """A consistent copy of the world's ledger to tamper with."""
    return ledger_copy_of(world.ledger, dest)


def ledger_copy_of(ledger: Path, dest: Path) -> Path:
    """A consistent copy of a ledger (WAL included), through SQLite's backup API."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(ledger)
    out = sqlite3.connect(dest)
    src.backup(out)
    src.close()
    out.close()
    return dest
