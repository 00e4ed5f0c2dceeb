"""The HTTP API through Flask's test client, on the embedded chain: every endpoint and its
error paths. Every error must be RFC 9457 problem+json, never a 500."""

from __future__ import annotations

import json
import time

import pytest

from kit.settings import sample_items

PROBLEM = "application/problem+json"


def problem(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == PROBLEM
    body = resp.get_json(force=True)
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    return body


def issue(client, auth, n=2, **kw):
    resp = client.post("/api/v1/credentials", json=sample_items(n), headers=auth, **kw)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    return resp.get_json()["credentials"]


def anchor_all(client, auth, runtime):
    resp = client.post("/api/v1/batches", headers=auth)
    assert resp.status_code == 202
    runtime.anchorer().run_until_idle(timeout=60, force_seal=False)
    return resp.get_json()["batches"]


def test_issue_anchor_download_and_verify(client, auth, runtime):
    creds = issue(client, auth, 3)
    assert [c["status"] for c in creds] == ["pending"] * 3
    assert all(c["id"].startswith("urn:uuid:") and len(c["credentialHash"]) == 66 for c in creds)
    pending = client.get(f"/api/v1/credentials/{creds[0]['id']}", headers=auth).get_json()
    # Pending: signed by the issuer, not anchored yet (the signature is its only proof).
    assert pending["status"] == "pending"
    assert [p["type"] for p in pending["credential"]["proof"]] == ["DataIntegrityProof"]

    [batch] = anchor_all(client, auth, runtime)
    assert batch["count"] == 3
    detail = client.get(f"/api/v1/batches/{batch['id']}", headers=auth).get_json()
    assert detail["status"] == "confirmed" and detail["transactionHash"].startswith("0x")
    assert detail["blockNumber"] > 0 and detail["root"] == batch["root"]

    got = client.get(f"/api/v1/credentials/{creds[0]['id']}", headers=auth).get_json()
    assert got["status"] == "anchored"
    proof = got["credential"]["proof"][-1]
    assert proof["merkleRoot"] == batch["root"] and proof["credentialHash"] == creds[0]["credentialHash"]

    dl = client.get(f"/api/v1/credentials/{creds[0]['id']}?download=1", headers=auth)
    assert dl.status_code == 200 and "attachment" in dl.headers["Content-Disposition"]
    document = json.loads(dl.get_data())

    report = client.post("/api/v1/verify", json=document)
    assert report.status_code == 200
    body = report.get_json()
    assert body["status"] == "VALID"
    assert [c["name"] for c in body["checks"]] == [
        "schema", "integrity", "signature", "merkle", "validity", "trusted-anchor", "anchored",
        "did-binding", "issuer", "revocation", "confirmations", "status-list"]
    assert report.headers["Access-Control-Allow-Origin"] == "*"

    document["credentialSubject"]["achievement"]["name"] = "Something else"
    tampered = client.post("/api/v1/verify", json=document).get_json()
    assert tampered["status"] == "INVALID"
    assert {c["name"] for c in tampered["checks"] if c["outcome"] == "fail"} >= {"integrity"}


def test_verify_hashes_every_way_a_file_can_be_written_alike(client, auth, runtime):
    # /verify hashes a plain body (no float, nothing at or above U+D800) without the canonical
    # form's guard (credanchor.core.hashing.loads_plain), and any other body the guarded way:
    # an emoji in the learner's name, raw or escaped, takes the second path.
    items = sample_items(2)
    items[1]["recipient"]["name"] = "Zoë \U0001f600 Okafor"
    creds = client.post("/api/v1/credentials", json=items, headers=auth).get_json()["credentials"]
    anchor_all(client, auth, runtime)
    for cred in creds:
        document = client.get(f"/api/v1/credentials/{cred['id']}", headers=auth).get_json()[
            "credential"]
        for body in (json.dumps(document), json.dumps(document, ensure_ascii=False, indent=1)):
            report = client.post("/api/v1/verify", data=body.encode(),
                                 content_type="application/json").get_json()
            assert report["status"] == "VALID", report
            assert report["credential_hash"] == cred["credentialHash"]
        document["credentialSubject"]["name"] += "!"
        tampered = client.post("/api/v1/verify", json=document).get_json()
        assert tampered["status"] == "INVALID"
        assert [c["outcome"] for c in tampered["checks"] if c["name"] == "integrity"] == ["fail"]


def test_list_filters_and_paginates(client, auth, runtime):
    issue(client, auth, 5)
    page1 = client.get("/api/v1/credentials?limit=2", headers=auth).get_json()
    assert len(page1["items"]) == 2 and page1["next"] is not None
    page2 = client.get(f"/api/v1/credentials?limit=2&after={page1['next']}", headers=auth).get_json()
    assert {i["id"] for i in page1["items"]}.isdisjoint(i["id"] for i in page2["items"])
    assert len(client.get("/api/v1/credentials?status=pending", headers=auth).get_json()["items"]) == 5
    anchor_all(client, auth, runtime)
    assert client.get("/api/v1/credentials?status=pending", headers=auth).get_json()["items"] == []
    assert len(client.get("/api/v1/credentials?status=anchored", headers=auth).get_json()["items"]) == 5
    problem(client.get("/api/v1/credentials?status=bogus", headers=auth), 400)
    problem(client.get("/api/v1/credentials?limit=0", headers=auth), 400)


def test_csv_upload_and_csv_body(client, auth):
    from kit.settings import EXAMPLES

    data = (EXAMPLES / "badges.csv").read_bytes()
    resp = client.post("/api/v1/credentials", data=data, headers={**auth, "Content-Type": "text/csv"})
    assert resp.status_code == 202 and resp.get_json()["count"] == 4
    import io

    resp = client.post("/api/v1/credentials", headers=auth,
                       data={"file": (io.BytesIO(data), "badges.csv", "text/csv")})
    assert resp.status_code == 202 and resp.get_json()["count"] == 4
    bad = problem(client.post("/api/v1/credentials", data=b"name,oops\n1,2\n",
                              headers={**auth, "Content-Type": "text/csv"}), 400)
    assert "achievement_name" in bad["detail"]
    bad = problem(client.post("/api/v1/credentials", data=b"\xff\xfe,\n",
                              headers={**auth, "Content-Type": "text/csv"}), 400)
    assert "UTF-8" in bad["detail"]


def test_idempotency_key_makes_retries_safe(client, auth, runtime):
    headers = {**auth, "Idempotency-Key": "order-42"}
    first = client.post("/api/v1/credentials", json=sample_items(2), headers=headers).get_json()
    again = client.post("/api/v1/credentials", json=sample_items(2), headers=headers).get_json()
    assert first == again
    assert runtime.store().pending_summary()[0] == 2
    body = problem(client.post("/api/v1/credentials", json=sample_items(3), headers=headers), 409)
    assert "Idempotency-Key" in body["detail"]


def test_bad_input_is_a_clear_4xx_and_stores_nothing(client, auth, runtime):
    cases = [
        (b"{not json", 400),
        (b'{"a": 1, "a": 2}', 400),  # duplicate keys
        (b"[" * 200 + b"]" * 200, 400),  # deep nesting
        (b'{"recipient": {"name": "x"}, "achievement": {"name": "n", "description": "d"}, '
         b'"validFrom": "yesterday"}', 400),
        (b'{"recipient": {"name": "x"}}', 400),
        (b'[]', 400),
    ]
    for body, status in cases:
        resp = client.post("/api/v1/credentials", data=body,
                           headers={**auth, "Content-Type": "application/json"})
        problem(resp, status)
    # one bad item in an array rejects the whole request
    items = [*sample_items(2), {"recipient": {"name": "x"}, "achievement": {"name": "n"}}]
    body = problem(client.post("/api/v1/credentials", json=items, headers=auth), 400)
    assert "$[2]" in body["detail"]
    assert runtime.store().pending_summary()[0] == 0


def test_a_refused_request_lists_every_bad_item(client, auth, runtime):
    """Like `credanchor issue FILE`, the API names every bad item of a refused request, not
    only the first: the detail is still the first (the problem's type is its type), and the
    members `refused` and `refusedCount` list them all, so a client fixes them in one go."""
    good = sample_items(5)
    items = [good[0], {"recipient": {"name": "x"}, "achievement": {"name": "n"}}, good[2],
             {**good[3], "validFrom": "yesterday"}, {**good[4], "recipient": "nobody"}]
    body = problem(client.post("/api/v1/credentials", json=items, headers=auth), 400)
    assert body["refusedCount"] == 3
    assert [r.split(":")[0].split(".")[0] for r in body["refused"]] == ["$[1]", "$[3]", "$[4]"]
    assert body["detail"].startswith(body["refused"][0])
    assert "3 of 5 items refused" in body["detail"]
    assert "yesterday" in body["refused"][1]
    assert runtime.store().pending_summary()[0] == 0

    # more bad items than are listed: the count covers them all
    many = [{"recipient": {"name": f"x{i}"}} for i in range(60)]
    body = problem(client.post("/api/v1/credentials", json=[*good, *many], headers=auth), 400)
    assert body["refusedCount"] == 60 and len(body["refused"]) == 50
    assert body["refused"][0].startswith("$[5]") and body["refused"][-1].startswith("$[54]")

    # one item alone: the same members, with the one refusal
    body = problem(client.post("/api/v1/credentials", json=items[3], headers=auth), 400)
    assert body["refused"] == [body["detail"]] and body["refusedCount"] == 1
    assert runtime.store().pending_summary()[0] == 0


def test_limits_413(client, auth, runtime, app):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    problem(client.post("/api/v1/credentials", json=sample_items(20), headers=auth), 413)


def test_per_request_maximum(tmp_path):
    from credanchor.usecases.container import Runtime
    from credanchor.web import create_app
    from kit.settings import make_settings

    rt = Runtime.open(make_settings(tmp_path / "d", max_credentials_per_request=3))
    try:
        c = create_app(runtime=rt).test_client()
        key = rt.store().create_api_key(rt.store().list_issuers()[0].id)
        body = problem(c.post("/api/v1/credentials", json=sample_items(4),
                              headers={"Authorization": f"Bearer {key}"}), 413)
        assert "maximum is 3" in body["detail"]
    finally:
        rt.close()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"},
                                     {"Authorization": "Basic abc"}])
