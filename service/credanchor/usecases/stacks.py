"""Stackable credentials: badges that add up to a qualification (GitHub issue #9).

An issuer publishes a **stack definition**: the qualification it leads to (an OB 3.0
``Achievement``) and a rule over component achievements — all of a list or k of n, optionally
a minimum per group, optionally components from other accredited issuers, optionally a maximum
component age at the time of stacking. A definition is versioned and immutable: it is stored as
a row of the ``credentials`` table, so the worker seals, anchors and proves it exactly like a
credential, and its hash (keccak256 of its RFC 8785 bytes, the same function as a
credentialHash) is a leaf of an anchored batch.

A **qualification** is an ``OpenBadgeCredential`` whose achievement is the definition's and
whose hashed body carries, in the top-level member ``credanchorStack``, the definition (id,
version, hash and the anchored document itself) and every component (its credentialHash and
the holder's file, proof included). One file therefore carries the whole tree, and the
qualification's own hash commits to every byte of it. docs/stacking.md has the format.

This module has a pure part (definition model, canonical hash, rule evaluation, reading a
qualification) and a service part (publishing, eligibility, issuing, and verifying the tree
with a :class:`~credanchor.verify.verifier.Verifier`).

WARNING: recipients are salted hashes. The service checks that every component belongs to the
learner (it is given the identifier) before it grants a qualification; a verifier without the
identifier can only rely on that check, made by the qualification's accredited issuer, unless
the holder tells it the identifier (``verify_qualification(..., recipient=...)``).
"""

from __future__ import annotations

import contextvars
import copy
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from credanchor.core.credentials import (
    AchievementSpec,
    Alignment,
    IssuerProfile,
    Recipient,
    build_credential,
    format_datetime,
    issuer_did,
    parse_datetime,
    parse_issuer_did,
    recipient_matches,
    validate_credential,
)
from credanchor.core.hashing import canonicalize, credential_hash, keccak256, to_hex
from credanchor.core.report import REASON_REVOKED, Check, Outcome, Report, Status, overall_status
from credanchor.errors import (
    CanonicalizationError,
    Conflict,
    InvalidInput,
    NotEligible,
    NotFound,
    PayloadTooLarge,
    SchemaInvalid,
)

__all__ = [
    "CLAIM_TYPE",
    "DEFINITION_TYPE",
    "STACK_MEMBER",
    "Assessment",
    "Candidate",
    "Eligibility",
    "PublishedStack",
    "Requirement",
    "StackDefinition",
    "StackRule",
    "assess",
    "candidate_from",
    "check_eligibility",
    "definition_hash",
    "evaluate",
    "get_stack",
    "is_qualification",
    "issue_qualification",
    "list_stacks",
    "parse_definition",
    "publish",
    "tree_documents",
    "tree_lines",
    "verify_qualification",
]

#: ``type`` of a stack definition document.
DEFINITION_TYPE = "CredanchorStackDefinition"
#: ``credanchorStack.type`` inside a qualification.
CLAIM_TYPE = "CredanchorStack2026"
#: The top-level member of a qualification that carries the stack (hashed with the rest).
STACK_MEMBER = "credanchorStack"

CHECK_STACK_DEFINITION = "stack-definition"
CHECK_STACK_COMPONENTS = "stack-components"
CHECK_STACK_RECIPIENT = "stack-recipient"
CHECK_STACK_RULE = "stack-rule"

MAX_COMPONENTS = 100
#: Qualifications may themselves be components of a bigger stack; this bounds the recursion.
MAX_STACK_DEPTH = 8

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_DEFINITION_KEYS = frozenset(
    ("type", "id", "stack", "version", "issuer", "validFrom", "name", "achievement", "rule"))
_RULE_KEYS = frozenset(("require", "components", "groups", "acceptedIssuers", "maxAgeDays"))
_COMPONENT_KEYS = frozenset(("key", "name", "achievement", "group"))
_GROUP_KEYS = frozenset(("name", "min"))
_INPUT_KEYS = frozenset(("stack", "achievement", "rule"))
_ACHIEVEMENT_INPUT_KEYS = frozenset(
    ("id", "name", "description", "criteria", "criteriaUrl", "image", "achievementType", "skills"))


# == the definition (pure) =====================================================================


@dataclass(frozen=True)
class Requirement:
    """One component the rule asks for: a credential whose achievement id is ``achievement``."""

    key: str
    name: str
    achievement: str
    group: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "name": self.name, "achievement": self.achievement}
        if self.group is not None:
            out["group"] = self.group
        return out


@dataclass(frozen=True)
class StackRule:
    """``require`` of ``requirements`` (all when it equals their number), at least ``min`` of
    each group, components only from the definition's issuer or ``accepted_issuers`` (DIDs),
    each awarded no more than ``max_age_days`` before the stacking time."""

    requirements: tuple[Requirement, ...]
    require: int
    groups: tuple[tuple[str, int], ...] = ()
    accepted_issuers: tuple[str, ...] = ()
    max_age_days: int | None = None

    @property
    def all_required(self) -> bool:
        return self.require == len(self.requirements)

    def to_json(self) -> dict[str, Any]:
        return {
            "require": "all" if self.all_required else self.require,
            "components": [r.to_json() for r in self.requirements],
            "groups": [{"name": n, "min": m} for n, m in self.groups],
            "acceptedIssuers": list(self.accepted_issuers),
            "maxAgeDays": self.max_age_days,
        }

    def describe(self) -> str:
        """'all 3 components' / '2 of 4 components, at least 1 from group core'."""
        n = len(self.requirements)
        if self.all_required:
            text = {1: "its one component", 2: "both components"}.get(n, f"all {n} components")
        else:
            text = f"{self.require} of {n} components"
        if self.groups:
            text += ", " + ", ".join(f"at least {m} from group “{g}”" for g, m in self.groups)
        return text


