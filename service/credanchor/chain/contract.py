"""Typed client for the CredentialAnchor contract: reads, transaction builders, events, deploy.

Reads return frozen dataclasses; writes return a :class:`~credanchor.chain.tx.TxRequest` for
:func:`~credanchor.chain.tx.build_and_sign` (the caller decides how and when to send it).
Reverts are raised as ContractReverted whose ``error`` is the Solidity custom error's name
(``CredentialAnchorRootAlreadyAnchored``, …), decoded from the artifact's ABI.

Anchors and batch revocations are keyed by (issuer, root) on chain (docs/contract.md), so every
read or write about a batch names its issuer: ``anchor_of(issuer, root)``,
``verify(issuer, credential_hash, proof, root)``, ``revoke_batch(issuer, root, reason)``.

Hashes and roots are ``bytes`` (32) throughout, as in credanchor.core.merkle; ``0x`` hex strings are
accepted on input.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode as abi_encode
from eth_typing import ChecksumAddress
from eth_utils import is_address, to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.types import RPCEndpoint, TxReceipt

from credanchor.chain.artifact import Artifact, load_artifact
from credanchor.chain.keys import Signer
from credanchor.chain.tx import ErrorDecoder, FeePolicy, TxRequest, chain_errors, send_and_wait
from credanchor.errors import ChainError, ConfigError, InvalidInput

log = logging.getLogger(__name__)

ZERO_ADDRESS = "0x" + "00" * 20
# Order of the contract's `Status` enum.
STATUS_NAMES = ("Valid", "NotAnchored", "InvalidProof", "CredentialRevoked", "BatchRevoked")
EVENT_NAMES = (
    "IssuerAccredited",
    "IssuerReactivated",
    "IssuerProfileUpdated",
    "IssuerSuspended",
    "Anchored",
    "CredentialRevoked",
    "BatchRevoked",
    "RoleGranted",
    "RoleRevoked",
    "RoleAdminChanged",
)
# Public RPC providers cap eth_getLogs ranges (often 1,000-10,000 blocks); stay under most.
DEFAULT_LOG_CHUNK = 2_000
# Verifications per JSON-RPC batch: one HTTP round trip instead of one per credential.
VERIFY_BATCH = 200


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnChainAnchor:
    """``issuer``'s anchor of ``root`` (other issuers may have anchored the same root too)."""

    root: bytes
    issuer: ChecksumAddress
    anchored_at: int  # block timestamp (unix seconds)
    count: int


@dataclass(frozen=True)
class IssuerInfo:
    address: ChecksumAddress
    name: str
    profile_uri: str
    active: bool
    accredited_at: int  # 0: never accredited
    suspended_at: int  # 0: not suspended
    did: str = ""  # the DID the issuer names itself by; "" if never accredited

    @property
    def ever_accredited(self) -> bool:
        return self.accredited_at != 0


@dataclass(frozen=True)
class VerifyResult:
    status: int
    status_name: str
    issuer: ChecksumAddress  # the issuer asked about (the anchor is looked up under it)
    anchored_at: int  # 0 when that issuer did not anchor the root
    issuer_active: bool

    @property
    def valid(self) -> bool:
        return self.status == 0


@dataclass(frozen=True)
class CredentialRevocation:
    issuer: ChecksumAddress
    credential_hash: bytes
    revoked_at: int
    reason: int


@dataclass(frozen=True)
class BatchRevocation:
    root: bytes
    issuer: ChecksumAddress  # whose batch
    by: ChecksumAddress  # that issuer, or an admin
    revoked_at: int
    reason: int


@dataclass(frozen=True)
class ChainEvent:
    """One decoded contract event; ``(block_number, log_index)`` orders a full replay."""

    name: str
    args: Mapping[str, Any] = field(hash=False)
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int


@dataclass(frozen=True)
class Deployment:
    """Where the contract lives: the one "where is the contract" value (chain, address and
    the block it was created in, where event scans start)."""

    chain_id: int
    address: ChecksumAddress
    deploy_block: int
    tx_hash: str | None = None  # the creating transaction, when this process deployed it


# --- input normalisation --------------------------------------------------------------------


def as_bytes32(value: bytes | str, what: str = "value") -> bytes:
    try:
        raw = bytes(HexBytes(value)) if isinstance(value, str) else bytes(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} must be 32 bytes or 0x + 64 hex digits") from None
    if len(raw) != 32:
        raise InvalidInput(f"{what} must be 32 bytes, got {len(raw)}")
    return raw


