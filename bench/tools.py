"""Throughput of the employer's and the auditor's scripts on anvil (not collected by pytest).

    python bench/tools.py [--files 20000] [--revoked 10000]

Issues FILES credentials in one batch and writes their holder files, revokes REVOKED of them
through the service (``revokeCredentials``, 500 per transaction: one event each) and anchors
--batches more small batches; then runs scripts/verify.py on every file and scripts/audit.py
on the ledger as separate processes and prints the summary lines they end with (files/s,
events/s).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "service"), str(ROOT / "tests")]  # credanchor, kit

from credanchor.chain.keys import Signer  # noqa: E402
from credanchor.issuing.pipeline import issue  # noqa: E402
from credanchor.usecases.config import Secret  # noqa: E402
from credanchor.usecases.container import Runtime  # noqa: E402
from credanchor.usecases.issuers import add_issuer, deploy_contract  # noqa: E402
from kit.anvil import fund_on_anvil, start_anvil  # noqa: E402
from kit.chain import key_hex  # noqa: E402
from kit.registry import run_script  # noqa: E402
from kit.settings import make_settings, sample_items  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--revoked", type=int, default=10_000)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-tools-"))
    node = start_anvil()
    try:
        admin = Signer.generate()
        fund_on_anvil(node, admin)
        key = Secret(key_hex(admin))
        base = dict(rpc_url=node.url, chain="rpc", chain_id=31337, admin_key=key)
        deployed = deploy_contract(make_settings(tmp / "data", **base))
        rt = Runtime.open(make_settings(tmp / "data", **base, contract_address=deployed.address,
                                        deploy_block=deployed.deploy_block))
        result = add_issuer(rt, name="Bench Academy")
        fund_on_anvil(node, rt.signer_for(result.issuer))
        store, anchorer = rt.store(), rt.anchorer()
        profile = rt.issuance(result.issuer)  # signed, as the service issues
        started = time.perf_counter()
        for start in range(0, args.files, 10_000):
            n = min(10_000, args.files - start)
            issue(store, result.issuer, profile, sample_items(n, start=start), max_items=n)
        [big] = anchorer.seal_due(force=True)
        for i in range(args.batches):
            issue(store, result.issuer, profile, sample_items(1, start=args.files + i),
                  max_items=1)
            anchorer.seal_due(force=True)
        anchorer.run_until_idle(timeout=600)
        with store.transaction():
            for h in store.batch_credential_hashes(big.id)[:args.revoked]:
                store.add_revocation(result.issuer.id, "credential", h, 1)
        anchorer.run_until_idle(timeout=600, force_seal=False)
        folder = tmp / "badges"
        folder.mkdir()
        proofs = rt.proofs()
        for cred in store.batch_credentials(big.id):
            (folder / f"{cred.id[9:]}.json").write_text(json.dumps(proofs.credential_file(cred)))
        rt.close()
        print(f"setup: {args.files} files, {args.revoked} revoked, {args.batches + 1} batches "
              f"in {time.perf_counter() - started:.0f} s")
        chain = ["--rpc", node.url, "--chain-id", "31337", "--contract", deployed.address]
        r = run_script("verify.py", *chain, str(folder), "--problems-only", "--jobs",
                       str(args.jobs), timeout=3600)
        print("scripts/verify.py:", r.stderr.strip().splitlines()[-1])
        r = run_script("audit.py", *chain, "--from-block", str(deployed.deploy_block),
                       "--ledger", str(tmp / "data" / "ledger.sqlite"), timeout=3600)
        print("scripts/audit.py: ", " | ".join(r.stderr.strip().splitlines()[-2:]),
              f"(exit {r.returncode})")
    finally:
        node.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
