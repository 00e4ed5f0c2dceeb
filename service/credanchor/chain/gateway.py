"""The chain as the ledger and the verifier see it: one deployment of CredentialAnchor.

:class:`ChainReader` answers the verifier (:class:`credanchor.verify.ports.ChainReader`) and
the reads of the anchoring state machine; :class:`ChainWriter` composes a reader and adds what
sends: fees, signing, broadcasting, transaction builders, admin transactions
(:mod:`credanchor.issuing.anchoring`'s port). Both are built complete by their constructors and
know no configuration: :mod:`credanchor.usecases.bootstrap` maps the settings to their
arguments. The same classes serve the embedded EVM and any JSON-RPC node.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from hexbytes import HexBytes
from web3 import Web3

from credanchor.chain import tx as txmod
from credanchor.chain.contract import (
    BatchRevocation,
    CredentialAnchor,
    CredentialRevocation,
    Deployment,
    OnChainAnchor,
    VerifyResult,
)
from credanchor.chain.keys import Signer
from credanchor.chain.tx import FeePolicy, Fees, SignedTx, TxRequest, chain_errors
from credanchor.core.chainfacts import AnchorTx, IssuerFacts, OnChainVerdict
from credanchor.errors import ChainError, ChainUnavailable, ConfigError, NonceAlreadyUsed

if TYPE_CHECKING:
    from credanchor.chain.embedded import EmbeddedChain

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    tx_hash: str
    block_number: int
    block_hash: str
    success: bool


class ChainPort(Protocol):
    @property
    def chain_id(self) -> int: ...
    @property
    def contract_address(self) -> str: ...
    @property
    def deploy_block(self) -> int: ...

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


# --- the contract's answers as the verifier's values (built here and nowhere else) ----------


def to_verdict(r: VerifyResult) -> OnChainVerdict:
    return OnChainVerdict(r.status, r.issuer, r.anchored_at, r.issuer_active)


def credential_revocation_detail(r: CredentialRevocation | None) -> dict[str, Any]:
    """How a report words a credential's revocation (``{}``: not revoked)."""
    return {} if r is None else {"scope": "credential", "reason": r.reason,
                                 "revokedAt": r.revoked_at}


def batch_revocation_detail(r: BatchRevocation | None) -> dict[str, Any]:
    """How a report words a batch's revocation (``{}``: not revoked)."""
    return {} if r is None else {"scope": "batch", "reason": r.reason,
                                 "revokedAt": r.revoked_at, "by": r.by}


def _receipt(r: Any) -> Receipt:
    return Receipt(HexBytes(r["transactionHash"]).to_0x_hex(), int(r["blockNumber"]),
                   HexBytes(r["blockHash"]).to_0x_hex(), int(r["status"]) == 1)


class ChainReader:
    """Reads of one CredentialAnchor deployment: what the verifier and the anchoring state
    machine ask the chain. Sends nothing.

    ``first_contact``: the start-up check (chain id, code at the address) still owed when the
    node was down at start; it runs before the first read that reaches the node, and raises
    ChainUnavailable while the node is still down."""

    def __init__(
        self,
        w3: Web3,
        contract: CredentialAnchor,
        deployment: Deployment,
        *,
        first_contact: Callable[[], int] | None = None,
        closer: Callable[[], None] | None = None,
    ) -> None:
        self.w3 = w3
        self.contract = contract
        self.deployment = deployment
        self._first_contact = first_contact
        self._closer = closer

    @property
    def chain_id(self) -> int:
        return self.deployment.chain_id

    @property
    def contract_address(self) -> str:
        return self.deployment.address

    @property
    def deploy_block(self) -> int:
        return self.deployment.deploy_block

    def __repr__(self) -> str:
        return f"{type(self).__name__}(chain {self.chain_id}, {self.contract_address})"

    def _contact(self) -> None:
        """Settle the start-up check owed since a start without the node (ChainUnavailable
        while it is still down; ChainIdMismatch / ConfigError if it is the wrong node)."""
        if self._first_contact is not None:
            self._first_contact()
            self._first_contact = None
            log.info("node reachable again; chain %s and contract checked", self.chain_id)

    # -- reads for the anchoring state machine ------------------------------------------------

    def head(self) -> int:
        self._contact()
        with chain_errors("reading the head block"):
            return int(self.w3.eth.block_number)

    def head_block(self) -> tuple[int, str]:
        """(number, hash) of the head block, in one call: what a long-lived verifier keys
        its per-head caches by (a reorganisation to another block at the same height changes
        the hash, not the number)."""
        self._contact()
        return self.contract.head_block()

    def nonce(self, address: str, *, pending: bool) -> int:
        self._contact()
        with chain_errors("reading the nonce"):
            return int(self.w3.eth.get_transaction_count(
                Web3.to_checksum_address(address), "pending" if pending else "latest"))

    def receipt(self, tx_hash: str) -> Receipt | None:
        self._contact()
        r = txmod.receipt_or_none(self.w3, tx_hash)
        return None if r is None else _receipt(r)

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

    def close(self) -> None:
        if self._closer is not None:
            self._closer()

    # -- reads for the verifier ---------------------------------------------------------------

    def verify(self, issuer: str, credential_hash: bytes, proof: list[bytes],
               root: bytes) -> OnChainVerdict:
        self._contact()
        return to_verdict(self.contract.verify(issuer, credential_hash, proof, root))

    def verify_many(self, items: Sequence[tuple[str, bytes, list[bytes], bytes]]
                    ) -> list[OnChainVerdict]:
        """``verify`` for every item: over HTTP one JSON-RPC batch per 200
        (:meth:`CredentialAnchor.verify_many`), so a stacked qualification's components cost
        one round trip, not one each."""
        self._contact()
        return [to_verdict(r) for r in self.contract.verify_many(list(items))]

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
        return AnchorTx(int(r["blockNumber"]), self.contract.anchored_in(r))

    def revocation_reason(self, issuer: str, credential_hash: bytes, root: bytes) -> dict[str, Any]:
        batch = self.contract.batch_revocation(issuer, root)
        if batch is not None:
            return batch_revocation_detail(batch)
        return credential_revocation_detail(
            self.contract.credential_revocation(issuer, credential_hash))

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


