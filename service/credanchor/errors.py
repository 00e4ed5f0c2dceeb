"""One exception root for everything credanchor raises on purpose.

Every error carries an HTTP status and a short machine code, so the Flask app renders any of
them as an RFC 9457 ``application/problem+json`` body and the CLI as a one-line message with a
non-zero exit, without either knowing the concrete class. Subclasses that describe bad input
also inherit :class:`ValueError`, so generic callers can catch them the usual way.

Third-party exceptions (web3, sqlite, jsonschema, …) are translated at the boundary with
``raise SomeError(...) from exc``; they never escape the package untranslated.
"""

from __future__ import annotations

from typing import Any


class CredanchorError(Exception):
    """Root of every error credanchor raises on purpose."""

    status: int = 500
    code: str = "internal"
    title: str = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 problem details object for this error."""
        body: dict[str, Any] = {
            "type": f"https://credanchor.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


# --- caller's fault (4xx) -------------------------------------------------------------------


class InvalidInput(CredanchorError, ValueError):
    """The request or file is malformed (bad JSON, CSV, UTF-8, field values)."""

    status, code, title = 400, "invalid-input", "Invalid input"


class SchemaInvalid(InvalidInput):
    """A credential does not validate against the Open Badges 3.0 JSON Schema."""

    status, code, title = 422, "schema-invalid", "Credential does not match the OB 3.0 schema"


class CanonicalizationError(InvalidInput):
    """A JSON value cannot be canonicalised under RFC 8785 (e.g. a number out of range)."""

    status, code, title = 422, "not-canonicalizable", "Value cannot be canonicalised (RFC 8785)"


class ProofFormatError(InvalidInput):
    """A credential's ``proof`` member is missing or does not follow docs/proof-format.md."""

    status, code, title = 422, "proof-format", "Malformed credanchor proof"


class MerkleError(InvalidInput):
    """A Merkle tree, dump or proof is malformed (caller's fault, not a bug)."""

    status, code, title = 422, "merkle-invalid", "Malformed Merkle tree or proof"


class NotEligible(InvalidInput):
    """The presented component credentials do not (yet) earn the stacked qualification;
    ``extra["missing"]`` lists what is missing."""

    status, code, title = 422, "not-eligible", "Not eligible for this qualification"


class StatusListInvalid(InvalidInput):
    """A Bitstring Status List, its ``encodedList`` or a ``BitstringStatusListEntry`` is
    malformed (caller's fault, not a bug)."""

    status, code, title = 422, "status-list-invalid", "Malformed Bitstring Status List"


# -- JSON-LD, RDFC-1.0, keys, DIDs and Data Integrity proofs (credanchor.core) -----------------
# A signature that does not verify is never an exception: it is a DataIntegrityResult whose
# ``verified`` is False; these describe input that cannot be evaluated at all.


class UnknownContext(InvalidInput):
    """A JSON-LD document names a context URL that is not bundled (nothing is ever fetched)."""

    status, code, title = 422, "unknown-context", "Unknown JSON-LD context"


class RdfCanonicalizationError(InvalidInput):
    """A document cannot be turned into RDF without losing data (undefined term, relative IRI,
    null value, ...) or is not valid JSON-LD, so it cannot be canonicalised (RDFC-1.0)."""

    status, code, title = 422, "rdf-canonicalization", "Document cannot be canonicalised (RDFC-1.0)"


class KeyFormatError(InvalidInput):
    """A key, multibase or multicodec value is malformed or of an unsupported type."""

    status, code, title = 422, "key-format", "Malformed key"


class DidError(InvalidInput):
    """A DID, DID URL or DID document is malformed or of an unsupported method."""

    status, code, title = 422, "did-invalid", "Malformed DID"


class ProofGenerationError(InvalidInput):
    """Proof options are invalid (the spec's PROOF_GENERATION_ERROR)."""

    status, code, title = 422, "proof-generation", "Invalid Data Integrity proof options"


class ProofInputError(InvalidInput):
    """A secured document cannot be evaluated at all: not an object, no ``proof``, a ``proof``
    that is neither an object nor a list of objects, or too many proofs."""

    status, code, title = 422, "proof-input", "Malformed secured document"


class TooManyCredentials(InvalidInput):
    """One file or request holds more credentials to verify against the chain than allowed
    (``CREDANCHOR_MAX_VERIFY_CREDENTIALS``): a stacked qualification counts itself, its
    definition and every component, at every level. Refused before any chain call."""

    status, code, title = 413, "too-many-credentials", "Too many credentials to verify"


