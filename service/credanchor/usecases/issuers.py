"""Operator actions that touch both the ledger and the chain: adding, suspending and funding
issuers, deploying the contract. The CLI calls these; so do tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

from web3 import Web3

from credanchor.chain.contract import Deployment
from credanchor.chain.keys import Signer, create_keystore, load_keystore
from credanchor.core.credentials import issuer_did
from credanchor.errors import ChainError, ConfigError, Forbidden, InvalidInput
from credanchor.ledger.store import Issuer
from credanchor.usecases.config import Settings, is_development_chain
from credanchor.usecases.container import Runtime
from credanchor.usecases.issuer_identity import ensure_identity


@dataclass(frozen=True)
class IssuerResult:
    issuer: Issuer
    accredited: bool | None
    api_key: str | None = None


def add_issuer(runtime: Runtime, *, name: str, url: str | None = None,
               keystore: Path | None = None) -> IssuerResult:
    """Register an issuer with a signing key (new, or the given keystore), fund it on the
    embedded chain, accredit it when we hold the admin key, and create its first API key."""
    password = runtime.keystore_password()
    keys_dir = runtime.settings.data_dir / "keys"
    if keystore is None:
        signer = Signer.generate()
        keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        keystore = keys_dir / f"{signer.address}.json"
        create_keystore(keystore, password, signer=signer,
                        work_factor=runtime.settings.kdf_work_factor)
    else:
        signer = load_keystore(keystore, password)
    store = runtime.store()
    issuer = store.add_issuer(address=signer.address, name=name, url=url, keystore=str(keystore))
    runtime.remember_keystore(keystore, password)
    # Its Ed25519 signing key and DID (did:key, or did:web under an https public URL).
    issuer = ensure_identity(runtime, issuer, record_on_chain=False)
    chain = runtime.chain
    accredited = None
    if chain.admin is not None:
        if chain.embedded is not None:
            chain.embedded.fund(signer.address, 10**20)
        # The DID its credentials name it by, recorded in its on-chain profile so that the
        # registry binds the DID to the anchoring account (the verifier requires it).
        did = issuer.did or issuer_did(chain.chain_id, signer.address)
        chain.admin_send(chain.contract.accredit_issuer(signer.address, name, url or "", did=did))
        accredited = True
    else:
        accredited = chain.contract.issuer_info(signer.address).active
    return IssuerResult(issuer, accredited, store.create_api_key(issuer.id))


def suspend_issuer(runtime: Runtime, ref: str) -> IssuerResult:
    store = runtime.store()
    issuer = store.find_issuer(ref)
    issuer = store.set_issuer_status(issuer.id, "suspended")
    chain = runtime.chain
    on_chain = None
    if chain.admin is not None and chain.contract.issuer_info(issuer.address).active:
        chain.admin_send(chain.contract.suspend_issuer(issuer.address))
        on_chain = False
    return IssuerResult(issuer, on_chain)


def reactivate_issuer(runtime: Runtime, ref: str) -> IssuerResult:
    """Reinstate a suspended issuer: its API keys work again and the worker anchors the
    credentials it held back (see Anchorer); on chain too when we hold the admin key.
    ``accredited`` is the issuer's on-chain state afterwards: without the admin key a chain
    suspension stays until the registry admin lifts it, and anchoring fails until then."""
    store = runtime.store()
    issuer = store.find_issuer(ref)
    issuer = store.set_issuer_status(issuer.id, "active")
    chain = runtime.chain
    active = chain.contract.issuer_info(issuer.address).active
    if chain.admin is not None and not active:
        # accreditIssuer re-activates a suspended issuer, keeping the DID it anchors under
        # (docs/contract.md: emits IssuerReactivated).
        did = (chain.contract.issuer_info(issuer.address).did or issuer.did
               or issuer_did(chain.chain_id, issuer.address))
        chain.admin_send(chain.contract.accredit_issuer(issuer.address, issuer.name,
                                                        issuer.url or "", did=did))
        active = True
    runtime.wake_worker()
    return IssuerResult(issuer, active)


WEI_PER_ETH = 10**18


def eth_to_wei(text: str) -> int:
    """``"10"``, ``"0.5"`` ETH -> wei; a positive amount with at most 18 decimals."""
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidInput(f"not an amount of ETH: {text!r}") from None
    wei = Fraction(amount) * WEI_PER_ETH if amount.is_finite() else Fraction(0)
    if wei <= 0 or wei.denominator != 1:
        raise InvalidInput(f"the amount must be a positive number of ETH with at most 18 "
                           f"decimals, not {text!r}")
    return int(wei)


def wei_to_eth(wei: int) -> str:
    """Exact, without trailing zeros: 10**19 -> "10", 15 * 10**17 -> "1.5"."""
    whole, rest = divmod(wei, WEI_PER_ETH)
    return f"{whole}.{rest:018d}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Funded:
    issuer: Issuer
    amount_wei: int
    tx_hash: str
    balance_wei: int


def fund_issuer(runtime: Runtime, ref: str, amount_wei: int, *, force: bool = False) -> Funded:
    """Send ``amount_wei`` from the registry admin's key to an issuer's anchoring address, so
    it can pay for its anchors. Only on a development chain (CREDANCHOR_DEVELOPMENT_CHAIN;
    by default the embedded chain and chain ids 31337 / 1337) unless ``force``: on a real
    network this spends real money, which deserves a deliberate transfer."""
    from credanchor.chain.tx import TxRequest, chain_errors

    if amount_wei <= 0:
        raise InvalidInput("the amount must be positive")
    issuer = runtime.store().find_issuer(ref)
    chain = runtime.chain
    if not force and not is_development_chain(runtime.settings, chain.chain_id):
        raise Forbidden(f"chain {chain.chain_id} is not configured as a development chain: "
                        "refusing to send ETH to an issuer without --force "
                        "(or set CREDANCHOR_DEVELOPMENT_CHAIN=true)")
    address = Web3.to_checksum_address(issuer.address)
    receipt = chain.admin_send(TxRequest(to=address, data=b"", value=amount_wei,
                                         label=f"funding issuer {issuer.id}"))
    if not receipt.success:
        raise ChainError(f"the funding transaction {receipt.tx_hash} failed")
    with chain_errors("reading the issuer's balance"):
        balance = int(chain.w3.eth.get_balance(address))
    return Funded(issuer, amount_wei, receipt.tx_hash, balance)


def deploy_contract(settings: Settings) -> Deployment:
    """Deploy CredentialAnchor over RPC with the configured key (admin key, or else the
    signing key); that key becomes the registry admin."""
    from credanchor.chain.contract import deploy
    from credanchor.chain.keys import load_signer
    from credanchor.chain.rpc import connect_rpc
    from credanchor.usecases.bootstrap import fee_policy

    if not settings.rpc_url:
        raise ConfigError("deploy needs --rpc URL")
    w3 = connect_rpc(settings.rpc_url, expected_chain_id=settings.chain_id,
                     timeout=settings.rpc_timeout)
    if settings.admin_key:
        signer = Signer.from_key(settings.admin_key.reveal())
    elif settings.private_key:
        signer = Signer.from_key(settings.private_key.reveal())
    else:
        signer = load_signer(keystore=settings.keystore, password=(
            settings.keystore_password.reveal() if settings.keystore_password else None))
    return deploy(w3, signer, policy=fee_policy(settings),
                  confirmations_required=settings.confirmations)


def random_password() -> str:
    return secrets.token_urlsafe(24)
