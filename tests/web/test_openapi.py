"""/openapi.json stays true: every route is described, and real responses match their schemas."""

from __future__ import annotations

import re

import jsonschema
import pytest

from kit.settings import sample_items


@pytest.fixture
def spec(client):
    resp = client.get("/openapi.json")
    assert resp.status_code == 200
    return resp.get_json()


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_every_api_route_is_documented_and_nothing_else(app, spec):
    routes = {}
    for rule in app.url_map.iter_rules():
        if (rule.rule.startswith("/api/") or rule.rule in ("/healthz", "/openapi.json")
                or rule.endpoint.startswith("published.")):
            methods = {m.lower() for m in rule.methods} - {"head", "options"}
            routes.setdefault(openapi_path(rule.rule), set()).update(methods)
    documented = {p: set(ops) for p, ops in spec["paths"].items()}
    assert routes == documented
    assert spec["openapi"] == "3.1.0"


def check(spec, resp, path, method):
    op = spec["paths"][path][method]
    assert str(resp.status_code) in op["responses"], (path, method, resp.status_code)
    content = op["responses"][str(resp.status_code)].get("content", {})
    assert resp.mimetype in content, (path, resp.mimetype)
    schema = {**content[resp.mimetype]["schema"], "components": spec["components"]}
    jsonschema.validate(resp.get_json(force=True), schema,
                        cls=jsonschema.Draft202012Validator)


def test_responses_match_the_document(client, auth, runtime, spec):
    r = client.post("/api/v1/credentials", json=sample_items(2), headers=auth)
    check(spec, r, "/api/v1/credentials", "post")
    cid = r.get_json()["credentials"][0]["id"]
    check(spec, client.get("/api/v1/credentials", headers=auth), "/api/v1/credentials", "get")
    r = client.post("/api/v1/batches", headers=auth)
    check(spec, r, "/api/v1/batches", "post")
    runtime.anchorer().run_until_idle(timeout=60, force_seal=False)
    bid = r.get_json()["batches"][0]["id"]
    check(spec, client.get(f"/api/v1/batches/{bid}", headers=auth), "/api/v1/batches/{batch_id}", "get")
    check(spec, client.get("/api/v1/batches", headers=auth), "/api/v1/batches", "get")
    r = client.get(f"/api/v1/credentials/{cid}", headers=auth)
    check(spec, r, "/api/v1/credentials/{credential_id}", "get")
    doc = r.get_json()["credential"]
    check(spec, client.post("/api/v1/verify", json=doc), "/api/v1/verify", "post")
    check(spec, client.patch(f"/api/v1/credentials/{cid}", json={"shared": True}, headers=auth),
          "/api/v1/credentials/{credential_id}", "patch")
    check(spec, client.post(f"/api/v1/credentials/{cid}/revoke", headers=auth),
          "/api/v1/credentials/{credential_id}/revoke", "post")
    check(spec, client.post(f"/api/v1/batches/{bid}/revoke", headers=auth),
          "/api/v1/batches/{batch_id}/revoke", "post")
    check(spec, client.get("/api/v1/issuers"), "/api/v1/issuers", "get")
    check(spec, client.get("/healthz"), "/healthz", "get")
    h = doc["proof"][-1]["credentialHash"]  # the anchor proof follows the signature
    check(spec, client.get(f"/api/v1/credentials/by-hash/{h}/status"),
          "/api/v1/credentials/by-hash/{hexhash}/status", "get")
    # error paths are documented too
    check(spec, client.get("/api/v1/credentials"), "/api/v1/credentials", "get")  # 401
    check(spec, client.get("/api/v1/batches/999", headers=auth), "/api/v1/batches/{batch_id}", "get")
    check(spec, client.post("/api/v1/verify", data=b"{x", content_type="application/json"),
          "/api/v1/verify", "post")
    check(spec, client.get("/api/v1/credentials/by-hash/0x12/status"),
          "/api/v1/credentials/by-hash/{hexhash}/status", "get")


def test_published_documents_and_host_refusals_match_the_document(client, auth, runtime, spec):
    """The status list, its 404, and a refused Host (any route answers it, before routing)."""
    client.post("/api/v1/credentials", json=sample_items(1), headers=auth)
    check(spec, client.get("/status/1/1"), "/status/{issuer_id}/{list_no}", "get")
    check(spec, client.get("/status/1/9"), "/status/{issuer_id}/{list_no}", "get")
    check(spec, client.get("/.well-known/did.json"), "/.well-known/did.json", "get")  # did:key
    check(spec, client.get("/issuers/2/did.json"), "/issuers/{slug}/did.json", "get")
    evil = {"Host": "evil.example"}
    for path, method in (("/healthz", "get"), ("/status/{issuer_id}/{list_no}", "get"),
                         ("/api/v1/verify", "post")):
        url = path.replace("{issuer_id}", "1").replace("{list_no}", "1")
        resp = client.open(url, method=method.upper(), headers=evil)
        check(spec, resp, path, method)
        assert resp.get_json(force=True)["code"] == "untrusted-host"
    assert all("400" in op["responses"] for ops in spec["paths"].values() for op in ops.values())


def test_did_web_documents_match_the_document(tmp_path):
    from credanchor.usecases.container import Runtime
    from credanchor.web import create_app
    from kit.settings import make_settings

    rt = Runtime.open(make_settings(tmp_path / "d", public_url="https://badges.example.org"))
    try:
        c = create_app(runtime=rt).test_client()
        spec = c.get("/openapi.json").get_json()
        resp = c.get("/.well-known/did.json")
        assert resp.status_code == 200
        check(spec, resp, "/.well-known/did.json", "get")
    finally:
        rt.close()
