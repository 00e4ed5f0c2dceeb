"""/api/v1/stacks: publish, list, read, eligibility, issue — each answer checked against the
OpenAPI document, as tests/web/test_openapi.py does for the other routes."""

from __future__ import annotations

import jsonschema
import pytest

from kit.stacks import ADA, GRACE, World, data_analyst

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spec(world: World) -> dict:
    from credanchor.web.openapi import openapi_document

    return openapi_document()


def conforms(spec, resp, path, method):
    op = spec["paths"][path][method]
    assert str(resp.status_code) in op["responses"], (path, method, resp.status_code)
    content = op["responses"][str(resp.status_code)]["content"]
    assert resp.mimetype in content, (path, resp.mimetype)
    schema = {**content[resp.mimetype]["schema"], "components": spec["components"]}
    jsonschema.validate(resp.get_json(force=True), schema, cls=jsonschema.Draft202012Validator)
    return resp.get_json()


def test_publish_list_get_and_scoping(world, client, acme_auth, other_auth, spec):
    body = data_analyst([world.other.address])
    body["stack"] = "api-analyst"
    r = client.post("/api/v1/stacks", json=body, headers=acme_auth)
    assert r.status_code == 202
    published = conforms(spec, r, "/api/v1/stacks", "post")
    assert (published["stack"], published["version"], published["status"]) == (
        "api-analyst", 1, "pending")
    assert "proof" not in published["definition"]
    world.anchor()

    r = client.get("/api/v1/stacks/api-analyst", headers=acme_auth)
    got = conforms(spec, r, "/api/v1/stacks/{stack_id}", "get")
    assert got["status"] == "anchored"
    assert got["definition"]["proof"][0]["credentialHash"] == published["definitionHash"]
    assert client.get("/api/v1/stacks/api-analyst?version=1", headers=acme_auth).get_json()[
        "definitionHash"] == published["definitionHash"]

    listed = conforms(spec, client.get("/api/v1/stacks", headers=acme_auth),
                      "/api/v1/stacks", "get")
    assert ("api-analyst", 1) in {(i["stack"], i["version"]) for i in listed["items"]}
    # another issuer's stack answers exactly like a missing one
    r = client.get("/api/v1/stacks/api-analyst", headers=other_auth)
    assert r.status_code == 404
    conforms(spec, r, "/api/v1/stacks/{stack_id}", "get")
    assert client.get("/api/v1/stacks", headers=other_auth).get_json() == {"items": []}
    assert client.get("/api/v1/stacks").status_code == 401


def test_bad_definitions_are_refused_with_the_path(client, acme_auth, spec, world):
    body = data_analyst([])
    body["rule"]["require"] = 5
    r = client.post("/api/v1/stacks", json=body, headers=acme_auth)
    assert r.status_code == 400
    problem = conforms(spec, r, "/api/v1/stacks", "post")
    assert problem["detail"] == "$.rule.require: must be an integer from 1 to 3"
    body = data_analyst([])
    del body["achievement"]["id"]
    r = client.post("/api/v1/stacks", json=body, headers=acme_auth)
    assert r.status_code == 400
    assert r.get_json()["detail"] == "$.achievement.id: must be a non-empty string"


def test_eligibility_and_issue(world, client, acme_auth, spec):
    path = "/api/v1/stacks/{stack_id}/eligibility"
    r = client.post("/api/v1/stacks/data-analyst/eligibility", headers=acme_auth, json={
        "recipient": ADA, "version": 1, "components": world.files("ada-excel", "grace-sql")})
    answer = conforms(spec, r, path, "post")
    assert answer["eligible"] is False
    assert [(m["key"], m["reason"]) for m in answer["missing"]] == [
        ("sql", "the badge presented for it was not accepted: it was awarded to someone else"),
        ("viz", "no badge for it was presented")]

    issue_path = "/api/v1/stacks/{stack_id}/issue"
    r = client.post("/api/v1/stacks/data-analyst/issue", headers=acme_auth, json={
        "recipient": ADA, "version": 1, "components": world.files("ada-excel", "grace-sql")})
    assert r.status_code == 422
    problem = conforms(spec, r, issue_path, "post")
    assert problem["code"] == "not-eligible"
    assert [m["key"] for m in problem["missing"]] == ["sql", "viz"]

    components = world.files("ada-excel", "ada-sql", "ada-viz")
    r = client.post("/api/v1/stacks/data-analyst/issue", headers=acme_auth, json={
        "recipient": ADA, "name": "Ada Lovelace", "version": 1, "components": components,
        "validUntil": "2099-01-01T00:00:00Z"})
    assert r.status_code == 202, r.get_json()
    accepted = conforms(spec, r, issue_path, "post")
    world.anchor()
    r = client.get(f"/api/v1/credentials/{accepted['id']}", headers=acme_auth)
    qualification = r.get_json()["credential"]
    assert qualification["validUntil"] == "2099-01-01T00:00:00Z"
    assert qualification["credentialSubject"]["name"] == "Ada Lovelace"
    report = client.post("/api/v1/verify", json=qualification)
    body = conforms(spec, report, "/api/v1/verify", "post")
    assert body["status"] == "VALID"
    assert [c["status"] for c in body["components"]] == ["VALID"] * 3
    assert [c["name"] for c in body["checks"]][-4:] == [
        "stack-definition", "stack-components", "stack-recipient", "stack-rule"]


def test_request_errors(world, client, acme_auth, spec):
    url = "/api/v1/stacks/data-analyst/eligibility"
    path = "/api/v1/stacks/{stack_id}/eligibility"
    for payload, detail in (
        ({"recipient": ADA, "components": []},
         "components must be a non-empty list of credential files"),
        ({"components": world.files("ada-excel")},
         "recipient must be the learner's e-mail address or identifier"),
        ({"recipient": GRACE, "components": world.files("ada-excel"), "extra": 1},
         "unknown field(s) extra"),
        ({"recipient": GRACE, "components": world.files("ada-excel"), "version": "1"},
         "version must be a positive integer"),
        ({"recipient": GRACE, "components": world.files("ada-excel"), "version": 2**87},
         "version must be a positive integer"),
        ({"recipient": GRACE, "components": world.files("ada-excel"), "version": True},
         "version must be a positive integer"),
    ):
        r = client.post(url, json=payload, headers=acme_auth)
        assert r.status_code == 400, payload
        assert conforms(spec, r, path, "post")["detail"] == detail
    # The API fuzzer's case: a version SQLite cannot hold, on the issue endpoint (was a 500).
    r = client.post("/api/v1/stacks/data-analyst/issue", headers=acme_auth, json={
        "recipient": GRACE, "components": [], "version": 148262096710207486921015296})
    assert r.status_code == 400
    assert conforms(spec, r, "/api/v1/stacks/{stack_id}/issue", "post")["detail"] == \
        "version must be a positive integer"
    r = client.post("/api/v1/stacks/no-such-stack/eligibility", headers=acme_auth,
                    json={"recipient": ADA, "components": world.files("ada-excel")})
    assert r.status_code == 404
    conforms(spec, r, path, "post")
