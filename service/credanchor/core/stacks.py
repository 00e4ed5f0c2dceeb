"""Stackable credentials, the pure part: the stack definition model and its rule (issue #9).

An issuer publishes a **stack definition**: the qualification it leads to (an OB 3.0
``Achievement``) and a rule over component achievements — all of a list or k of n, optionally
a minimum per group, optionally components from other accredited issuers, optionally a maximum
component age at the time of stacking. A definition is versioned and immutable; its hash
(keccak256 of its RFC 8785 bytes, the same function as a credentialHash) is a leaf of an
anchored batch.

A **qualification** is an ``OpenBadgeCredential`` whose achievement is the definition's and
whose hashed body carries, in the top-level member ``credanchorStack``, the definition (id,
version, hash and the anchored document itself) and every component (its credentialHash and
the holder's file, proof included). docs/stacking.md has the format.

This module reads and writes those documents; it does no I/O. The rule applied to presented
badges is credanchor.core.stackrules; verifying a qualification against the chain is
credanchor.verify.qualifications; publishing, eligibility and issuing are
credanchor.usecases.stacks.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    validate_credential,
)
from credanchor.core.hashing import credential_hash
from credanchor.errors import InvalidInput, SchemaInvalid

__all__ = [
    "CHECK_STACK_COMPONENTS",
    "CHECK_STACK_DEFINITION",
    "CHECK_STACK_RECIPIENT",
    "CHECK_STACK_RULE",
    "CLAIM_TYPE",
    "DEFINITION_TYPE",
    "MAX_COMPONENTS",
    "MAX_STACK_DEPTH",
    "STACK_MEMBER",
    "Requirement",
    "StackClaim",
    "StackDefinition",
    "StackRule",
    "component_documents",
    "credential_subject",
    "definition_document",
    "definition_hash",
    "did_key",
    "human_date",
    "is_qualification",
    "normal_did",
    "parse_definition",
    "read_claim",
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
    issuer: str  # DID of the defining issuer (core.stacks.normal_did)
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


_DID = re.compile(r"did:[a-z0-9]+:[A-Za-z0-9._:%-]*[A-Za-z0-9._%-]")


def normal_did(did: object) -> str:
    """An issuer DID in one spelling: a legacy ``did:pkh`` with its address checksummed (two
    spellings of one account are one issuer); any other DID (did:key, did:web) as written —
    issuers are then compared as strings. InvalidInput when ``did`` is not a DID."""
    if isinstance(did, str) and did.startswith("did:pkh:"):
        return issuer_did(*parse_issuer_did(did))
    if not isinstance(did, str) or len(did) > 2048 or not _DID.fullmatch(did):
        raise InvalidInput(f"an issuer must be identified by a DID, got {did!r:.80}")
    return did


def did_key(did: str) -> str:
    """The key an issuer DID is compared by (:func:`normal_did`)."""
    return normal_did(did)


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
                did = normal_did(value)
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
        did = normal_did(did)
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


def human_date(dt: datetime) -> str:
    """'1 March 2027': how a date reads in a check's message."""
    return f"{dt.day} {dt:%B %Y}"


def credential_subject(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """The (first) credentialSubject of an untrusted document, or {}."""
    s = doc.get("credentialSubject")
    s = s[0] if isinstance(s, list) and s else s
    return s if isinstance(s, Mapping) else {}


# == reading a qualification (pure) ===========================================================


def is_qualification(credential: Any) -> bool:
    return isinstance(credential, Mapping) and STACK_MEMBER in credential


@dataclass(frozen=True)
class StackClaim:
    """The ``credanchorStack`` member of a qualification, read but not yet verified."""

    stacked_at: datetime
    definition_id: str
    stack: str
    version: int
    definition_hash: str
    definition_doc: Any
    components: tuple[tuple[str, str, Any], ...]  # (requirement, credentialHash, document)


def read_claim(credential: Mapping[str, Any]) -> StackClaim:
    """Read a qualification's stack member (untrusted): InvalidInput names what is malformed."""
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
    return StackClaim(
        stacked_at, _str(d, "id", f"{w}.definition") or "",
        _str(d, "stack", f"{w}.definition") or "",
        _int(d.get("version"), f"{w}.definition.version", 1, 1_000_000),
        _str(d, "definitionHash", f"{w}.definition") or "", d.get("document"), tuple(items))



def component_documents(credential: Any) -> list[Any]:
    """The component files a qualification carries, in report order (untrusted data)."""
    raw = credential.get(STACK_MEMBER) if isinstance(credential, Mapping) else None
    comps = raw.get("components") if isinstance(raw, Mapping) else None
    return [c.get("credential") if isinstance(c, Mapping) else None
            for c in (comps if isinstance(comps, list) else [])]
