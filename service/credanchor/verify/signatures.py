"""The ``signature`` check: the issuer's Data Integrity signature on a credential.

Outcomes (credanchor.core.report for the status precedence):

* PASS — every ``DataIntegrityProof`` (eddsa-rdfc-2022) verifies with a key of the issuer's
  DID document, listed under ``assertionMethod`` and controlled by ``issuer.id`` itself
  (core.dataintegrity checks the controller: a key is never trusted because the credential
  names it — a signature by someone else's did:key naming our issuer fails);
* FAIL (``data["failure"]`` a core.dataintegrity.Failure value, or ``"missing-signature"``,
  ``"malformed"``) — INVALID;
* ERROR — the issuer's DID document could not be fetched (DidUnreachable, a ChainError):
  nothing is known, so never INVALID;
* SKIPPED ``reason = "unsigned"`` — a legacy badge: a ``did:pkh`` issuer and no signature,
  issued before credanchor signed its badges; the status is unaffected (its authenticity rests
  on the chain checks). A badge of any other issuer without a signature FAILs;
* SKIPPED ``reason = "needs-network"`` (advisory) — offline, without a resolver, for an
  issuer whose DID document is on the web (did:web). A did:key resolves offline;
* SKIPPED ``reason = "not-signed"`` — a stack definition: not a credential, never signed;
  it is vouched for by its anchor and ``did-binding``.

Key rotation: the DID document is judged as it stood at the badge's anchor time
(``proof.anchor.anchoredAt``; now when there is no anchor proof yet) through
``DidDocument.assertion_view``: a key retired after the badge was anchored still verifies it,
a key retired before does not. The anchor time comes from the unhashed proof; the chain-backed
verifier's ``anchored`` check confirms it against the block, so a forger cannot back-date a
signature with a stolen retired key without also failing that check. Offline, it is as
trustworthy as the rest of an offline verdict (credanchor.verify.offline's warning).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from credanchor.core.dataintegrity import PROOF_TYPE, DidResolver, verify
from credanchor.core.did_document import DidDocument, parse_did_document
from credanchor.core.multikey import did_key_document
from credanchor.core.report import (
    ADVISORY,
    CHECK_SIGNATURE,
    REASON_NEEDS_NETWORK,
    REASON_UNSIGNED,
    Check,
    Outcome,
)
from credanchor.core.stacks import DEFINITION_TYPE, human_date
from credanchor.errors import ChainError, DidError, InvalidInput

__all__ = ["REASON_NOT_SIGNED", "signature_check"]

#: ``data["reason"]`` of the skipped check of a document that is never signed (a definition).
REASON_NOT_SIGNED = "not-signed"

_MESSAGES = {
    "bad-signature": "the signature does not match the badge: the badge or its signature was "
                     "altered, or it was signed with another key",
    "unknown-cryptosuite": "the signature uses a method this verifier does not know",
    "wrong-proof-purpose": "the signature was not made to vouch for a credential",
    "verification-method-not-authorized": "the signing key is not one of the issuer's signing "
                                          "keys (at the time the badge was recorded)",
    "verification-method-not-found": "the signing key is not in the issuer's DID document",
    "bad-verification-key": "the signing key is not a usable Ed25519 key",
    "issuer-mismatch": "the signing key does not belong to the issuer the badge names",
    "malformed-proof-value": "the signature value is damaged",
    "malformed-proof": "the signature is damaged or incomplete",
    "previous-proof-missing": "the signature refers to a proof the badge does not carry",
    "previous-proof-failed": "the signature refers to another proof that does not verify",
}


class _NeedsNetwork(Exception):
    """Raised by the offline resolver for a DID whose document is not derivable offline."""


def _issuer_id(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    value = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    return value if isinstance(value, str) else None


def _signatures(credential: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    proofs = credential.get("proof")
    listed = proofs if isinstance(proofs, list) else [proofs]
    return [p for p in listed if isinstance(p, Mapping) and p.get("type") == PROOF_TYPE]


def _offline_resolver(did: str) -> Mapping[str, Any]:
    if did.startswith("did:key:"):
        return did_key_document(did)  # DidError for a malformed one: a failed signature
    if did.startswith("did:web:"):
        raise _NeedsNetwork(did)
    raise DidError(f"unsupported DID method: {did!r:.100}")


@functools.lru_cache(maxsize=1024)
def _offline_document(did: str) -> DidDocument:
    """A did:key's document, parsed once per process (it is fixed by the DID; a malformed one
    raises, and is not cached)."""
    return parse_did_document(_offline_resolver(did), did)


def _documents(resolver: DidResolver) -> Callable[[str], DidDocument | None]:
    """DID -> parsed, validated DID document, through ``resolver`` (its ``document`` method
    when it has one: credanchor.verify.did_resolver's parsed and cached answer)."""
    parsed = getattr(resolver, "document", None)
    if callable(parsed):
        return parsed  # type: ignore[no-any-return]

    def document(did: str) -> DidDocument | None:
        raw = resolver(did)
        return None if raw is None else parse_did_document(raw, did)

    return document


def signature_check(
    credential: Mapping[str, Any], *, at: datetime, resolver: DidResolver | None = None
) -> Check:
    """The ``signature`` check of ``credential`` with its issuer's DID document as of ``at``
    (the anchor time, or now without an anchor). ``resolver`` None: offline — did:key only,
    did:web SKIPPED as needing the network."""
    issuer = _issuer_id(credential)
    if credential.get("type") == DEFINITION_TYPE:
        return Check(CHECK_SIGNATURE, Outcome.SKIPPED,
                     "Not checked: a stack definition is not signed; its blockchain record "
                     "vouches for it.", {"reason": REASON_NOT_SIGNED})
    if not _signatures(credential):
        if issuer is not None and issuer.startswith("did:pkh:"):
            return Check(CHECK_SIGNATURE, Outcome.SKIPPED,
                         "Not signed: issued before credanchor signed its badges; its "
                         "authenticity rests on its blockchain record.",
                         {"reason": REASON_UNSIGNED, "issuer": issuer})
        return Check(CHECK_SIGNATURE, Outcome.FAIL,
                     "The badge is not signed by its issuer, although an issuer identified "
                     "this way signs every badge it issues.",
                     {"failure": "missing-signature", "issuer": issuer})
    lookup = _documents(resolver) if resolver is not None else None
    retired: list[str] = []

    def as_of(did: str) -> Mapping[str, Any] | None:
        if lookup is None:
            return _view(_offline_document(did), at, retired)
        doc = lookup(did)
        return None if doc is None else _view(doc, at, retired)

    # did:key documents are derived from the DID and have no key history, so every resolver
    # answers the same for them: they go through dataintegrity's own per-process cache of
    # did:key methods (the same document and checks, without copying, parsing and viewing the
    # document again for every badge: ~0.2 ms a verification through the API's resolver).
    offline_keys = all(
        str(p.get("verificationMethod")).startswith("did:key:") for p in _signatures(credential)
    )
    try:
        result = verify(credential, resolver=None if offline_keys else as_of)
    except _NeedsNetwork:
        return Check(CHECK_SIGNATURE, Outcome.SKIPPED,
                     "Not checked: the issuer's keys are published on its website, which an "
                     "offline check does not visit.",
                     {"reason": REASON_NEEDS_NETWORK, "issuer": issuer, ADVISORY: True})
    except ChainError as exc:  # DidUnreachable: nothing is known about the signature
        return Check(CHECK_SIGNATURE, Outcome.ERROR,
                     "Could not fetch the issuer's public keys to check its signature "
                     f"({exc.detail}). This says nothing about the badge itself: try again "
                     "later.", {"issuer": issuer})
    except InvalidInput as exc:  # too many proofs, a proof that is not an object, not RDF
        return Check(CHECK_SIGNATURE, Outcome.FAIL,
                     f"The badge's signature cannot be checked: {exc.detail}.",
                     {"failure": "malformed", "issuer": issuer})
    if result.verified:
        first = result.proofs[0]
        data: dict[str, Any] = {"verificationMethod": first.verification_method,
                                "issuer": issuer}
        text = "Signed by the issuer: the signature matches the badge and the issuer's key."
        if first.verification_method in retired:
            data["retiredKey"] = True
            text += (" The key has since been retired, but the badge was recorded on "
                     f"{human_date(at)}, while it was in use.")
        return Check(CHECK_SIGNATURE, Outcome.PASS, text, data)
    bad = result.failures[0]
    failure = str(bad.failure) if bad.failure is not None else "bad-signature"
    return Check(CHECK_SIGNATURE, Outcome.FAIL,
                 f"The issuer's signature is not valid: {_MESSAGES.get(failure, failure)}.",
                 {"failure": failure, "detail": bad.detail,
                  "verificationMethod": bad.verification_method, "issuer": issuer})


def _view(doc: DidDocument, at: datetime, retired: list[str]) -> dict[str, Any]:
    """``doc`` as it stood for assertions at ``at``; notes the retired keys it still allows."""
    view = doc.assertion_view(at)
    retired += [vm for vm in view["assertionMethod"] if doc.revoked(vm) is not None]
    return view
