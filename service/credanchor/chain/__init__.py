"""Everything credanchor does on a chain: the embedded EVM, JSON-RPC nodes, keys,
transactions and the CredentialAnchor contract client.

web3 and eth-account cost about a second of imports and py-evm another half (most of it py_ecc
building pairing tables), so every name here is loaded on first use, not when this package is
imported: ``credanchor status`` reads the head through :mod:`credanchor.chain.head` without
any of them.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "artifact": ("Artifact", "load_artifact"),
    "contract": ("BatchRevocation", "ChainEvent", "CredentialAnchor", "CredentialRevocation",
                 "Deployment", "IssuerInfo", "OnChainAnchor", "VerifyResult", "deploy",
                 "deployment_block"),
    "keys": ("Signer", "create_keystore", "load_keystore", "load_signer"),
    "rpc": ("connect_rpc",),
    "tx": ("BroadcastStatus", "FeePolicy", "Fees", "SignedTx", "TxRequest", "broadcast",
           "build_and_sign", "bump", "confirmations", "next_nonce", "receipt_or_none", "resign",
           "send_and_wait", "suggest_fees", "wait_for_receipt"),
    "embedded": ("EmbeddedChain", "open_embedded"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


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
