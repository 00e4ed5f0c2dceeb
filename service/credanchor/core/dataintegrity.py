"""W3C Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite (pure, no I/O).

Implements, from Data Integrity EdDSA Cryptosuites v1.0 (W3C Recommendation, 2025) §3.2 and
Verifiable Credential Data Integrity 1.0 §4.2–4.5:

* create a proof: proofConfig = the proof options (without ``proofValue``) with the document's
  ``@context``; hashData = SHA-256(RDFC-1.0(proofConfig)) || SHA-256(RDFC-1.0(document));
  ``proofValue`` = ``z`` + base58btc(Ed25519 signature of hashData);
* add it to a document, as its only proof or appended to a proof set, and chained to earlier
  proofs with ``previousProof`` (the earlier proofs it names are then part of what it signs);
* verify every ``DataIntegrityProof`` of a document, one result per proof.

``proof`` may be one object or a list. Entries of other types (credanchor's
``CredanchorMerkleProof2026``, placed after the signature) are listed in ``ignored`` and take no
part in verifying a signature: a Data Integrity proof signs the document without its ``proof``
member, plus only the earlier proofs it names in ``previousProof``.

Keys are never fetched: the caller passes a DID document or a resolver (a callable from DID to
DID document). A resolver that cannot reach a DID document should raise — that is an error
condition for the caller to report as such, never a failed signature. A ``did:key`` resolves
offline (credanchor.core.multikey).

Verification reports, rather than raises, everything about a proof that makes it fail (see
:class:`Failure`). It raises only when the document as a whole cannot be evaluated: not a JSON
object, no ``proof``, an entry that is not an object, too many proofs, or a document that
cannot be canonicalised (credanchor.errors).
"""

from __future__ import annotations

import enum
import functools
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from credanchor.core.jsonld import ContextLoader
from credanchor.core.multikey import (
    Ed25519KeyPair,
    decode_public_multibase,
    multibase_decode,
    multibase_encode,
    resolve_offline,
    verify_ed25519,
)
from credanchor.core.rdfc import Canonicalizer, canonical_nquads
from credanchor.errors import (
    DidError,
    KeyFormatError,
    ProofGenerationError,
    ProofInputError,
    RdfCanonicalizationError,
)

__all__ = [
    "CRYPTOSUITE",
    "MAX_PROOFS",
    "PROOF_TYPE",
    "DataIntegrityResult",
    "DidResolver",
    "Failure",
    "ProofResult",
    "add_proof",
    "create_proof",
    "hash_data",
    "proof_configuration",
    "transform",
    "verify",
]

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
#: Most proofs a secured document may carry: each costs a canonicalisation, so an unbounded
#: list would be a cheap denial of service.
MAX_PROOFS = 16
#: Verification method types whose ``publicKeyMultibase`` is an Ed25519 Multikey (z6Mk…).
KEY_TYPES = frozenset({"Multikey", "Ed25519VerificationKey2020"})

#: A DID resolver: DID -> DID document. Raise if the document cannot be obtained (unreachable
#: is an error, not an invalid signature); return None if the DID is known not to exist.
DidResolver = Callable[[str], Mapping[str, Any] | None]

