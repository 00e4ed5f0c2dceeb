"""Transactions for one sender, in separate steps so each can be made durable in between.

An exactly-once caller (the anchoring state machine) does::

    fees = suggest_fees(w3, policy)             # FeeTooHigh: nothing was sent
    nonce = next_nonce(w3, signer.address)
    signed = build_and_sign(w3, signer, request, nonce=nonce, fees=fees)
    store.save(signed)                          # raw tx, hash, nonce, fees: BEFORE sending
    broadcast(w3, signed)                       # safe to repeat after a crash
    receipt = wait_for_receipt(w3, signed.hash, timeout=60)
    if receipt is None:                         # stuck: same nonce, higher fees
        signed = resign(signer, signed, bump(signed.fees, policy))
        ...

Admin operations that need none of that use :func:`send_and_wait`.

Every web3/requests exception is translated here: unreachable or timed-out node →
ChainUnavailable; revert → ContractReverted naming the Solidity custom error; anything else
the node refuses → ChainError. The node's URL is never put in a message (it may embed an API
key).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_account.typed_transactions import TypedTransaction
from eth_typing import ChecksumAddress
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import (
    ContractLogicError,
    ProviderConnectionError,
    RequestTimedOut,
    TransactionNotFound,
    Web3Exception,
    Web3RPCError,
)
from web3.types import TxReceipt

from credanchor.chain.keys import Signer
from credanchor.errors import (
    ChainError,
    ChainUnavailable,
    ConfigError,
    ContractReverted,
    CredanchorError,
    FeeTooHigh,
    NonceAlreadyUsed,
)

log = logging.getLogger(__name__)

GAS_ESTIMATE_MARGIN_PERCENT = 20
MIN_REPLACEMENT_BUMP_PERCENT = 10  # geth's txpool rejects replacements below +10 % on both fees
GWEI = 10**9


# --- custom-error decoding ------------------------------------------------------------------


def _abi_type(param: Mapping[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param.get("components", ()))
        return f"({inner}){kind[len('tuple') :]}"
    return kind


class ErrorDecoder:
    """Maps 4-byte selectors to the ``error`` entries of an ABI (plus Error and Panic)."""

    def __init__(self, abi: Sequence[Mapping[str, Any]] = ()) -> None:
        self._errors: dict[bytes, tuple[str, tuple[str, ...]]] = {
            function_signature_to_4byte_selector("Error(string)"): ("Error", ("string",)),
            function_signature_to_4byte_selector("Panic(uint256)"): ("Panic", ("uint256",)),
        }
        for entry in abi:
            if entry.get("type") == "error":
                types = tuple(_abi_type(p) for p in entry.get("inputs", ()))
                selector = function_signature_to_4byte_selector(
                    f"{entry['name']}({','.join(types)})"
                )
                self._errors[selector] = (str(entry["name"]), types)

    def decode(self, data: bytes | str | None) -> tuple[str | None, tuple[Any, ...]]:
        """(error name, decoded args); (None, ()) for empty data, a hex name if unknown."""
        raw = _revert_bytes(data)
        if len(raw) < 4:
            return None, ()
        known = self._errors.get(raw[:4])
        if known is None:
            return f"0x{raw[:4].hex()}", (raw[4:],)
        name, types = known
        try:
            args = abi_decode(list(types), raw[4:])
        except (DecodingError, OverflowError, ValueError):
            return name, (raw[4:],)
        return name, tuple(_plain(a) for a in args)


def _plain(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return to_checksum_address(value)
    if isinstance(value, tuple | list):
        return tuple(_plain(v) for v in value)
    return value


def _revert_bytes(data: bytes | str | Mapping[str, Any] | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, Mapping):  # some nodes nest it: {"data": "0x..."} or {"message": ...}
        return _revert_bytes(data.get("data"))
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    text = str(data)
    if text.startswith("Reverted "):
        text = text[len("Reverted ") :]
    try:
        return bytes(HexBytes(text)) if text.startswith("0x") else b""
    except ValueError:
        return b""


_NO_DECODER = ErrorDecoder()


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TxRequest:
    """What to send: ``to`` (None deploys), calldata, value, and how to name its reverts."""

    to: ChecksumAddress | None
    data: bytes
    value: int = 0
    label: str = "transaction"
    errors: ErrorDecoder = field(default=_NO_DECODER, compare=False, repr=False)


@dataclass(frozen=True)
class FeePolicy:
    """EIP-1559 fee limits. ``priority_fee=None`` asks the node (eth_maxPriorityFeePerGas)."""

    max_fee_per_gas_cap: int
    priority_fee: int | None = None
    bump_percent: int = 15

    def __post_init__(self) -> None:
        if self.max_fee_per_gas_cap <= 0:
            raise ConfigError("max_fee_per_gas_cap must be positive (wei)")
        if self.priority_fee is not None and self.priority_fee < 0:
            raise ConfigError("priority_fee must not be negative")
        if self.bump_percent < MIN_REPLACEMENT_BUMP_PERCENT:
            raise ConfigError(
                f"bump_percent must be at least {MIN_REPLACEMENT_BUMP_PERCENT}: nodes reject "
                "smaller replacements"
            )


@dataclass(frozen=True)
class Fees:
    max_fee_per_gas: int
    max_priority_fee_per_gas: int


@dataclass(frozen=True)
class SignedTx:
    """A signed transaction, everything a caller must persist before broadcasting it."""

    raw: bytes
    hash: str
    nonce: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    gas: int
    sender: ChecksumAddress
    chain_id: int

    @property
    def fees(self) -> Fees:
        return Fees(self.max_fee_per_gas, self.max_priority_fee_per_gas)

    def __repr__(self) -> str:  # the raw bytes are long and say nothing to a reader
        return (
            f"SignedTx(hash={self.hash}, sender={self.sender}, nonce={self.nonce}, "
            f"max_fee={self.max_fee_per_gas}, tip={self.max_priority_fee_per_gas}, "
            f"gas={self.gas})"
        )


class BroadcastStatus(enum.StrEnum):
    """What :func:`broadcast` observed; all three mean "this hash is (or was) on its way"."""

    SENT = "sent"
    ALREADY_KNOWN = "already-known"  # the node had it in its pool (a repeat broadcast)
    ALREADY_MINED = "already-mined"  # its nonce is used - by this very transaction


# --- error translation ----------------------------------------------------------------------


def rpc_error_message(exc: BaseException) -> str:
    """The node's own message from a Web3RPCError (web3 8 wraps it in a dict repr)."""
    response = getattr(exc, "rpc_response", None)
    if isinstance(response, Mapping):
        error = response.get("error")
        if isinstance(error, Mapping) and isinstance(error.get("message"), str):
            return str(error["message"])
    return str(getattr(exc, "message", None) or exc)


