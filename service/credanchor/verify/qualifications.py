"""Verifying a stacked qualification: its definition, components, recipient and rule.

:func:`verify_qualification` extends a qualification's own report (from
credanchor.verify.verifier) with the checks ``stack-definition``, ``stack-components``,
``stack-recipient`` and ``stack-rule`` and one chain-backed report per component;
:func:`tree_documents` finds, offline, every document such a verification asks the chain
about (the verifier bounds their number before any chain call); :func:`component_rows` walks a
finished report's components beside the files they came from, for the CLI and the web page.
The stack format and the rule are credanchor.core.stacks and credanchor.core.stackrules.

WARNING: recipients are salted hashes. The service checks that every component belongs to the
learner (it is given the identifier) before it grants a qualification; a verifier without the
identifier can only rely on that check, made by the qualification's accredited issuer, unless
the holder tells it the identifier (``verify_qualification(..., recipient=...)``).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from credanchor.core.credentials import format_datetime, parse_datetime, recipient_matches
from credanchor.core.hashing import credential_hash, to_hex
from credanchor.core.report import REASON_REVOKED, Check, Outcome, Report, Status, overall_status
from credanchor.core.stackrules import Candidate, candidate_from, evaluate
from credanchor.core.stacks import (
    CHECK_STACK_COMPONENTS,
    CHECK_STACK_DEFINITION,
    CHECK_STACK_RECIPIENT,
    CHECK_STACK_RULE,
    MAX_STACK_DEPTH,
    StackClaim,
    StackDefinition,
    component_documents,
    credential_subject,
    human_date,
    is_qualification,
    issuer_key,
    parse_definition,
    read_claim,
)
from credanchor.errors import CanonicalizationError, InvalidInput
from credanchor.verify.ports import TreeVerifier

__all__ = ["ComponentRow", "component_rows", "tree_documents", "verify_qualification"]


def _hash_or_none(doc: Any) -> str | None:
    try:
        return to_hex(credential_hash(doc))
    except (CanonicalizationError, InvalidInput):
        return None


def _failed_titles(report: Report) -> str:
    bad = [c for c in report.checks if c.outcome == Outcome.FAIL]
    return "; ".join(c.message for c in bad[:2]) or str(report.status)


def _definition_check(verifier: TreeVerifier, credential: Mapping[str, Any], own: Report,
                      claim: StackClaim) -> tuple[Check, StackDefinition | None]:
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
        same_issuer = issuer_key(str(did)) == issuer_key(definition.issuer)
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
        when = human_date(parse_datetime(theirs)) if theirs else "an unknown date"
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


def _withdrawn_check(what: str, claim: StackClaim, report: Report, data: dict[str, Any]) -> Check:
    """A withdrawn definition: the qualification is REVOKED either way — granted before the
    withdrawal it no longer stands, granted after it never should have been — and the
    message says which, with the dates (docs/stacking.md, "Withdrawing a definition")."""
    check = report.check("revocation")
    at = check.data.get("revokedAt") if check is not None else None
    stacked = human_date(claim.stacked_at)
    if not (isinstance(at, int) and at > 0):
        return Check(CHECK_STACK_DEFINITION, Outcome.FAIL,
                     f"The issuer has withdrawn the stack definition {what}, so the "
                     "qualification no longer stands.", {**data, "reason": REASON_REVOKED})
    when = datetime.fromtimestamp(at, UTC)
    after = when >= claim.stacked_at
    data = {**data, "reason": REASON_REVOKED, "withdrawnAt": format_datetime(when),
            "grantedAfterWithdrawal": not after}
    if after:
        text = (f"The issuer withdrew the stack definition {what} on {human_date(when)}, "
                f"after this qualification was granted on {stacked}, so the qualification "
                "no longer stands.")
    else:
        text = (f"This qualification was granted on {stacked} under the stack definition "
                f"{what}, which its issuer had already withdrawn on {human_date(when)}: it "
                "does not stand.")
    return Check(CHECK_STACK_DEFINITION, Outcome.FAIL, text, data)


def _components_check(claim: StackClaim, reports: Sequence[Report],
                      candidates: Sequence[Candidate]) -> Check:
    stacked = human_date(claim.stacked_at)
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
                parts.append(f"{c.label} was revoked by its issuer on {human_date(when)}, "
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
    subject = credential_subject(doc)
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


def _recipient_check(credential: Mapping[str, Any], claim: StackClaim,
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


def _rule_check(definition: StackDefinition | None, claim: StackClaim,
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
                     f"issuers at the time of stacking ({human_date(claim.stacked_at)}).", data)
    problems = [f"{c.label}: {'; '.join(p)}" for c, p in a.problems]
    return Check(CHECK_STACK_RULE, Outcome.FAIL,
                 f"Does not meet the rule of “{definition.name}”: " + " ".join(a.shortfalls)
                 + (" Not counted: " + "; ".join(problems) + "." if problems else ""),
                 {**data, "missing": list(a.missing)})


_depth: contextvars.ContextVar[int] = contextvars.ContextVar("credanchor_stack_depth", default=0)


def verify_qualification(verifier: TreeVerifier, credential: Mapping[str, Any], own: Report, *,
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


def _verify_qualification(verifier: TreeVerifier, credential: Mapping[str, Any], own: Report,
                          recipient: str | None) -> Report:
    checks = [c for c in own.checks if not c.name.startswith("stack-")]
    try:
        claim = read_claim(credential)
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
        claim = read_claim(doc)
    except InvalidInput:
        return  # reported as malformed; nothing under it is verified
    if isinstance(claim.definition_doc, Mapping):
        yield claim.definition_doc
    for _, _, component in claim.components:
        if isinstance(component, Mapping):
            yield from _walk(component, depth + 1)



@dataclass(frozen=True)
class ComponentRow:
    """One component of a verified qualification, at ``depth`` (1: the qualification's own
    components, 2: theirs, …), with the file it was verified from (untrusted data, None when
    the qualification carries no file there)."""

    depth: int
    index: int
    report: Report
    document: Any

    @property
    def label(self) -> str:
        """'“Name” from Issuer' (the issuer's registry name when the report has it)."""
        return candidate_from(self.document, self.index, report=self.report).label


def component_rows(report: Report, credential: Any, depth: int = 1) -> Iterator[ComponentRow]:
    """Every component of ``report`` (a qualification's), depth first, each beside the file
    ``credential`` carries for it: the one walk of a verified tree, which the CLI's text and
    the web page's nested view are both drawn from."""
    docs = component_documents(credential)
    for i, comp in enumerate(report.components):
        doc = docs[i] if i < len(docs) else None
        yield ComponentRow(depth, i, comp, doc)
        yield from component_rows(comp, doc, depth + 1)