def as_address(value: str, what: str = "address") -> ChecksumAddress:
    checked = _checksummed(value) if isinstance(value, str) else None
    if checked is None:
        raise InvalidInput(f"{what} is not an Ethereum address: {value!r}")
    return checked


@functools.lru_cache(maxsize=1024)
def _checksummed(value: str) -> ChecksumAddress | None:
    """EIP-55 spelling of ``value``, None if it is no address. Remembered: a bulk
    verification asks about the same few issuer accounts once per file, and each answer costs
    ~50 µs (a keccak256 and eth_utils' checks)."""
    return to_checksum_address(value) if is_address(value) else None


def _reason(value: int) -> int:
    if not 0 <= int(value) <= 255:
        raise InvalidInput("a revocation reason is a uint8 (0-255)")
    return int(value)


def _address_or_none(value: str) -> ChecksumAddress | None:
    address = to_checksum_address(value)
    return None if address == ZERO_ADDRESS else address


# --- the client -----------------------------------------------------------------------------


class CredentialAnchor:
    """Client for one deployed CredentialAnchor.

    Example::

        anchor = CredentialAnchor(w3, deployment.address, deploy_block=deployment.deploy_block)
        result = anchor.verify(issuer, credential_hash, proof, root)
        print(result.status_name, result.anchored_at)
    """

    def __init__(
        self,
        w3: Web3,
        address: str,
        *,
        artifact: Artifact | None = None,
        deploy_block: int = 0,
    ) -> None:
        self.w3 = w3
        self.address = as_address(address, "contract address")
        self.artifact = artifact or load_artifact()
        self.deploy_block = deploy_block
        self.errors = ErrorDecoder(self.artifact.abi)
        self._contract = w3.eth.contract(address=self.address, abi=self.artifact.abi_list)
        self._events = {name: getattr(self._contract.events, name)() for name in EVENT_NAMES}
        self._by_topic = {bytes(HexBytes(ev.topic)): ev for ev in self._events.values()}

    def __repr__(self) -> str:
        return f"CredentialAnchor({self.address})"

    # -- plumbing --

    def _call(self, fn_name: str, *args: Any) -> Any:
        with chain_errors(f"calling {fn_name}", self.errors):
            return getattr(self._contract.functions, fn_name)(*args).call()

    def decode_error(self, revert_data: bytes | str) -> tuple[str | None, tuple[Any, ...]]:
        """Name and arguments of a revert, e.g. ``("CredentialAnchorZeroRoot", ())``."""
        return self.errors.decode(revert_data)

    def has_code(self) -> bool:
        with chain_errors("reading the contract code"):
            return len(self.w3.eth.get_code(self.address)) > 0

    # -- reads --

    def anchor_of(self, issuer: str, root: bytes | str) -> OnChainAnchor | None:
        """``issuer``'s anchor of ``root``; None if that issuer never anchored it (whoever
        else may have)."""
        address = as_address(issuer, "issuer")
        root_b = as_bytes32(root, "root")
        anchored, anchored_at, count = self._call("anchorOf", address, root_b)
        if not anchored:
            return None
        return OnChainAnchor(root_b, address, int(anchored_at), int(count))

    def issuer_info(self, issuer: str) -> IssuerInfo:
        address = as_address(issuer, "issuer")
        name, uri, did, active, accredited_at, suspended_at = self._call("issuerInfo", address)
        return IssuerInfo(address, name, uri, bool(active), int(accredited_at), int(suspended_at),
                          did)

    def verify(
        self, issuer: str, credential_hash: bytes | str, proof: Sequence[bytes | str],
        root: bytes | str,
    ) -> VerifyResult:
        return self.verify_many([(issuer, credential_hash, proof, root)])[0]

    def verify_many(
        self, items: Sequence[tuple[str, bytes | str, Sequence[bytes | str], bytes | str]],
        *, batch: int = VERIFY_BATCH,
    ) -> list[VerifyResult]:
        """The contract's ``verify(issuer, credentialHash, proof, root)`` for each item; over
        HTTP in JSON-RPC batches of ``VERIFY_BATCH``, with the calldata encoded by hand
        (docs/proof-format.md §8): web3's contract-call machinery costs ~3 ms of client CPU per
        call, this path ~0.1 ms.

        The in-process embedded chain has no round trip to save and no batch endpoint, so it
        is called through web3 once per item."""
        prepared = [self._verify_args(*item) for item in items]
        if not hasattr(self.w3.provider, "make_batch_request"):
            return [_verify_result(args[0], self._call("verify", *args)) for args in prepared]
        rows = self.eth_calls([verify_calldata(*args) for args in prepared], words=3, batch=batch)
        return [_verify_result(args[0], row) for args, row in zip(prepared, rows, strict=True)]

    def head_block(self) -> tuple[int, str]:
        """(number, hash) of the node's head block. Over HTTP as a one-call JSON-RPC batch,
        like ``verify``: one attempt, so a hung node costs one RPC timeout (web3's retries
        apply to single requests only), not three."""
        provider = self.w3.provider
        if not hasattr(provider, "make_batch_request"):
            with chain_errors("reading the head block"):
                block = self.w3.eth.get_block("latest")
            return int(block["number"]), HexBytes(block["hash"]).to_0x_hex()
        call = (RPCEndpoint("eth_getBlockByNumber"), ["latest", False])
        with chain_errors("reading the head block"):
            responses = provider.make_batch_request([call])
        response = responses[0] if isinstance(responses, list) and len(responses) == 1 else None
        head = response.get("result") if isinstance(response, Mapping) else None
        if not isinstance(head, Mapping) or "number" not in head or "hash" not in head:
            raise ChainError(f"the node answered the head block with {_describe(responses)}")
        return int(str(head["number"]), 16), str(head["hash"]).lower()

    def eth_calls(self, calldata: Sequence[bytes], *, words: int,
                  batch: int = VERIFY_BATCH) -> list[list[int]]:
        """``eth_call`` each calldata on this contract in JSON-RPC batches; each result as
        its ``words`` 32-byte words (unsigned integers). Needs an HTTP provider."""
        provider = self.w3.provider
        out: list[list[int]] = []
        for start in range(0, len(calldata), batch):
            chunk = calldata[start:start + batch]
            calls = [(RPCEndpoint("eth_call"), [{"to": self.address, "data": "0x" + d.hex()},
                                                 "latest"]) for d in chunk]
            with chain_errors(f"{len(chunk)} calls in one batch", self.errors):
                responses = provider.make_batch_request(calls)  # type: ignore[attr-defined]
            if not isinstance(responses, list) or len(responses) != len(chunk):
                raise ChainError(f"the node answered a batch of {len(chunk)} calls with "
                                 f"{_describe(responses)}")
            for response in responses:
                if not isinstance(response, Mapping) or "error" in response or "result" not in response:
                    raise ChainError(f"the node refused a call: {_describe(response)}")
                raw = bytes.fromhex(str(response["result"]).removeprefix("0x"))
                if len(raw) != 32 * words:
                    raise ChainError(f"a call returned {len(raw)} bytes, not {words} words: is "
                                     f"{self.address} a CredentialAnchor?")
                out.append([int.from_bytes(raw[i:i + 32], "big") for i in range(0, len(raw), 32)])
        return out

    def _verify_args(
        self, issuer: str, credential_hash: bytes | str, proof: Sequence[bytes | str],
        root: bytes | str,
    ) -> tuple[ChecksumAddress, bytes, list[bytes], bytes]:
        return (
            as_address(issuer, "issuer"),
            as_bytes32(credential_hash, "credential hash"),
            [as_bytes32(p, "proof element") for p in proof],
            as_bytes32(root, "root"),
        )

    def credential_revocation(
        self, issuer: str, credential_hash: bytes | str
    ) -> CredentialRevocation | None:
        address = as_address(issuer, "issuer")
        hash_b = as_bytes32(credential_hash, "credential hash")
        revoked_at, reason = self._call("credentialRevocation", address, hash_b)
        if revoked_at == 0:
            return None
        return CredentialRevocation(address, hash_b, int(revoked_at), int(reason))

    def batch_revocation(self, issuer: str, root: bytes | str) -> BatchRevocation | None:
        """The revocation of ``issuer``'s batch ``root``; None if it is not revoked."""
        address = as_address(issuer, "issuer")
        root_b = as_bytes32(root, "root")
        by, revoked_at, reason = self._call("batchRevocation", address, root_b)
        by_address = _address_or_none(by)
        if by_address is None:
            return None
        return BatchRevocation(root_b, address, by_address, int(revoked_at), int(reason))

    def credential_revocations(
        self, items: Sequence[tuple[str, bytes]], *, batch: int = VERIFY_BATCH
    ) -> list[CredentialRevocation | None]:
        """:meth:`credential_revocation` of every ``(issuer, credential hash)``, encoded by hand
        and sent in JSON-RPC batches (needs an HTTP provider: :meth:`eth_calls`)."""
        keys = [(as_address(i, "issuer"), as_bytes32(h, "credential hash")) for i, h in items]
        rows = self.eth_calls([credential_revocation_calldata(i, h) for i, h in keys], words=2,
                              batch=batch)
        return [CredentialRevocation(i, h, at, reason) if at else None
                for (i, h), (at, reason) in zip(keys, rows, strict=True)]

    def batch_revocations(
        self, items: Sequence[tuple[str, bytes]], *, batch: int = VERIFY_BATCH
    ) -> list[BatchRevocation | None]:
        """:meth:`batch_revocation` of every ``(issuer, root)``, in JSON-RPC batches."""
        keys = [(as_address(i, "issuer"), as_bytes32(r, "root")) for i, r in items]
        rows = self.eth_calls([batch_revocation_calldata(i, r) for i, r in keys], words=3,
                              batch=batch)
        return [BatchRevocation(r, i, _address_from_word(by), at, reason) if by else None
                for (i, r), (by, at, reason) in zip(keys, rows, strict=True)]

    def anchored_in(self, receipt: Mapping[str, Any]) -> frozenset[tuple[bytes, str]]:
        """``(root, issuer)`` of every ``Anchored`` event this contract emitted in a receipt
        (issuer lower-case hex, as the topic holds it)."""
        topic = HexBytes(self._events["Anchored"].topic)
        anchors = set()
        for entry in receipt["logs"]:
            if (entry["address"].lower() == self.address.lower() and entry["topics"]
                    and HexBytes(entry["topics"][0]) == topic):
                # Anchored(bytes32 indexed root, address indexed issuer, uint32 count)
                issuer = "0x" + bytes(entry["topics"][2])[12:].hex()
                anchors.add((bytes(entry["topics"][1]), issuer))
        return frozenset(anchors)

    def leaf_of(self, credential_hash: bytes | str) -> bytes:
        return bytes(self._call("leafOf", as_bytes32(credential_hash, "credential hash")))

    def is_admin(self, account: str) -> bool:
        role = b"\x00" * 32  # DEFAULT_ADMIN_ROLE
        return bool(self._call("hasRole", role, as_address(account, "account")))

    # -- transaction builders --

    def _request(self, fn_name: str, args: Sequence[Any], label: str) -> TxRequest:
        data = self._contract.encode_abi(fn_name, args=list(args))
        return TxRequest(self.address, bytes(HexBytes(data)), 0, label, self.errors)

    def anchor(self, root: bytes | str, count: int) -> TxRequest:
        root_b = as_bytes32(root, "root")
        if not 0 < int(count) < 2**32:
            raise InvalidInput("a batch holds 1 to 4,294,967,295 credentials")
        return self._request("anchor", (root_b, int(count)), f"anchor(0x{root_b.hex()})")

    def revoke_credential(self, credential_hash: bytes | str, reason: int) -> TxRequest:
        hash_b = as_bytes32(credential_hash, "credential hash")
        return self._request(
            "revokeCredential", (hash_b, _reason(reason)), f"revokeCredential(0x{hash_b.hex()})"
        )

    def revoke_credentials(
        self, credential_hashes: Iterable[bytes | str], reason: int
    ) -> TxRequest:
        hashes = [as_bytes32(h, "credential hash") for h in credential_hashes]
        if not hashes:
            raise InvalidInput("revoke_credentials needs at least one credential hash")
        return self._request(
            "revokeCredentials", (hashes, _reason(reason)), f"revokeCredentials({len(hashes)})"
        )

    def revoke_batch(self, issuer: str, root: bytes | str, reason: int) -> TxRequest:
        """Revoke ``issuer``'s batch ``root`` (sent by that issuer, or by an admin)."""
        address = as_address(issuer, "issuer")
        root_b = as_bytes32(root, "root")
        return self._request(
            "revokeBatch", (address, root_b, _reason(reason)),
            f"revokeBatch({address}, 0x{root_b.hex()})",
        )

    def accredit_issuer(
        self, issuer: str, name: str, profile_uri: str = "", *, did: str
    ) -> TxRequest:
        """Accredit a new issuer, or accredit again a suspended one (the contract refuses an
        active issuer: change its profile with :meth:`update_issuer_profile`). ``did`` is the
        DID the issuer names itself by in its credentials."""
        address = as_address(issuer, "issuer")
        return self._request(
            "accreditIssuer", (address, name, profile_uri, did), f"accreditIssuer({address})"
        )

    def update_issuer_profile(
        self, issuer: str, name: str, profile_uri: str = "", *, did: str
    ) -> TxRequest:
        """Replace the name, profile URI and DID of an issuer ever accredited, without
        changing its accreditation."""
        address = as_address(issuer, "issuer")
        return self._request(
            "updateIssuerProfile", (address, name, profile_uri, did),
            f"updateIssuerProfile({address})",
        )

    def suspend_issuer(self, issuer: str) -> TxRequest:
        address = as_address(issuer, "issuer")
        return self._request("suspendIssuer", (address,), f"suspendIssuer({address})")

    # -- events --

    def events(
        self,
        from_block: int | None = None,
        to_block: int | str = "latest",
        names: Iterable[str] | None = None,
        *,
        indexed: Mapping[str, Any] | None = None,
        chunk_size: int = DEFAULT_LOG_CHUNK,
    ) -> list[ChainEvent]:
        """Decoded events of this contract, ordered by (block, log index).

        ``from_block`` defaults to the deployment block. ``indexed`` filters on indexed
        arguments by name (e.g. ``{"root": root}``); events without such an argument are
        left out. Queried in ranges of ``chunk_size`` blocks, which public nodes require.
        """
        selected = list(names) if names is not None else list(EVENT_NAMES)
        unknown = [n for n in selected if n not in self._events]
        if unknown:
            raise ValueError(f"unknown events: {', '.join(unknown)}")
        start = self.deploy_block if from_block is None else int(from_block)
        with chain_errors("reading the head block"):
            head = int(self.w3.eth.block_number)
        end = head if to_block == "latest" else min(int(to_block), head)
        topic_sets = self._topic_filters(selected, indexed or {})
        found: list[ChainEvent] = []
        for lo in range(start, end + 1, chunk_size):
            hi = min(lo + chunk_size - 1, end)
            for topics in topic_sets:
                params = {
                    "address": self.address,
                    "fromBlock": lo,
                    "toBlock": hi,
                    "topics": topics,
                }
                with chain_errors(f"reading events in blocks {lo}-{hi}"):
                    logs = self.w3.eth.get_logs(params)  # type: ignore[arg-type]
                found.extend(self._decode(entry) for entry in logs)
        found.sort(key=lambda e: (e.block_number, e.log_index))
        return found

    def _topic_filters(self, names: list[str], indexed: Mapping[str, Any]) -> list[list[Any]]:
        if not indexed:
            return [[[self._events[n].topic for n in names]]]
        sets = []
        for name in names:
            event = self._events[name]
            inputs = [i for i in event.abi["inputs"] if i.get("indexed")]
            if not set(indexed) <= {i["name"] for i in inputs}:
                continue
            topics: list[Any] = [event.topic]
            for item in inputs:
                value = indexed.get(item["name"])
                topics.append(None if value is None else _topic(item["type"], value))
            while topics[-1] is None:
                topics.pop()
            sets.append(topics)
        return sets

    def _decode(self, entry: Any) -> ChainEvent:
        event = self._by_topic.get(bytes(entry["topics"][0])) if entry["topics"] else None
        if event is None:
            raise ChainError(f"unexpected log in {entry['transactionHash'].to_0x_hex()}")
        decoded = event.process_log(entry)
        return ChainEvent(
            name=decoded["event"],
            args={k: _normalise(v) for k, v in decoded["args"].items()},
            block_number=int(decoded["blockNumber"]),
            block_hash=HexBytes(decoded["blockHash"]).to_0x_hex(),
            tx_hash=HexBytes(decoded["transactionHash"]).to_0x_hex(),
            log_index=int(decoded["logIndex"]),
        )


