"""The verify layer's ports: what it needs from below, as protocols.

:class:`ChainReader` is the read side of one deployment of the contract; the chain gateway
(credanchor.chain.gateway.Web3Chain) and the bulk reader (credanchor.verify.bulk) implement it.
The values it returns are plain dataclasses in credanchor.core.chainfacts, so the chain layer
can build them without importing this layer.

:class:`TreeVerifier` is what verifying a stacked qualification (credanchor.verify.qualifications)
needs of the verifier that called it: it is implemented by credanchor.verify.verifier.Verifier,
and named here so that the two modules do not import each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from credanchor.core.chainfacts import AnchorTx, IssuerFacts, OnChainVerdict
from credanchor.core.report import Report

__all__ = ["AnchorTx", "ChainReader", "IssuerFacts", "OnChainVerdict", "TreeVerifier"]


class ChainReader(Protocol):
    """The read side of a chain, for one contract. Implementations translate node failures to
    :class:`~credanchor.errors.ChainUnavailable`.

    A reader may also offer ``verify_many(items) -> list[OnChainVerdict]``, ``verify`` for
    many ``(credentialHash, proof, root)`` at once (a JSON-RPC batch): a stacked qualification
    then asks about all of its credentials in one call (``Verifier.tree``); a reader
    without it is asked one credential at a time. It may also offer ``head_block() ->
    (number, hash)``, the head in one call, which a long-lived verifier keys its per-head
    caches by (without it, by the number alone)."""

    chain_id: int
    contract_address: str

    def verify(self, issuer: str, credential_hash: bytes, proof: list[bytes],
               root: bytes) -> OnChainVerdict: ...

    def issuer_facts(self, issuer: str) -> IssuerFacts: ...

    def anchor_tx(self, tx_hash: str) -> AnchorTx | None: ...

    def revocation_reason(self, issuer: str, credential_hash: bytes,
                          root: bytes) -> dict[str, Any]: ...

    def head(self) -> int: ...


class TreeVerifier(Protocol):
    """A verifier as a stacked qualification's checks use it: one report per document, all of
    them inside one open verification tree (shared, batched chain reads and one bound)."""

    def verify(self, credential: Mapping[str, Any], *, schema: bool | None = None) -> Report: ...

    def tree(self, *documents: Any) -> AbstractContextManager[None]: ...
