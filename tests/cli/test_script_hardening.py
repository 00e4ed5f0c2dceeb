"""Hardening of scripts/verify.py and scripts/audit.py (issue 12), against anvil.

* Text from a file reaches the terminal escaped: a proof member name or a file name cannot
  rewrite an INVALID line as VALID, and a ledger export's issuer name cannot rewrite the
  audit summary.
* A bulk run reports every file, even when verifying one of them fails unexpectedly; exit 1
  (some badge not VALID), not 4 (which says the chain could not be reached).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from credanchor.chain.keys import Signer
from credanchor.cli.auditing import export_command
from credanchor.cli.verifying import verify_command
from credanchor.issuing.pipeline import issue
from credanchor.usecases.config import Secret
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuers import add_issuer, deploy_contract
from credanchor.verify.verifier import Verifier
from kit.anvil import fund_on_anvil, start_anvil
from kit.chain import key_hex
from kit.registry import run_inline, run_script
from kit.settings import make_settings, sample_items
from kit.terminal import assert_terminal_safe, screen

pytestmark = pytest.mark.anvil

FORGE = "\r\x1b[2KVALID    badges/forged.json\u202e[bold red]genuine[/]"


@dataclass
class Setup:
    node_url: str
    contract: str
    deploy_block: int
    ledger: Path
    badges: list[Path]

    def chain_args(self) -> list[str]:
        return ["--rpc", self.node_url, "--chain-id", "31337", "--contract", self.contract]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Three genuine holder files anchored on anvil, and the ledger that issued them."""
    tmp = tmp_path_factory.mktemp("hardening")
    node = start_anvil()
    admin = Signer.generate()
    fund_on_anvil(node, admin)
    base = make_settings(tmp / "data", rpc_url=node.url, chain="rpc", chain_id=31337,
                         admin_key=Secret(key_hex(admin)))
    deployed = deploy_contract(base)
    rt = Runtime.open(make_settings(tmp / "data", rpc_url=node.url, chain="rpc", chain_id=31337,
                                    admin_key=base.admin_key, contract_address=deployed.address,
                                    deploy_block=deployed.deploy_block))
    try:
        result = add_issuer(rt, name="Hardening Academy")
        fund_on_anvil(node, rt.signer_for(result.issuer))
        store = rt.store()
        accepted = issue(store, result.issuer, rt.issuance(result.issuer),
                         sample_items(3), max_items=3)
        rt.anchorer().run_until_idle(timeout=60)
        folder = tmp / "badges"
        folder.mkdir()
        badges = []
        for n, a in enumerate(accepted):
            path = folder / f"badge{n}.json"
            path.write_text(json.dumps(rt.proofs().credential_file(store.get_credential(a.id))))
            badges.append(path)
    finally:
        rt.close()
    yield Setup(node.url, deployed.address, deployed.deploy_block, tmp / "data" / "ledger.sqlite",
                badges)
    node.stop()


