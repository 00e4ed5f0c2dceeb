"""The authorisation matrix, enumerated and tested.

API (every operation the OpenAPI document marks as secured, with real ids in its path):
no key, malformed header, wrong key → 401; another issuer's credential or batch → 404 exactly
like a missing one, and nothing changes; a suspended issuer → 403.

Contract (the real CredentialAnchor on the embedded chain): an outsider anchoring or revoking,
issuer B revoking issuer A's credential or batch, B re-anchoring A's root, a suspended issuer
anchoring (directly, and through the service's own worker), and non-admins accrediting or
suspending — each refused with its named custom error, and A's credentials stay VALID."""

from __future__ import annotations

import re

import pytest

from credanchor.chain.keys import Signer
from credanchor.errors import ContractReverted
from credanchor.issuing.pipeline import issue
from credanchor.usecases.issuers import add_issuer, suspend_issuer
from kit.service import ledger_state
from kit.settings import sample_items

PROBLEM = "application/problem+json"


@pytest.fixture
def world(runtime, client, auth):
    """Issuer A with an anchored batch and a credential; issuer B with its own key."""
    store = runtime.store()
    r = client.post("/api/v1/credentials", json=sample_items(3), headers=auth)
    ids = [c["id"] for c in r.get_json()["credentials"]]
    [batch] = client.post("/api/v1/batches", headers=auth).get_json()["batches"]
    runtime.anchorer().run_until_idle(timeout=60, force_seal=False)
    b = add_issuer(runtime, name="Other Academy", url="https://other.example")
    return {
        "a_auth": auth, "a_ids": ids, "a_batch": batch["id"],
        "a": store.list_issuers()[0], "b": b.issuer,
        "b_auth": {"Authorization": f"Bearer {b.api_key}"},
    }


def secured_operations(client, cred_id: str, batch_id: int) -> list[tuple[str, str, str]]:
    """(method, url, template) of every operation the document secures, ids filled in."""
    spec = client.get("/openapi.json").get_json()
    ops = []
    for template, item in spec["paths"].items():
        for method, op in item.items():
            if not op.get("security"):
                continue
            url = (template.replace("{credential_id}", cred_id)
                   .replace("{batch_id}", str(batch_id))
                   .replace("{stack_id}", "data-analyst"))
            assert not re.search(r"\{\w+\}", url), f"unfilled path parameter in {template}"
            ops.append((method, url, template))
    return ops


def call(client, method: str, url: str, headers: dict):
    kwargs: dict = {"headers": headers}
    if method in ("post", "patch", "put"):
        kwargs["json"] = {"shared": True} if method == "patch" else {}
    return getattr(client, method)(url, **kwargs)


def assert_problem(resp, status: int) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:200])
    assert resp.mimetype == PROBLEM
    return resp.get_json(force=True)


BAD_CREDENTIALS = {
    "no header": {},
    "empty bearer": {"Authorization": "Bearer "},
    "basic scheme": {"Authorization": "Basic YWRtaW46YWRtaW4="},
    "unknown key": {"Authorization": "Bearer cak_" + "A" * 43},
    "key without scheme": None,  # filled in with A's real key, sent bare
    "A's key upper-cased": None,
    "A's key truncated": None,
}


@pytest.mark.parametrize("case", BAD_CREDENTIALS)
def test_every_secured_operation_refuses_a_missing_or_wrong_key(runtime, client, world, case):
    key = world["a_auth"]["Authorization"].split(" ", 1)[1]
    headers = BAD_CREDENTIALS[case]
    if case == "key without scheme":
        headers = {"Authorization": key}
    elif case == "A's key upper-cased":
        headers = {"Authorization": f"Bearer {key.upper()}"}
    elif case == "A's key truncated":
        headers = {"Authorization": f"Bearer {key[:-1]}"}
    ops = secured_operations(client, world["a_ids"][0], world["a_batch"])
    assert len(ops) >= 9
    before = ledger_state(runtime)
    for method, url, _ in ops:
        body = assert_problem(call(client, method, url, headers), 401)
        assert body["code"] == "unauthorized"
    assert ledger_state(runtime) == before


def test_another_issuers_credentials_and_batches_are_invisible(runtime, client, world):
    ops = [o for o in secured_operations(client, world["a_ids"][0], world["a_batch"])
           if "{credential_id}" in o[2] or "{batch_id}" in o[2]]
    assert len(ops) >= 5
    before = ledger_state(runtime)
    missing = secured_operations(client, "urn:uuid:00000000-0000-4000-8000-000000000000", 999)
    missing_status = {(m, t): call(client, m, u, world["b_auth"]).status_code
                      for m, u, t in missing}
    for method, url, template in ops:
        resp = call(client, method, url, world["b_auth"])
        body = assert_problem(resp, 404)
        # exactly like an id that does not exist: no existence oracle
        assert missing_status[(method, template)] == 404
        assert body["code"] == "not-found"
    assert ledger_state(runtime) == before
    listed = client.get("/api/v1/credentials", headers=world["b_auth"]).get_json()
    assert listed["items"] == []
    assert client.get("/api/v1/batches", headers=world["b_auth"]).get_json()["items"] == []
    assert client.get(f"/api/v1/credentials?batch={world['a_batch']}",
                      headers=world["b_auth"]).get_json()["items"] == []
    # A still sees its own
    mine = client.get(f"/api/v1/credentials/{world['a_ids'][0]}", headers=world["a_auth"])
    assert mine.status_code == 200 and mine.get_json()["status"] == "anchored"


