"""``GET /status/{issuer}/{list}``: the signed BitstringStatusListCredential each badge's
``credentialStatus`` points at, on the embedded chain with a real ledger.

A bit is set once the revocation that covers the badge (its own or its batch's) is confirmed
on chain; the list is signed by the same key and DID as the badges, which
``core.dataintegrity.verify`` checks (did:key resolves offline)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from credanchor.core.dataintegrity import verify as verify_signature
from credanchor.core.statuslist import credential_status_entry, parse_status_list_credential
from credanchor.usecases.container import Runtime
from credanchor.web import create_app
from kit.settings import make_settings, sample_items

PROBLEM = "application/problem+json"


def issue(client, auth, n):
    resp = client.post("/api/v1/credentials", json=sample_items(n), headers=auth)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    return [c["id"] for c in resp.get_json()["credentials"]]


def anchor(client, auth, runtime):
    resp = client.post("/api/v1/batches", headers=auth)
    assert resp.status_code == 202
    runtime.anchorer().run_until_idle(timeout=60, force_seal=False)
    return resp.get_json()["batches"][0]["id"]


def badge(client, auth, credential_id):
    body = client.get(f"/api/v1/credentials/{credential_id}", headers=auth).get_json()
    assert body["status"] == "anchored"
    return body["credential"]


def fetch_list(client, url):
    """GET the list a badge names, through the app (the URL's path is what the app serves)."""
    path = url.removeprefix("http://127.0.0.1:8000")
    assert path.startswith("/status/")
    resp = client.get(path)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp


def set_bits(client, url):
    return set(parse_status_list_credential(fetch_list(client, url).get_json()).bits
               .set_indexes())


def test_the_list_a_badge_names_is_served_signed_by_the_badges_key(client, auth, runtime):
    ids = issue(client, auth, 3)
    anchor(client, auth, runtime)
    badges = [badge(client, auth, i) for i in ids]
    entries = [credential_status_entry(b) for b in badges]
    [url] = {e.list_url for e in entries}  # one issuer, one list
    assert url == "http://127.0.0.1:8000/status/1/1"
    assert len({e.index for e in entries}) == 3

    resp = fetch_list(client, url)
    assert resp.mimetype == "application/json"
    assert resp.headers["Cache-Control"] == "public, max-age=60"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    document = resp.get_json()
    assert document["id"] == url and document["issuer"] == badges[0]["issuer"]["id"]
    assert document["issuer"].startswith("did:key:")
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    listed = parse_status_list_credential(document)
    assert listed.list_url == url and listed.bits.length == 131_072 and listed.bits.count() == 0

    # Signed by the issuer's key: the badges' verification method, and it verifies.
    [proof] = document["proof"]
    assert proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["verificationMethod"] == badges[0]["proof"][0]["verificationMethod"]
    result = verify_signature(document)
    assert result.verified, result
    tampered = {**document, "validFrom": "2020-01-01T00:00:00Z"}
    assert not verify_signature(tampered).verified
    # validFrom: no revocation yet, so the list has said the same since the issuer began.
    issuer = runtime.store().get_issuer(1)
    assert document["validFrom"] == datetime.fromtimestamp(int(issuer.created_at), UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def test_a_bit_is_set_once_the_revocation_is_confirmed_and_a_batch_sets_all(
        client, auth, runtime):
    ids = issue(client, auth, 3)
    batch_id = anchor(client, auth, runtime)
    entries = [credential_status_entry(badge(client, auth, i)) for i in ids]
    url = entries[0].list_url
    first = fetch_list(client, url).get_json()

    resp = client.post(f"/api/v1/credentials/{ids[0]}/revoke", json={"reason": "superseded"},
                       headers=auth)
    assert resp.status_code == 202
    # Recorded, not yet on chain: the list does not say it.
    assert set_bits(client, url) == set()
    # One worker pass sends it; the next confirms it. Sent is not yet confirmed.
    report = runtime.anchorer().step()
    assert report.submitted == [("revocation_ops", 1)] and report.confirmed == []
    assert set_bits(client, url) == set()
    runtime.anchorer().run_until_idle(timeout=60, force_seal=False)
    assert set_bits(client, url) == {entries[0].index}
    revised = fetch_list(client, url).get_json()
    assert verify_signature(revised).verified
    assert revised["proof"][0]["id"] != first["proof"][0]["id"]  # signed anew for the change
    assert revised["validFrom"] >= first["validFrom"]

    client.post(f"/api/v1/batches/{batch_id}/revoke", json={"reason": 3}, headers=auth)
    assert set_bits(client, url) == {entries[0].index}
    runtime.anchorer().run_until_idle(timeout=60, force_seal=False)
    assert set_bits(client, url) == {e.index for e in entries}


def test_a_list_is_signed_once_per_state(client, auth, runtime):
    """Signing canonicalises RDF: a second request for an unchanged list reuses the signed
    document (same proof id), and a confirmed revocation makes a new one."""
    ids = issue(client, auth, 2)
    anchor(client, auth, runtime)
    one = fetch_list(client, "/status/1/1").get_json()
    two = fetch_list(client, "/status/1/1").get_json()
    assert one == two
    client.post(f"/api/v1/credentials/{ids[1]}/revoke", headers=auth)
    runtime.anchorer().run_until_idle(timeout=60, force_seal=False)
    three = fetch_list(client, "/status/1/1").get_json()
    assert three["proof"][0]["id"] != one["proof"][0]["id"]
    assert parse_status_list_credential(three).bits.count() == 1
    # validFrom is the confirmation time of the revocation that changed it.
    count, confirmed_at = runtime.store().revocations_version(1)
    assert count == 1
    assert three["validFrom"] == datetime.fromtimestamp(int(confirmed_at), UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def test_each_issuer_serves_its_own_lists(client, auth, other_auth, runtime):
    issue(client, auth, 1)
    [other_id] = issue(client, other_auth, 1)
    runtime.anchorer().run_until_idle(timeout=60, force_seal=True)
    entry = credential_status_entry(badge(client, other_auth, other_id))
    assert entry.list_url == "http://127.0.0.1:8000/status/2/1"
    mine, theirs = (fetch_list(client, p).get_json() for p in ("/status/1/1", "/status/2/1"))
    assert mine["issuer"] != theirs["issuer"]
    assert verify_signature(mine).verified and verify_signature(theirs).verified


@pytest.mark.parametrize("path", [
    "/status/1/1",  # nothing issued yet: the list does not exist
    "/status/1/2", "/status/99/1", "/status/0/1", "/status/1/0",
    "/status/1/99999999999999999999999", "/status/99999999999999999999999/1",
    "/status/9223372036854775808/1",
])
def test_unknown_lists_are_404_problems(client, path):
    resp = client.get(path)
    assert resp.status_code == 404 and resp.mimetype == PROBLEM
    body = resp.get_json()
    assert body["status"] == 404 and body["code"] == "not-found"


def test_a_list_path_that_is_not_numbers_is_a_404_problem(client, auth, runtime):
    issue(client, auth, 1)
    for path in ("/status/one/1", "/status/1/-1", "/status/1/1.0", "/status/1", "/status/²/1"):
        resp = client.get(path)
        assert resp.status_code == 404 and resp.mimetype == PROBLEM, path
    # Even when a browser asks for HTML: a list URL that is malformed is data, not a page
    # (the OpenAPI fuzzing found /status/1/null%2Cnull answered with the HTML 404 page).
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    for path in ("/status/1/null%2Cnull", "/status/one/1", "/issuers/a%2Fb/did.json",
                 "/issuers/x/y/did.json"):
        resp = client.get(path, headers=browser)
        assert resp.status_code == 404 and resp.mimetype == PROBLEM, path


def test_an_issuer_without_a_signing_identity_has_no_list(client, runtime):
    """An issuer from before signatures (no DID, no key: the ledger as it was) publishes no
    status list, even under a list number another issuer uses."""
    store = runtime.store()
    legacy = store.add_issuer(address="0x" + "ab" * 20, name="Legacy College")
    assert legacy.did is None
    resp = client.get(f"/status/{legacy.id}/1")
    assert resp.status_code == 404 and resp.mimetype == PROBLEM


def test_status_lists_are_rate_limited(tmp_path):
    rt = Runtime.open(make_settings(tmp_path / "d", public_rate_limit="2/minute"))
    try:
        c = create_app(runtime=rt).test_client()
        codes = [c.get("/status/1/1").status_code for _ in range(3)]
        assert codes == [404, 404, 429]
        assert c.get("/status/1/1").mimetype == PROBLEM
        assert [c.get("/.well-known/did.json").status_code for _ in range(3)] == [404, 404, 429]
    finally:
        rt.close()