def reverted(
    action: str, data: bytes | str | Mapping[str, Any] | None, decoder: ErrorDecoder
) -> ContractReverted:
    name, args = decoder.decode(data)  # type: ignore[arg-type]
    shown = ", ".join(_show(a) for a in args)
    what = f"{name}({shown})" if name else "without a reason"
    return ContractReverted(f"{action} reverted: {what}", error=name, args=args)


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) and not value.startswith("0x") else str(value)


_UNREACHABLE = (
    requests.ConnectionError,
    requests.Timeout,
    ProviderConnectionError,
    RequestTimedOut,
    ConnectionError,
    TimeoutError,
)


@contextlib.contextmanager
def chain_errors(action: str, decoder: ErrorDecoder = _NO_DECODER) -> Iterator[None]:
    """Translate third-party exceptions raised inside the block into credanchor errors."""
    try:
        yield
    except CredanchorError:
        raise
    except ContractLogicError as exc:
        raise reverted(action, exc.data, decoder) from exc
    except _UNREACHABLE as exc:
        raise ChainUnavailable(f"{action}: node unreachable ({type(exc).__name__})") from exc
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise ChainUnavailable(f"{action}: node answered HTTP {status}") from exc
    except Web3RPCError as exc:
        raise ChainError(f"{action}: node refused: {rpc_error_message(exc)}") from exc
    except (Web3Exception, ValueError) as exc:
        raise ChainError(f"{action}: {type(exc).__name__}: {exc}") from exc


# --- steps ----------------------------------------------------------------------------------


def next_nonce(w3: Web3, address: str) -> int:
    """The sender's next nonce counting its pending transactions."""
    with chain_errors("reading the nonce"):
        return int(w3.eth.get_transaction_count(to_checksum_address(address), "pending"))


def suggest_fees(w3: Web3, policy: FeePolicy) -> Fees:
    """Fees from the latest base fee: max = min(2 * base + tip, cap). FeeTooHigh above the cap."""
    with chain_errors("reading the base fee"):
        block = w3.eth.get_block("latest")
        tip = policy.priority_fee if policy.priority_fee is not None else w3.eth.max_priority_fee
    base = block.get("baseFeePerGas")
    if base is None:
        raise ChainError("the node's chain has no EIP-1559 base fee; only post-London chains work")
    needed = int(base) + int(tip)
    cap = policy.max_fee_per_gas_cap
    if needed > cap:
        raise FeeTooHigh(
            f"network fee {_gwei(needed)} (base {_gwei(int(base))} + tip {_gwei(int(tip))}) is "
            f"above the cap of {_gwei(cap)}; nothing was sent",
            network_fee_wei=needed,
            cap_wei=cap,
        )
    return Fees(min(2 * int(base) + int(tip), cap), int(tip))