# xsd:dateTime (XML Schema 1.1 Part 2, §3.3.7): year, month, day, time, optional fraction and
# optional time zone. Ranges are checked with datetime below.
_XSD_DATETIME = re.compile(
    r"-?([0-9]{4,})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"(Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
)


class Failure(enum.StrEnum):
    """Why a Data Integrity proof did not verify."""

    BAD_SIGNATURE = "bad-signature"
    """The signature does not match: the document or the proof was altered, or another key."""
    UNKNOWN_CRYPTOSUITE = "unknown-cryptosuite"
    """A DataIntegrityProof with a cryptosuite other than eddsa-rdfc-2022."""
    WRONG_PURPOSE = "wrong-proof-purpose"
    """proofPurpose is not the one the verifier expects (assertionMethod for credentials)."""
    METHOD_NOT_AUTHORIZED = "verification-method-not-authorized"
    """The verification method is not in the DID document under the proof's purpose."""
    METHOD_NOT_FOUND = "verification-method-not-found"
    """The DID document does not exist or does not define the verification method."""
    BAD_KEY = "bad-verification-key"
    """The verification method is not an Ed25519 Multikey, or its key is malformed."""
    ISSUER_MISMATCH = "issuer-mismatch"
    """The key's controller is not the credential's issuer."""
    MALFORMED_PROOF_VALUE = "malformed-proof-value"
    """proofValue is missing, not base58btc multibase, or not 64 bytes."""
    MALFORMED_PROOF = "malformed-proof"
    """A required proof property is missing or malformed (e.g. created, previousProof)."""
    PREVIOUS_PROOF_MISSING = "previous-proof-missing"
    """previousProof names a proof id that is not in the document."""
    PREVIOUS_PROOF_FAILED = "previous-proof-failed"
    """A proof named in previousProof did not verify (or is not a verifiable proof)."""


@dataclass(frozen=True)
class ProofResult:
    """The verdict on one DataIntegrityProof of a document."""

    index: int
    """Position in the document's ``proof`` list (0 when ``proof`` is a single object)."""
    id: str | None
    verification_method: str | None
    verified: bool
    failure: Failure | None = None
    detail: str = ""
    controller: str | None = None
    """The DID whose key made a verified proof."""


@dataclass(frozen=True)
class DataIntegrityResult:
    """The verdict on all DataIntegrityProofs of a document.

    ``verified`` is True only when there is at least one and every one verified. ``ignored``
    lists the positions of proofs of other types, which were not evaluated.
    """

    verified: bool
    proofs: tuple[ProofResult, ...]
    ignored: tuple[int, ...] = ()

    @property
    def failures(self) -> tuple[ProofResult, ...]:
        return tuple(p for p in self.proofs if not p.verified)


# --- the cryptosuite's algorithms -----------------------------------------------------------


def _canon(
    doc: Mapping[str, Any], loader: ContextLoader | None, canonicalize: Canonicalizer | None
) -> str:
    return (canonicalize or canonical_nquads)(doc, loader=loader)


def transform(
    unsecured_document: Mapping[str, Any],
    *,
    loader: ContextLoader | None = None,
    canonicalize: Canonicalizer | None = None,
) -> str:
    """§3.2.3 Transformation: the RDFC-1.0 canonical N-Quads of the unsecured document."""
    return _canon(unsecured_document, loader, canonicalize)


def proof_configuration(
    unsecured_document: Mapping[str, Any],
    options: Mapping[str, Any],
    *,
    loader: ContextLoader | None = None,
    canonicalize: Canonicalizer | None = None,
) -> str:
    """§3.2.5 Proof Configuration: canonical N-Quads of the options with the document's
    ``@context`` (any ``proofValue`` in ``options`` is left out)."""
    if options.get("type") != PROOF_TYPE or options.get("cryptosuite") != CRYPTOSUITE:
        raise ProofGenerationError(f"proof options must be a {PROOF_TYPE} with {CRYPTOSUITE}")
    created = options.get("created")
    if created is not None and not _is_xsd_datetime(created):
        raise ProofGenerationError(f"created is not an xsd:dateTime: {created!r:.60}")
    config = {k: v for k, v in options.items() if k != "proofValue"}
    if "@context" in unsecured_document:
        config["@context"] = unsecured_document["@context"]
    else:
        config.pop("@context", None)
    return _canon(config, loader, canonicalize)


def hash_data(canonical_proof_config: str, canonical_document: str) -> bytes:
    """§3.2.4 Hashing: SHA-256 of the proof configuration, then SHA-256 of the document."""
    return (
        hashlib.sha256(canonical_proof_config.encode("utf-8")).digest()
        + hashlib.sha256(canonical_document.encode("utf-8")).digest()
    )


def _is_xsd_datetime(value: object) -> bool:
    # A run signs (and a batch verifies) thousands of proofs with the same creation time.
    return isinstance(value, str) and _is_xsd_datetime_str(value)


@functools.lru_cache(maxsize=256)
def _is_xsd_datetime_str(value: str) -> bool:
    m = _XSD_DATETIME.fullmatch(value)
    if m is None:
        return False
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    if hour == 24:  # 24:00:00 is allowed as the end of a day
        return minute == 0 and second == 0 and not (m.group(7) or "").strip(".0")
    try:
        datetime(min(max(year, 1), 9999), month, day, hour, minute, second)
    except ValueError:
        return False
    return True


def _format_created(created: datetime | str | None) -> str | None:
    if created is None or isinstance(created, str):
        return created
    if not isinstance(created, datetime) or created.utcoffset() is None:
        raise ProofGenerationError("created must be a timezone-aware datetime or a string")
    return created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- creating proofs ------------------------------------------------------------------------


def _proof_list(document: Mapping[str, Any]) -> list[Any]:
    existing = document.get("proof")
    if existing is None:
        return []
    if isinstance(existing, Mapping):
        return [existing]
    if isinstance(existing, list):
        return list(existing)
    raise ProofInputError("proof must be an object or a list of objects")


def _ids(previous: object) -> list[str] | None:
    """previousProof as a list of ids; None if malformed."""
    if isinstance(previous, str):
        return [previous]
    if isinstance(previous, list) and previous and all(isinstance(p, str) for p in previous):
        return list(previous)
    return None


def _matching_proofs(all_proofs: Sequence[Any], previous: object) -> list[Any] | str:
    """The proofs named by previousProof, in document order; an error message if one is missing."""
    ids = _ids(previous)
    if ids is None:
        return "previousProof must be a proof id or a non-empty list of proof ids"
    present = {p.get("id") for p in all_proofs if isinstance(p, Mapping)}
    missing = [i for i in ids if i not in present]
    if missing:
        return f"previousProof names {missing[0]!r:.100}, which is not a proof of this document"
    wanted = set(ids)
    return [p for p in all_proofs if isinstance(p, Mapping) and p.get("id") in wanted]


def _unsecured(document: Mapping[str, Any], matching: Sequence[Any]) -> dict[str, Any]:
    doc = {k: v for k, v in document.items() if k != "proof"}
    if matching:
        doc["proof"] = list(matching)
    return doc


def create_proof(
    document: Mapping[str, Any],
    key: Ed25519KeyPair,
    *,
    verification_method: str | None = None,
    proof_purpose: str = "assertionMethod",
    created: datetime | str | None = None,
    proof_id: str | None = None,
    previous_proof: str | Sequence[str] | None = None,
    loader: ContextLoader | None = None,
    canonicalize: Canonicalizer | None = None,
) -> dict[str, Any]:
    """A ``DataIntegrityProof`` (eddsa-rdfc-2022) over ``document`` (§3.2.1 Create Proof).

    ``document`` is the input document: its own ``proof`` member, if any, is not signed,
    except the proofs named by ``previous_proof`` (a proof chain, DI §4.3). The verification
    method defaults to the key's did:key method; for did:web pass ``"did:web:…#key-id"``.
    ``created`` (an aware datetime or an xsd:dateTime string) is omitted when None: this core
    never reads the clock. The proof is returned, not attached (see :func:`add_proof`).
    """
    if not isinstance(document, Mapping):
        raise ProofInputError("a document must be a JSON object")
    if not isinstance(key, Ed25519KeyPair):
        raise ProofGenerationError("key must be an Ed25519KeyPair")
    vm = key.verification_method if verification_method is None else verification_method
    if not isinstance(vm, str) or not vm or not isinstance(proof_purpose, str) or not proof_purpose:
        raise ProofGenerationError("verificationMethod and proofPurpose must be non-empty strings")
    options: dict[str, Any] = {"type": PROOF_TYPE}
    if proof_id is not None:
        options["id"] = proof_id
    options["cryptosuite"] = CRYPTOSUITE
    created_s = _format_created(created)
    if created_s is not None:
        options["created"] = created_s
    options["verificationMethod"] = vm
    options["proofPurpose"] = proof_purpose
    matching: list[Any] = []
    if previous_proof is not None:
        previous = previous_proof if isinstance(previous_proof, str) else list(previous_proof)
        found = _matching_proofs(_proof_list(document), previous)
        if isinstance(found, str):
            raise ProofGenerationError(found)
        matching = found
        options["previousProof"] = previous
    unsecured = _unsecured(document, matching)
    config = proof_configuration(unsecured, options, loader=loader, canonicalize=canonicalize)
    data = hash_data(config, transform(unsecured, loader=loader, canonicalize=canonicalize))
    proof = dict(options)
    proof["proofValue"] = multibase_encode(key.sign(data))
    return proof


def add_proof(
    document: Mapping[str, Any],
    key: Ed25519KeyPair,
    **options: Any,
) -> dict[str, Any]:
    """A copy of ``document`` secured with a new proof (DI §4.2 Add Proof / §4.3 Add Proof
    Set/Chain). With no existing proof, ``proof`` becomes the new proof object; otherwise the
    new proof is appended to the existing one(s). ``options`` are :func:`create_proof`'s.
    """
    existing = _proof_list(document)
    if len(existing) >= MAX_PROOFS:
        raise ProofInputError(f"a document may carry at most {MAX_PROOFS} proofs")
    proof = create_proof(document, key, **options)
    secured = {k: v for k, v in document.items() if k != "proof"}
    secured["proof"] = [*existing, proof] if existing else proof
    return secured


# --- verifying proofs -----------------------------------------------------------------------


def _resolve_offline(did: str) -> Mapping[str, Any] | None:
    """The default resolver: did:key only, derived from the DID (no I/O)."""
    doc: Mapping[str, Any] | None = resolve_offline(did)
    return doc


def _resolver_for(resolver: DidResolver | Mapping[str, Any] | None) -> DidResolver:
    if resolver is None:
        return _resolve_offline
    if isinstance(resolver, Mapping):
        doc = resolver

        def from_document(did: str) -> Mapping[str, Any] | None:
            if did == doc.get("id"):
                return doc
            if did.startswith("did:key:"):
                return resolve_offline(did)
            return None

        return from_document
    if callable(resolver):
        return resolver
    raise TypeError("resolver must be a DID document, a callable or None")


def _absolute(ref: object, did: str) -> object:
    """A verification method reference made absolute against the DID (``#key`` -> did#key)."""
    return did + ref if isinstance(ref, str) and ref.startswith("#") else ref


def _find_method(doc: Mapping[str, Any], vm_id: str, did: str) -> Mapping[str, Any] | None:
    candidates: list[Any] = []
    for rel in ("verificationMethod", "assertionMethod", "authentication",
                "capabilityInvocation", "capabilityDelegation", "keyAgreement"):  # fmt: skip
        value = doc.get(rel)
        candidates.extend(value if isinstance(value, list) else [value])
    for c in candidates:
        if isinstance(c, Mapping) and _absolute(c.get("id"), did) == vm_id:
            return c
    return None


def _authorized(doc: Mapping[str, Any], relationship: str, vm_id: str, did: str) -> bool:
    refs = doc.get(relationship)
    for r in refs if isinstance(refs, list) else [refs]:
        ref = r.get("id") if isinstance(r, Mapping) else r
        if _absolute(ref, did) == vm_id:
            return True
    return False


def _retrieve_key(
    vm_id: str, purpose: str, resolve: DidResolver
) -> tuple[bytes, str] | tuple[Failure, str]:
    """(public key, controller DID), or (failure, detail): Controlled Identifiers v1.0
    "Retrieve Verification Method" for DID-controlled Ed25519 keys."""
    did, sep, fragment = vm_id.partition("#")
    if not did.startswith("did:") or not sep or not fragment:
        return Failure.METHOD_NOT_FOUND, f"verificationMethod {vm_id!r:.120} is not a DID URL"
    try:
        doc = resolve(did)
    except (DidError, KeyFormatError) as exc:
        return Failure.METHOD_NOT_FOUND, f"cannot resolve {did!r:.100}: {exc.detail}"
    if doc is None:
        return Failure.METHOD_NOT_FOUND, f"no DID document for {did!r:.100}"
    if not isinstance(doc, Mapping) or doc.get("id") != did:
        return Failure.METHOD_NOT_FOUND, f"the DID document resolved for {did!r:.100} is not its"
    method = _find_method(doc, vm_id, did)
    if method is None:
        return Failure.METHOD_NOT_FOUND, f"{did!r:.100} defines no method {vm_id!r:.120}"
    if not _authorized(doc, purpose, vm_id, did):
        return (
            Failure.METHOD_NOT_AUTHORIZED,
            f"{vm_id!r:.120} is not listed under {purpose!r:.40} in the DID document",
        )
    if method.get("controller") != did:
        return Failure.METHOD_NOT_AUTHORIZED, f"{vm_id!r:.120} is not controlled by {did!r:.100}"
    if method.get("type") not in KEY_TYPES:
        return Failure.BAD_KEY, f"verification method type {method.get('type')!r:.60} unsupported"
    try:
        return decode_public_multibase(method.get("publicKeyMultibase")), did
    except KeyFormatError as exc:
        return Failure.BAD_KEY, f"publicKeyMultibase: {exc.detail}"


@functools.lru_cache(maxsize=1024)
def _offline_key(vm_id: str, purpose: str) -> tuple[bytes, str] | tuple[Failure, str]:
    """:func:`_retrieve_key` with the default resolver. A did:key document is derived from
    the DID alone, so the answer for a verification method never changes: it is kept rather
    than decoded again for every proof (about 30 µs each)."""
    return _retrieve_key(vm_id, purpose, _resolve_offline)


_NO_ISSUER = object()


def _issuer_id(document: Mapping[str, Any]) -> object:
    """The issuer's id; None without an ``issuer`` member (not a credential, nothing to check).
    An ``issuer`` without a string id matches no key."""
    if "issuer" not in document:
        return None
    issuer = document["issuer"]
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    return issuer_id if isinstance(issuer_id, str) else _NO_ISSUER


def verify(
    document: Mapping[str, Any],
    *,
    resolver: DidResolver | Mapping[str, Any] | None = None,
    expected_purpose: str = "assertionMethod",
    check_issuer: bool = True,
    loader: ContextLoader | None = None,
    canonicalize: Canonicalizer | None = None,
) -> DataIntegrityResult:
    """Verify every DataIntegrityProof of ``document`` (DI §4.4–4.5, EdDSA §3.2.2).

    ``resolver`` is a DID document, a callable DID -> DID document, or None (did:key only).
    With ``check_issuer`` (the default), a proof verifies only if its key is controlled by the
    document's ``issuer`` when it has one, as Verifiable Credential verifiers require: anyone
    can sign a badge that names someone else as its issuer. Exceptions the resolver raises
    propagate (an unreachable DID document is an error, not a bad signature).
    """
    if not isinstance(document, Mapping):
        raise ProofInputError("a secured document must be a JSON object")
    if "proof" not in document:
        raise ProofInputError("the document has no proof")
    all_proofs = _proof_list(document)
    if not all_proofs:
        raise ProofInputError("the document's proof list is empty")
    if len(all_proofs) > MAX_PROOFS:
        raise ProofInputError(f"a document may carry at most {MAX_PROOFS} proofs")
    for i, p in enumerate(all_proofs):
        if not isinstance(p, Mapping):
            raise ProofInputError(f"proof[{i}] is not an object")
    resolve = _resolver_for(resolver)
    issuer = _issuer_id(document) if check_issuer else None
    # The unsecured document without previous proofs is shared by every proof of a set:
    # canonicalise it once (and, when it cannot be canonicalised, fail the whole call).
    plain_canonical: list[str] = []

    def canonical_document(matching: Sequence[Any]) -> str:
        if matching:
            return transform(
                _unsecured(document, matching), loader=loader, canonicalize=canonicalize
            )
        if not plain_canonical:
            plain_canonical.append(
                transform(_unsecured(document, ()), loader=loader, canonicalize=canonicalize)
            )
        return plain_canonical[0]

    results: dict[int, ProofResult] = {}
    ignored: list[int] = []
    for index, proof in enumerate(all_proofs):
        if proof.get("type") != PROOF_TYPE:
            ignored.append(index)
            continue
        results[index] = _verify_one(
            index, proof, document, all_proofs, resolve, expected_purpose, issuer,
            canonical_document, loader, canonicalize,
        )  # fmt: skip

    # DI §4.5: a chained proof counts only if every proof it names verified too.
    changed = True
    while changed:
        changed = False
        for index, r in list(results.items()):
            if not r.verified:
                continue
            ids = _ids(all_proofs[index].get("previousProof")) or []
            for pid in ids:
                deps = [i for i, p in enumerate(all_proofs) if p.get("id") == pid]
                if not all(i in results and results[i].verified for i in deps):
                    results[index] = ProofResult(
                        index, r.id, r.verification_method, False,
                        Failure.PREVIOUS_PROOF_FAILED,
                        f"previous proof {pid!r:.100} did not verify",
                    )  # fmt: skip
                    changed = True
                    break
    proofs = tuple(results[i] for i in sorted(results))
    verified = bool(proofs) and all(p.verified for p in proofs)
    return DataIntegrityResult(verified, proofs, tuple(ignored))


def _verify_one(
    index: int,
    proof: Mapping[str, Any],
    document: Mapping[str, Any],
    all_proofs: Sequence[Any],
    resolve: DidResolver,
    expected_purpose: str,
    issuer: object,
    canonical_document: Callable[[Sequence[Any]], str],
    loader: ContextLoader | None,
    canonicalize: Canonicalizer | None,
) -> ProofResult:
    proof_id = proof.get("id") if isinstance(proof.get("id"), str) else None
    vm = proof.get("verificationMethod")
    vm_id = vm if isinstance(vm, str) else None

    def fail(failure: Failure, detail: str) -> ProofResult:
        return ProofResult(index, proof_id, vm_id, False, failure, detail)

    if proof.get("cryptosuite") != CRYPTOSUITE:
        return fail(
            Failure.UNKNOWN_CRYPTOSUITE,
            f"cryptosuite {proof.get('cryptosuite')!r:.60} is not supported ({CRYPTOSUITE} is)",
        )
    purpose = proof.get("proofPurpose")
    if vm_id is None or not isinstance(purpose, str):
        return fail(Failure.MALFORMED_PROOF, "verificationMethod and proofPurpose are required")
    if purpose != expected_purpose:
        return fail(
            Failure.WRONG_PURPOSE,
            f"proofPurpose is {purpose!r:.60}, expected {expected_purpose!r:.60}",
        )
    if "created" in proof and not _is_xsd_datetime(proof["created"]):
        return fail(Failure.MALFORMED_PROOF, "created is not an xsd:dateTime")
    try:
        signature = multibase_decode(proof.get("proofValue"))
    except KeyFormatError as exc:
        return fail(Failure.MALFORMED_PROOF_VALUE, f"proofValue: {exc.detail}")
    if len(signature) != 64:
        return fail(
            Failure.MALFORMED_PROOF_VALUE,
            f"proofValue must hold a 64-byte Ed25519 signature, got {len(signature)} bytes",
        )
    matching: list[Any] = []
    if "previousProof" in proof:
        found = _matching_proofs(all_proofs, proof["previousProof"])
        if isinstance(found, str):
            failure = (
                Failure.MALFORMED_PROOF
                if _ids(proof["previousProof"]) is None
                else Failure.PREVIOUS_PROOF_MISSING
            )
            return fail(failure, found)
        matching = found
    key = (
        _offline_key(vm_id, purpose)
        if resolve is _resolve_offline
        else _retrieve_key(vm_id, purpose, resolve)
    )
    if isinstance(key[0], Failure):
        return fail(key[0], key[1])
    public_key, controller = key
    assert isinstance(public_key, bytes)
    if issuer is _NO_ISSUER:
        return fail(Failure.ISSUER_MISMATCH, "the credential's issuer has no id")
    if issuer is not None and issuer != controller:
        return fail(
            Failure.ISSUER_MISMATCH,
            f"the key belongs to {controller!r:.100}, the issuer is {issuer!r:.100}",
        )
    # The document first: if it cannot be canonicalised, nothing can be verified (raise).
    canonical = canonical_document(matching)
    try:
        config = proof_configuration(
            _unsecured(document, matching), proof, loader=loader, canonicalize=canonicalize
        )
    except (ProofGenerationError, RdfCanonicalizationError) as exc:
        return fail(Failure.MALFORMED_PROOF, f"proof options cannot be canonicalised: {exc.detail}")
    data = hash_data(config, canonical)
    if not verify_ed25519(public_key, signature, data):
        return fail(Failure.BAD_SIGNATURE, "the signature does not match the document")
    return ProofResult(index, proof_id, vm_id, True, None, "", controller)