def test_verify_script_escapes_file_text_so_no_line_can_be_forged(setup, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    doc = json.loads(setup.badges[0].read_text())
    doc["proof"][-1][FORGE] = "x"  # the anchor proof, after the issuer's signature
    (inbox / "forged.json").write_text(json.dumps(doc))
    shutil.copy(setup.badges[1], inbox / "ok\x1b[2K\r\u202egenuine.json")

    r = run_script("verify.py", *setup.chain_args(), str(inbox))
    assert r.returncode == 1, r.stderr
    assert_terminal_safe(r.stdout + r.stderr)
    rows = screen(r.stdout)
    assert rows[0].split() == ["STATUS", "FILE", "DETAIL"]
    forged = next(row for row in rows if "forged.json" in row.split("  ")[0] + row[:120])
    assert forged.startswith("INVALID  ") and str(inbox / "forged.json") in forged
    assert r"proof[1].\r\x1b[2KVALID    badges/forged.json\u202e[bold red]genuine[/]: is not " \
           "a member" in forged
    valid = [row for row in rows if row.startswith("VALID")]
    assert len(valid) == 1 and valid[0].startswith(
        f"VALID    {inbox}/ok\\x1b[2K\\r\\u202egenuine.json")


def test_verify_script_reports_every_file_when_one_crashes_the_verifier(setup, tmp_path):
    """Genuine faults: dates whose offset lands before year 1 raised OverflowError — in the
    document (verifier) and in the proof's anchoredAt (the chunk's prefetch, which took the
    whole chunk down). Fixed at their source elsewhere; either way every file is reported."""
    early = json.loads(setup.badges[0].read_text())
    early["validFrom"] = "0001-01-01T00:00:00+01:00"
    (tmp_path / "a-early.json").write_text(json.dumps(early))
    anchored = json.loads(setup.badges[1].read_text())
    anchored["proof"][-1]["anchor"]["anchoredAt"] = "0001-01-01T00:00:00+01:00"
    (tmp_path / "b-anchored.json").write_text(json.dumps(anchored))
    shutil.copy(setup.badges[2], tmp_path / "c-good.json")

    r = run_script("verify.py", *setup.chain_args(), str(tmp_path), "--json")
    assert "Traceback" not in r.stderr
    assert r.returncode == 1, r.stderr
    rows = {Path(row["file"]).name: row for row in map(json.loads, r.stdout.splitlines())}
    assert sorted(rows) == ["a-early.json", "b-anchored.json", "c-good.json"]
    assert rows["a-early.json"]["status"] in ("ERROR", "INVALID")
    assert rows["b-anchored.json"]["status"] in ("ERROR", "INVALID")
    assert rows["c-good.json"]["status"] == "VALID"
    assert "verified 3 file(s)" in r.stderr


def test_verify_script_reports_an_unexpected_fault_as_error(setup, capsys, monkeypatch):
    """Injected fault (once dates are fixed at their source no file is known to make the
    verifier raise, so the failure is injected): one document makes it raise."""
    real = Verifier.verify
    boom = json.loads(setup.badges[1].read_text())["id"]

    def flaky(self, credential, **options):
        if credential.get("id") == boom:
            raise RuntimeError("broken\r\x1b[2KVALID    all good")
        return real(self, credential, **options)

    monkeypatch.setattr(Verifier, "verify", flaky)
    files = [str(p) for p in setup.badges]
    r = run_inline(verify_command, *setup.chain_args(), *files, capsys=capsys)
    assert r.returncode == 1  # some badge is not VALID; not 4: the chain answered
    assert_terminal_safe(r.stdout + r.stderr)
    rows = r.stdout.splitlines()[1:]
    assert [row.split()[0] for row in rows] == ["VALID", "ERROR", "VALID"]
    assert rows[1].endswith("could not be verified (an internal error; please report it): "
                            "RuntimeError: broken\\r\\x1b[2KVALID    all good")
    assert "3 file(s): 2 VALID, 1 ERROR" in r.stderr

    r = run_inline(verify_command, *setup.chain_args(), *files, "--json", capsys=capsys)
    assert r.returncode == 1
    answers = [json.loads(line) for line in r.stdout.splitlines()]
    assert [a["status"] for a in answers] == ["VALID", "ERROR", "VALID"]
    assert answers[1]["error"].endswith("RuntimeError: broken\r\x1b[2KVALID    all good")


def test_audit_summary_escapes_ledger_export_text(setup, tmp_path, capsys):
    export = tmp_path / "export"
    r = run_inline(export_command, "--ledger", str(setup.ledger), "--out", str(export),
                   "--chain-id", "31337", "--contract", setup.contract, capsys=capsys)
    assert r.returncode == 0, r.stderr
    manifest = json.loads((export / "manifest.json").read_text())
    manifest["issuers"][0]["name"] = "\r\x1b[2K**Result: clean.**\n| x |\u202e"
    (export / "manifest.json").write_text(json.dumps(manifest))

    summary = tmp_path / "summary.md"
    r = run_script("audit.py", *setup.chain_args(), "--from-block", str(setup.deploy_block),
                   "--ledger", str(export), "--summary", str(summary))
    assert r.returncode in (0, 1), r.stderr
    assert_terminal_safe(r.stdout + r.stderr)
    assert_terminal_safe(summary.read_text())
    [row] = [line for line in r.stdout.splitlines() if "Result: clean" in line
             and line.startswith("| ")]
    assert "\\r\\x1b[2K**Result: clean.**\\n\\| x \\|\\u202e" in row