def _gwei(wei: int) -> str:
    return f"{wei / GWEI:.9g} gwei"


def as_request(tx: TxRequest | Mapping[str, Any]) -> TxRequest:
    """Accept a TxRequest or a plain ``{"to", "data", "value"}`` mapping."""
    if isinstance(tx, TxRequest):
        return tx
    to = tx.get("to")
    return TxRequest(
        to=to_checksum_address(to) if to else None,
        data=bytes(HexBytes(tx.get("data", b""))),
        value=int(tx.get("value", 0)),
        label=str(tx.get("label", "transaction")),
    )


def _chain_id(w3: Web3) -> int:
    with chain_errors("reading the chain id"):
        return int(w3.eth.chain_id)


def estimate_gas(w3: Web3, sender: str, request: TxRequest) -> int:
    """The node's estimate plus a margin; a revert raises ContractReverted with its name."""
    params: dict[str, Any] = {"from": sender, "data": request.data, "value": request.value}
    if request.to is not None:
        params["to"] = request.to
    with chain_errors(f"estimating gas for {request.label}", request.errors):
        estimate = int(w3.eth.estimate_gas(params))  # type: ignore[arg-type]
    return estimate * (100 + GAS_ESTIMATE_MARGIN_PERCENT) // 100 + 1


def build_and_sign(
    w3: Web3,
    signer: Signer,
    tx: TxRequest | Mapping[str, Any],
    *,
    nonce: int,
    fees: Fees,
    gas: int | None = None,
    chain_id: int | None = None,
) -> SignedTx:
    """Sign a type-2 transaction; nothing is sent. Gas is estimated (+20 %) unless given."""
    request = as_request(tx)
    if gas is None:
        gas = estimate_gas(w3, signer.address, request)
    fields: dict[str, Any] = {
        "type": 2,
        "chainId": chain_id if chain_id is not None else _chain_id(w3),
        "nonce": nonce,
        "data": request.data,
        "value": request.value,
        "gas": gas,
        "maxFeePerGas": fees.max_fee_per_gas,
        "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
    }
    if request.to is not None:
        fields["to"] = request.to
    return _sign(signer, fields)


def _sign(signer: Signer, fields: Mapping[str, Any]) -> SignedTx:
    signed = signer.sign_transaction(fields)
    return SignedTx(
        raw=bytes(signed.raw_transaction),
        hash=signed.hash.to_0x_hex(),
        nonce=int(fields["nonce"]),
        max_fee_per_gas=int(fields["maxFeePerGas"]),
        max_priority_fee_per_gas=int(fields["maxPriorityFeePerGas"]),
        gas=int(fields["gas"]),
        sender=signer.address,
        chain_id=int(fields["chainId"]),
    )


def request_of(signed: SignedTx) -> TxRequest:
    """The to/data/value inside a signed transaction (e.g. one loaded back from storage)."""
    fields = TypedTransaction.from_bytes(HexBytes(signed.raw)).as_dict()
    to = bytes(fields["to"])
    return TxRequest(
        to=to_checksum_address(to) if to else None,
        data=bytes(fields["data"]),
        value=int(fields["value"]),
    )


def resign(signer: Signer, signed: SignedTx, fees: Fees) -> SignedTx:
    """The same transaction (nonce, gas, to, data, value) with new fees: its replacement."""
    if signer.address != signed.sender:
        raise ConfigError(f"{signer} cannot replace a transaction sent by {signed.sender}")
    fields = dict(TypedTransaction.from_bytes(HexBytes(signed.raw)).as_dict())
    for key in ("v", "r", "s", "accessList"):
        fields.pop(key, None)
    if not bytes(fields["to"]):
        fields.pop("to")
    fields["maxFeePerGas"] = fees.max_fee_per_gas
    fields["maxPriorityFeePerGas"] = fees.max_priority_fee_per_gas
    return _sign(signer, fields)