def test_issuer_endpoints_need_a_valid_key(client, headers):
    for method, url in [("post", "/api/v1/credentials"), ("get", "/api/v1/credentials"),
                        ("get", "/api/v1/credentials/urn:uuid:x"), ("post", "/api/v1/batches"),
                        ("get", "/api/v1/batches/1"), ("post", "/api/v1/batches/1/revoke"),
                        ("post", "/api/v1/credentials/urn:uuid:x/revoke")]:
        problem(getattr(client, method)(url, headers=headers), 401)


def test_an_issuer_sees_only_its_own(client, auth, other_auth, runtime):
    [mine] = issue(client, auth, 1)
    [batch] = anchor_all(client, auth, runtime)
    for method, url in [("get", f"/api/v1/credentials/{mine['id']}"),
                        ("post", f"/api/v1/credentials/{mine['id']}/revoke"),
                        ("patch", f"/api/v1/credentials/{mine['id']}"),
                        ("get", f"/api/v1/batches/{batch['id']}"),
                        ("post", f"/api/v1/batches/{batch['id']}/revoke")]:
        kwargs = {"json": {"shared": True}} if method == "patch" else {}
        problem(getattr(client, method)(url, headers=other_auth, **kwargs), 404)
    assert client.get("/api/v1/credentials", headers=other_auth).get_json()["items"] == []