@dataclass(frozen=True)
class StackDefinition:
    """A parsed definition document (``document`` is exactly what is hashed and anchored)."""

    id: str
    stack: str
    version: int
    issuer: str  # did:pkh of the defining issuer
    name: str
    achievement: Mapping[str, Any]
    rule: StackRule
    published: datetime
    document: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def hash(self) -> bytes:
        return definition_hash(self.document)


def definition_hash(document: Mapping[str, Any]) -> bytes:
    """keccak256 of the definition's RFC 8785 bytes (without ``proof``): the credentialHash
    function, so the definition is anchored and proved exactly like a credential."""
    return credential_hash(document)


def _fail(where: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{where}: {problem}", field=where)


def _unknown(obj: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    extra = sorted(set(obj) - allowed)
    if extra:
        raise _fail(where, f"unknown field(s) {', '.join(extra)}")


def _str(obj: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{where}.{key}", "must be a non-empty string")
    return value.strip()


def _int(value: Any, where: str, lo: int, hi: int) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise _fail(where, f"must be an integer from {lo} to {hi}")
    return value


def _did_key(did: str) -> tuple[int, str]:
    chain_id, address = parse_issuer_did(did)
    return chain_id, address.lower()


def _parse_rule(raw: Any, where: str, *, chain_id: int | None) -> StackRule:
    """The rule object, from a publish request (``chain_id`` given: bare addresses are turned
    into DIDs on that chain) or from a stored document (``chain_id`` None: DIDs only)."""
    if not isinstance(raw, Mapping):
        raise _fail(where, "must be an object")
    _unknown(raw, _RULE_KEYS, where)
    comps = raw.get("components")
    if not isinstance(comps, list) or not comps:
        raise _fail(f"{where}.components", "must be a non-empty list")
    if len(comps) > MAX_COMPONENTS:
        raise _fail(f"{where}.components", f"at most {MAX_COMPONENTS} components")
    groups: list[tuple[str, int]] = []
    raw_groups = raw.get("groups") or []
    if not isinstance(raw_groups, list):
        raise _fail(f"{where}.groups", "must be a list")
    for i, g in enumerate(raw_groups):
        w = f"{where}.groups[{i}]"
        if not isinstance(g, Mapping):
            raise _fail(w, "must be an object")
        _unknown(g, _GROUP_KEYS, w)
        name = _str(g, "name", w) or ""
        if name in (n for n, _ in groups):
            raise _fail(w, f"group {name!r} is declared twice")
        groups.append((name, _int(g.get("min"), f"{w}.min", 1, MAX_COMPONENTS)))
    requirements: list[Requirement] = []
    for i, c in enumerate(comps):
        w = f"{where}.components[{i}]"
        if not isinstance(c, Mapping):
            raise _fail(w, "must be an object")
        _unknown(c, _COMPONENT_KEYS, w)
        key = _str(c, "key", w, required=False) or f"c{i + 1}"
        if not _KEY.fullmatch(key):
            raise _fail(f"{w}.key", "letters, digits, '.', '_' or '-', at most 64")
        # A group without an entry in "groups" just has no minimum.
        group = _str(c, "group", w, required=False)
        req = Requirement(key, _str(c, "name", w) or "", _str(c, "achievement", w) or "", group)
        if any(r.key == req.key for r in requirements):
            raise _fail(f"{w}.key", f"{key!r} is used twice")
        if any(r.achievement == req.achievement for r in requirements):
            raise _fail(f"{w}.achievement", f"{req.achievement!r} is listed twice")
        requirements.append(req)
    for name, minimum in groups:
        size = sum(1 for r in requirements if r.group == name)
        if minimum > size:
            raise _fail(f"{where}.groups", f"group {name!r} asks for {minimum} but has {size}")
    n = len(requirements)
    raw_require = raw.get("require", "all")
    require = n if raw_require == "all" else _int(raw_require, f"{where}.require", 1, n)
    accepted: list[str] = []
    raw_issuers = raw.get("acceptedIssuers") or []
    if not isinstance(raw_issuers, list):
        raise _fail(f"{where}.acceptedIssuers", "must be a list of issuer DIDs")
    for i, value in enumerate(raw_issuers):
        w = f"{where}.acceptedIssuers[{i}]"
        try:
            if chain_id is not None and isinstance(value, str) and not value.startswith("did:"):
                did = issuer_did(chain_id, value)
            else:
                did = issuer_did(*parse_issuer_did(value))
        except InvalidInput as exc:
            raise _fail(w, exc.detail) from exc
        if did not in accepted:
            accepted.append(did)
    max_age = raw.get("maxAgeDays")
    if max_age is not None:
        max_age = _int(max_age, f"{where}.maxAgeDays", 1, 36_500)
    return StackRule(tuple(requirements), require, tuple(groups), tuple(accepted), max_age)


def parse_definition(document: Any) -> StackDefinition:
    """Read a definition document (stored, or carried in a qualification: untrusted).
    InvalidInput names the offending member. A ``proof`` member is allowed and ignored."""
    if not isinstance(document, Mapping):
        raise InvalidInput("a stack definition must be a JSON object")
    body = {k: v for k, v in document.items() if k != "proof"}
    _unknown(body, _DEFINITION_KEYS, "definition")
    if body.get("type") != DEFINITION_TYPE:
        raise _fail("definition.type", f"must be {DEFINITION_TYPE!r}")
    def_id = _str(body, "id", "definition") or ""
    stack = _str(body, "stack", "definition") or ""
    if not _SLUG.fullmatch(stack):
        raise _fail("definition.stack", "lower-case letters, digits and '-', at most 63")
    version = _int(body.get("version"), "definition.version", 1, 1_000_000)
    issuer = body.get("issuer")
    did = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    try:
        did = issuer_did(*parse_issuer_did(did))
    except InvalidInput as exc:
        raise _fail("definition.issuer", exc.detail) from exc
    try:
        published = parse_datetime(body.get("validFrom"))
    except ValueError as exc:
        raise _fail("definition.validFrom", str(exc)) from exc
    achievement = body.get("achievement")
    if not isinstance(achievement, Mapping):
        raise _fail("definition.achievement", "must be an OB 3.0 Achievement object")
    name = _str(body, "name", "definition") or ""
    rule = _parse_rule(body.get("rule"), "definition.rule", chain_id=None)
    return StackDefinition(def_id, stack, version, did, name, achievement, rule, published,
                           body)


def _achievement_from_input(raw: Any, where: str) -> dict[str, Any]:
    """The qualification's OB 3.0 Achievement from the simple form used when issuing."""
    if not isinstance(raw, Mapping):
        raise _fail(where, "must be an object")
    _unknown(raw, _ACHIEVEMENT_INPUT_KEYS, where)
    skills = raw.get("skills") or []
    if not isinstance(skills, list):
        raise _fail(f"{where}.skills", "must be a list")
    alignments = []
    for i, s in enumerate(skills):
        w = f"{where}.skills[{i}]"
        if not isinstance(s, Mapping):
            raise _fail(w, "must be an object")
        alignments.append(Alignment(
            target_name=_str(s, "name", w) or "", target_url=_str(s, "url", w) or "",
            target_code=_str(s, "code", w, required=False),
            target_framework=_str(s, "framework", w, required=False)))
    achievement_id = _str(raw, "id", where) or ""  # required: components and stacks refer to it
    spec = AchievementSpec(
        name=_str(raw, "name", where) or "",
        description=_str(raw, "description", where) or "",
        criteria_narrative=_str(raw, "criteria", where, required=False),
        criteria_url=_str(raw, "criteriaUrl", where, required=False),
        image_url=_str(raw, "image", where, required=False),
        alignments=tuple(alignments),
    )
    achievement = spec.to_json(achievement_id)
    achievement["achievementType"] = _str(raw, "achievementType", where, required=False) or \
        "Certificate"
    return achievement


def definition_document(
    body: Any, *, profile: IssuerProfile, version: int, definition_id: str, published: datetime,
) -> dict[str, Any]:
    """A publish request ``{"stack", "achievement", "rule"}`` → the definition document."""
    if not isinstance(body, Mapping):
        raise InvalidInput("a stack definition must be a JSON object")
    _unknown(body, _INPUT_KEYS, "$")
    stack = _str(body, "stack", "$") or ""
    if not _SLUG.fullmatch(stack):
        raise _fail("$.stack", "lower-case letters, digits and '-', at most 63 (e.g. data-analyst)")
    achievement = _achievement_from_input(body.get("achievement"), "$.achievement")
    rule = _parse_rule(body.get("rule"), "$.rule", chain_id=profile.chain_id)
    document = {
        "type": DEFINITION_TYPE,
        "id": definition_id,
        "stack": stack,
        "version": version,
        "name": achievement["name"],
        "issuer": profile.profile(),
        "validFrom": format_datetime(published),
        "achievement": achievement,
        "rule": rule.to_json(),
    }
    parse_definition(document)  # the document must read back exactly as it will be verified
    _check_achievement_schema(achievement, profile)
    return document


def _check_achievement_schema(achievement: Mapping[str, Any], profile: IssuerProfile) -> None:
    """A qualification will carry this achievement: make sure OB 3.0 accepts it now rather
    than when the first learner applies."""
    probe = build_credential(
        issuer=profile, recipient=Recipient(name="probe"),
        achievement=AchievementSpec(name="probe", description="probe", criteria_narrative="x"),
        valid_from=datetime(2026, 1, 1, tzinfo=UTC))
    probe["credentialSubject"]["achievement"] = copy.deepcopy(dict(achievement))
    try:
        validate_credential(probe)
    except SchemaInvalid as exc:
        raise SchemaInvalid(f"$.achievement: {exc.detail}", **exc.extra) from exc


# == rule evaluation (pure) ====================================================================


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


def _subject(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    s = doc.get("credentialSubject")
    s = s[0] if isinstance(s, list) and s else s
    return s if isinstance(s, Mapping) else {}


def candidate_from(doc: Any, index: int, *, report: Report | None = None,
                   identifier: str | None = None) -> Candidate:
    """Read a component credential (untrusted: every field is optional here)."""
    if not isinstance(doc, Mapping):
        return Candidate(index, None, None, None, None, None, None, None, None,
                         status=str(Status.INVALID), status_detail="it is not a JSON object",
                         recipient_ok=None if identifier is None else False)
    achievement = _subject(doc).get("achievement")
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


def _human_date(dt: datetime) -> str:
    return f"{dt.day} {dt:%B %Y}"


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
    accepted = {_did_key(definition.issuer), *(_did_key(d) for d in rule.accepted_issuers)}
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
            issuer_ok = cand.issuer is not None and _did_key(cand.issuer) in accepted
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
                           f"{_human_date(cand.valid_from)})")
        if cand.valid_until is not None and cand.valid_until <= at:
            why.append(f"it expired on {_human_date(cand.valid_until)}")
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


# == the service: publishing ===================================================================


@dataclass(frozen=True)
class PublishedStack:
    """One published version of a definition, as the ledger holds it."""

    definition: StackDefinition
    credential: Any  # store.StoredCredential: the row that anchors it
    file: Mapping[str, Any] | None  # the document with its proof once anchored
    #: When its issuer withdrew it (revoked the definition or its batch in the ledger), unix
    #: seconds; None while it stands.
    withdrawn_at: float | None = None

    @property
    def status(self) -> str:
        return str(self.credential.status)

    def refuse_if_withdrawn(self) -> None:
        """Conflict (409) once withdrawn: no eligibility and no grant under a withdrawn rule,
        from the moment the issuer asks, before the revocation even reaches the chain."""
        if self.withdrawn_at is None:
            return
        d = self.definition
        when = datetime.fromtimestamp(self.withdrawn_at, UTC)
        raise Conflict(f"stack {d.stack!r} version {d.version} was withdrawn by its issuer on "
                       f"{_human_date(when)}; no qualification can be granted under it "
                       "(publish a new version to grant again)",
                       withdrawnAt=format_datetime(when))

    def summary(self) -> dict[str, Any]:
        d = self.definition
        return {
            "stack": d.stack,
            "version": d.version,
            "id": d.id,
            "name": d.name,
            "definitionHash": to_hex(self.credential.credential_hash),
            "status": self.status,
            "rule": d.rule.describe(),
            "publishedAt": format_datetime(d.published),
        }


def publish(runtime: Any, issuer: Any, body: Any) -> PublishedStack:
    """Publish a new version of one of ``issuer``'s stacks (version 1 if the name is new).

    Every accepted issuer must be accredited on chain now. The definition is stored as a
    pending ledger row; the worker anchors it with the issuer's next batch."""
    profile = runtime.issuer_profile(issuer)
    now = datetime.now(UTC).replace(microsecond=0)
    # Validate once outside the transaction (with a placeholder version) so bad input and
    # accreditation lookups never hold the ledger's write lock.
    draft = definition_document(body, profile=profile, version=1, definition_id="urn:draft",
                                published=now)
    for did in parse_definition(draft).rule.accepted_issuers:
        _, address = parse_issuer_did(did)
        facts = runtime.chain.issuer_facts(address)
        if not facts.active:
            raise InvalidInput(f"$.rule.acceptedIssuers: {did} is not an accredited issuer",
                               field="$.rule.acceptedIssuers")

    def build(version: int) -> tuple[str, bytes, str]:
        document = dict(draft, id=f"urn:uuid:{uuid.uuid4()}", version=version)
        canonical = canonicalize(document)
        return document["id"], keccak256(canonical), canonical.decode("utf-8")

    store = runtime.store()
    stack = draft["stack"]
    version = store.add_stack_definition(issuer.id, stack, build)
    return get_stack(runtime, issuer.id, stack, version)


def _published(runtime: Any, row: Any) -> PublishedStack:
    _, _, cred = row
    if keccak256(cred.document.encode("utf-8")) != cred.credential_hash:
        # The ledger's trigger forbids this; finding it anyway means the file was edited
        # behind credanchor's back, and granting under it would break every qualification.
        raise Conflict(f"stack definition {cred.id} no longer matches its published hash "
                       f"{to_hex(cred.credential_hash)}; it was changed after publication")
    definition = parse_definition(json.loads(cred.document))
    file = runtime.proofs().credential_file(cred) if cred.status == "anchored" else None
    return PublishedStack(definition, cred, file, _withdrawn_at(runtime.store(), cred))


def _withdrawn_at(store: Any, cred: Any) -> float | None:
    """When the definition was withdrawn: revoked itself, or with its whole batch. Anchored
    and revoked are separate facts in the ledger (a revoked row stays "anchored"), so the
    anchored status alone says nothing about whether the rule still stands."""
    found = store.revocation_of(cred.issuer_id, "credential", cred.credential_hash)
    if found is None and cred.batch_id is not None:
        batch = store.get_batch(cred.batch_id)
        found = store.revocation_of(cred.issuer_id, "batch", batch.root)
    return None if found is None else float(found["created_at"])


def list_stacks(runtime: Any, issuer_id: int) -> list[PublishedStack]:
    return [_published(runtime, r) for r in runtime.store().stack_definitions(issuer_id)]


def get_stack(runtime: Any, issuer_id: int, stack: str, version: int | None = None,
              ) -> PublishedStack:
    """A version of one of the issuer's stacks (the latest when ``version`` is None)."""
    rows = runtime.store().stack_definitions(issuer_id, stack=stack, version=version)
    if not rows:
        raise NotFound(f"no stack {stack!r}" + (f" version {version}" if version else ""))
    return _published(runtime, rows[-1])


# == the service: eligibility and issuing ======================================================


@dataclass(frozen=True)
class Eligibility:
    stack: PublishedStack
    candidates: tuple[Candidate, ...]
    assessment: Assessment
    documents: tuple[Any, ...]

    @property
    def eligible(self) -> bool:
        return self.assessment.satisfied

    def to_dict(self) -> dict[str, Any]:
        a = self.assessment
        return {
            "eligible": a.satisfied,
            **{k: v for k, v in self.stack.summary().items()
               if k in ("stack", "version", "id", "name", "definitionHash")},
            "definitionStatus": self.stack.status,
            "rule": self.stack.definition.rule.describe(),
            "required": a.required,
            "usable": a.usable,
            "missing": list(a.missing),
            "shortfalls": list(a.shortfalls),
            "components": [
                {
                    "index": c.index,
                    "id": c.credential_id,
                    "credentialHash": c.credential_hash,
                    "name": c.name,
                    "issuer": c.issuer,
                    "issuerName": c.issuer_name,
                    "status": c.status,
                    "usable": not a.problems_of(c),
                    "requirement": (r.key if (r := a.requirement_of(c)) else None),
                    "problems": list(a.problems_of(c)),
                }
                for c in self.candidates
            ],
        }


def _components(components: Any) -> list[Any]:
    if not isinstance(components, list) or not components:
        raise InvalidInput("components must be a non-empty list of credential files",
                           field="components")
    if len(components) > MAX_COMPONENTS:
        raise PayloadTooLarge(f"at most {MAX_COMPONENTS} components", maximum=MAX_COMPONENTS)
    return components


def _identifier(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("recipient must be the learner's e-mail address or identifier",
                           field="recipient")
    return value.strip()


def assess(verifier: Any, definition: StackDefinition, components: Sequence[Any],
           identifier: str, *, at: datetime) -> tuple[tuple[Candidate, ...], Assessment]:
    """Verify every presented component against the chain and apply the rule at ``at``."""
    candidates = []
    # One request: every presented component (and whatever it carries) counts against the
    # verifier's bound together, and their chain reads are batched and shared.
    with verifier.tree(*components):
        for i, doc in enumerate(components):
            report = verifier.verify(doc) if isinstance(doc, Mapping) else None
            candidates.append(candidate_from(doc, i, report=report, identifier=identifier))
    return tuple(candidates), evaluate(definition, candidates, at=at)


def check_eligibility(runtime: Any, issuer: Any, stack: str, components: Any, recipient: Any,
                      *, version: int | None = None) -> Eligibility:
    """Whether these component files, presented by ``recipient``, earn the stack now."""
    published = get_stack(runtime, issuer.id, stack, version)
    published.refuse_if_withdrawn()
    docs = _components(components)
    verifier = runtime.verifier()
    candidates, assessment = assess(verifier, published.definition, docs,
                                    _identifier(recipient), at=verifier.clock())
    return Eligibility(published, candidates, assessment, tuple(docs))


def qualification_document(
    *, profile: IssuerProfile, published: PublishedStack, eligibility: Eligibility,
    recipient: str, name: str | None, stacked_at: datetime, valid_until: datetime | None,
) -> dict[str, Any]:
    """The qualification credential (no proof yet). Everything, the carried files included,
    is inside the hashed body."""
    definition = published.definition
    assert published.file is not None
    who = Recipient(name=name, email=recipient) if "@" in recipient else \
        Recipient(name=name, identifier=recipient)
    credential = build_credential(
        issuer=profile, recipient=who,
        achievement=AchievementSpec(name=definition.name, description="-",
                                    criteria_narrative="-"),
        valid_from=stacked_at, valid_until=valid_until)
    credential["credentialSubject"]["achievement"] = copy.deepcopy(dict(definition.achievement))
    credential[STACK_MEMBER] = {
        "type": CLAIM_TYPE,
        "stackedAt": format_datetime(stacked_at),
        "definition": {
            "id": definition.id,
            "stack": definition.stack,
            "version": definition.version,
            "definitionHash": to_hex(published.credential.credential_hash),
            "document": copy.deepcopy(dict(published.file)),
        },
        "components": [
            {
                "requirement": req.key,
                "credentialHash": cand.credential_hash,
                "credential": copy.deepcopy(dict(eligibility.documents[cand.index])),
            }
            for req, cand in eligibility.assessment.matched
        ],
    }
    validate_credential(credential)
    return credential


def issue_qualification(
    runtime: Any, issuer: Any, stack: str, components: Any, recipient: Any, *,
    name: str | None = None, version: int | None = None, valid_until: datetime | None = None,
) -> Any:
    """Grant the qualification: pending, anchored by the worker like any credential.

    NotEligible (422) lists what is missing; Conflict (409) while the definition itself is
    not anchored yet (its proof has to travel inside the qualification)."""
    from credanchor.issuing.pipeline import Accepted

    eligibility = check_eligibility(runtime, issuer, stack, components, recipient,
                                    version=version)
    if eligibility.stack.file is None:
        raise Conflict(f"stack {stack!r} version {eligibility.stack.definition.version} is "
                       f"{eligibility.stack.status}, not anchored yet; try again once it is",
                       definitionStatus=eligibility.stack.status)
    if not eligibility.eligible:
        body = eligibility.to_dict()
        raise NotEligible(
            "not eligible yet: " + " ".join(body["shortfalls"]),
            missing=body["missing"], shortfalls=body["shortfalls"],
            components=body["components"])
    stacked_at = runtime.verifier().clock().astimezone(UTC).replace(microsecond=0)
    if valid_until is not None and valid_until <= stacked_at:
        raise InvalidInput("validUntil must be in the future", field="validUntil")
    credential = qualification_document(
        profile=runtime.issuer_profile(issuer), published=eligibility.stack,
        eligibility=eligibility, recipient=_identifier(recipient), name=name,
        stacked_at=stacked_at, valid_until=valid_until)
    canonical = canonicalize({k: v for k, v in credential.items() if k != "proof"})
    chash = keccak256(canonical)
    runtime.store().add_credentials(issuer.id, [(credential["id"], chash,
                                                 canonical.decode("utf-8"))])
    return Accepted(credential["id"], to_hex(chash))


# == verifying a qualification =================================================================


def is_qualification(credential: Any) -> bool:
    return isinstance(credential, Mapping) and STACK_MEMBER in credential


@dataclass(frozen=True)
class _Claim:
    stacked_at: datetime
    definition_id: str
    stack: str
    version: int
    definition_hash: str
    definition_doc: Any
    components: tuple[tuple[str, str, Any], ...]  # (requirement, credentialHash, document)


def _read_claim(credential: Mapping[str, Any]) -> _Claim:
    raw = credential.get(STACK_MEMBER)
    w = STACK_MEMBER
    if not isinstance(raw, Mapping) or raw.get("type") != CLAIM_TYPE:
        raise _fail(f"{w}.type", f"must be {CLAIM_TYPE!r}")
    try:
        stacked_at = parse_datetime(raw.get("stackedAt"))
    except ValueError as exc:
        raise _fail(f"{w}.stackedAt", str(exc)) from exc
    d = raw.get("definition")
    if not isinstance(d, Mapping):
        raise _fail(f"{w}.definition", "must be an object")
    comps = raw.get("components")
    if not isinstance(comps, list) or not comps or len(comps) > MAX_COMPONENTS:
        raise _fail(f"{w}.components", f"must list 1 to {MAX_COMPONENTS} components")
    items = []
    for i, c in enumerate(comps):
        cw = f"{w}.components[{i}]"
        if not isinstance(c, Mapping):
            raise _fail(cw, "must be an object")
        items.append((_str(c, "requirement", cw) or "", _str(c, "credentialHash", cw) or "",
                      c.get("credential")))
    return _Claim(
        stacked_at, _str(d, "id", f"{w}.definition") or "",
        _str(d, "stack", f"{w}.definition") or "",
        _int(d.get("version"), f"{w}.definition.version", 1, 1_000_000),
        _str(d, "definitionHash", f"{w}.definition") or "", d.get("document"), tuple(items))


def _hash_or_none(doc: Any) -> str | None:
    try:
        return to_hex(credential_hash(doc))
    except (CanonicalizationError, InvalidInput):
        return None


def _failed_titles(report: Report) -> str:
    bad = [c for c in report.checks if c.outcome == Outcome.FAIL]
    return "; ".join(c.message for c in bad[:2]) or str(report.status)


def _definition_check(verifier: Any, credential: Mapping[str, Any], own: Report,
                      claim: _Claim) -> tuple[Check, StackDefinition | None]:
    what = f"“{claim.stack}” version {claim.version}"
    data: dict[str, Any] = {"stack": claim.stack, "version": claim.version,
                            "definitionHash": claim.definition_hash}
    if _hash_or_none(claim.definition_doc) != claim.definition_hash.lower():
        return Check(CHECK_STACK_DEFINITION, Outcome.FAIL,
                     f"The rule carried in this file is not the stack definition {what} the "
                     "qualification was granted under: it was changed after publication.",
                     data), None
    try:
        definition = parse_definition(claim.definition_doc)
    except InvalidInput as exc:
        return Check(CHECK_STACK_DEFINITION, Outcome.FAIL,
                     f"The stack definition {what} is unreadable ({exc.detail}).", data), None
    if (definition.id, definition.stack, definition.version) != (
            claim.definition_id, claim.stack, claim.version):
        return Check(CHECK_STACK_DEFINITION, Outcome.FAIL,
                     "The stack definition carried in this file is not the one the "
                     "qualification names.", data), None
    issuer = credential.get("issuer")
    did = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    try:
        same_issuer = _did_key(str(did)) == _did_key(definition.issuer)
    except InvalidInput:
        same_issuer = False
    if not same_issuer:
        return Check(CHECK_STACK_DEFINITION, Outcome.FAIL,
                     f"The stack definition {what} was published by another issuer "
                     f"({definition.issuer}) than the one granting this qualification.",
                     data), definition
    # The definition is not an OB credential: verify its anchor with the schema check off —
    # through the same verifier, so its caches and the tree's batched chain reads serve it.
    report = verifier.verify(claim.definition_doc, schema=False)
    data.update(status=str(report.status), anchor=dict(report.anchor or {}))
    if report.status == Status.VALID:
        ours, theirs = (own.anchor or {}).get("anchoredAt"), (report.anchor or {}).get(
            "anchoredAt")
        own_anchored = own.check("anchored")
        if ours and theirs and own_anchored is not None and own_anchored.outcome == Outcome.PASS \
                and parse_datetime(theirs) > parse_datetime(ours):
            return Check(CHECK_STACK_DEFINITION, Outcome.FAIL,
                         f"The stack definition {what} was recorded after this qualification, "
                         "so it cannot be the rule it was granted under.", data), definition
        when = _human_date(parse_datetime(theirs)) if theirs else "an unknown date"
        return Check(CHECK_STACK_DEFINITION, Outcome.PASS,
                     f"Granted under version {definition.version} of the stack "
                     f"“{definition.name}”, whose rule was recorded on the blockchain on {when} "
                     "and has not changed since.", data), definition
    if report.status == Status.REVOKED:
        return _withdrawn_check(what, claim, report, data), definition
    if report.status == Status.ERROR:
        return Check(CHECK_STACK_DEFINITION, Outcome.ERROR,
                     f"Could not reach the blockchain to check the stack definition {what}.",
                     data), definition
    if report.status == Status.PENDING:
        return Check(CHECK_STACK_DEFINITION, Outcome.WARN,
                     f"The stack definition {what} is not final on the blockchain yet.",
                     {**data, "pending": True}), definition
    integrity = report.check("integrity")
    if integrity is not None and integrity.outcome == Outcome.FAIL:
        return Check(CHECK_STACK_DEFINITION, Outcome.FAIL,
                     f"The stack definition {what} was changed after it was published: it no "
                     "longer matches the fingerprint recorded on the blockchain.",
                     data), definition
    return Check(CHECK_STACK_DEFINITION, Outcome.FAIL,
                 f"The stack definition {what} is not recorded as published: "
                 f"{_failed_titles(report)}", data), definition


def _withdrawn_check(what: str, claim: _Claim, report: Report, data: dict[str, Any]) -> Check:
    """A withdrawn definition: the qualification is REVOKED either way — granted before the
    withdrawal it no longer stands, granted after it never should have been — and the
    message says which, with the dates (docs/stacking.md, "Withdrawing a definition")."""
    check = report.check("revocation")
    at = check.data.get("revokedAt") if check is not None else None
    stacked = _human_date(claim.stacked_at)
    if not (isinstance(at, int) and at > 0):
        return Check(CHECK_STACK_DEFINITION, Outcome.FAIL,
                     f"The issuer has withdrawn the stack definition {what}, so the "
                     "qualification no longer stands.", {**data, "reason": REASON_REVOKED})
    when = datetime.fromtimestamp(at, UTC)
    after = when >= claim.stacked_at
    data = {**data, "reason": REASON_REVOKED, "withdrawnAt": format_datetime(when),
            "grantedAfterWithdrawal": not after}
    if after:
        text = (f"The issuer withdrew the stack definition {what} on {_human_date(when)}, "
                f"after this qualification was granted on {stacked}, so the qualification "
                "no longer stands.")
    else:
        text = (f"This qualification was granted on {stacked} under the stack definition "
                f"{what}, which its issuer had already withdrawn on {_human_date(when)}: it "
                "does not stand.")
    return Check(CHECK_STACK_DEFINITION, Outcome.FAIL, text, data)


def _components_check(claim: _Claim, reports: Sequence[Report],
                      candidates: Sequence[Candidate]) -> Check:
    stacked = _human_date(claim.stacked_at)
    forged = [c for c, (_, committed, _doc) in zip(candidates, claim.components, strict=True)
              if c.credential_hash != committed.lower()]
    invalid = [(c, r) for c, r in zip(candidates, reports, strict=True)
               if r.status == Status.INVALID]
    if forged or invalid:
        parts = [f"{c.label} is not the badge the qualification was granted for" for c in forged]
        parts += [f"{c.label} is not genuine ({_failed_titles(r)})" for c, r in invalid
                  if c not in forged]
        return Check(CHECK_STACK_COMPONENTS, Outcome.FAIL,
                     "A badge this qualification is built from fails: " + "; ".join(parts) + ".",
                     {"failed": [c.index for c in forged] + [c.index for c, _ in invalid]})
    errored = [c for c, r in zip(candidates, reports, strict=True) if r.status == Status.ERROR]
    if errored:
        return Check(CHECK_STACK_COMPONENTS, Outcome.ERROR,
                     "Could not check " + ", ".join(c.label for c in errored) +
                     " against the blockchain; try again later.",
                     {"errored": [c.index for c in errored]})
    revoked = [(c, r) for c, r in zip(candidates, reports, strict=True)
               if r.status == Status.REVOKED]
    if revoked:
        parts = []
        for c, r in revoked:
            check = r.check("revocation")
            at = (check.data.get("revokedAt") if check is not None else None) or None
            if isinstance(at, int) and at > 0:
                when = datetime.fromtimestamp(at, UTC)
                rel = "after" if when >= claim.stacked_at else "before"
                parts.append(f"{c.label} was revoked by its issuer on {_human_date(when)}, "
                             f"{rel} this qualification was granted on {stacked}")
            else:
                parts.append(f"{c.label} has been revoked by its issuer")
        return Check(CHECK_STACK_COMPONENTS, Outcome.FAIL,
                     "; ".join(parts) + ", so the qualification no longer stands.",
                     {"reason": REASON_REVOKED, "revoked": [c.index for c, _ in revoked]})
    pending = [c for c, r in zip(candidates, reports, strict=True) if r.status == Status.PENDING]
    if pending:
        return Check(CHECK_STACK_COMPONENTS, Outcome.WARN,
                     ", ".join(c.label for c in pending) + " is not final on the blockchain yet.",
                     {"pending": True})
    expired = [c for c, r in zip(candidates, reports, strict=True) if r.status == Status.EXPIRED]
    n = len(candidates)
    text = (f"All {n} badges it is built from are genuine and none has been revoked"
            if n != 1 else "The badge it is built from is genuine and has not been revoked")
    if expired:
        text += ("; " + ", ".join(c.label for c in expired) + " has expired since the "
                 f"qualification was granted on {stacked}, which does not affect it")
    return Check(CHECK_STACK_COMPONENTS, Outcome.PASS, text + ".", {"count": n})


def _clear_ids(doc: Any) -> set[tuple[str, str]]:
    if not isinstance(doc, Mapping):
        return set()
    subject = _subject(doc)
    out = set()
    if isinstance(subject.get("id"), str):
        out.add(("id", subject["id"]))
    for ident in subject.get("identifier") or []:
        if isinstance(ident, Mapping) and ident.get("hashed") is False and \
                isinstance(ident.get("identityHash"), str):
            value = ident["identityHash"].strip()
            itype = str(ident.get("identityType"))
            out.add((itype, value.lower() if itype == "emailAddress" else value))
    return out


def _recipient_check(credential: Mapping[str, Any], claim: _Claim,
                     candidates: Sequence[Candidate], recipient: str | None) -> Check:
    if recipient is not None:
        if not recipient_matches(credential, recipient):
            return Check(CHECK_STACK_RECIPIENT, Outcome.FAIL,
                         "This qualification was not awarded to the person named.",
                         {"method": "identifier"})
        others = [c for c, (_, _, doc) in zip(candidates, claim.components, strict=True)
                  if not (isinstance(doc, Mapping) and recipient_matches(doc, recipient))]
        if others:
            return Check(CHECK_STACK_RECIPIENT, Outcome.FAIL,
                         ", ".join(c.label for c in others) + " was awarded to someone else.",
                         {"method": "identifier", "failed": [c.index for c in others]})
        return Check(CHECK_STACK_RECIPIENT, Outcome.PASS,
                     "The qualification and every badge it is built from were awarded to the "
                     "person named.", {"method": "identifier"})
    mine = _clear_ids(credential)
    mine_types = {t for t, _ in mine}
    for c, (_, _, doc) in zip(candidates, claim.components, strict=True):
        theirs = _clear_ids(doc)
        shared_types = mine_types & {t for t, _ in theirs}
        if shared_types and not (mine & theirs):
            return Check(CHECK_STACK_RECIPIENT, Outcome.FAIL,
                         f"{c.label} names a different recipient from this qualification.",
                         {"method": "clear", "failed": [c.index]})
    return Check(CHECK_STACK_RECIPIENT, Outcome.PASS,
                 "The issuer checked, when granting it, that every badge it is built from was "
                 "awarded to the holder of this qualification. (Recipients are stored as salted "
                 "fingerprints: to re-check, ask the holder for the e-mail address they were "
                 "awarded to.)", {"method": "issuer-attested"})


def _rule_check(definition: StackDefinition | None, claim: _Claim,
                candidates: Sequence[Candidate]) -> Check:
    if definition is None:
        return Check(CHECK_STACK_RULE, Outcome.SKIPPED,
                     "Not checked: the stack definition could not be read.")
    a = evaluate(definition, candidates, at=claim.stacked_at, require_valid=False)
    data = {"required": a.required, "usable": a.usable, "rule": definition.rule.describe(),
            "stackedAt": format_datetime(claim.stacked_at)}
    if a.satisfied:
        return Check(CHECK_STACK_RULE, Outcome.PASS,
                     f"Meets the rule of “{definition.name}”: {definition.rule.describe()}; "
                     f"{a.usable} qualifying badge{'s' if a.usable != 1 else ''} from accepted "
                     f"issuers at the time of stacking ({_human_date(claim.stacked_at)}).", data)
    problems = [f"{c.label}: {'; '.join(p)}" for c, p in a.problems]
    return Check(CHECK_STACK_RULE, Outcome.FAIL,
                 f"Does not meet the rule of “{definition.name}”: " + " ".join(a.shortfalls)
                 + (" Not counted: " + "; ".join(problems) + "." if problems else ""),
                 {**data, "missing": list(a.missing)})


_depth: contextvars.ContextVar[int] = contextvars.ContextVar("credanchor_stack_depth", default=0)


def verify_qualification(verifier: Any, credential: Mapping[str, Any], own: Report, *,
                         recipient: str | None = None) -> Report:
    """Extend ``own`` (the qualification's own checks, from ``verifier``) with its stack:
    ``stack-definition``, ``stack-components``, ``stack-recipient`` and ``stack-rule`` checks,
    and one chain-backed report per component in ``components``.

    Status (report.overall_status): a component or definition that fails makes the
    qualification INVALID; one that could not be checked, ERROR; a revoked component or a
    withdrawn definition, REVOKED with the component named in the message. ``own`` may
    already be a full report of this qualification (its stack checks are then replaced), so a
    verifier can re-check with the holder's identifier as ``recipient``.

    The whole tree is one verification (``verifier.tree``): counted offline first — more
    than the verifier's ``max_credentials`` raises TooManyCredentials before any chain call —
    then verified through one verifier and its caches, the contract asked about every
    credential of the tree at once."""
    with verifier.tree(credential):
        return _verify_qualification(verifier, credential, own, recipient)


def _verify_qualification(verifier: Any, credential: Mapping[str, Any], own: Report,
                          recipient: str | None) -> Report:
    checks = [c for c in own.checks if not c.name.startswith("stack-")]
    try:
        claim = _read_claim(credential)
    except InvalidInput as exc:
        checks.append(Check(CHECK_STACK_DEFINITION, Outcome.FAIL,
                            f"The qualification's stack section is malformed ({exc.detail})."))
        return Report(overall_status(checks), tuple(checks), own.credential_id,
                      own.credential_hash, own.issuer, own.anchor)
    if _depth.get() >= MAX_STACK_DEPTH:
        checks.append(Check(CHECK_STACK_COMPONENTS, Outcome.FAIL,
                            f"Qualifications nested deeper than {MAX_STACK_DEPTH} levels are "
                            "not verified."))
        return Report(overall_status(checks), tuple(checks), own.credential_id,
                      own.credential_hash, own.issuer, own.anchor)
    token = _depth.set(_depth.get() + 1)
    try:
        definition_check, definition = _definition_check(verifier, credential, own, claim)
        reports = []
        for _, _, doc in claim.components:
            if isinstance(doc, Mapping):
                reports.append(verifier.verify(doc))
            else:
                reports.append(Report(Status.INVALID, (Check(
                    "schema", Outcome.FAIL, "The component is not a credential (not a JSON "
                    "object)."),), None, None))
    finally:
        _depth.reset(token)
    candidates = [candidate_from(doc, i, report=r)
                  for i, ((_, _, doc), r) in enumerate(zip(claim.components, reports, strict=True))]
    checks += [
        definition_check,
        _components_check(claim, reports, candidates),
        _recipient_check(credential, claim, candidates, recipient),
        _rule_check(definition, claim, candidates),
    ]
    return Report(overall_status(checks), tuple(checks), own.credential_id, own.credential_hash,
                  own.issuer, own.anchor, components=tuple(reports))


def tree_documents(roots: Iterable[Any]) -> Iterator[Mapping[str, Any]]:
    """Every document verifying ``roots`` verifies against the chain, found offline: each
    root, and for a qualification its carried definition and every component, recursively
    to the depth :func:`verify_qualification` descends (``MAX_STACK_DEPTH``). Lazy, so a
    caller bounding the count stops reading a crafted file as soon as it is over the bound.
    An upper bound: a definition that fails its offline checks is counted, not verified."""
    for root in roots:
        if isinstance(root, Mapping):
            yield from _walk(root, 0)


def _walk(doc: Mapping[str, Any], depth: int) -> Iterator[Mapping[str, Any]]:
    yield doc
    if not is_qualification(doc) or depth >= MAX_STACK_DEPTH:
        return
    try:
        claim = _read_claim(doc)
    except InvalidInput:
        return  # reported as malformed; nothing under it is verified
    if isinstance(claim.definition_doc, Mapping):
        yield claim.definition_doc
    for _, _, component in claim.components:
        if isinstance(component, Mapping):
            yield from _walk(component, depth + 1)


def component_documents(credential: Any) -> list[Any]:
    """The component files a qualification carries, in report order (untrusted data)."""
    raw = credential.get(STACK_MEMBER) if isinstance(credential, Mapping) else None
    comps = raw.get("components") if isinstance(raw, Mapping) else None
    return [c.get("credential") if isinstance(c, Mapping) else None
            for c in (comps if isinstance(comps, list) else [])]


def tree_lines(report: Report, credential: Any, indent: str = "  ") -> Iterable[str]:
    """The stack as text for the CLI: each component (status, badge, issuer, why), nested,
    then the stack checks. Names and messages come from the file: each line is terminal-safe
    (credanchor.core.terminal), so a component's name cannot rewrite the tree on screen."""
    from credanchor.core.terminal import printable

    docs = component_documents(credential)
    for i, comp in enumerate(report.components):
        doc = docs[i] if i < len(docs) else None
        cand = candidate_from(doc, i, report=comp)
        why = "; ".join(f"{c.name}: {c.message}" for c in comp.reasons())
        yield printable(f"{indent}├ {comp.status.value:<8} {cand.label}"
                        + (f" — {why}" if why else ""))
        yield from tree_lines(comp, doc, indent + "│ ")
    for c in report.checks:
        if c.name.startswith("stack-"):
            yield printable(f"{indent}{c.name}: {c.outcome.value} — {c.message}")