class ChainWriter(ChainReader):
    """The chain for whoever sends: built on a :class:`ChainReader` (``reader``, whose reads
    and start-up check it shares: the state lives in the reader) and adding fees, signing,
    broadcasting, the contract's transactions, and admin transactions with the registry
    admin's key (``admin``). The verifier is handed ``reader``, never the writer.

    ``embedded``: the in-process EVM when that is the transport (a development chain, which
    can fund accounts from its genesis keys)."""

    def __init__(
        self,
        reader: ChainReader,
        *,
        fee_policy: FeePolicy,
        poll_interval: float = 0.5,
        admin: Signer | None = None,
        embedded: EmbeddedChain | None = None,
    ) -> None:
        super().__init__(reader.w3, reader.contract, reader.deployment)
        self.reader = reader
        self.fee_policy = fee_policy
        self.poll_interval = poll_interval
        self.admin = admin
        self.embedded = embedded

    def _contact(self) -> None:
        self.reader._contact()

    def close(self) -> None:
        self.reader.close()

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

    def build_anchor(self, root: bytes, count: int) -> TxRequest:
        return self.contract.anchor(root, count)

    def build_revoke_credentials(self, hashes: Sequence[bytes], reason: int) -> TxRequest:
        return self.contract.revoke_credentials(list(hashes), reason)

    def build_revoke_batch(self, issuer: str, root: bytes, reason: int) -> TxRequest:
        return self.contract.revoke_batch(issuer, root, reason)

    def wait_a_moment(self) -> None:
        time.sleep(self.poll_interval)

    # -- admin --------------------------------------------------------------------------------

    def admin_send(self, call: TxRequest, signer: Signer | None = None) -> Receipt:
        """Send an admin transaction (accredit, suspend) and wait for it."""
        signer = signer or self.admin
        if signer is None:
            raise ConfigError("this needs the registry admin's key (CREDANCHOR_ADMIN_KEY)")
        return _receipt(txmod.send_and_wait(self.w3, signer, call, policy=self.fee_policy))


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


def open_rpc_reader(
    url: str,
    contract_address: str,
    *,
    deploy_block: int,
    expected_chain_id: int | None,
    timeout: float,
) -> ChainReader:
    """A reader of the contract at ``contract_address`` through the node at ``url``.

    The chain id and the contract's code are checked now; if the node is unreachable and
    ``expected_chain_id`` is known, the reader starts anyway and the check runs on its first
    contact with the node (issuing keeps working, verification says ERROR meanwhile: a web
    worker restarted during an outage must not take the whole service down)."""
    from credanchor.chain.rpc import check_chain_id, connect_rpc

    w3 = connect_rpc(url, expected_chain_id=expected_chain_id, timeout=timeout, check=False)
    contract = CredentialAnchor(w3, contract_address, deploy_block=deploy_block)

    def first_contact() -> int:
        chain_id = check_chain_id(w3, url, expected_chain_id)
        if not contract.has_code():
            raise ConfigError(f"no contract at {contract_address} on chain {chain_id}")
        return chain_id

    try:
        chain_id = first_contact()
        deferred = None
    except ChainUnavailable as exc:
        if expected_chain_id is None:
            raise ConfigError(
                f"the node is unreachable ({exc.detail}) and CREDANCHOR_CHAIN_ID is not set, "
                "so the chain cannot be checked later; set it to start without the node"
            ) from exc
        log.warning("node unreachable at start (%s); checking chain %s on first contact",
                    exc.detail, expected_chain_id)
        chain_id, deferred = expected_chain_id, first_contact
    return ChainReader(w3, contract, Deployment(chain_id, contract.address, deploy_block),
                       first_contact=deferred)