def test_suspended_issuer_is_refused(client, auth, runtime, local_issuer):
    runtime.store().set_issuer_status(local_issuer.id, "suspended")
    body = problem(client.get("/api/v1/credentials", headers=auth), 403)
    assert "suspended" in body["detail"]


def test_revoke_credential_and_batch(client, auth, runtime):
    creds = issue(client, auth, 2)
    [batch] = anchor_all(client, auth, runtime)
    resp = client.post(f"/api/v1/credentials/{creds[0]['id']}/revoke", json={"reason": "superseded"},
                       headers=auth)
    assert resp.status_code == 202 and resp.get_json()["status"] == "queued"
    again = client.post(f"/api/v1/credentials/{creds[0]['id']}/revoke", headers=auth).get_json()
    assert again["status"] == "already-requested"
    problem(client.post(f"/api/v1/credentials/{creds[1]['id']}/revoke", json={"reason": "bogus"},
                        headers=auth), 400)
    runtime.anchorer().run_until_idle(timeout=60, force_seal=False)
    doc = client.get(f"/api/v1/credentials/{creds[0]['id']}", headers=auth).get_json()
    assert doc["revocation"]["status"] == "confirmed" and doc["revocation"]["reason"] == 2
    report = client.post("/api/v1/verify", json=doc["credential"]).get_json()
    assert report["status"] == "REVOKED"
    resp = client.post(f"/api/v1/batches/{batch['id']}/revoke", json={"reason": 3}, headers=auth)
    assert resp.status_code == 202
    runtime.anchorer().run_until_idle(timeout=60, force_seal=False)
    doc = client.get(f"/api/v1/credentials/{creds[1]['id']}", headers=auth).get_json()
    assert client.post("/api/v1/verify", json=doc["credential"]).get_json()["status"] == "REVOKED"



