"""Report types and the status precedence."""

from __future__ import annotations

import json

import pytest

from credanchor.core.report import Check, Outcome, Report, Status, overall_status

P, F, E, S, W = Outcome.PASS, Outcome.FAIL, Outcome.ERROR, Outcome.SKIPPED, Outcome.WARN


def c(name, outcome, **data):
    return Check(name, outcome, f"{name} {outcome}", data)


OK = [c("schema", P), c("integrity", P), c("merkle", P), c("validity", P)]


def _with(*extra):
    names = {x.name for x in extra}
    return [x for x in OK if x.name not in names] + list(extra)


@pytest.mark.parametrize(
    "checks,status",
    [
        (OK, Status.VALID),
        (_with(c("anchored", P), c("revocation", P), c("confirmations", W)), Status.VALID),
        (_with(c("integrity", F)), Status.INVALID),
        (_with(c("schema", F)), Status.INVALID),
        (_with(c("merkle", F)), Status.INVALID),
        (_with(c("trusted-anchor", F)), Status.INVALID),
        (_with(c("anchored", F)), Status.INVALID),
        (_with(c("issuer", F)), Status.INVALID),
        (_with(c("something-new", F)), Status.INVALID),
        (_with(c("validity", F, reason="not-yet-valid")), Status.INVALID),
        (_with(c("validity", F, reason="bad-date")), Status.INVALID),
        (_with(c("validity", F, reason="expired")), Status.EXPIRED),
        (_with(c("revocation", F)), Status.REVOKED),
        (_with(c("revocation", F), c("validity", F, reason="expired")), Status.REVOKED),
        (_with(c("anchored", E)), Status.ERROR),
        # The chain being down never turns into INVALID...
        (_with(c("anchored", E), c("issuer", E), c("revocation", E)), Status.ERROR),
        # ...but it cannot rescue a badge whose bytes were altered either.
        (_with(c("integrity", F), c("anchored", E)), Status.INVALID),
        # An unanswered check might have shown a forgery: ERROR beats REVOKED and EXPIRED.
        (_with(c("revocation", F), c("trusted-anchor", E)), Status.ERROR),
        (_with(c("validity", F, reason="expired"), c("anchored", E)), Status.ERROR),
        (_with(c("integrity", S, pending=True), c("merkle", S, pending=True)), Status.PENDING),
        (_with(c("confirmations", W, pending=True)), Status.PENDING),
        (_with(c("confirmations", F)), Status.PENDING),
        (_with(c("anchored", P, pending=True), c("revocation", F)), Status.REVOKED),
        (_with(c("anchored", E, advisory=True)), Status.VALID),
        (_with(c("explorer-link", F, advisory=True)), Status.VALID),
        ([], Status.ERROR),
        ([c("schema", S), c("integrity", S)], Status.ERROR),
    ],
)
def test_overall_status_precedence(checks, status):
    assert overall_status(checks) == status
    assert overall_status(iter(checks)) == status


def test_report_to_dict_is_json_ready():
    inner = Report(Status.VALID, tuple(OK), "urn:uuid:1", "0x" + "11" * 32)
    r = Report(
        Status.EXPIRED,
        (c("validity", F, reason="expired", validUntil="2027-01-01T00:00:00Z"),),
        "urn:uuid:2",
        None,
        issuer={"id": "did:pkh:eip155:1:0xabc", "name": "X"},
        anchor={"chainId": 1},
        components=(inner,),
    )
    d = json.loads(json.dumps(r.to_dict()))
    assert d == {
        "status": "EXPIRED",
        "credential_id": "urn:uuid:2",
        "credential_hash": None,
        "issuer": {"id": "did:pkh:eip155:1:0xabc", "name": "X"},
        "anchor": {"chainId": 1},
        "checks": [
            {
                "name": "validity",
                "outcome": "fail",
                "message": "validity fail",
                "data": {"reason": "expired", "validUntil": "2027-01-01T00:00:00Z"},
            }
        ],
        "components": [inner.to_dict()],
    }
    assert d["components"][0]["status"] == "VALID"
    assert r.check("validity").data["reason"] == "expired"
    assert r.check("integrity") is None


def test_enums_are_strings():
    assert Status.VALID == "VALID" and Outcome.PASS == "pass"
    assert json.dumps({"s": Status.PENDING}) == '{"s": "PENDING"}'


def test_reasons_name_what_failed_or_why_a_pending_report_is_not_confirmed():
    fail = Check("integrity", Outcome.FAIL, "Altered.")
    err = Check("anchored", Outcome.ERROR, "Timed out.")
    ok = Check("schema", Outcome.PASS, "Fine.")
    assert Report(Status.INVALID, (ok, fail, err), None, None).reasons() == (fail, err)
    assert Report(Status.VALID, (ok,), None, None).reasons() == ()
    shallow = Check("confirmations", Outcome.WARN, "1 block deep.", {"pending": True})
    assert Report(Status.PENDING, (ok, shallow), None, None).reasons() == (shallow,)
    assert not Report(Status.PENDING, (ok, shallow), None, None).unconfirmed
    none = Check("integrity", Outcome.SKIPPED, "No proof.", {"pending": True,
                                                             "reason": "no-proof"})
    later = Check("merkle", Outcome.SKIPPED, "No proof.", {"pending": True})
    report = Report(Status.PENDING, (ok, none, later), None, None)
    assert report.reasons() == (none,) and report.unconfirmed
