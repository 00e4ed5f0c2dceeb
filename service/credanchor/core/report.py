"""Verification results shared by the offline and the chain-backed verifiers.

A verification is a list of named :class:`Check` results plus one overall :class:`Status`.
Check names in use (the offline five come first, in this order, from credanchor.verify.offline):

==================  =========================================================================
``schema``          the document is an OB 3.0 credential (vendored JSON Schema)
``integrity``       the recomputed credentialHash equals the proof's
``signature``       the issuer's Data Integrity signature (eddsa-rdfc-2022) verifies with a key
                    of the issuer's DID document, as that document stood at the anchor time;
                    SKIPPED ``data.reason = "unsigned"`` for a legacy did:pkh badge (issued
                    before signatures) and ``"needs-network"`` for a did:web issuer checked
                    offline without a resolver
``merkle``          the Merkle proof leads from the credential's leaf to the proof's root
``validity``        validFrom <= now < validUntil
``trusted-anchor``  the proof's (chainId, contract) is in the verifier's own trust list
``anchored``        the contract knows the root and accepts the proof
``did-binding``     the issuer's DID belongs to the account that anchored the root: a did:pkh
                    names that account; any other DID is the one the registry records for it
``issuer``          the anchoring account is accredited (a suspended one fails)
``revocation``      neither the credential nor its batch is revoked
``confirmations``   the anchor is deep enough (``data.pending`` while it is not)
``status-list``     advisory: the issuer's Bitstring Status List agrees with the chain
==================  =========================================================================

:func:`overall_status` applies this precedence, first match wins:

1. **INVALID** — a check that establishes forgery or breakage failed: ``schema``,
   ``integrity``, ``signature``, ``merkle``, ``trusted-anchor``, ``anchored``,
   ``did-binding``, ``issuer``, any check with a
   name not listed here (unknown means "cannot vouch for it"), or ``validity`` for any reason
   but ``data["reason"] == "expired"`` — notably ``"not-yet-valid"``: a badge dated in the
   future is not "expired", it is not valid (most likely mis-issued), so it is INVALID.
   A FAIL outranks an ERROR elsewhere: a badge whose bytes were altered is fake whether or not
   the chain could be reached, and no chain answer could make it genuine.
2. **ERROR** — any check (not marked ``data["advisory"]``) has outcome ERROR: something could
   not be determined (node down, timeout, the issuer's did:web document unreachable). Never reported as INVALID, and it outranks
   REVOKED/EXPIRED because the unanswered check might have shown the badge to be fake.
3. **REVOKED** — ``revocation`` failed, or any check failed with ``data["reason"] ==
   "revoked"`` (a stacked qualification whose component was revoked: credanchor.usecases.stacks).
4. **EXPIRED** — ``validity`` failed with ``data["reason"] == "expired"`` (past
   ``validUntil``).
5. **PENDING** — some check carries ``data["pending"] is True`` (e.g. no proof yet, or not
   enough confirmations).
6. **VALID** — otherwise, provided at least one check passed. WARN and SKIPPED outcomes do not
   change the status. No checks at all is ERROR.

WARNING: a VALID from the offline checks alone (``verify_offline``) means "intact and
internally consistent", not "authentic": anyone can make a self-consistent Merkle proof for a
root they invented. Only the chain checks tie the root to a trusted contract and issuer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "ADVISORY",
    "CHECK_ANCHORED",
    "CHECK_CONFIRMATIONS",
    "CHECK_DID_BINDING",
    "CHECK_INTEGRITY",
    "CHECK_ISSUER",
    "CHECK_MERKLE",
    "CHECK_REVOCATION",
    "CHECK_SCHEMA",
    "CHECK_SIGNATURE",
    "CHECK_TRUSTED_ANCHOR",
    "CHECK_VALIDITY",
    "REASON_NEEDS_NETWORK",
    "REASON_NO_PROOF",
    "REASON_UNSIGNED",
    "Check",
    "Outcome",
    "Report",
    "Status",
    "overall_status",
]

CHECK_SCHEMA = "schema"
CHECK_INTEGRITY = "integrity"
CHECK_SIGNATURE = "signature"
CHECK_MERKLE = "merkle"
CHECK_VALIDITY = "validity"
CHECK_TRUSTED_ANCHOR = "trusted-anchor"
CHECK_ANCHORED = "anchored"
CHECK_DID_BINDING = "did-binding"
CHECK_ISSUER = "issuer"
CHECK_REVOCATION = "revocation"
CHECK_CONFIRMATIONS = "confirmations"

#: ``data`` key: a check marked advisory never affects the overall status.
ADVISORY = "advisory"
#: ``data["reason"]`` values of a failed validity check.
REASON_EXPIRED = "expired"
REASON_NOT_YET_VALID = "not-yet-valid"
#: ``data["reason"]`` of a failed check that means "revoked", whatever its name.
REASON_REVOKED = "revoked"
#: ``data["reason"]`` of the skipped ``integrity`` check of a file that carries no proof: the
#: report is PENDING, and nothing about the file is confirmed (issue 12: the wording used to
#: sound as if a made-up file "looked genuine so far").
REASON_NO_PROOF = "no-proof"
#: ``data["reason"]`` of the skipped ``signature`` check of a legacy badge: a did:pkh issuer,
#: no signature (issued before credanchor signed its badges). The status is unaffected.
REASON_UNSIGNED = "unsigned"
#: ``data["reason"]`` of the skipped ``signature`` check of an offline verification without a
#: DID resolver, when the issuer's DID document is on the web (did:web). Advisory.
REASON_NEEDS_NETWORK = "needs-network"


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"
    WARN = "warn"


class Status(StrEnum):
    VALID = "VALID"
    INVALID = "INVALID"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    PENDING = "PENDING"
    ERROR = "ERROR"


@dataclass(frozen=True)
class Check:
    """One named check. ``message`` is for a non-specialist reader; ``data`` is JSON-ready."""

    name: str
    outcome: Outcome
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "outcome": str(self.outcome),
            "message": self.message,
            "data": dict(self.data),
        }


@dataclass(frozen=True)
class Report:
    """The result of verifying one credential (``components`` for stacked credentials)."""

    status: Status
    checks: tuple[Check, ...]
    credential_id: str | None
    credential_hash: str | None
    issuer: Mapping[str, Any] | None = None
    anchor: Mapping[str, Any] | None = None
    components: tuple[Report, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; keys mirror the field names, checks as {name, outcome, message,
        data}, statuses and outcomes as their string values."""
        return {
            "status": str(self.status),
            "credential_id": self.credential_id,
            "credential_hash": self.credential_hash,
            "issuer": None if self.issuer is None else dict(self.issuer),
            "anchor": None if self.anchor is None else dict(self.anchor),
            "checks": [c.to_dict() for c in self.checks],
            "components": [r.to_dict() for r in self.components],
        }

    def check(self, name: str) -> Check | None:
        """The first check with this name, or None."""
        return next((c for c in self.checks if c.name == name), None)

    @property
    def unconfirmed(self) -> bool:
        """PENDING because the file carries no proof at all: nothing about it is confirmed,
        which a reader must be told plainly (it may well be made up)."""
        integrity = self.check(CHECK_INTEGRITY)
        return self.status == Status.PENDING and integrity is not None and \
            integrity.data.get("reason") == REASON_NO_PROOF

    def reasons(self) -> tuple[Check, ...]:
        """The checks that explain a status other than VALID, for a one-line summary: those
        that failed or could not be made; for PENDING, where none did, the first check still
        waiting (for a file with no proof: that nothing about it is confirmed)."""
        bad = tuple(c for c in self.checks if c.outcome in (Outcome.FAIL, Outcome.ERROR))
        if bad or self.status != Status.PENDING:
            return bad
        return tuple(c for c in self.checks
                     if c.data.get("pending") is True and c.outcome != Outcome.PASS)[:1]


def overall_status(checks: Iterable[Check]) -> Status:
    """Fold checks into one status with the precedence in this module's docstring."""
    counted = [c for c in checks if not c.data.get(ADVISORY)]
    if not counted:
        return Status.ERROR
    revoked = expired = pending = passed = errored = False
    for c in counted:
        if c.outcome == Outcome.FAIL:
            if c.name == CHECK_VALIDITY:
                if c.data.get("reason") != REASON_EXPIRED:
                    return Status.INVALID
                expired = True
            elif c.name == CHECK_REVOCATION or c.data.get("reason") == REASON_REVOKED:
                revoked = True
            elif c.name == CHECK_CONFIRMATIONS:
                # Too shallow is a wait, not a verdict on the badge.
                pending = True
            else:
                return Status.INVALID
        elif c.outcome == Outcome.ERROR:
            errored = True
        elif c.outcome == Outcome.PASS:
            passed = True
        if c.data.get("pending") is True:
            pending = True
    if errored:
        return Status.ERROR
    if revoked:
        return Status.REVOKED
    if expired:
        return Status.EXPIRED
    if pending:
        return Status.PENDING
    return Status.VALID if passed else Status.ERROR