def test_revocation_reasons_are_one_table_for_the_api_and_the_cli(client, auth, runtime):
    """usecases/revocation.py parses the reason for both faces: names, or integers 0-255;
    a digit string (the CLI turns its own into an integer first) or a boolean stays 400."""
    from credanchor.usecases.revocation import REVOCATION_REASONS, reason_code

    assert REVOCATION_REASONS["withdrawn"] == reason_code("withdrawn") == 5
    assert reason_code(255) == 255
    [cred] = issue(client, auth, 1)
    anchor_all(client, auth, runtime)
    url = f"/api/v1/credentials/{cred['id']}/revoke"
    for bad in ("5", True, 256, -1, None):
        problem(client.post(url, json={"reason": bad}, headers=auth), 400)
    resp = client.post(url, json={"reason": 200, "note": "moved"}, headers=auth)
    assert resp.status_code == 202 and resp.get_json()["reason"] == 200
    assert runtime.store().revocation_of(1, "credential", bytes.fromhex(
        cred["credentialHash"][2:]))["reason"] == 200

def test_share_toggles_the_public_page(client, auth, runtime):
    [c] = issue(client, auth, 1)
    anchor_all(client, auth, runtime)
    assert runtime.shared_credential(c["id"]) is None
    resp = client.patch(f"/api/v1/credentials/{c['id']}", json={"shared": True}, headers=auth)
    assert resp.status_code == 200 and resp.get_json()["shared"] is True
    assert runtime.shared_credential(c["id"])["id"] == c["id"]
    problem(client.patch(f"/api/v1/credentials/{c['id']}", json={"shared": "yes"}, headers=auth), 400)


