"""Errors raised by the pure core, all under credanchor's one root (credanchor.errors).

They live here rather than in credanchor/errors.py only so that this package could be added
without touching existing modules; they subclass the root's classes, so the Flask handler and
the CLI render them like any other credanchor error. Each describes input that cannot be
evaluated at all. A signature that simply does not verify is never an exception: it is a
``DataIntegrityResult`` whose ``verified`` is False (see credanchor.core.dataintegrity).
"""

from __future__ import annotations

from credanchor.errors import InvalidInput

__all__ = [
    "DidError",
    "KeyFormatError",
    "ProofGenerationError",
    "ProofInputError",
    "RdfCanonicalizationError",
    "UnknownContext",
]


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