def _topic(abi_type: str, value: Any) -> str:
    if abi_type == "bytes32":
        return "0x" + as_bytes32(value).hex()
    if abi_type == "address":
        return "0x" + abi_encode(["address"], [as_address(value)]).hex()
    return "0x" + abi_encode([abi_type], [value]).hex()


def _normalise(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str) and is_address(value) and value.startswith("0x"):
        return to_checksum_address(value)
    return value


_VERIFY_SELECTOR = Web3.keccak(text="verify(address,bytes32,bytes32[],bytes32)")[:4]
_OFFSET_4_WORDS = (0x80).to_bytes(32, "big")


def verify_calldata(issuer: str, credential_hash: bytes, proof: Sequence[bytes],
                    root: bytes) -> bytes:
    """ABI calldata of ``verify(issuer, credentialHash, proof, root)``, word by word
    (docs/proof-format.md §8)."""
    return b"".join((bytes(_VERIFY_SELECTOR), _address_word(issuer), credential_hash,
                     _OFFSET_4_WORDS, root, len(proof).to_bytes(32, "big"), *proof))


_CREDENTIAL_REVOCATION_SELECTOR = Web3.keccak(text="credentialRevocation(address,bytes32)")[:4]
_BATCH_REVOCATION_SELECTOR = Web3.keccak(text="batchRevocation(address,bytes32)")[:4]


