"""did:web issuers: ``GET /.well-known/did.json`` (issuer 1) and ``GET /issuers/{n}/did.json``
serve the documents their DIDs resolve to, on a runtime whose public URL is https (embedded
chain, real ledger and keys). The served document is what verifies the badges' and the status
lists' signatures; a rotated key stays in it, retired."""

from __future__ import annotations

from pathlib import Path

import pytest

from credanchor.core.dataintegrity import verify as verify_signature
from credanchor.core.did_document import parse_did_document
from credanchor.core.multikey import did_web_url
from credanchor.core.statuslist import credential_status_entry, parse_status_list_credential
from credanchor.usecases.config import Settings
from credanchor.usecases.issuer_identity import rotate_key
from kit.settings import make_settings, sample_items

PUBLIC = "https://badges.example.org"
PROBLEM = "application/problem+json"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", public_url=PUBLIC)


def issue_and_anchor(client, auth, runtime, n=2):
    resp = client.post("/api/v1/credentials", json=sample_items(n), headers=auth)
    assert resp.status_code == 202
    runtime.anchorer().run_until_idle(timeout=60, force_seal=True)
    ids = [c["id"] for c in resp.get_json()["credentials"]]
    return [client.get(f"/api/v1/credentials/{i}", headers=auth).get_json()["credential"]
            for i in ids]


def get_did_document(client, path):
    resp = client.get(path, headers={"Host": "badges.example.org"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "application/did+json"
    assert resp.headers["Cache-Control"] == "public, max-age=60"
    return resp.get_json(force=True)


def test_issuer_one_is_did_web_of_the_host_and_its_document_verifies_its_badges(
        client, auth, runtime, local_issuer):
    assert local_issuer.did == "did:web:badges.example.org"
    assert did_web_url(local_issuer.did) == f"{PUBLIC}/.well-known/did.json"
    document = get_did_document(client, "/.well-known/did.json")
    parsed = parse_did_document(document, local_issuer.did)
    [key] = [m for m in parsed.methods if m.type == "Multikey"]
    assert parsed.is_assertion_method(key.id) and key.revoked is None
    # The anchoring account, as CAIP-10, binds the DID to the account that anchors.
    assert parsed.names_account(runtime.chain.chain_id, local_issuer.address)

    badges = issue_and_anchor(client, auth, runtime)
    for b in badges:
        assert b["issuer"]["id"] == local_issuer.did
        assert b["proof"][0]["verificationMethod"] == key.id
        result = verify_signature(b, resolver=document)
        assert result.verified, result
    # The status list lives on the public URL and is signed by the same DID and key.
    entry = credential_status_entry(badges[0])
    assert entry.list_url == f"{PUBLIC}/status/1/1"
    listed = client.get("/status/1/1").get_json()
    assert listed["id"] == entry.list_url and listed["issuer"] == local_issuer.did
    assert listed["proof"][0]["verificationMethod"] == key.id
    assert verify_signature(listed, resolver=document).verified
    assert parse_status_list_credential(listed).bits.count() == 0


def test_another_issuer_has_its_document_under_issuers(client, runtime, other_auth):
    other = runtime.store().get_issuer(2)
    assert other.did == "did:web:badges.example.org:issuers:2"
    assert did_web_url(other.did) == f"{PUBLIC}/issuers/2/did.json"
    document = get_did_document(client, "/issuers/2/did.json")
    assert document["id"] == other.did
    assert parse_did_document(document, other.did).names_account(
        runtime.chain.chain_id, other.address)
    [badge] = issue_and_anchor(client, other_auth, runtime, 1)
    assert verify_signature(badge, resolver=document).verified
    # Issuer 1's document is not issuer 2's, and the other way round.
    assert not verify_signature(badge, resolver=get_did_document(
        client, "/.well-known/did.json")).verified


@pytest.mark.parametrize("path", [
    "/issuers/1/did.json",   # issuer 1 is did:web:<host>, not …:issuers:1
    "/issuers/01/did.json", "/issuers/2/did.json", "/issuers/0/did.json",
    "/issuers/acme/did.json", "/issuers/99999999999999999999/did.json",
    "/issuers/²/did.json", "/issuers/%C2%B2/did.json", "/issuers/-1/did.json",
])
def test_a_document_is_served_only_where_its_did_points(client, path):
    resp = client.get(path)
    assert resp.status_code == 404 and resp.mimetype == PROBLEM
    assert resp.get_json()["code"] == "not-found"


def test_a_rotated_key_stays_in_the_document_retired_and_the_list_is_re_signed(
        client, auth, runtime, local_issuer):
    [old_badge] = issue_and_anchor(client, auth, runtime, 1)
    before = client.get("/status/1/1").get_json()
    old_vm = old_badge["proof"][0]["verificationMethod"]

    new = rotate_key(runtime, local_issuer)
    document = get_did_document(client, "/.well-known/did.json")
    parsed = parse_did_document(document, local_issuer.did)
    new_vm = f"{local_issuer.did}#{new.public_multibase}"
    assert parsed.is_assertion_method(new_vm) and not parsed.is_assertion_method(old_vm)
    assert parsed.revoked(old_vm) is not None
    # The list is signed again, with the current key, and verifies against the document.
    after = client.get("/status/1/1").get_json()
    assert after["proof"][0]["verificationMethod"] == new_vm != before["proof"][0][
        "verificationMethod"]
    assert verify_signature(after, resolver=document).verified


def test_a_did_key_issuer_publishes_no_did_web_document(tmp_path):
    from credanchor.usecases.container import Runtime
    from credanchor.web import create_app

    rt = Runtime.open(make_settings(tmp_path / "d"))  # no public URL: did:key
    try:
        c = create_app(runtime=rt).test_client()
        assert rt.store().get_issuer(1).did.startswith("did:key:")
        for path in ("/.well-known/did.json", "/issuers/1/did.json"):
            resp = c.get(path)
            assert resp.status_code == 404 and resp.mimetype == PROBLEM
    finally:
        rt.close()
