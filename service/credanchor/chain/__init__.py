"""Everything credanchor does on a chain: the embedded EVM, JSON-RPC nodes, keys,
transactions and the CredentialAnchor contract client.

The embedded chain pulls in py-evm (about half a second of imports), so its names are loaded
on first use rather than when this package is imported.
"""

from __future__ import annotations

from typing import Any

from credanchor.chain.artifact import Artifact, load_artifact
from credanchor.chain.contract import (
    BatchRevocation,
    ChainEvent,
    CredentialAnchor,
    CredentialRevocation,
    Deployment,
    IssuerInfo,
    OnChainAnchor,
    VerifyResult,
    deploy,
    deployment_block,
)
from credanchor.chain.keys import Signer, create_keystore, load_keystore, load_signer
from credanchor.chain.rpc import connect_rpc
from credanchor.chain.tx import (
    BroadcastStatus,
    FeePolicy,
    Fees,
    SignedTx,
    TxRequest,
    broadcast,
    build_and_sign,
    bump,
    confirmations,
    next_nonce,
    receipt_or_none,
    resign,
    send_and_wait,
    suggest_fees,
    wait_for_receipt,
)

_EMBEDDED = {"EmbeddedChain", "open_embedded"}


def __getattr__(name: str) -> Any:
    if name in _EMBEDDED:
        from credanchor.chain import embedded

        return getattr(embedded, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Artifact",
    "BatchRevocation",
    "BroadcastStatus",
    "ChainEvent",
    "CredentialAnchor",
    "CredentialRevocation",
    "Deployment",
    "EmbeddedChain",
    "FeePolicy",
    "Fees",
    "IssuerInfo",
    "OnChainAnchor",
    "SignedTx",
    "Signer",
    "TxRequest",
    "VerifyResult",
    "broadcast",
    "build_and_sign",
    "bump",
    "confirmations",
    "connect_rpc",
    "create_keystore",
    "deploy",
    "deployment_block",
    "load_artifact",
    "load_keystore",
    "load_signer",
    "next_nonce",
    "open_embedded",
    "receipt_or_none",
    "resign",
    "send_and_wait",
    "suggest_fees",
    "wait_for_receipt",
]
