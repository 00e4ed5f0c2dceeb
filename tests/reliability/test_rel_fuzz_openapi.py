"""Property-based fuzzing of the whole HTTP API from its own OpenAPI document (schemathesis,
in-process over WSGI on the embedded chain, with an issuer's API key).

For every operation in /openapi.json, schemathesis generates valid and invalid requests (path
and query parameters, headers, JSON/CSV/multipart bodies) and checks each response: never a 5xx,
a status code the document lists, the media type it lists, a body matching its schema."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from credanchor.usecases.container import Runtime
from credanchor.web import create_app
from kit.settings import make_settings, sample_items

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_runtime(tmp_path_factory):
    rt = Runtime.open(make_settings(tmp_path_factory.mktemp("fuzz") / "data",
                                    public_rate_limit="1000000/minute"))
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def fuzz_app(fuzz_runtime):
    app = create_app(runtime=fuzz_runtime)
    # Real data behind the routes, so lookups of ids 1 and 2 find something to show.
    store = fuzz_runtime.store()
    issuer = store.list_issuers()[0]
    client = app.test_client()
    key = store.create_api_key(issuer.id)
    auth = {"Authorization": f"Bearer {key}"}
    assert client.post("/api/v1/credentials", json=sample_items(3), headers=auth).status_code == 202
    client.post("/api/v1/batches", headers=auth)
    fuzz_runtime.anchorer().run_until_idle(timeout=60, force_seal=False)
    client.post("/api/v1/credentials", json=sample_items(2, start=10), headers=auth)
    app.config["FUZZ_AUTH"] = auth
    return app


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/openapi.json", fuzz_app)


@pytest.fixture(scope="module")
def seen(api_schema):
    """(operation, status class) -> responses. When the fuzzing is over: every documented
    operation was called, the core ones with requests accepted and refused, nothing got a 5xx,
    and undocumented methods were refused. (A fixture's teardown, so that it runs in the same
    process as the fuzzing under pytest-xdist.)"""
    counts: Counter[tuple[str, str]] = Counter()
    yield counts
    operations = {f"{op.ok().method.upper()} {op.ok().path}"
                  for op in api_schema.get_all_operations()}
    calls: Counter[str] = Counter()
    for (op, _), n in counts.items():
        calls[op] += n
    assert operations <= set(calls), operations - set(calls)
    assert sum(calls.values()) >= 500, calls
    assert not [k for k in counts if k[1] == "5xx"]
    # schemathesis also probes undocumented methods: refused (405), except what HTTP itself
    # answers for any route (OPTIONS, HEAD).
    for (op, status), n in counts.items():
        if op not in operations and op.split()[0] not in ("OPTIONS", "HEAD"):
            assert status == "4xx", (op, status, n)
    for op in ("POST /api/v1/verify", "GET /api/v1/credentials", "GET /api/v1/batches",
               "POST /api/v1/batches", "GET /api/v1/batches/{batch_id}"):
        assert counts[(op, "2xx")] >= 1 and counts[(op, "4xx")] >= 1, (op, counts)
    assert counts[("POST /api/v1/credentials", "4xx")] >= 100
    by_class: Counter[str] = Counter()
    for (_, status), n in counts.items():
        by_class[status] += n
    print(f"\nschemathesis: {len(operations)} operations, {sum(calls.values())} requests, "
          f"{dict(sorted(by_class.items()))}")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, fuzz_app, seen):
    response = case.call_and_validate(headers=fuzz_app.config["FUZZ_AUTH"], checks=CHECKS)
    seen[(f"{case.method} {case.path}", f"{response.status_code // 100}xx")] += 1