def bump(fees: Fees, policy: FeePolicy, *, network: Fees | None = None) -> Fees:
    """Fees for a replacement: both raised by ``bump_percent`` (≥ 10 %), capped.

    ``network`` (a fresh :func:`suggest_fees`) lifts the result further if the market moved.
    FeeTooHigh when the cap leaves less than the +10 % nodes demand; the pending transaction
    then keeps its fees.
    """
    up = 100 + policy.bump_percent
    tip = _ceil_percent(fees.max_priority_fee_per_gas, up)
    max_fee = _ceil_percent(fees.max_fee_per_gas, up)
    if network is not None:
        tip = max(tip, network.max_priority_fee_per_gas)
        max_fee = max(max_fee, network.max_fee_per_gas)
    cap = policy.max_fee_per_gas_cap
    max_fee = min(max_fee, cap)
    tip = min(tip, max_fee)
    floor = 100 + MIN_REPLACEMENT_BUMP_PERCENT
    need_max = _ceil_percent(fees.max_fee_per_gas, floor)
    need_tip = _ceil_percent(fees.max_priority_fee_per_gas, floor)
    if max_fee < need_max or tip < need_tip:
        raise FeeTooHigh(
            f"a replacement needs max fee ≥ {_gwei(need_max)} and tip ≥ {_gwei(need_tip)}, "
            f"but the cap is {_gwei(cap)}; nothing was sent",
            network_fee_wei=need_max,
            cap_wei=cap,
        )
    return Fees(max_fee, tip)


def _ceil_percent(value: int, percent: int) -> int:
    return -(-value * percent // 100)


def receipt_or_none(w3: Web3, tx_hash: str) -> TxReceipt | None:
    """The receipt if the transaction is mined, else None."""
    with chain_errors(f"reading the receipt of {tx_hash}"):
        try:
            return w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        except TransactionNotFound:
            return None


def broadcast(w3: Web3, signed: SignedTx) -> BroadcastStatus:
    """Send a signed transaction; repeating it is harmless.

    Returns SENT, ALREADY_KNOWN (the node already had it) or ALREADY_MINED (it was mined
    before). Raises NonceAlreadyUsed if another transaction took its nonce (it will never be
    mined), ChainUnavailable if the node cannot be reached (it may or may not have arrived:
    broadcast again later), ChainError for other refusals.
    """
    action = f"broadcasting {signed.hash} (nonce {signed.nonce})"
    with chain_errors(action):
        try:
            returned = w3.eth.send_raw_transaction(signed.raw)
        except Web3RPCError as exc:
            status = _classify_refusal(w3, signed, rpc_error_message(exc))
            if status is None:
                raise
            log.info("%s: %s", action, status)
            return status
    if returned.to_0x_hex().lower() != signed.hash.lower():
        raise ChainError(f"{action}: the node reports hash {returned.to_0x_hex()}")
    log.info("sent %s from %s nonce %d", signed.hash, signed.sender, signed.nonce)
    return BroadcastStatus.SENT


def _classify_refusal(w3: Web3, signed: SignedTx, message: str) -> BroadcastStatus | None:
    text = message.lower()
    if any(s in text for s in ("already known", "already imported", "known transaction")):
        return BroadcastStatus.ALREADY_KNOWN
    if "nonce too low" in text or "nonce is too low" in text:
        if receipt_or_none(w3, signed.hash) is not None:
            return BroadcastStatus.ALREADY_MINED
        raise NonceAlreadyUsed(
            f"nonce {signed.nonce} of {signed.sender} was used by another transaction; "
            f"{signed.hash} will never be mined"
        )
    if "underpriced" in text:
        raise ChainError(
            f"{signed.hash}: another transaction with nonce {signed.nonce} is pending with "
            "higher fees (replacement underpriced)"
        )
    if "insufficient funds" in text:
        raise ChainError(f"{signed.sender} cannot pay for {signed.hash}: fund the account")
    return None


def wait_for_receipt(
    w3: Web3, tx_hash: str, *, timeout: float, poll: float = 0.5
) -> TxReceipt | None:
    """Poll until mined; None when ``timeout`` seconds pass first (the tx may still land)."""
    deadline = time.monotonic() + timeout
    while True:
        receipt = receipt_or_none(w3, tx_hash)
        if receipt is not None or time.monotonic() >= deadline:
            return receipt
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))


def confirmations(w3: Web3, receipt: TxReceipt) -> int:
    """Blocks on top of (and including) the receipt's block; 0 if that block was reorged out."""
    with chain_errors("counting confirmations"):
        latest = int(w3.eth.block_number)
        block = w3.eth.get_block(receipt["blockNumber"])
    if block["hash"] != receipt["blockHash"]:
        return 0
    return max(0, latest - int(receipt["blockNumber"]) + 1)


