"""Stackable credentials, the service: publishing definitions, eligibility, granting (issue #9).

A stack definition (credanchor.core.stacks) is stored as a row of the ``credentials`` table, so
the worker seals, anchors and proves it exactly like a credential. A qualification is granted
only when the learner's presented badges verify against the chain and meet the rule; it is then
a pending credential like any other. Verifying one is credanchor.verify.qualifications; the
format is in docs/stacking.md.

WARNING: recipients are salted hashes. The service checks that every component belongs to the
learner (it is given the identifier) before it grants a qualification: a verifier without the
identifier relies on that check.
"""

from __future__ import annotations

import contextlib
import copy
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from credanchor.core.credentials import (
    AchievementSpec,
    IssuerProfile,
    Recipient,
    build_credential,
    format_datetime,
    parse_issuer_did,
    validate_credential,
)
from credanchor.core.hashing import canonicalize, to_hex
from credanchor.core.report import Report
from credanchor.core.stackrules import Assessment, Candidate, candidate_from, evaluate
from credanchor.core.stacks import (
    CLAIM_TYPE,
    MAX_COMPONENTS,
    STACK_CONTEXT,
    STACK_MEMBER,
    StackDefinition,
    definition_document,
    definition_hash,
    human_date,
    parse_definition,
)
from credanchor.core.terminal import printable
from credanchor.errors import Conflict, InvalidInput, NotEligible, NotFound, PayloadTooLarge
from credanchor.issuing.items import signed_row
from credanchor.issuing.pipeline import Accepted, recompute_hash
from credanchor.issuing.signing import status_allocator
from credanchor.ledger.store import Issuer, Store, StoredCredential
from credanchor.usecases.container import Runtime
from credanchor.verify.qualifications import component_rows
from credanchor.verify.verifier import Verifier

__all__ = [
    "Eligibility",
    "PublishedStack",
    "assess",
    "check_eligibility",
    "get_stack",
    "issue_qualification",
    "list_stacks",
    "publish",
    "qualification_document",
    "tree_lines",
]


# == the service: publishing ===================================================================


@dataclass(frozen=True)
class PublishedStack:
    """One published version of a definition, as the ledger holds it."""

    definition: StackDefinition
    credential: StoredCredential  # the ledger row that anchors it
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
                       f"{human_date(when)}; no qualification can be granted under it "
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


def _issuers_by_did(runtime: Runtime, body: Any) -> Any:
    """``body`` with each accepted issuer given as a bare address replaced by the DID the
    chain records for that account (its signing DID; its did:pkh if it has none)."""
    rule = body.get("rule") if isinstance(body, Mapping) else None
    if not isinstance(rule, Mapping) or not isinstance(rule.get("acceptedIssuers"), list):
        return body
    named = rule["acceptedIssuers"]
    dids = []
    for value in named:
        if isinstance(value, str) and not value.startswith("did:"):
            with contextlib.suppress(InvalidInput):  # not an address: the parser names it
                value = runtime.chain.issuer_facts(value).did or value
        dids.append(value)
    return {**body, "rule": {**rule, "acceptedIssuers": dids}}


def _accredited(runtime: Runtime, did: str) -> bool:
    """Whether ``did`` names an issuer accredited on this service's chain now: a did:pkh by
    its account, any other DID by the account whose on-chain profile records it."""
    if did.startswith("did:pkh:"):
        chain_id, address = parse_issuer_did(did)
        return chain_id == runtime.chain.chain_id and runtime.chain.issuer_facts(address).active
    return any(r["did"] == did and r["active"] for r in runtime.issuer_index.issuers())


def publish(runtime: Runtime, issuer: Issuer, body: Any) -> PublishedStack:
    """Publish a new version of one of ``issuer``'s stacks (version 1 if the name is new).

    Every accepted issuer must be accredited on chain now. The definition is stored as a
    pending ledger row; the worker anchors it with the issuer's next batch."""
    profile = runtime.issuer_profile(issuer)
    now = datetime.now(UTC).replace(microsecond=0)
    # Validate once outside the transaction (with a placeholder version) so bad input and
    # accreditation lookups never hold the ledger's write lock.
    draft = definition_document(_issuers_by_did(runtime, body), profile=profile, version=1,
                                definition_id="urn:draft", published=now)
    for did in parse_definition(draft).rule.accepted_issuers:
        if not _accredited(runtime, did):
            raise InvalidInput(f"$.rule.acceptedIssuers: {did} is not an accredited issuer",
                               field="$.rule.acceptedIssuers")

    def build(version: int) -> tuple[str, bytes, str]:
        document = dict(draft, id=f"urn:uuid:{uuid.uuid4()}", version=version)
        return document["id"], definition_hash(document), canonicalize(document).decode("utf-8")

    store = runtime.store()
    stack = draft["stack"]
    version = store.add_stack_definition(issuer.id, stack, build)
    return get_stack(runtime, issuer.id, stack, version)