def test_a_suspended_issuer_is_refused_everywhere(runtime, client, world):
    suspend_issuer(runtime, str(world["a"].id))
    ops = secured_operations(client, world["a_ids"][0], world["a_batch"])
    before = ledger_state(runtime)
    for method, url, _ in ops:
        body = assert_problem(call(client, method, url, world["a_auth"]), 403)
        assert body["code"] == "forbidden" and "suspended" in body["detail"]
    assert ledger_state(runtime) == before
    # the other issuer is unaffected
    assert client.get("/api/v1/credentials", headers=world["b_auth"]).status_code == 200


# -- the contract --------------------------------------------------------------------------------


def refused(runtime, signer, call_request) -> ContractReverted:
    with pytest.raises(ContractReverted) as info:
        runtime.chain.admin_send(call_request, signer=signer)
    return info.value


def test_contract_refuses_every_unauthorised_write(runtime, world):
    chain = runtime.chain
    contract = chain.contract
    embedded = chain.embedded
    store = runtime.store()
    a_signer = runtime.signer_for(world["a"])
    b_signer = runtime.signer_for(world["b"])
    outsider = Signer.generate()
    embedded.fund(outsider.address, 10**20)
    batch = store.get_batch(world["a_batch"])
    cred = store.get_credential(world["a_ids"][0])
    fresh_root = bytes(range(1, 33))

    matrix = [
        ("outsider anchors", outsider, contract.anchor(fresh_root, 1),
         "CredentialAnchorIssuerNotAccredited"),
        ("outsider revokes a credential", outsider,
         contract.revoke_credential(cred.credential_hash, 1), "CredentialAnchorNeverAccredited"),
        ("outsider revokes A's batch", outsider,
         contract.revoke_batch(world["a"].address, batch.root, 1),
         "CredentialAnchorNotRootIssuer"),
        ("B revokes A's batch", b_signer, contract.revoke_batch(world["a"].address, batch.root, 1),
         "CredentialAnchorNotRootIssuer"),
        ("B revokes A's batch as its own", b_signer,
         contract.revoke_batch(world["b"].address, batch.root, 1),
         "CredentialAnchorRootNotAnchored"),
        ("A anchors its root again", a_signer, contract.anchor(batch.root, batch.count),
         "CredentialAnchorRootAlreadyAnchored"),
        ("issuer A accredits an outsider", a_signer,
         contract.accredit_issuer(outsider.address, "Mallory U", did="did:example:mallory"),
         "AccessControlUnauthorizedAccount"),
        ("issuer A renames issuer B", a_signer,
         contract.update_issuer_profile(world["b"].address, "Mallory U", did="did:example:m"),
         "AccessControlUnauthorizedAccount"),
        ("issuer A suspends issuer B", a_signer, contract.suspend_issuer(world["b"].address),
         "AccessControlUnauthorizedAccount"),
        ("outsider accredits itself", outsider,
         contract.accredit_issuer(outsider.address, "Mallory U", did="did:example:mallory"),
         "AccessControlUnauthorizedAccount"),
    ]
    for what, signer, request, error in matrix:
        exc = refused(runtime, signer, request)
        assert exc.error == error, (what, exc.error, exc.detail)
    assert not contract.issuer_info(outsider.address).active
    assert contract.issuer_info(world["b"].address).active
    assert contract.batch_revocation(world["a"].address, batch.root) is None

    # B may anchor A's root — under B's own name (a copied transaction, say), which changes
    # nothing for A's batch or credentials: anchors are per issuer.
    chain.admin_send(contract.anchor(batch.root, batch.count), signer=b_signer)
    assert contract.anchor_of(world["b"].address, batch.root) is not None
    assert contract.anchor_of(world["a"].address, batch.root).issuer == world["a"].address

    # B may record a revocation of A's credential hash — under B's own name, which changes
    # nothing for A's credential: revocations are per issuer.
    chain.admin_send(contract.revoke_credential(cred.credential_hash, 1), signer=b_signer)
    assert contract.credential_revocation(world["b"].address, cred.credential_hash) is not None
    assert contract.credential_revocation(world["a"].address, cred.credential_hash) is None
    doc = runtime.proofs().credential_file(cred)
    assert runtime.verify(doc).status.value == "VALID"

    # An issuer suspended on chain cannot anchor, directly …
    # (suspended by the registry admin only: one suspended in this service's ledger too is
    # held back by the worker before the contract is asked, tests/usecases/test_harden_suspension.py)
    chain.admin_send(contract.suspend_issuer(world["b"].address))
    exc = refused(runtime, b_signer, contract.anchor(fresh_root, 1))
    assert exc.error == "CredentialAnchorIssuerNotAccredited"
    # … nor through the service's worker: the batch waits, saying why, and is not confirmed.
    accepted = issue(store, store.get_issuer(world["b"].id), runtime.issuance(world["b"]),
                     sample_items(2), max_items=2)
    anchorer = runtime.anchorer()
    report = anchorer.step(force_seal=True)
    assert report.sealed and report.errors
    b_batch = store.get_batch(report.sealed[0])
    assert b_batch.status == "queued"
    assert "CredentialAnchorIssuerNotAccredited" in (b_batch.last_error or "")
    assert {store.get_credential(a.id).status for a in accepted} == {"sealed"}
    assert contract.anchor_of(world["b"].address, b_batch.root) is None
    # A suspended issuer may still revoke its own (contract.md): not an authorisation hole.
    chain.admin_send(contract.revoke_credential(bytes(32 * [7]), 1), signer=b_signer)
