"""What the chain says about an anchor and an issuer, as plain values.

The chain gateway (credanchor.chain.gateway) produces these and the verifier
(credanchor.verify.verifier) consumes them. They live here, below both, so that the chain layer
never imports the verify layer: the protocol that names them (``ChainReader``) is the verifier's
port, in credanchor.verify.ports.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AnchorTx", "IssuerFacts", "OnChainVerdict"]


@dataclass(frozen=True)
class OnChainVerdict:
    """The contract's single-call ``verify(issuer, credentialHash, proof, root)`` answer."""

    status: int
    issuer: str  # the issuer account asked about
    anchored_at: int
    issuer_active: bool


@dataclass(frozen=True)
class IssuerFacts:
    """The registry's record of one issuer account."""

    name: str
    profile_uri: str
    active: bool
    accredited_at: int
    suspended_at: int
    did: str = ""  # the DID the registry records for the issuer (its on-chain profile)


@dataclass(frozen=True)
class AnchorTx:
    """What the transaction named in a proof really did."""

    block_number: int
    # (root, lowercase issuer address) for each Anchored event it emitted from the contract
    anchors: frozenset[tuple[bytes, str]]
