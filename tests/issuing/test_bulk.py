"""credanchor.issuing.bulk: the chunked (optionally multi-process) issuance path gives the same ledger
rows as the per-item path, checks a sample against the schema, and stores nothing on failure."""

from __future__ import annotations

import json

import pytest

from credanchor.core.credentials import IssuerProfile, validate_credential
from credanchor.core.hashing import canonicalize, keccak256
from credanchor.errors import InvalidInput, SchemaInvalid
from credanchor.issuing import bulk
from credanchor.issuing.pipeline import build_from_item, prepare
from kit.settings import sample_items

PROFILE = IssuerProfile(address="0x" + "ab" * 20, chain_id=31337, name="Bench Academy")


@pytest.fixture
def issuer(store):
    return store.add_issuer(address=PROFILE.address, name=PROFILE.name)


def stored(store):
    return store.conn.execute(
        "SELECT id, credential_hash, document FROM credentials "
        "JOIN credential_documents USING (seq) ORDER BY seq"
    ).fetchall()


@pytest.mark.parametrize("workers", [1, 2])
def test_bulk_rows_are_valid_hashed_credentials_in_input_order(store, issuer, workers):
    items = sample_items(23)
    result = bulk.issue_bulk(store, issuer.id, PROFILE, iter(items), workers=workers, chunk=5)
    assert result.count == 23
    rows = stored(store)
    assert len(rows) == 23
    assert result.hashes == b"".join(r[1] for r in rows)
    for i, (cid, chash, doc) in enumerate(rows):
        credential = json.loads(doc)
        validate_credential(credential)  # every one, not just the sample
        assert credential["id"] == cid
        assert credential["credentialSubject"]["name"] == f"Learner {i}"
        assert canonicalize(credential).decode() == doc
        assert keccak256(doc.encode()) == chash


def test_same_shape_as_the_per_item_path():
    item = sample_items(1)[0]
    a = build_from_item(item, PROFILE)
    [(cid, chash, doc, list_no, index)] = prepare([item], PROFILE, max_items=10)
    assert (list_no, index) == (None, None)  # an unsigned (did:pkh) issuer has no status list
    b = json.loads(doc)
    # ids, salts and hashes are random; everything else is identical
    for c in (a, b):
        c["id"] = c["credentialSubject"]["achievement"]["id"] = "x"
        for ident in c["credentialSubject"]["identifier"]:
            ident["identityHash"] = ident["salt"] = "x"
    assert a == b
    assert keccak256(doc.encode()) == chash and cid.startswith("urn:uuid:")


def test_a_bad_item_stores_nothing_and_is_named(store, issuer):
    items = sample_items(12)
    items[7]["achievement"].pop("name")
    with pytest.raises(InvalidInput, match=r"\$\[7\]\.achievement\.name"):
        bulk.issue_bulk(store, issuer.id, PROFILE, items, workers=2, chunk=4)
    assert stored(store) == []


def test_sampled_schema_failure_is_reported_with_its_index(monkeypatch):
    calls = []

    def failing(credential):
        calls.append(credential["credentialSubject"]["name"])
        raise SchemaInvalid("$.x: broken", errors=[])

    monkeypatch.setattr("credanchor.issuing.items.validate_credential", failing)
    with pytest.raises(SchemaInvalid) as info:
        bulk.prepare_rows(sample_items(3), PROFILE)
    assert info.value.extra["index"] == 0
    assert calls == ["Learner 0"]


def test_complete_credentials_are_always_validated(monkeypatch):
    full = build_from_item(sample_items(1)[0], PROFILE)
    seen = []
    monkeypatch.setattr("credanchor.core.credentials.validate_credential",
                        lambda c: seen.append(c["id"]))
    rows = bulk.prepare_rows([sample_items(1)[0], full, full | {"id": "urn:uuid:" + "1" * 32}],
                             PROFILE)
    assert len(rows) == 3
    assert seen == [full["id"], "urn:uuid:" + "1" * 32]


def test_pipeline_and_bulk_share_a_lower_module_instead_of_importing_each_other():
    """issue 13: pipeline imported bulk inside functions and bulk imported pipeline (a cycle).
    Both now build rows with credanchor.issuing.items, which imports neither."""
    import subprocess
    import sys

    code = ("import json, sys, credanchor.issuing.{0}; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('credanchor.issuing'))))")
    loaded = {
        name: json.loads(subprocess.run([sys.executable, "-c", code.format(name)], check=True,
                                        capture_output=True, text=True).stdout)
        for name in ("items", "pipeline", "bulk")
    }
    assert loaded["items"] == ["credanchor.issuing", "credanchor.issuing.items",
                               "credanchor.issuing.signing"]
    assert "credanchor.issuing.bulk" not in loaded["pipeline"]
    assert "credanchor.issuing.pipeline" not in loaded["bulk"]


def test_a_cohort_names_one_achievement_and_every_change_to_it_shows():
    items = sample_items(3)
    ach = items[0]["achievement"]
    ach["skills"] = [{"framework": "ESCO", "code": "S5.6.1", "name": "use spreadsheets software",
                      "url": "http://data.europa.eu/esco/skill/1973c966"}]
    items[1]["achievement"] = json.loads(json.dumps(ach))  # equal, another object
    items[2]["achievement"] = ach  # the same object
    built = [build_from_item(item, PROFILE) for item in items]
    achievements = [b["credentialSubject"]["achievement"] for b in built]
    assert achievements[0] == achievements[1] == achievements[2]
    assert achievements[0]["id"].startswith("urn:uuid:")
    assert achievements[0]["alignment"][0]["targetName"] == "use spreadsheets software"
    # The caller changes its objects in place, at both depths: the next badge says what they
    # say now, under another derived id (another definition).
    ach["name"] = "Excel Modelling II"
    ach["skills"][0]["name"] = "analyse data"
    changed = build_from_item(items[2], PROFILE)["credentialSubject"]["achievement"]
    assert (changed["name"], changed["alignment"][0]["targetName"]) == (
        "Excel Modelling II", "analyse data")
    assert changed["id"] != achievements[0]["id"]
    # An invalid change is refused, naming the item, even right after a valid read of it.
    ach["skills"][0]["url"] = 5
    with pytest.raises(InvalidInput, match=r"\$\[2\]\.achievement\.skills\[0\]\.url must be a string"):
        build_from_item(items[2], PROFILE, "$[2]")