class Unauthorized(CredanchorError):
    """No API key, or one that matches no active issuer."""

    status, code, title = 401, "unauthorized", "Missing or invalid API key"


class Forbidden(CredanchorError):
    """The caller is known but may not do this (suspended issuer, another issuer's data)."""

    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(CredanchorError, LookupError):
    """No such credential, batch, issuer or definition (for this caller)."""

    status, code, title = 404, "not-found", "Not found"


class Conflict(CredanchorError):
    """The request conflicts with the current state (already revoked, key reused, …)."""

    status, code, title = 409, "conflict", "Conflict"


class PayloadTooLarge(CredanchorError):
    """The body or the number of credentials in it exceeds the configured maximum."""

    status, code, title = 413, "payload-too-large", "Request too large"


class RateLimited(CredanchorError):
    """Too many requests from this client."""

    status, code, title = 429, "rate-limited", "Too many requests"


class ConfigError(CredanchorError, ValueError):
    """The configuration is incomplete or contradictory (operator's fault)."""

    status, code, title = 500, "config", "Configuration error"


# --- chain and storage (5xx) ----------------------------------------------------------------


class ChainError(CredanchorError):
    """Anything that went wrong talking to the chain."""

    status, code, title = 502, "chain", "Chain error"


class ChainUnavailable(ChainError):
    """The node could not be reached or timed out. Verification reports this as ERROR."""

    status, code, title = 503, "chain-unavailable", "Chain unreachable"


class ChainIdMismatch(ChainError, ConfigError):
    """The node serves another chain than the one configured."""

    status, code, title = 500, "chain-id-mismatch", "Chain id mismatch"


class ContractReverted(ChainError):
    """A call or transaction reverted; ``error`` names the Solidity custom error if known."""

    status, code, title = 422, "contract-reverted", "Contract call reverted"

    def __init__(self, detail: str, *, error: str | None = None, args: tuple[Any, ...] = ()):
        super().__init__(detail, error=error)
        self.error = error
        self.error_args = args


class FeeTooHigh(ChainError):
    """The network fee exceeds the configured cap; nothing was sent."""

    status, code, title = 503, "fee-too-high", "Network fee above the configured cap"


class NonceAlreadyUsed(ChainError):
    """Another transaction took this transaction's nonce: this one will never be mined."""

    status, code, title = 409, "nonce-already-used", "Nonce already used by another transaction"


class AnchorFailed(ChainError):
    """A batch could not be anchored (it stays in its durable state and will be retried)."""

    status, code, title = 502, "anchor-failed", "Anchoring failed"


class StatusListFull(CredanchorError):
    """Every index of a status list is taken: nothing can be allocated in it. The ledger opens a
    new list when this happens, so one reaching a client means that roll-over is missing."""

    status, code, title = 507, "status-list-full", "Status list full"


class KeyUnavailable(CredanchorError):
    """A signing key could not be loaded (missing, wrong password, bad keystore)."""

    status, code, title = 500, "key", "Signing key unavailable"


class StoreError(CredanchorError):
    """The issuer's ledger database failed or is from an unknown schema version."""

    status, code, title = 500, "store", "Ledger database error"


# --- DID resolution (credanchor.verify.did_resolver) -----------------------------------------
# A DID that does not exist or whose document is broken is the credential's problem (INVALID);
# a DID document that could not be fetched says nothing about the credential (ERROR).


class DidNotFound(DidError):
    """The DID's document does not exist (did:web answered 404 or 410)."""

    status, code, title = 422, "did-not-found", "DID not found"


class DidDocumentInvalid(DidError):
    """A DID document was fetched but is not one: not JSON, not an object, too large, an
    ``id`` other than the DID, malformed verification methods."""

    status, code, title = 422, "did-document-invalid", "Invalid DID document"


class DidUnreachable(ChainError):
    """A DID document could not be fetched: host unreachable, timeout, TLS failure, 5xx.
    Verification reports this as ERROR, never INVALID.

    It subclasses ChainError, not for its name but for its handlers: ChainError is the family
    every existing verification path already turns into ERROR (``verify.bulk`` reports an
    escaping ChainError as CHAIN_FAILED, while any other CredanchorError becomes "not a
    credential", i.e. INVALID). Not ChainUnavailable, whose handler says "Could not reach the
    blockchain". It is neither an InvalidInput nor a ValueError, so no bad-input handler and no
    ``except DidError`` in ``core.dataintegrity`` ever catches it."""

    status, code, title = 503, "did-unreachable", "DID document unreachable"
