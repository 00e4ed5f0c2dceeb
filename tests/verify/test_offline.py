"""Offline verification outcomes, and the tamper sweep over every field."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest

from credanchor.core.hashing import credential_hash, to_hex
from credanchor.core.report import Outcome, Status
from credanchor.errors import InvalidInput
from credanchor.verify.offline import offline_checks, verify_offline
from kit.credentials import NOW, VALID_FROM, VALID_UNTIL, anchor_batch, make_credential

NAMES = ["schema", "integrity", "signature", "merkle", "validity"]


def outcomes(checks):
    return {c.name: c.outcome for c in checks}


def test_valid_anchored_credential(anchored):
    checks = offline_checks(anchored[2], now=NOW)
    assert [c.name for c in checks] == NAMES
    # A did:pkh badge from before signatures: the signature is skipped, the rest passes.
    assert all(c.outcome == Outcome.PASS for c in checks if c.name != "signature")
    assert checks[2].outcome == Outcome.SKIPPED
    assert checks[2].data["reason"] == "unsigned"
    assert checks[1].data == {"credentialHash": to_hex(credential_hash(anchored[2]))}
    assert checks[1].message == (
        "The badge has not been altered: its content matches the fingerprint in its proof."
    )
    assert checks[4].message == (
        "The badge is within its validity period: from 15 January 2026 09:00 UTC until "
        "15 January 2029 09:00 UTC."
    )
    report = verify_offline(anchored[2], NOW)
    assert report.status == Status.VALID
    assert report.credential_id == anchored[2]["id"]
    assert report.credential_hash == to_hex(credential_hash(anchored[2]))
    assert report.issuer == {
        "id": anchored[2]["issuer"]["id"],
        "name": "Northwind Skills Academy",
    }
    assert report.anchor == anchored[2]["proof"][0]["anchor"]


def test_tampered_content(anchored):
    c = copy.deepcopy(anchored[0])
    c["credentialSubject"]["achievement"]["name"] = "Advanced Spreadsheet Modelling"
    report = verify_offline(c, NOW)
    assert report.status == Status.INVALID
    assert outcomes(report.checks) == {
        "schema": Outcome.PASS,
        "integrity": Outcome.FAIL,
        "signature": Outcome.SKIPPED,  # unsigned (did:pkh)
        "merkle": Outcome.PASS,  # the proof itself is intact; the document is not
        "validity": Outcome.PASS,
    }
    integrity = report.check("integrity")
    assert integrity.message == (
        "The badge has been altered since it was issued: its content no longer matches its "
        "fingerprint."
    )
    assert integrity.data["expected"] == anchored[0]["proof"][0]["credentialHash"]
    assert integrity.data["credentialHash"] == to_hex(credential_hash(c))


def test_tampered_merkle_proof(anchored):
    c = copy.deepcopy(anchored[0])
    c["proof"][0]["merkleProof"][0] = anchored[1]["proof"][0]["merkleProof"][0][:-1] + "0"
    report = verify_offline(c, NOW)
    assert report.status == Status.INVALID
    merkle = report.check("merkle")
    assert merkle.outcome == Outcome.FAIL
    assert merkle.data["merkleRoot"] == anchored[0]["proof"][0]["merkleRoot"]
    assert merkle.data["computedRoot"] != merkle.data["merkleRoot"]


def test_proof_swapped_from_another_badge(anchored):
    c = copy.deepcopy(anchored[0])
    c["proof"] = copy.deepcopy(anchored[1]["proof"])
    report = verify_offline(c, NOW)
    assert report.status == Status.INVALID
    assert outcomes(report.checks)["integrity"] == Outcome.FAIL


def test_expired(anchored):
    report = verify_offline(anchored[0], VALID_UNTIL + timedelta(days=1))
    assert report.status == Status.EXPIRED
    v = report.check("validity")
    assert v.outcome == Outcome.FAIL
    assert v.data["reason"] == "expired"
    assert v.message == "This badge expired on 15 January 2029 09:00 UTC."


def test_validity_window_boundaries(anchored):
    assert verify_offline(anchored[0], VALID_FROM).status == Status.VALID
    assert verify_offline(anchored[0], VALID_UNTIL - timedelta(seconds=1)).status == Status.VALID
    assert verify_offline(anchored[0], VALID_UNTIL).status == Status.EXPIRED


def test_not_yet_valid_is_invalid(anchored):
    report = verify_offline(anchored[0], VALID_FROM - timedelta(seconds=1))
    assert report.status == Status.INVALID
    v = report.check("validity")
    assert v.data["reason"] == "not-yet-valid"
    assert v.message == (
        "This badge is not valid yet: it only becomes valid on 15 January 2026 09:00 UTC."
    )


def test_no_expiry_date():
    (c,) = anchor_batch(
        [make_credential(valid_until=None, valid_from=datetime(2026, 1, 1, tzinfo=UTC))]
    )
    v = verify_offline(c, NOW).check("validity")
    assert v.outcome == Outcome.PASS
    assert (
        v.message
        == "The badge is within its validity period: from 1 January 2026, with no expiry date."
    )


def test_no_proof_is_pending(credential):
    report = verify_offline(credential, NOW)
    assert report.status == Status.PENDING
    integrity, merkle = report.check("integrity"), report.check("merkle")
    assert integrity.outcome == merkle.outcome == Outcome.SKIPPED
    assert integrity.data == {
        "credentialHash": to_hex(credential_hash(credential)),
        "pending": True,
        "reason": "no-proof",
    }
    assert merkle.data == {"pending": True}
    assert report.anchor is None


def test_no_proof_says_plainly_that_nothing_is_confirmed(credential):
    """Issue 12: a made-up file with no proof was PENDING with wording that sounded like a
    partial pass."""
    report = verify_offline(credential, NOW)
    assert report.unconfirmed
    integrity = report.check("integrity")
    assert integrity.message == (
        "Nothing about this file is confirmed: it carries no blockchain proof, so neither its "
        "content nor its issuer can be checked. Anyone can write a file like this; trust it "
        "only once its issuer has recorded it.")
    assert report.check("merkle").message == "Not checked: the file carries no blockchain proof."
    assert report.reasons() == (integrity,)  # what a one-line summary shows
    assert not any("genuine" in c.message or "so far" in c.message for c in report.checks)


def test_malformed_proof_is_invalid(anchored):
    c = copy.deepcopy(anchored[0])
    c["proof"][0]["merkleRoot"] = "0x1234"
    report = verify_offline(c, NOW)
    assert report.status == Status.INVALID
    assert report.check("integrity").data["field"] == "proof[0].merkleRoot"
    assert report.check("merkle").outcome == Outcome.FAIL


def test_schema_failure_and_flag(anchored):
    c = copy.deepcopy(anchored[0])
    del c["credentialSubject"]["achievement"]["description"]
    (c,) = anchor_batch([c])  # re-anchored: integrity passes, only the schema is wrong
    report = verify_offline(c, NOW)
    assert report.status == Status.INVALID
    schema = report.check("schema")
    assert schema.outcome == Outcome.FAIL
    assert "$.credentialSubject.achievement: 'description' is a required property" in schema.message
    assert schema.data["errors"][0]["path"] == "$.credentialSubject.achievement"
    unchecked = verify_offline(c, NOW, schema=False)
    assert unchecked.check("schema").outcome == Outcome.SKIPPED
    assert unchecked.status == Status.VALID


def test_unhashable_content_fails_integrity(anchored):
    c = copy.deepcopy(anchored[0])
    c["credentialSubject"]["creditsEarned"] = 2**60
    report = verify_offline(c, NOW, schema=False)
    assert report.status == Status.INVALID
    assert "cannot be fingerprinted" in report.check("integrity").message
    assert report.credential_hash is None


@pytest.mark.parametrize("field,value", [("validFrom", "soon"), ("validUntil", 2029)])
def test_unreadable_dates_are_invalid(anchored, field, value):
    c = copy.deepcopy(anchored[0])
    c[field] = value
    (c,) = anchor_batch([c])
    report = verify_offline(c, NOW, schema=False)
    assert report.check("validity").data["reason"] == "bad-date"
    assert report.status == Status.INVALID


@pytest.mark.parametrize("field", ["validFrom", "validUntil"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-23:59"])
@pytest.mark.parametrize("proved", [True, False], ids=["anchored", "no-proof"])
def test_a_date_unrepresentable_in_utc_is_invalid_not_a_crash(anchored, field, value, proved):
    """Issue 12: these dates made ``astimezone`` raise OverflowError out of the verifier."""
    c = copy.deepcopy(anchored[0])
    c[field] = value
    if proved:
        (c,) = anchor_batch([{k: v for k, v in c.items() if k != "proof"}])
    else:
        del c["proof"]
    report = verify_offline(c, NOW)
    assert report.status == Status.INVALID  # never PENDING, even without a proof
    validity = report.check("validity")
    assert validity.outcome == Outcome.FAIL and validity.data["reason"] == "bad-date"
    assert f"({field})" in validity.message
    schema = report.check("schema")
    assert schema.outcome == Outcome.FAIL and f"$.{field}" in schema.message
    assert report.check("integrity").outcome == (Outcome.PASS if proved else Outcome.SKIPPED)


def test_arguments_are_checked(anchored):
    with pytest.raises(InvalidInput):
        offline_checks(["not a credential"])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="timezone-aware"):
        offline_checks(anchored[0], now=datetime(2026, 1, 1))


def test_default_clock_is_now(anchored):
    assert verify_offline(anchored[0]).check("validity").data["checkedAt"][:4] >= "2026"


def test_report_serialises(anchored):
    d = json.loads(json.dumps(verify_offline(anchored[0], NOW).to_dict()))
    assert d["status"] == "VALID"
    assert [c["name"] for c in d["checks"]] == NAMES


# --- tamper sweep ----------------------------------------------------------------------------


def _leaf_paths(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaf_paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaf_paths(v, (*path, i))
    else:
        yield path


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value[:-1] + ("X" if value[-1:] != "X" else "Y") if value else "X"
    return "X"


def test_changing_any_field_breaks_integrity(anchored):
    original = anchored[3]
    body = {k: v for k, v in original.items() if k != "proof"}
    paths = list(_leaf_paths(body))
    assert len(paths) == 40  # every leaf of a full credential, not a sample
    for path in paths:
        c = copy.deepcopy(original)
        target = c
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = _changed(target[path[-1]])
        checks = offline_checks(c, now=NOW, schema=False)
        assert outcomes(checks)["integrity"] == Outcome.FAIL, path


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c.update(description="An extra claim."),
        lambda c: c["credentialSubject"]["identifier"].pop(),
        lambda c: c["credentialSubject"]["achievement"]["alignment"].append(
            {"type": ["Alignment"], "targetName": "x", "targetUrl": "https://x"}
        ),
        lambda c: c["credentialSubject"].update(name=c["credentialSubject"].pop("name").upper()),
        lambda c: c["type"].reverse(),
        lambda c: c["issuer"].pop("url"),
    ],
)
def test_structural_edits_break_integrity(anchored, edit):
    c = copy.deepcopy(anchored[3])
    edit(c)
    assert outcomes(offline_checks(c, now=NOW))["integrity"] == Outcome.FAIL


def test_bench_entry_point_runs(capsys):
    import importlib.util

    from kit.settings import ROOT

    # The benchmark lives in bench/ (not a package), beside the others, not in the core.
    spec = importlib.util.spec_from_file_location("bench_micro", ROOT / "bench" / "micro.py")
    assert spec is not None and spec.loader is not None
    micro = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(micro)
    assert micro.main(["offline", "--bench", "40", "--batch", "64"]) == 0
    out = capsys.readouterr().out
    assert "without schema" in out and "with schema" in out


def test_a_file_s_bytes_get_the_report_its_parsed_document_gets(anchored):
    # verify_offline(bytes) parses with loads_plain and, for a plain file, hashes it without
    # the canonical form's guard: every report must be the one the parsed document gets, for
    # intact files, for every single-field tampering, and for files that are not plain.
    original = anchored[3]
    body = {k: v for k, v in original.items() if k != "proof"}
    documents = [anchored[2], original]
    for path in _leaf_paths(body):
        c = copy.deepcopy(original)
        target = c
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = _changed(target[path[-1]])
        documents.append(c)
    with_float = copy.deepcopy(original)
    with_float["credentialSubject"]["achievement"]["name"] = 2.5
    with_emoji = copy.deepcopy(original)
    with_emoji["credentialSubject"]["name"] += " \U0001f600"
    documents += [with_float, with_emoji]
    statuses = set()
    for doc in documents:
        expected = verify_offline(doc, NOW).to_dict()
        statuses.add(expected["status"])
        for text in (json.dumps(doc), json.dumps(doc, ensure_ascii=False, indent=2)):
            assert verify_offline(text.encode(), NOW).to_dict() == expected
            assert verify_offline(text, NOW).to_dict() == expected
    assert statuses == {"VALID", "INVALID"}
    assert verify_offline(json.dumps(original).encode(), NOW).status == Status.VALID


@pytest.mark.parametrize("data", [b"", b"{", b'{"a": 1, "a": 2}', b"\xff", b"[NaN]"])
def test_bytes_that_are_not_unambiguous_json_are_refused(data):
    with pytest.raises(InvalidInput):
        verify_offline(data, NOW)


def test_bytes_holding_something_else_than_an_object_are_refused():
    with pytest.raises(InvalidInput, match="JSON object"):
        verify_offline(b"[1, 2]", NOW)