def credential_revocation_calldata(issuer: str, credential_hash: bytes) -> bytes:
    """ABI calldata of ``credentialRevocation(issuer, credentialHash)``."""
    return bytes(_CREDENTIAL_REVOCATION_SELECTOR) + _address_word(issuer) + credential_hash


def batch_revocation_calldata(issuer: str, root: bytes) -> bytes:
    """ABI calldata of ``batchRevocation(issuer, root)``."""
    return bytes(_BATCH_REVOCATION_SELECTOR) + _address_word(issuer) + root


def _address_word(address: str) -> bytes:
    raw = bytes.fromhex(address[2:])
    if len(raw) != 20:
        raise InvalidInput(f"not a 20-byte address: {address!r}")
    return bytes(12) + raw


def _address_from_word(word: int) -> ChecksumAddress:
    return to_checksum_address(word.to_bytes(32, "big")[12:])


def _describe(response: Any) -> str:
    if isinstance(response, Mapping) and isinstance(response.get("error"), Mapping):
        return f"an error: {response['error'].get('message', response['error'])}"
    return f"{len(response)} answers" if isinstance(response, list) else "something else"


def _verify_result(issuer: ChecksumAddress, raw: Sequence[Any]) -> VerifyResult:
    status, anchored_at, active = raw
    status = int(status)
    name = STATUS_NAMES[status] if status < len(STATUS_NAMES) else f"Unknown({status})"
    return VerifyResult(status, name, issuer, int(anchored_at), bool(active))


