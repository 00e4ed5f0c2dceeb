"""A stack's rule applied to presented badges (pure): which badge fills which requirement.

:func:`candidate_from` reads what the rule needs from one component file (untrusted: every
field is optional) and its verification report; :func:`evaluate` applies a definition's rule
(credanchor.core.stacks) to such candidates at one moment, the stacking time. The service
(credanchor.usecases.stacks) evaluates when granting; the verifier
(credanchor.verify.qualifications) re-evaluates when checking a granted qualification.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from credanchor.core.credentials import parse_datetime, recipient_matches
from credanchor.core.hashing import credential_hash, to_hex
from credanchor.core.report import Outcome, Report, Status
from credanchor.core.stacks import (
    Requirement,
    StackDefinition,
    credential_subject,
    human_date,
    issuer_key,
)
from credanchor.errors import CanonicalizationError, InvalidInput

__all__ = ["Assessment", "Candidate", "candidate_from", "evaluate"]


@dataclass(frozen=True)
class Candidate:
    """What the rule needs to know about one presented (or carried) component."""

    index: int
    credential_id: str | None
    credential_hash: str | None
    name: str | None
    achievement: str | None
    issuer: str | None  # DID as written in the credential
    issuer_name: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    status: str | None = None  # verification status; None: not verified here
    status_detail: str | None = None
    recipient_ok: bool | None = None  # None: not checked

    @property
    def label(self) -> str:
        what = f"“{self.name}”" if self.name else f"component #{self.index + 1}"
        return f"{what} from {self.issuer_name}" if self.issuer_name else what


def candidate_from(doc: Any, index: int, *, report: Report | None = None,
                   identifier: str | None = None) -> Candidate:
    """Read a component credential (untrusted: every field is optional here)."""
    if not isinstance(doc, Mapping):
        return Candidate(index, None, None, None, None, None, None, None, None,
                         status=str(Status.INVALID), status_detail="it is not a JSON object",
                         recipient_ok=None if identifier is None else False)
    achievement = credential_subject(doc).get("achievement")
    achievement = achievement if isinstance(achievement, Mapping) else {}
    issuer = doc.get("issuer")
    did = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    claimed_name = issuer.get("name") if isinstance(issuer, Mapping) else None
    registry_name = (report.issuer or {}).get("name") if report is not None else None

    def when(key: str) -> datetime | None:
        try:
            return parse_datetime(doc.get(key))
        except ValueError:
            return None

    try:
        chash: str | None = to_hex(credential_hash(doc))
    except (CanonicalizationError, InvalidInput):
        chash = None
    detail = None
    if report is not None and report.status != Status.VALID:
        bad = [c for c in report.checks if c.outcome in (Outcome.FAIL, Outcome.ERROR)]
        detail = bad[0].message if bad else None
    return Candidate(
        index=index,
        credential_id=doc.get("id") if isinstance(doc.get("id"), str) else None,
        credential_hash=chash,
        name=achievement.get("name") if isinstance(achievement.get("name"), str) else None,
        achievement=achievement.get("id") if isinstance(achievement.get("id"), str) else None,
        issuer=did if isinstance(did, str) else None,
        issuer_name=registry_name or (claimed_name if isinstance(claimed_name, str) else None),
        valid_from=when("validFrom"),
        valid_until=when("validUntil"),
        status=None if report is None else str(report.status),
        status_detail=detail,
        recipient_ok=None if identifier is None else recipient_matches(doc, identifier),
    )


@dataclass(frozen=True)
class Assessment:
    """The rule applied to a set of candidates at one moment (the stacking time)."""

    satisfied: bool
    required: int
    usable: int
    matched: tuple[tuple[Requirement, Candidate], ...]
    missing: tuple[dict[str, Any], ...]
    shortfalls: tuple[str, ...]
    problems: tuple[tuple[Candidate, tuple[str, ...]], ...]

    def problems_of(self, candidate: Candidate) -> tuple[str, ...]:
        return next((p for c, p in self.problems if c.index == candidate.index), ())

    def requirement_of(self, candidate: Candidate) -> Requirement | None:
        return next((r for r, c in self.matched if c.index == candidate.index), None)


def _days_before(at: datetime, days: int) -> datetime:
    """``at`` minus ``days``; a carried ``stackedAt`` in year 1 must not crash the rule check
    with OverflowError (issue 12), and nothing is older than the earliest date there is."""
    try:
        return at - timedelta(days=days)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


def evaluate(definition: StackDefinition, candidates: Sequence[Candidate], *, at: datetime,
             require_valid: bool = True) -> Assessment:
    """Which candidates fill which requirement, and what is still missing.

    A candidate is usable when it verifies VALID (unless ``require_valid`` is False, as when a
    verifier re-evaluates a granted qualification: component statuses are reported
    separately), belongs to the recipient (when that was checked), comes from the defining
    issuer or an accepted one, names a required achievement, and was valid at ``at`` and no
    older than ``maxAgeDays`` then. The first usable candidate for a requirement fills it.
    """
    rule = definition.rule
    accepted = {issuer_key(definition.issuer), *(issuer_key(d) for d in rule.accepted_issuers)}
    by_achievement = {r.achievement: r for r in rule.requirements}
    filled: dict[str, Candidate] = {}
    problems: list[tuple[Candidate, tuple[str, ...]]] = []
    rejected_for: dict[str, list[str]] = {}
    for cand in candidates:
        why: list[str] = []
        if require_valid and cand.status != Status.VALID:
            why.append(f"it does not verify as genuine ({cand.status or 'unknown'}"
                       + (f": {cand.status_detail}" if cand.status_detail else "") + ")")
        if cand.recipient_ok is False:
            why.append("it was awarded to someone else")
        try:
            issuer_ok = cand.issuer is not None and issuer_key(cand.issuer) in accepted
        except InvalidInput:
            issuer_ok = False
        if not issuer_ok:
            why.append(f"its issuer ({cand.issuer_name or cand.issuer or 'unknown'}) is not "
                       "accepted by this stack")
        req = by_achievement.get(cand.achievement or "")
        if req is None:
            why.append("its achievement is not one of this stack's components")
        if cand.valid_from is None:
            why.append("it has no readable award date")
        else:
            if cand.valid_from > at:
                why.append("it was not valid yet at the time of stacking")
            if rule.max_age_days is not None and \
                    cand.valid_from < _days_before(at, rule.max_age_days):
                why.append(f"it is older than {rule.max_age_days} days (awarded "
                           f"{human_date(cand.valid_from)})")
        if cand.valid_until is not None and cand.valid_until <= at:
            why.append(f"it expired on {human_date(cand.valid_until)}")
        if not why and req is not None and req.key in filled:
            why.append(f"another badge already fills “{req.name}”")
        if why:
            problems.append((cand, tuple(why)))
            if req is not None:
                rejected_for.setdefault(req.key, []).extend(why)
            continue
        assert req is not None
        filled[req.key] = cand
    matched = tuple((r, filled[r.key]) for r in rule.requirements if r.key in filled)
    missing = []
    for r in rule.requirements:
        if r.key in filled:
            continue
        reasons = rejected_for.get(r.key)
        missing.append({
            **r.to_json(),
            "reason": ("the badge presented for it was not accepted: " + "; ".join(reasons))
            if reasons else "no badge for it was presented",
        })
    shortfalls = []
    have = len(matched)
    if have < rule.require:
        more = rule.require - have
        shortfalls.append(
            f"{more} more component{'s are' if more != 1 else ' is'} needed: the stack asks "
            f"for {rule.describe()} and {have} {'are' if have != 1 else 'is'} usable.")
    for group, minimum in rule.groups:
        in_group = sum(1 for r, _ in matched if r.group == group)
        if in_group < minimum:
            shortfalls.append(f"group “{group}” needs {minimum - in_group} more (at least "
                              f"{minimum}, {in_group} usable).")
    return Assessment(not shortfalls, rule.require, have, matched, tuple(missing),
                      tuple(shortfalls), tuple(problems))
