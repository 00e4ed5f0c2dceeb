"""Bad input, enumerated: oversize bodies, malformed JSON / CSV / UTF-8, deep nesting, huge
numbers, duplicate member names and the other RFC 8785 / I-JSON edge cases inside a complete
credential. Each is a clear 4xx RFC 9457 problem, and the ledger is byte-for-byte unchanged
(nothing stored half-way: credentials, idempotency records, batches, revocations, events)."""

from __future__ import annotations

import json
import uuid

import pytest

from credanchor.usecases.container import Runtime
from credanchor.web import create_app
from kit.schema import same_verdict
from kit.service import ledger_state
from kit.settings import make_settings, sample_items

PROBLEM = "application/problem+json"
JSON = "application/json"
CSV = "text/csv"
CSV_HEADER = b"recipient_name,recipient_email,achievement_name,achievement_description\n"
GOOD_ROW = b"Ada,ada@example.org,Excel,Builds models\n"
GOOD_ITEM = json.dumps(sample_items(1)[0]).encode()


def assert_problem(resp, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.mimetype == PROBLEM
    body = resp.get_json(force=True)
    assert body["status"] == status and body["title"] and body["detail"]
    assert body["type"] == f"https://credanchor.dev/problems/{body['code']}"
    if code is not None:
        assert body["code"] == code, body
    return body


@pytest.fixture
def full_credential(client, auth, runtime) -> dict:
    """A complete OB 3.0 credential of this issuer (what the API would accept as an item),
    taken from an issued one and given a fresh id; the ledger is then left alone."""
    r = client.post("/api/v1/credentials", json=sample_items(1), headers=auth)
    cid = r.get_json()["credentials"][0]["id"]
    doc = client.get(f"/api/v1/credentials/{cid}", headers=auth).get_json()["credential"]
    doc["id"] = f"urn:uuid:{uuid.uuid4()}"
    return doc


def with_member(doc: dict, raw_value: str, name: str = "x") -> bytes:
    """The credential's JSON text with one more top-level member spliced in as raw text, so
    values a Python dict cannot hold (duplicates, NaN, 1e400 …) reach the server as written."""
    text = json.dumps(doc)
    return (text[:-1] + f', "{name}": {raw_value}}}').encode()


# -- JSON syntax, encoding, nesting --------------------------------------------------------------

MALFORMED_JSON = {
    "truncated": b"{",
    "unterminated array": b'[{"recipient": {"name": "x"}},',
    "trailing garbage": GOOD_ITEM + b" trailing",
    "two documents": GOOD_ITEM + GOOD_ITEM,
    "single quotes": b"{'recipient': {'name': 'x'}}",
    "comment": b'{"recipient": {"name": "x"} /* hi */}',
    "trailing comma": b'{"recipient": {"name": "x"},}',
    "bare NaN": b"NaN",
    "Infinity value": b'{"recipient": {"name": Infinity}}',
    "-Infinity value": b'[-Infinity]',
    "invalid UTF-8 byte": b'{"recipient": {"name": "\xff"}}',
    "overlong UTF-8": b'{"recipient": {"name": "\xc0\xaf"}}',
    "UTF-8 encoded surrogate": b'{"recipient": {"name": "\xed\xa0\x80"}}',
    "truncated UTF-8": b'{"recipient": {"name": "\xe2\x82"}}',
    "UTF-16 body": GOOD_ITEM.decode().encode("utf-16"),
    "lone high surrogate escape": b'{"recipient": {"name": "\\ud800"}}',
    "lone low surrogate escape": b'{"recipient": {"name": "x\\udc00y"}}',
    "reversed surrogate pair": b'{"recipient": {"name": "\\udc00\\ud800"}}',
    "nesting 65 arrays": b"[" * 65 + b"]" * 65,
    "nesting 65 objects": b'{"a":' * 65 + b"1" + b"}" * 65,
    "nesting 100000": b"[" * 100_000,
    "nesting mixed 70": b'[{"a":' * 35 + b"1" + b"}]" * 35,
    "integer with 5000 digits": b'{"recipient": {"name": "x"}, "n": 1' + b"0" * 5000 + b"}",
    "duplicate top-level key": b'{"recipient": {"name": "x"}, "recipient": {"name": "y"}}',
    "duplicate nested key": b'{"recipient": {"name": "x", "name": "y"}}',
    "duplicate via escape": b'{"recipient": {"name": "x", "n\\u0061me": "y"}}',
    "empty body": b"",
    "whitespace body": b"  \n ",
    "JSON null": b"null",
    "JSON number": b"42",
    "JSON string": b'"hello"',
    "empty array": b"[]",
    "array of non-objects": b"[1, 2]",
}


@pytest.mark.parametrize("body", MALFORMED_JSON.values(), ids=MALFORMED_JSON.keys())
def test_malformed_json_is_a_4xx_problem_and_stores_nothing(client, auth, runtime, body):
    before = ledger_state(runtime)
    resp = client.post("/api/v1/credentials", data=body,
                       headers={**auth, "Content-Type": JSON, "Idempotency-Key": "k1"})
    assert_problem(resp, 400, "invalid-input")
    # The public verifier refuses the same bytes the same way (400, not a report, not 5xx).
    resp = client.post("/api/v1/verify", data=body, headers={"Content-Type": JSON})
    assert_problem(resp, 400, "invalid-input")
    assert ledger_state(runtime) == before


# -- huge numbers and the other RFC 8785 / I-JSON edge cases inside a real credential -------------

CANONICALISATION_EDGES = {
    "1e400 (overflows to infinity)": ("1e400", 400),
    "-1e400": ("-1e400", 400),
    "2^53 (beyond I-JSON integers)": (str(2**53), 422),
    "-(2^53)": (str(-(2**53)), 422),
    "30-digit integer": ("123456789012345678901234567890", 422),
    "integer with 4301 digits": ("9" * 4301, 400),
    "NaN": ("NaN", 400),
    "Infinity": ("Infinity", 400),
    "lone surrogate in a value": ('"\\ud83d"', 400),
    "nested 70 deep": ('{"a":' * 70 + "1" + "}" * 70, 400),
}


@pytest.mark.parametrize("raw, status", CANONICALISATION_EDGES.values(),
                         ids=CANONICALISATION_EDGES.keys())
def test_unhashable_credentials_are_refused_and_store_nothing(client, auth, runtime,
                                                              full_credential, raw, status):
    before = ledger_state(runtime)
    body = with_member(full_credential, raw)
    resp = client.post("/api/v1/credentials", data=body, headers={**auth, "Content-Type": JSON})
    problem = assert_problem(resp, status)
    assert problem["code"] in ("invalid-input", "not-canonicalizable", "schema-invalid")
    resp = client.post("/api/v1/verify", data=body, headers={"Content-Type": JSON})
    if resp.status_code == 200:  # parseable but unhashable: a report naming the failure
        report = resp.get_json()
        assert report["status"] == "INVALID"
        assert next(c for c in report["checks"] if c["name"] == "integrity")["outcome"] == "fail"
    else:
        assert_problem(resp, 400)
    assert ledger_state(runtime) == before


DUPLICATES = {
    "duplicate id": lambda text: text.replace('"id": ', '"id": "urn:uuid:dup", "id": ', 1),
    "duplicate via \\u escape": lambda text: text.replace('"name": ', '"n\\u0061me": "x", "name": ', 1),
    "duplicate inside credentialSubject": lambda text: text.replace(
        '"credentialSubject": {', '"credentialSubject": {"type": ["X"], ', 1),
    "duplicate @context": lambda text: text.replace('"@context": ', '"@context": [], "@context": ', 1),
}


@pytest.mark.parametrize("mutate", DUPLICATES.values(), ids=DUPLICATES.keys())
def test_duplicate_member_names_are_refused(client, auth, runtime, full_credential, mutate):
    """Two members with one name have no canonical form: parsers disagree on which wins, so the
    issuer and a verifier would hash different documents."""
    before = ledger_state(runtime)
    text = json.dumps(full_credential)
    body = mutate(text).encode()
    assert body != text.encode()
    resp = client.post("/api/v1/credentials", data=body, headers={**auth, "Content-Type": JSON})
    assert "duplicate" in assert_problem(resp, 400, "invalid-input")["detail"].lower()
    assert_problem(client.post("/api/v1/verify", data=body, headers={"Content-Type": JSON}), 400)
    assert ledger_state(runtime) == before


def test_both_schema_validators_agree_on_the_bad_bodies_that_parse(full_credential):
    """The schema check's compiled validator (jsonschema-rs) and its reference (jsonschema)
    give the same verdict on these bodies as Python's json reads them (NaN, 1e400, duplicates
    …), the odd value also put where the schema expects a number, a string and a date-time."""
    compared = 0
    bodies = [with_member(full_credential, raw) for raw, _ in CANONICALISATION_EDGES.values()]
    bodies += [mutate(json.dumps(full_credential)).encode() for mutate in DUPLICATES.values()]
    for body in bodies:
        try:
            doc = json.loads(body)
        except ValueError:  # e.g. 4301 digits: Python's int limit
            continue
        same_verdict(doc, body[-60:])
        odd = doc.get("x")
        for where in (("credentialSubject", "achievement", "creditsAvailable"), ("name",),
                      ("validFrom",)):
            placed = json.loads(json.dumps(doc))  # a copy
            placed.pop("x", None)
            node = placed
            for key in where[:-1]:
                node = node[key]
            node[where[-1]] = odd
            # NaN and infinity where a number goes are the known difference (jsonschema-rs
            # refuses them, jsonschema decides: valid), asserted in tests/core/test_schema_fast.py
            if odd is not None and odd == odd and odd not in (float("inf"), float("-inf")):
                same_verdict(placed, (where, body[-60:]))
            compared += 1
    assert compared >= 3 * 10


def test_edge_cases_that_are_valid_json_hash_as_rfc8785_says(client, auth, runtime,
                                                             full_credential):
    """Not refused: key order, whitespace, escapes and number spellings do not matter; the
    stored document is the canonical form, and its hash is keccak256 of exactly those bytes."""
    from credanchor.core.hashing import canonicalize, keccak256, to_hex

    doc = dict(full_credential)
    # (1e21 is left out: beyond 2^53 a JavaScript verifier cannot read it exactly, so a
    # signed badge refuses it; tests/core/test_rdfc.py)
    doc["x"] = {"b": [1.0, 1e-21, 0.000001, -0.0, 1e-7], "a": "é\u0301 \u2028 /"}
    # A member the issuer signs must be defined by a context (here inline, as a JSON literal).
    doc["@context"] = [*doc["@context"], {"x": {"@id": "urn:example:x", "@type": "@json"}}]
    text = json.dumps(doc, ensure_ascii=True, indent=3, sort_keys=False)
    spelled = text.replace("1e-21", "1E-21").replace('"a": ', '"\\u0061": ')
    resp = client.post("/api/v1/credentials", data=spelled.encode(),
                       headers={**auth, "Content-Type": JSON})
    assert resp.status_code == 202, resp.get_data(as_text=True)
    [accepted] = resp.get_json()["credentials"]
    stored = runtime.store().get_credential(accepted["id"]).document
    # Stored canonical, with what issuing adds (its status entry and signature) and nothing else.
    added = json.loads(stored)
    assert stored == canonicalize(added).decode()
    assert added.pop("credentialStatus")["type"] == "BitstringStatusListEntry"
    assert [p["type"] for p in added.pop("proof")] == ["DataIntegrityProof"]
    sent = {k: v for k, v in doc.items() if k not in ("proof", "credentialStatus")}
    assert canonicalize(added) == canonicalize(sent)  # the issuer's own entry is replaced
    assert '"b":[1,1e-21,0.000001,0,1e-7]' in stored
    assert accepted["credentialHash"] == to_hex(keccak256(stored.encode()))


# -- CSV ----------------------------------------------------------------------------------------

MALFORMED_CSV = {
    "no header": GOOD_ROW,
    "missing required column": b"recipient_name,achievement_name\nAda,Excel\n",
    "unknown column": b"recipient_name,achievement_name,achievement_description,shoe_size\n"
                      b"Ada,Excel,Models,42\n",
    "more fields than header": CSV_HEADER + b"Ada,ada@example.org,Excel,Models,extra\n",
    "header only": CSV_HEADER,
    "empty": b"",
    "invalid UTF-8": CSV_HEADER + b"Ad\xe9,ada@example.org,Excel,Models\n",
    "UTF-16": (CSV_HEADER + GOOD_ROW).decode().encode("utf-16"),
    "NUL byte": CSV_HEADER + b"Ada\x00,ada@example.org,Excel,Models\n",
    "bad skill": b"achievement_name,achievement_description,skills\nExcel,Models,ESCO-only\n",
    "bad date": b"achievement_name,achievement_description,valid_from\nExcel,Models,soon\n",
    "until before from": b"achievement_name,achievement_description,valid_from,valid_until\n"
                         b"Excel,Models,2026-02-01T00:00:00Z,2026-01-01T00:00:00Z\n",
    "empty required cell": CSV_HEADER + b"Ada,ada@example.org,,Models\n",
    "good rows then a bad one": CSV_HEADER + GOOD_ROW * 3 + b"Bob,bob@example.org,,Models\n",
    "unterminated quote": CSV_HEADER + b'"Ada,ada@example.org,Excel,Models\n',
}


@pytest.mark.parametrize("body", MALFORMED_CSV.values(), ids=MALFORMED_CSV.keys())
def test_malformed_csv_is_a_4xx_problem_and_stores_nothing(client, auth, runtime, body):
    before = ledger_state(runtime)
    resp = client.post("/api/v1/credentials", data=body, headers={**auth, "Content-Type": CSV})
    assert_problem(resp, 400, "invalid-input")
    # the same file as a multipart upload
    from io import BytesIO

    resp = client.post("/api/v1/credentials", headers=auth,
                       data={"file": (BytesIO(body), "badges.csv", CSV)},
                       content_type="multipart/form-data")
    assert_problem(resp, 400, "invalid-input")
    assert ledger_state(runtime) == before


# -- items that parse but make no credential ---------------------------------------------------

BAD_ITEMS = {
    "unknown field": ({**sample_items(1)[0], "grade": "A"}, 400),
    "no achievement": ({"recipient": {"name": "x"}}, 400),
    "recipient not an object": ({**sample_items(1)[0], "recipient": "Ada"}, 400),
    "no recipient at all": ({**sample_items(1)[0], "recipient": {}}, 400),
    "skills not a list": ({**sample_items(1)[0], "achievement": {
        **sample_items(1)[0]["achievement"], "skills": "excel"}}, 400),
    "skill without url": ({**sample_items(1)[0], "achievement": {
        **sample_items(1)[0]["achievement"], "skills": [{"name": "excel"}]}}, 400),
    "name not a string": ({**sample_items(1)[0], "recipient": {"name": 5}}, 400),
    "bad validFrom": ({**sample_items(1)[0], "validFrom": "2026-13-45T00:00:00Z"}, 400),
    "validUntil before validFrom": ({**sample_items(1)[0], "validUntil": "2020-01-01T00:00:00Z"},
                                    400),
    "year 99999": ({**sample_items(1)[0], "validFrom": "99999-01-01T00:00:00Z"}, 400),
    "date as number": ({**sample_items(1)[0], "validFrom": 1767225600}, 400),
}


@pytest.mark.parametrize("item, status", BAD_ITEMS.values(), ids=BAD_ITEMS.keys())
def test_bad_items_are_refused_whole_request(client, auth, runtime, item, status):
    before = ledger_state(runtime)
    # alone, and as the last of three: one bad item refuses the whole request
    assert_problem(client.post("/api/v1/credentials", json=item, headers=auth), status)
    body = assert_problem(client.post("/api/v1/credentials", json=[*sample_items(2), item],
                                      headers={**auth, "Idempotency-Key": "retry-1"}), status)
    assert "$[2]" in body["detail"]
    # the only bad item, found again by the pass that lists every refusal, in the same words
    assert body["refused"] == [body["detail"]] and body["refusedCount"] == 1
    assert ledger_state(runtime) == before
    # the failed request left no idempotency record: the same key now works
    ok = client.post("/api/v1/credentials", json=sample_items(2),
                     headers={**auth, "Idempotency-Key": "retry-1"})
    assert ok.status_code == 202 and ok.get_json()["count"] == 2


def test_full_credentials_of_another_issuer_or_schema_invalid_are_refused(
        client, auth, runtime, full_credential):
    before = ledger_state(runtime)
    other = dict(full_credential)
    other["issuer"] = {**other["issuer"],
                       "id": "did:pkh:eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}
    body = assert_problem(client.post("/api/v1/credentials", json=other, headers=auth), 400)
    assert "issuer must be" in body["detail"]
    no_id = {k: v for k, v in full_credential.items() if k != "id"}
    assert_problem(client.post("/api/v1/credentials", json=no_id, headers=auth), 422,
                   "schema-invalid")
    wrong_type = {**full_credential, "type": ["VerifiableCredential"]}
    assert_problem(client.post("/api/v1/credentials", json=wrong_type, headers=auth), 422,
                   "schema-invalid")
    assert ledger_state(runtime) == before


# -- oversize ------------------------------------------------------------------------------------


@pytest.fixture
def small_limits(tmp_path):
    rt = Runtime.open(make_settings(tmp_path / "small", max_body_bytes=64 * 1024,
                                    max_credentials_per_request=5))
    app = create_app(runtime=rt)
    key = rt.store().create_api_key(rt.store().list_issuers()[0].id)
    yield rt, app.test_client(), {"Authorization": f"Bearer {key}"}
    rt.close()


def test_oversize_bodies_are_413_and_store_nothing(small_limits):
    rt, client, auth = small_limits
    before = ledger_state(rt)
    big = b'{"recipient": {"name": "' + b"x" * 70_000 + b'"}}'
    body = assert_problem(client.post("/api/v1/credentials", data=big,
                                      headers={**auth, "Content-Type": JSON}), 413)
    assert body["title"]
    csv_big = CSV_HEADER + GOOD_ROW * 2000
    assert_problem(client.post("/api/v1/credentials", data=csv_big,
                               headers={**auth, "Content-Type": CSV}), 413)
    from io import BytesIO

    assert_problem(client.post("/api/v1/credentials", headers=auth,
                               data={"file": (BytesIO(csv_big), "big.csv", CSV)},
                               content_type="multipart/form-data"), 413)
    assert_problem(client.post("/api/v1/verify", data=big, headers={"Content-Type": JSON}), 413)
    # within the byte limit but more credentials than one request may carry
    body = assert_problem(client.post("/api/v1/credentials", json=sample_items(6), headers=auth),
                          413, "payload-too-large")
    assert "maximum is 5" in body["detail"]
    rows = CSV_HEADER + GOOD_ROW * 6
    assert_problem(client.post("/api/v1/credentials", data=rows,
                               headers={**auth, "Content-Type": CSV}), 413, "payload-too-large")
    assert ledger_state(rt) == before
    ok = client.post("/api/v1/credentials", json=sample_items(5), headers=auth)
    assert ok.status_code == 202 and ok.get_json()["count"] == 5