def _published(runtime: Runtime, row: tuple[str, int, StoredCredential]) -> PublishedStack:
    _, _, cred = row
    if recompute_hash(cred.document) != cred.credential_hash:
        # The ledger's trigger forbids this; finding it anyway means the file was edited
        # behind credanchor's back, and granting under it would break every qualification.
        raise Conflict(f"stack definition {cred.id} no longer matches its published hash "
                       f"{to_hex(cred.credential_hash)}; it was changed after publication")
    definition = parse_definition(json.loads(cred.document))
    file = runtime.proofs().credential_file(cred) if cred.status == "anchored" else None
    return PublishedStack(definition, cred, file, _withdrawn_at(runtime.store(), cred))


def _withdrawn_at(store: Store, cred: StoredCredential) -> float | None:
    """When the definition was withdrawn: revoked itself, or with its whole batch. Anchored
    and revoked are separate facts in the ledger (a revoked row stays "anchored"), so the
    anchored status alone says nothing about whether the rule still stands."""
    found = store.revocation_of(cred.issuer_id, "credential", cred.credential_hash)
    if found is None and cred.batch_id is not None:
        batch = store.get_batch(cred.batch_id)
        found = store.revocation_of(cred.issuer_id, "batch", batch.root)
    return None if found is None else float(found["created_at"])


def list_stacks(runtime: Runtime, issuer_id: int) -> list[PublishedStack]:
    return [_published(runtime, r) for r in runtime.store().stack_definitions(issuer_id)]


def get_stack(runtime: Runtime, issuer_id: int, stack: str, version: int | None = None,
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


def assess(verifier: Verifier, definition: StackDefinition, components: Sequence[Any],
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


def check_eligibility(runtime: Runtime, issuer: Issuer, stack: str, components: Any, recipient: Any,
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
    credential["@context"] = [*credential["@context"], copy.deepcopy(STACK_CONTEXT)]
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
    runtime: Runtime, issuer: Issuer, stack: str, components: Any, recipient: Any, *,
    name: str | None = None, version: int | None = None, valid_until: datetime | None = None,
) -> Accepted:
    """Grant the qualification: pending, anchored by the worker like any credential.

    NotEligible (422) lists what is missing; Conflict (409) while the definition itself is
    not anchored yet (its proof has to travel inside the qualification)."""
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
    issuance = runtime.issuance(issuer)
    credential = qualification_document(
        profile=issuance.profile, published=eligibility.stack,
        eligibility=eligibility, recipient=_identifier(recipient), name=name,
        stacked_at=stacked_at, valid_until=valid_until)
    store = runtime.store()
    with store.transaction():  # the status slot is allocated and stored in one transaction
        allocator = status_allocator(store, issuance)
        row = signed_row(credential, issuance, None if allocator is None else allocator.take(1)[0])
        store.add_credentials(issuer.id, [row])
    return Accepted(row[0], to_hex(row[1]))



def tree_lines(report: Report, credential: Any, indent: str = "  ") -> Iterator[str]:
    """The stack as text for the CLI: each component (status, badge, issuer, why), nested,
    then each level's stack checks after its components. Drawn from the one walk of a
    verified tree (credanchor.verify.qualifications.component_rows). Names and messages come
    from the file: each line is terminal-safe (credanchor.core.terminal), so a component's
    name cannot rewrite the tree on screen."""
    open_reports = [report]  # the row's ancestors, whose stack checks follow their components
    for row in component_rows(report, credential):
        while len(open_reports) > row.depth:
            closed = open_reports.pop()
            yield from _stack_check_lines(closed, indent + "│ " * len(open_reports))
        why = "; ".join(f"{c.name}: {c.message}" for c in row.report.reasons())
        yield printable(f"{indent}{'│ ' * (row.depth - 1)}├ {row.report.status.value:<8} "
                        f"{row.label}" + (f" — {why}" if why else ""))
        open_reports.append(row.report)
    while open_reports:
        closed = open_reports.pop()
        yield from _stack_check_lines(closed, indent + "│ " * len(open_reports))


def _stack_check_lines(report: Report, indent: str) -> Iterator[str]:
    for c in report.checks:
        if c.name.startswith("stack-"):
            yield printable(f"{indent}{c.name}: {c.outcome.value} — {c.message}")