# --- deployment -----------------------------------------------------------------------------


def deploy_request(artifact: Artifact | None = None) -> TxRequest:
    """The contract-creation transaction (constructor takes no arguments)."""
    artifact = artifact or load_artifact()
    return TxRequest(
        None, artifact.bytecode, 0, f"deploy {artifact.contract_name}", ErrorDecoder(artifact.abi)
    )


def deployment_from_receipt(w3: Web3, receipt: TxReceipt) -> Deployment:
    """The address and block of a contract-creation receipt."""
    address = receipt.get("contractAddress")
    if not address:
        raise ChainError(f"{HexBytes(receipt['transactionHash']).to_0x_hex()} created no contract")
    with chain_errors("reading the chain id"):
        chain_id = int(w3.eth.chain_id)
    return Deployment(
        chain_id=chain_id,
        address=to_checksum_address(address),
        deploy_block=int(receipt["blockNumber"]),
        tx_hash=HexBytes(receipt["transactionHash"]).to_0x_hex(),
    )


def deployment_block(w3: Web3, tx_hash: str) -> int:
    """The block the deployment transaction ``tx_hash`` was mined in."""
    with chain_errors(f"reading the receipt of {tx_hash}"):
        return int(w3.eth.get_transaction_receipt(HexBytes(tx_hash))["blockNumber"])


def deploy(
    w3: Web3,
    signer: Signer,
    *,
    policy: FeePolicy,
    artifact: Artifact | None = None,
    confirmations_required: int = 1,
    timeout: float = 120.0,
) -> Deployment:
    """Deploy CredentialAnchor from Python; ``signer`` becomes its only admin."""
    artifact = artifact or load_artifact()
    receipt = send_and_wait(
        w3,
        signer,
        deploy_request(artifact),
        policy=policy,
        confirmations_required=confirmations_required,
        timeout=timeout,
    )
    deployment = deployment_from_receipt(w3, receipt)
    with chain_errors("reading the deployed code"):
        code = bytes(w3.eth.get_code(deployment.address))
    if code != artifact.deployed_bytecode:
        # No immutables in this contract, so the runtime code must match byte for byte.
        raise ConfigError(
            f"code at {deployment.address} differs from the artifact's deployedBytecode"
        )
    log.info(
        "deployed %s at %s in block %d",
        artifact.contract_name,
        deployment.address,
        deployment.deploy_block,
    )
    return deployment
