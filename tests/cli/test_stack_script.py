"""scripts/verify.py, the employer's tool, reports a stacked qualification as a tree: over
JSON-RPC against anvil, with nothing but the RPC URL and the contract address."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from credanchor.chain.keys import Signer
from credanchor.usecases import stacks as stacking
from credanchor.usecases.config import Secret
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuers import add_issuer, deploy_contract
from kit.anvil import fund_on_anvil, start_anvil
from kit.chain import key_hex
from kit.settings import ROOT, make_settings
from kit.stacks import ADA, badge, data_analyst

pytestmark = [pytest.mark.anvil]


def test_verify_script_prints_the_stack_tree_and_a_revoked_component(tmp_path):
    node = start_anvil()
    rt = None
    try:
        admin = Signer.generate()
        fund_on_anvil(node, admin)
        base = {"rpc_url": node.url, "chain": "rpc", "chain_id": 31337,
                "admin_key": Secret(key_hex(admin))}
        deployed = deploy_contract(make_settings(tmp_path / "d", **base))
        rt = Runtime.open(make_settings(tmp_path / "d", contract_address=deployed.address, **base))
        acme = add_issuer(rt, name="Acme Academy").issuer
        other = add_issuer(rt, name="Other Academy").issuer
        for issuer in (acme, other):
            fund_on_anvil(node, rt.signer_for(issuer))
        from credanchor.issuing.pipeline import issue

        def one(issuer, item):
            return issue(rt.store(), issuer, rt.issuance(issuer), [item], max_items=1)[0].id

        ids = [one(acme, badge(ADA, "excel")), one(other, badge(ADA, "sql")),
               one(acme, badge(ADA, "viz"))]
        stacking.publish(rt, acme, data_analyst([other.address]))
        rt.anchorer().run_until_idle(timeout=60)
        files = [rt.proofs().credential_file(rt.store().get_credential(i)) for i in ids]
        accepted = stacking.issue_qualification(rt, acme, "data-analyst", files, ADA,
                                                name="Ada Lovelace")
        rt.anchorer().run_until_idle(timeout=60)
        qualification = rt.proofs().credential_file(rt.store().get_credential(accepted.id))
        path = tmp_path / "qualification.json"
        path.write_text(json.dumps(qualification))

        def run() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, str(ROOT / "scripts" / "verify.py"), "--rpc", node.url,
                 "--contract", deployed.address, "--chain-id", "31337", str(path)],
                capture_output=True, text=True, timeout=120)

        proc = run()
        assert proc.returncode == 0, proc.stdout + proc.stderr
        lines = proc.stdout.splitlines()
        assert lines[1].startswith("VALID")
        components = [ln for ln in lines if "├" in ln]
        assert len(components) == 3 and all("VALID" in ln for ln in components)
        assert any(ln.strip().startswith("stack-rule: pass") for ln in lines)

        sql = rt.store().get_credential(ids[1])
        rt.store().add_revocation(other.id, "credential", sql.credential_hash, 3)
        rt.anchorer().run_until_idle(timeout=60, force_seal=False)
        proc = run()
        assert proc.returncode == 1, proc.stdout + proc.stderr
        lines = proc.stdout.splitlines()
        assert lines[1].startswith("REVOKED")
        revoked = [ln for ln in lines if "├" in ln and "REVOKED" in ln]
        assert len(revoked) == 1 and "SQL" in revoked[0]
    finally:
        if rt is not None:
            rt.close()
        node.stop()