def test_public_endpoints(client, auth, runtime, local_issuer):
    issuers = client.get("/api/v1/issuers").get_json()
    assert issuers["chainId"] == runtime.chain.chain_id
    [entry] = [i for i in issuers["issuers"] if i["address"] == local_issuer.address]
    assert entry["active"] is True and entry["name"] == runtime.settings.issuer_name
    # the DID the registry binds to the issuer's account: what its credentials name it by
    assert entry["did"] == local_issuer.did and local_issuer.did.startswith("did:key:")
    assert entry["did"] == runtime.issuer_profile(local_issuer).did
    health = client.get("/healthz")
    assert health.status_code == 200
    h = health.get_json()
    assert h["status"] == "ok" and h["chain"]["head"] >= 1 and h["backlog"]["pending"] == 0
    pre = client.options("/api/v1/verify", headers={"Origin": "https://employer.example",
                                                   "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204 and pre.headers["Access-Control-Allow-Origin"] == "*"
    problem(client.post("/api/v1/verify", data=b"[1,2]", content_type="application/json"), 400)
    problem(client.get("/api/v1/nothing-here"), 404)
    problem(client.delete("/api/v1/verify"), 405)


def test_verify_reports_error_not_invalid_when_the_chain_is_down(client, auth, runtime):
    [c] = issue(client, auth, 1)
    anchor_all(client, auth, runtime)
    doc = client.get(f"/api/v1/credentials/{c['id']}", headers=auth).get_json()["credential"]
    runtime.chain.embedded.close()  # the node is gone
    body = client.post("/api/v1/verify", json=doc).get_json()
    assert body["status"] == "ERROR"
    assert {ch["outcome"] for ch in body["checks"] if ch["name"] == "anchored"} == {"error"}
    assert client.get("/healthz").status_code == 503


def test_public_endpoints_are_rate_limited(tmp_path):
    from credanchor.usecases.container import Runtime
    from credanchor.web import create_app
    from kit.settings import make_settings

    rt = Runtime.open(make_settings(tmp_path / "d", public_rate_limit="2/minute"))
    try:
        c = create_app(runtime=rt).test_client()
        codes = [c.post("/api/v1/verify", json={"x": 1}).status_code for _ in range(3)]
        assert codes[:2] == [200, 200]
        problem(c.post("/api/v1/verify", json={"x": 1}), 429)
        assert [c.get("/api/v1/issuers").status_code for _ in range(3)] == [200, 200, 429]
    finally:
        rt.close()


def test_a_limited_client_is_told_when_to_come_back_and_every_limit_counts(tmp_path):
    from credanchor.usecases.container import Runtime
    from credanchor.web import create_app
    from kit.settings import make_settings

    rt = Runtime.open(make_settings(tmp_path / "d", public_rate_limit="50/hour;2/minute"))
    try:
        c = create_app(runtime=rt).test_client()
        assert [c.get("/api/v1/issuers").status_code for _ in range(2)] == [200, 200]
        limited = c.get("/api/v1/issuers")
        body = problem(limited, 429)
        assert "2 per 1 minute" in body["detail"]
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        # another client, and the same client on another endpoint, have counts of their own
        other = {"REMOTE_ADDR": "10.9.8.7"}
        assert c.get("/api/v1/issuers", environ_base=other).status_code == 200
        assert c.post("/api/v1/verify", json={"x": 1}).status_code == 200
    finally:
        rt.close()


@pytest.mark.parametrize("rate", ["abc", "10/fortnight", "5 per"])
def test_a_rate_limit_that_is_not_a_rate_is_a_configuration_error(tmp_path, rate):
    from credanchor.errors import ConfigError
    from credanchor.usecases.container import Runtime
    from credanchor.web import create_app
    from kit.settings import make_settings

    rt = Runtime.open(make_settings(tmp_path / "d", public_rate_limit=rate))
    try:
        with pytest.raises(ConfigError, match="CREDANCHOR_PUBLIC_RATE_LIMIT"):
            create_app(runtime=rt)
    finally:
        rt.close()


def test_the_rate_limiter_starts_no_thread_per_request(tmp_path, monkeypatch):
    """Issue 15: limits' memory storage started a Timer thread on most hits (about a fifth of
    an in-process /verify); the service's storage sweeps inline, at most once a second, and
    still limits."""
    import threading

    from credanchor.usecases.container import Runtime
    from credanchor.web import create_app
    from kit.settings import make_settings

    rt = Runtime.open(make_settings(tmp_path / "d", public_rate_limit="30/minute"))
    try:
        c = create_app(runtime=rt).test_client()
        started: list[str] = []
        original = threading.Thread.start

        def counted(thread: threading.Thread) -> None:  # observes, then starts it as usual
            started.append(type(thread).__name__)
            original(thread)

        monkeypatch.setattr(threading.Thread, "start", counted)
        codes = []
        for _ in range(31):
            codes.append(c.post("/api/v1/verify", json={"x": 1}).status_code)
            time.sleep(0.012)  # longer than the Timer's 10 ms: before, each hit started one
        assert codes == [200] * 30 + [429]
        assert started == []
    finally:
        rt.close()


def test_the_rate_limiter_forgets_expired_windows():
    from limits import parse
    from limits.strategies import FixedWindowRateLimiter

    from credanchor.web.ratelimit import SweptMemoryStorage

    storage = SweptMemoryStorage()
    limiter = FixedWindowRateLimiter(storage)
    one = parse("1/second")
    assert [limiter.hit(one, "quiet"), limiter.hit(one, "quiet")] == [True, False]
    time.sleep(1.05)  # the window of "quiet" has ended
    storage._next_sweep = 0.0  # the next hit is due to sweep
    assert limiter.hit(one, "busy") is True
    assert [k for k in storage.storage if "quiet" in k] == []  # its count is gone
    assert [k for k in storage.storage if "busy" in k] != []


# -- issue 12: dates that exist in their own zone but not in UTC --------------------------------

UNREPRESENTABLE = ("0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-23:59")


@pytest.mark.parametrize("value", UNREPRESENTABLE)
@pytest.mark.parametrize("field", ["validFrom", "validUntil"])
def test_a_date_unrepresentable_in_utc_is_reported_invalid_like_a_malformed_one(
        client, auth, runtime, field, value):
    """Before: astimezone raised OverflowError inside the verifier, a 500. A malformed date is
    a 200 report with INVALID and the validity check failed; so is this one."""
    [c] = issue(client, auth, 1)
    anchor_all(client, auth, runtime)
    doc = client.get(f"/api/v1/credentials/{c['id']}", headers=auth).get_json()["credential"]
    for document in (doc, {k: v for k, v in doc.items() if k != "proof"}):
        document = {**document, field: value}
        resp = client.post("/api/v1/verify", json=document)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        body = resp.get_json()
        assert body["status"] == "INVALID"
        checks = {ch["name"]: ch for ch in body["checks"]}
        assert checks["validity"]["outcome"] == "fail"
        assert checks["validity"]["data"]["reason"] == "bad-date"
        assert f"({field})" in checks["validity"]["message"]
        assert checks["schema"]["outcome"] == "fail" and f"$.{field}" in checks["schema"]["message"]
    # and issuing with such a date is refused like any bad date, not a 500
    item = {**sample_items(1)[0], field: value}
    body = problem(client.post("/api/v1/credentials", json=item, headers=auth), 400)
    assert body["detail"] == (f"$.{field}: {value!r} is outside the years 1 to 9999 once "
                              "converted to UTC")


def test_json_responses_parse_as_flasks_own_encoder_would_write_them(app):
    # orjson writes the plain data; what it would write differently goes Flask's way.
    import datetime as dt
    import json as stdlib_json

    from flask.json.provider import DefaultJSONProvider

    flask_own = DefaultJSONProvider(app)
    values = [
        {"b": 1, "a": [True, None, 2.5, "Zoë \u2603 <script>"], "c": {"z": "0x" + "ab" * 32}},
        {"when": dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), "n": 2**70},  # Flask's way
        {1: "non-string key"},                                               # Flask's way
    ]
    for value in values:
        ours = app.json.dumps(value)
        assert stdlib_json.loads(ours) == stdlib_json.loads(flask_own.dumps(value))
    assert app.json.dumps(values[0]).startswith('{"a":')  # keys sorted, as Flask sorts them
    assert "Zoë" in app.json.dumps(values[0])
    with app.test_request_context():
        from flask import render_template_string

        html = render_template_string("{{ v|tojson }}", v={"x": "</script><b>"})
    assert "</script>" not in html and "\\u003c/script\\u003e" in html
