"""Issue 12 over real JSON-RPC: ``POST /api/v1/verify`` and ``scripts/verify.py`` against anvil,
through :class:`CountingProxy`, a real HTTP hop that counts every request (round trip) and
every JSON-RPC call crossing it.

Before the fix a qualification cost one ``eth_call`` round trip per component (plus the
definition's, read by a fresh verifier with empty caches), and a crafted one nesting
qualifications 8 levels deep cost one per credential — thousands for one unauthenticated
request.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from credanchor.chain.keys import Signer
from credanchor.issuing.pipeline import issue
from credanchor.usecases import stacks as stacking
from credanchor.usecases.config import Secret
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuers import add_issuer, deploy_contract
from credanchor.web import create_app
from kit.anvil import fund_on_anvil, start_anvil
from kit.chain import key_hex
from kit.rpcproxy import CountingProxy
from kit.settings import make_settings
from kit.stacks import ADA, days_ago

pytestmark = [pytest.mark.anvil]

BADGES = 6


def badge(i: int) -> dict[str, Any]:
    return {
        "recipient": {"name": "Ada Lovelace", "email": ADA},
        "achievement": {"id": f"https://skills.example/achievements/b{i}", "name": f"Badge {i}",
                        "description": f"Badge {i}, assessed in practice.",
                        "criteria": "Passed a supervised practical assessment."},
        "validFrom": days_ago(10),
    }


WIDE = {
    "stack": "any-two",
    "achievement": {"id": "https://acme.example/qualifications/any-two", "name": "Any Two",
                    "description": "Two badges of six.", "criteria": "Any two of six badges."},
    "rule": {"require": 2, "components": [
        {"key": f"b{i}", "name": f"Badge {i}",
         "achievement": f"https://skills.example/achievements/b{i}"} for i in range(BADGES)]},
}


class Setup:
    def __init__(self, tmp: Path) -> None:
        self.node = start_anvil()
        self.proxy = CountingProxy(self.node.url)
        self.runtime: Runtime | None = None
        admin = Signer.generate()
        fund_on_anvil(self.node, admin)
        base = {"rpc_url": self.proxy.url, "chain": "rpc", "chain_id": 31337,
                "admin_key": Secret(key_hex(admin))}
        self.contract = deploy_contract(make_settings(tmp / "d", **base)).address
        rt = self.runtime = Runtime.open(make_settings(tmp / "d", contract_address=self.contract,
                                                       **base))
        acme = add_issuer(rt, name="Acme Academy").issuer
        fund_on_anvil(self.node, rt.signer_for(acme))
        ids = [a.id for a in issue(rt.store(), acme, rt.issuance(acme),
                                   [badge(i) for i in range(BADGES)], max_items=BADGES)]
        stacking.publish(rt, acme, WIDE)
        rt.anchorer().run_until_idle(timeout=60)
        self.files = [rt.proofs().credential_file(rt.store().get_credential(i)) for i in ids]
        granted = [stacking.issue_qualification(rt, acme, "any-two", self.files[:n], ADA,
                                                name="Ada Lovelace") for n in (2, BADGES)]
        rt.anchorer().run_until_idle(timeout=60)
        self.q2, self.q6 = (rt.proofs().credential_file(rt.store().get_credential(a.id))
                            for a in granted)

    def close(self) -> None:
        if self.runtime is not None:
            self.runtime.close()
        self.proxy.close()
        self.node.stop()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    s = Setup(tmp_path_factory.mktemp("bounds-rpc"))
    yield s
    s.close()


def crafted(s: Setup) -> dict:
    """290 credentials to verify: 16 copies of a qualification of 16 badges, in a qualification."""
    inner = copy.deepcopy(s.q2)
    inner["credanchorStack"]["components"] = [
        {"requirement": "b0", "credentialHash": "0x" + "00" * 32, "credential": s.files[0]}
    ] * 16
    outer = copy.deepcopy(s.q2)
    outer["credanchorStack"]["components"] = [
        {"requirement": "b0", "credentialHash": "0x" + "00" * 32, "credential": inner}] * 16
    return json.loads(json.dumps(outer))


def test_the_api_refuses_a_crafted_qualification_before_any_rpc_call(setup: Setup):
    client = create_app(runtime=setup.runtime).test_client()
    setup.proxy.reset()
    r = client.post("/api/v1/verify", json=crafted(setup))
    assert setup.proxy.requests == 0  # before: one eth_call per credential of the tree
    assert r.status_code == 413 and r.mimetype == "application/problem+json"
    problem = r.get_json()
    assert problem["type"] == "https://credanchor.dev/problems/too-many-credentials"
    assert problem["title"] == "Too many credentials to verify"
    assert problem["limit"] == 256 and problem["instance"] == "/api/v1/verify"
    assert problem["detail"].startswith("this holds more than 256 credentials to verify")
    # the page says so too, without asking the chain either
    r = client.post("/verify", data={"credential": json.dumps(crafted(setup))})
    assert r.status_code == 413 and setup.proxy.requests == 0
    assert "more than 256 credentials to verify" in r.get_data(as_text=True)


def test_the_api_reads_the_chain_the_same_number_of_times_for_2_or_6_components(setup: Setup):
    client = create_app(runtime=setup.runtime).test_client()
    seen = {}
    for name, doc in (("q2", setup.q2), ("q6", setup.q6)):
        setup.runtime.verifier(shared=True).forget()  # no warm cache from the previous one
        setup.proxy.reset()
        r = client.post("/api/v1/verify", json=doc)
        assert r.status_code == 200
        body = r.get_json()
        assert body["status"] == "VALID", body
        assert [c["status"] for c in body["components"]] == ["VALID"] * len(body["components"])
        seen[name] = (setup.proxy.requests, dict(setup.proxy.methods))
    (trips2, methods2), (trips6, methods6) = seen["q2"], seen["q6"]
    assert trips6 == trips2, seen  # before: 4 more, one eth_call round trip per component
    # one batch for every verify (qualification, definition, components), one receipt per
    # anchoring transaction (badges and definition together, the qualifications), one issuer
    # record, one head
    assert methods6["eth_call"] == methods2["eth_call"] + 4
    assert trips6 == 5, seen


def test_the_script_reports_the_crafted_file_and_batches_the_rest(setup: Setup, tmp_path,
                                                                  capsys):
    from credanchor.cli.errors import run
    from credanchor.cli.verifying import verify_command

    folder = tmp_path / "inbox"
    folder.mkdir()
    for name, doc in (("a-badge", setup.files[0]), ("b-crafted", crafted(setup)),
                      ("c-q2", setup.q2), ("d-q6", setup.q6),
                      ("e-date", {**setup.files[1], "validFrom": "0001-01-01T00:00:00+00:01"})):
        (folder / f"{name}.json").write_text(json.dumps(doc))
    args = ["--rpc", setup.proxy.url, "--chain-id", "31337", "--contract", setup.contract]
    capsys.readouterr()
    code = run(verify_command, [*args, str(folder)])
    out = capsys.readouterr().out
    assert code == 1, out
    rows = {line.split()[1].rsplit("/", 1)[-1]: line for line in out.splitlines()
            if line.split() and line.split()[0] in ("VALID", "INVALID")}
    assert rows["a-badge.json"].startswith("VALID")
    assert rows["c-q2.json"].startswith("VALID") and rows["d-q6.json"].startswith("VALID")
    assert rows["b-crafted.json"].startswith("INVALID")
    assert "more than 256 credentials to verify" in rows["b-crafted.json"]
    # a date unrepresentable in UTC: a verdict naming the check, not a traceback
    assert rows["e-date.json"].startswith("INVALID")
    assert "validity: The badge has no readable start date (validFrom)" in rows["e-date.json"]

    trips = {}
    for name in ("c-q2", "d-q6"):
        setup.proxy.reset()
        assert run(verify_command, [*args, str(folder / f"{name}.json")]) == 0
        trips[name] = setup.proxy.requests
    assert trips["d-q6"] == trips["c-q2"], trips
