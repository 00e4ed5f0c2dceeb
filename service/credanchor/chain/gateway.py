"""The chain as the ledger and the verifier see it: one object per (chain, contract).

:class:`Web3Chain` adapts the low-level pieces in :mod:`credanchor.chain` (transport, signing,
fees, contract client) to the two narrow interfaces above it: the anchoring state machine's
(:mod:`credanchor.issuing.anchoring`) and the verifier's (:class:`credanchor.verify.ports.ChainReader`).
The same class serves the embedded EVM and any JSON-RPC node; only :func:`open_chain` differs.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hexbytes import HexBytes
from web3 import Web3

from credanchor.chain import tx as txmod
from credanchor.chain.contract import CredentialAnchor, OnChainAnchor
from credanchor.chain.keys import Signer
from credanchor.chain.tx import FeePolicy, Fees, SignedTx, TxRequest, chain_errors
from credanchor.core.chainfacts import AnchorTx, IssuerFacts, OnChainVerdict
from credanchor.errors import ChainError, ChainUnavailable, ConfigError, NonceAlreadyUsed
from credanchor.usecases.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    tx_hash: str
    block_number: int
    block_hash: str
    success: bool


class ChainPort(Protocol):
    chain_id: int
    contract_address: str
    deploy_block: int

    def head(self) -> int: ...
    def nonce(self, address: str, *, pending: bool) -> int: ...
    def fees(self) -> Fees: ...
    def bump_fees(self, max_fee: int, tip: int) -> Fees: ...
    def sign(self, signer: Signer, call: TxRequest, *, nonce: int, fees: Fees) -> SignedTx: ...
    def broadcast(self, raw: bytes) -> None: ...
    def receipt(self, tx_hash: str) -> Receipt | None: ...
    def is_known(self, tx_hash: str) -> bool: ...
    def block_hash(self, number: int) -> str | None: ...
    def anchor_of(self, issuer: str, root: bytes) -> OnChainAnchor | None: ...
    def batch_revoked(self, issuer: str, root: bytes) -> bool: ...
    def credentials_revoked(self, issuer: str, hashes: Sequence[bytes]) -> bool: ...
    def find_event_receipt(self, event: str, **indexed: Any) -> Receipt | None: ...
    def build_anchor(self, root: bytes, count: int) -> TxRequest: ...
    def build_revoke_credentials(self, hashes: Sequence[bytes], reason: int) -> TxRequest: ...
    def build_revoke_batch(self, issuer: str, root: bytes, reason: int) -> TxRequest: ...
    def wait_a_moment(self) -> None: ...
    def close(self) -> None: ...


@dataclass
class Bootstrap:
    """What opening the chain found or created, for the runtime to register."""

    passwords: dict[str, str] = field(default_factory=dict)
    local_issuer: tuple[str, str] | None = None  # (address, keystore path)
    admin: Signer | None = None
    signers: dict[str, Signer] = field(default_factory=dict)


class Web3Chain:
    """Anchoring-side and verification-side access to one CredentialAnchor deployment."""

    def __init__(
        self,
        w3: Web3,
        contract: CredentialAnchor,
        *,
        chain_id: int,
        fee_policy: FeePolicy,
        poll_interval: float = 0.5,
        closer: Any = None,
        admin: Signer | None = None,
    ) -> None:
        self.w3 = w3
        self.contract = contract
        self.chain_id = chain_id
        self.contract_address: str = contract.address
        self.deploy_block = contract.deploy_block
        self.fee_policy = fee_policy
        self.poll_interval = poll_interval
        self.admin = admin
        self._closer = closer
        self.embedded: Any = None  # the EmbeddedChain, when that is the transport
        #: Set when the node was down at start: the chain-id and contract check still owed.
        self.deferred_check: Callable[[], int] | None = None

    def __repr__(self) -> str:
        return f"Web3Chain(chain {self.chain_id}, {self.contract_address})"

    def _contact(self) -> None:
        """Settle the start-up check owed since a start without the node (ChainUnavailable
        while it is still down; ChainIdMismatch / ConfigError if it is the wrong node)."""
        if self.deferred_check is not None:
            self.deferred_check()
            self.deferred_check = None
            log.info("node reachable again; chain %s and contract checked", self.chain_id)

    # -- writes -------------------------------------------------------------------------------

    def head(self) -> int:
        self._contact()
        with chain_errors("reading the head block"):
            return int(self.w3.eth.block_number)

    def nonce(self, address: str, *, pending: bool) -> int:
        self._contact()
        with chain_errors("reading the nonce"):
            return int(self.w3.eth.get_transaction_count(
                Web3.to_checksum_address(address), "pending" if pending else "latest"))

    def fees(self) -> Fees:
        self._contact()
        return txmod.suggest_fees(self.w3, self.fee_policy)

    def bump_fees(self, max_fee: int, tip: int) -> Fees:
        try:
            network = self.fees()
        except ChainError:
            network = None  # above the cap now: bump() still tries within the cap
        return txmod.bump(Fees(max_fee, tip), self.fee_policy, network=network)

    def sign(self, signer: Signer, call: TxRequest, *, nonce: int, fees: Fees) -> SignedTx:
        return txmod.build_and_sign(self.w3, signer, call, nonce=nonce, fees=fees,
                                    chain_id=self.chain_id)

    def broadcast(self, raw: bytes) -> None:
        signed = _signed_from_raw(raw, self.chain_id)
        # NonceAlreadyUsed: the state machine notices (nonce advanced, no receipt) and asks
        # the contract whether the work is done.
        with contextlib.suppress(NonceAlreadyUsed):
            txmod.broadcast(self.w3, signed)

    def receipt(self, tx_hash: str) -> Receipt | None:
        self._contact()
        r = txmod.receipt_or_none(self.w3, tx_hash)
        if r is None:
            return None
        return Receipt(HexBytes(r["transactionHash"]).to_0x_hex(), int(r["blockNumber"]),
                       HexBytes(r["blockHash"]).to_0x_hex(), int(r["status"]) == 1)

    def is_known(self, tx_hash: str) -> bool:
        from web3.exceptions import TransactionNotFound

        with chain_errors(f"looking up {tx_hash}"):
            try:
                self.w3.eth.get_transaction(HexBytes(tx_hash))
                return True
            except TransactionNotFound:
                return False

    def block_hash(self, number: int) -> str | None:
        from web3.exceptions import BlockNotFound

        with chain_errors(f"reading block {number}"):
            try:
                return HexBytes(self.w3.eth.get_block(number)["hash"]).to_0x_hex()
            except BlockNotFound:
                return None

    def anchor_of(self, issuer: str, root: bytes) -> OnChainAnchor | None:
        self._contact()
        return self.contract.anchor_of(issuer, root)

    def batch_revoked(self, issuer: str, root: bytes) -> bool:
        return self.contract.batch_revocation(issuer, root) is not None

    def credentials_revoked(self, issuer: str, hashes: Sequence[bytes]) -> bool:
        return all(self.contract.credential_revocation(issuer, h) is not None for h in hashes)

    def find_event_receipt(self, event: str, **indexed: Any) -> Receipt | None:
        found = self.contract.events(names=[event], indexed=indexed)
        if not found:
            return None
        e = found[-1]
        return Receipt(e.tx_hash, e.block_number, e.block_hash, True)

    def build_anchor(self, root: bytes, count: int) -> TxRequest:
        return self.contract.anchor(root, count)

    def build_revoke_credentials(self, hashes: Sequence[bytes], reason: int) -> TxRequest:
        return self.contract.revoke_credentials(list(hashes), reason)

    def build_revoke_batch(self, issuer: str, root: bytes, reason: int) -> TxRequest:
        return self.contract.revoke_batch(issuer, root, reason)

    def wait_a_moment(self) -> None:
        time.sleep(self.poll_interval)

    def close(self) -> None:
        if self._closer is not None:
            self._closer()

    # -- reads for the verifier ---------------------------------------------------------------

    def verify(self, issuer: str, credential_hash: bytes, proof: list[bytes],
               root: bytes) -> OnChainVerdict:
        self._contact()
        r = self.contract.verify(issuer, credential_hash, proof, root)
        return OnChainVerdict(r.status, r.issuer, r.anchored_at, r.issuer_active)

    def verify_many(self, items: Sequence[tuple[str, bytes, list[bytes], bytes]]
                    ) -> list[OnChainVerdict]:
        """``verify`` for every item: over HTTP one JSON-RPC batch per 200
        (:meth:`CredentialAnchor.verify_many`), so a stacked qualification's components cost
        one round trip, not one each."""
        self._contact()
        return [OnChainVerdict(r.status, r.issuer, r.anchored_at, r.issuer_active)
                for r in self.contract.verify_many(list(items))]

    def issuer_facts(self, issuer: str) -> IssuerFacts:
        self._contact()
        i = self.contract.issuer_info(issuer)
        return IssuerFacts(i.name, i.profile_uri, i.active, i.accredited_at, i.suspended_at,
                           did=i.did)

    def anchor_tx(self, tx_hash: str) -> AnchorTx | None:
        from web3.exceptions import TransactionNotFound

        try:
            tx_bytes = HexBytes(tx_hash)
        except ValueError:
            return None
        if len(tx_bytes) != 32:
            return None
        with chain_errors(f"reading the receipt of {tx_hash}"):
            try:
                r = self.w3.eth.get_transaction_receipt(tx_bytes)
            except TransactionNotFound:
                return None
        anchors = set()
        topic = self.contract._events["Anchored"].topic
        for log in r["logs"]:
            if (log["address"].lower() == self.contract_address.lower() and log["topics"]
                    and HexBytes(log["topics"][0]) == HexBytes(topic)):
                # Anchored(bytes32 indexed root, address indexed issuer, uint32 count)
                issuer = "0x" + bytes(log["topics"][2])[12:].hex()
                anchors.add((bytes(log["topics"][1]), issuer))
        return AnchorTx(int(r["blockNumber"]), frozenset(anchors))

    def revocation_reason(self, issuer: str, credential_hash: bytes, root: bytes) -> dict[str, Any]:
        batch = self.contract.batch_revocation(issuer, root)
        if batch is not None:
            return {"scope": "batch", "reason": batch.reason, "revokedAt": batch.revoked_at,
                    "by": batch.by}
        cred = self.contract.credential_revocation(issuer, credential_hash)
        if cred is not None:
            return {"scope": "credential", "reason": cred.reason, "revokedAt": cred.revoked_at}
        return {}

    def accredited_issuers(self) -> list[dict[str, Any]]:
        """Every address ever accredited (``IssuerAccredited`` is emitted once per address),
        with its current on-chain record, DID included."""
        self._contact()
        seen: dict[str, None] = {}
        for e in self.contract.events(names=["IssuerAccredited"]):
            seen.setdefault(e.args["issuer"], None)
        out = []
        for address in seen:
            i = self.contract.issuer_info(address)
            out.append({"address": address, "name": i.name, "profileURI": i.profile_uri,
                        "did": i.did, "active": i.active,
                        "accreditedAt": i.accredited_at or None,
                        "suspendedAt": i.suspended_at or None})
        return out

    # -- admin --------------------------------------------------------------------------------

    def admin_send(self, call: TxRequest, signer: Signer | None = None) -> Receipt:
        """Send an admin transaction (accredit, suspend) and wait for it."""
        signer = signer or self.admin
        if signer is None:
            raise ConfigError("this needs the registry admin's key (CREDANCHOR_ADMIN_KEY)")
        r = txmod.send_and_wait(self.w3, signer, call, policy=self.fee_policy)
        return Receipt(HexBytes(r["transactionHash"]).to_0x_hex(), int(r["blockNumber"]),
                       HexBytes(r["blockHash"]).to_0x_hex(), int(r["status"]) == 1)


def _signed_from_raw(raw: bytes, chain_id: int) -> SignedTx:
    """Rebuild the SignedTx record of persisted raw bytes (for re-broadcast)."""
    from eth_account import Account
    from eth_account.typed_transactions import TypedTransaction

    raw = bytes(raw)
    fields = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
    sender = Account.recover_transaction(raw)
    return SignedTx(
        raw=raw,
        hash=HexBytes(Web3.keccak(raw)).to_0x_hex(),
        nonce=int(fields["nonce"]),
        max_fee_per_gas=int(fields["maxFeePerGas"]),
        max_priority_fee_per_gas=int(fields["maxPriorityFeePerGas"]),
        gas=int(fields["gas"]),
        sender=sender,
        chain_id=chain_id,
    )


def fee_policy(settings: Settings) -> FeePolicy:
    return FeePolicy(max_fee_per_gas_cap=settings.max_fee_wei, priority_fee=settings.priority_fee_wei)


def open_chain(settings: Settings) -> tuple[Web3Chain, Bootstrap]:
    """The configured chain: the embedded EVM (bootstrapped on first start) or an RPC node."""
    policy = fee_policy(settings)
    if settings.chain == "embedded":
        from credanchor.chain.embedded import bootstrap_embedded
        from credanchor.chain.keys import read_password_file

        setup = bootstrap_embedded(
            settings.data_dir,
            password=settings.keystore_password.reveal() if settings.keystore_password else None,
            issuer_name=settings.issuer_name,
            issuer_profile_uri=settings.issuer_url or "",
            kdf_work_factor=settings.kdf_work_factor,
        )
        contract = CredentialAnchor(setup.chain.w3, setup.contract_address,
                                    deploy_block=setup.deploy_block)
        chain = Web3Chain(setup.chain.w3, contract, chain_id=setup.chain.chain_id,
                          fee_policy=policy, poll_interval=0.05, closer=setup.chain.close,
                          admin=setup.admin)
        chain.embedded = setup.chain
        password_file = setup.issuer_keystore.with_suffix(".password")
        password = (settings.keystore_password.reveal() if settings.keystore_password
                    else read_password_file(password_file) if password_file.exists() else None)
        boot = Bootstrap(
            passwords={str(setup.issuer_keystore): password} if password else {},
            local_issuer=(setup.issuer.address, str(setup.issuer_keystore)),
            admin=setup.admin,
            signers={setup.issuer.address: setup.issuer},
        )
        return chain, boot
    from credanchor.chain.rpc import check_chain_id, connect_rpc

    if not settings.contract_address:
        raise ConfigError("CREDANCHOR_CONTRACT_ADDRESS is required with an RPC chain "
                          "(deploy one with `credanchor deploy --rpc URL`)")
    assert settings.rpc_url
    url = settings.rpc_url
    w3 = connect_rpc(url, expected_chain_id=settings.chain_id, timeout=settings.rpc_timeout,
                     check=False)
    contract = CredentialAnchor(w3, settings.contract_address, deploy_block=settings.deploy_block)
    admin = Signer.from_key(settings.admin_key.reveal()) if settings.admin_key else None

    def first_contact() -> int:
        chain_id = check_chain_id(w3, url, settings.chain_id)
        if not contract.has_code():
            raise ConfigError(f"no contract at {settings.contract_address} on chain {chain_id}")
        return chain_id

    try:
        chain_id = first_contact()
        deferred = None
    except ChainUnavailable as exc:
        # Start anyway (issuing keeps working, /verify says ERROR), provided we know which
        # chain to expect: the check then runs on the first contact with the node. A web
        # worker restarted during an outage must not take the whole service down.
        if settings.chain_id is None:
            raise ConfigError(
                f"the node is unreachable ({exc.detail}) and CREDANCHOR_CHAIN_ID is not set, "
                "so the chain cannot be checked later; set it to start without the node"
            ) from exc
        log.warning("node unreachable at start (%s); checking chain %s on first contact",
                    exc.detail, settings.chain_id)
        chain_id, deferred = settings.chain_id, first_contact
    chain = Web3Chain(w3, contract, chain_id=chain_id, fee_policy=policy, admin=admin)
    chain.deferred_check = deferred
    return chain, Bootstrap()