def revert_reason(
    w3: Web3, signed: SignedTx, receipt: TxReceipt, decoder: ErrorDecoder
) -> ContractReverted:
    """Best effort: replay a mined, failed transaction to recover its custom error."""
    request = request_of(signed)
    params: dict[str, Any] = {
        "from": signed.sender,
        "data": request.data,
        "value": request.value,
        "gas": signed.gas,
    }
    if request.to is not None:
        params["to"] = request.to
    action = f"{signed.hash} (mined in block {receipt['blockNumber']})"
    number = int(receipt["blockNumber"])
    # The parent's state is what the transaction saw unless an earlier tx in its own block
    # changed the outcome; the block's own state catches that case.
    for block in (number - 1, number):
        try:
            with chain_errors(action, decoder):
                w3.eth.call(params, block_identifier=block)  # type: ignore[arg-type]
        except ContractReverted as exc:
            return exc
        except ChainError:
            break
    return ContractReverted(f"{action} reverted (reason not recoverable)")


def send_and_wait(
    w3: Web3,
    signer: Signer,
    tx: TxRequest | Mapping[str, Any],
    *,
    policy: FeePolicy,
    confirmations_required: int = 1,
    timeout: float = 120.0,
    replace_after: float = 30.0,
    poll: float = 0.5,
    gas: int | None = None,
    on_signed: Callable[[SignedTx], None] | None = None,
) -> TxReceipt:
    """Build, sign, send, replace with higher fees if stuck, and wait for confirmations.

    For admin operations (deploy, accredit) where a crash between steps is acceptable; the
    anchoring path uses the individual steps. ``on_signed`` sees every signed version
    (original and replacements) before it is broadcast. On a dev chain without other traffic
    a block appears only per transaction, so ask for more than one confirmation only where
    blocks keep coming.
    """
    request = as_request(tx)
    nonce = next_nonce(w3, signer.address)
    fees = suggest_fees(w3, policy)
    signed = build_and_sign(w3, signer, request, nonce=nonce, fees=fees, gas=gas)
    sent: list[SignedTx] = []
    deadline = time.monotonic() + timeout

    def send(version: SignedTx) -> None:
        if on_signed is not None:
            on_signed(version)
        sent.append(version)
        try:
            broadcast(w3, version)
        except NonceAlreadyUsed:
            # Usually an earlier version of this very transaction won the nonce.
            if not any(receipt_or_none(w3, s.hash) for s in sent):
                raise

    send(signed)
    next_replacement = time.monotonic() + replace_after
    while True:
        for version in reversed(sent):
            receipt = receipt_or_none(w3, version.hash)
            if receipt is not None:
                if receipt["status"] != 1:
                    raise revert_reason(w3, version, receipt, request.errors)
                return _await_confirmations(
                    w3, receipt, confirmations_required, deadline, poll, version.hash
                )
        now = time.monotonic()
        if now >= deadline:
            raise ChainUnavailable(
                f"{request.label} ({sent[-1].hash}, nonce {nonce}) was not mined within "
                f"{timeout:.0f} s; it may still be mined"
            )
        if now >= next_replacement:
            next_replacement = now + replace_after
            try:
                network = suggest_fees(w3, policy)
            except FeeTooHigh:
                network = None
            try:
                replacement = resign(signer, sent[-1], bump(sent[-1].fees, policy, network=network))
            except FeeTooHigh as exc:
                log.warning("not replacing %s: %s", sent[-1].hash, exc.detail)
            else:
                log.info("replacing %s with %s (higher fees)", sent[-1].hash, replacement.hash)
                send(replacement)
                continue
        time.sleep(poll)


def _await_confirmations(
    w3: Web3, receipt: TxReceipt, required: int, deadline: float, poll: float, tx_hash: str
) -> TxReceipt:
    while confirmations(w3, receipt) < required:
        if time.monotonic() >= deadline:
            raise ChainUnavailable(
                f"{tx_hash} was mined but has not reached {required} confirmations in time"
            )
        time.sleep(poll)
    return receipt


__all__ = [
    "BroadcastStatus",
    "ErrorDecoder",
    "FeePolicy",
    "Fees",
    "SignedTx",
    "TxRequest",
    "as_request",
    "broadcast",
    "build_and_sign",
    "bump",
    "chain_errors",
    "confirmations",
    "estimate_gas",
    "next_nonce",
    "receipt_or_none",
    "request_of",
    "resign",
    "revert_reason",
    "send_and_wait",
    "suggest_fees",
    "wait_for_receipt",
]
