"""The default, zero-setup chain: an in-process EVM whose state lives in one SQLite file.

eth-tester runs py-evm on an in-memory key/value store; here the same py-evm chain runs on a
SQLite table instead, so a demo or a single-node install keeps its anchors across restarts
without a node to operate. The facts this module relies on were measured on this project's
machines (see shared/notes/embedded-chain.md):

* py-evm writes through ``atomic_batch()``; each batch is committed as one SQLite
  transaction, so a crash leaves the file at a block boundary (at most the last transaction
  is committed but not acknowledged; callers reconcile by nonce).
* Reopening constructs the chain class on the existing database; py-evm rebuilds the pending
  header from the stored head. Genesis parameters and the VM schedule are therefore fixed in
  code and checked against what the file recorded when it was created.
* Two writers fork the chain, so an exclusive lock file makes a second opener fail at once.
* eth-tester is not thread-safe, so every provider request runs under one process-wide lock.
* eth-tester stamps a block with the time the previous one was mined; the pending header is
  re-stamped with ``max(now, parent + 1)`` before each transaction. Automine makes one block
  per transaction and block timestamps must strictly increase, so a burst of more than one
  transaction per second runs the chain clock ahead of the wall clock (by at most the
  surplus of transactions over elapsed seconds); it falls back in step once traffic pauses.
  Timestamps are never stale.
* eth-tester finds transactions by scanning every block; py-evm's tx-hash index is used
  instead.

Anything kept outside the database (filters, snapshots, accounts added at run time) would be
lost on restart, so snapshots are disabled and automine is always on.

WARNING: the prefunded genesis accounts use eth-tester's well-known private keys 1..10. They
are fine on a chain only this process can reach; never reuse them anywhere else.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, cast

from eth.abc import VirtualMachineAPI
from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDBWriteBatch
from eth.db.backends.base import BaseAtomicDB
from eth.estimators.gas import binary_gas_search_exact
from eth.exceptions import Revert as EVMRevert
from eth.exceptions import TransactionNotFound as EVMTransactionNotFound
from eth.vm.forks import PragueVM
from eth.vm.spoof import SpoofTransaction
from eth_bloom import BloomFilter
from eth_tester import EthereumTester
from eth_tester.backends.pyevm.main import (
    PyEVMBackend,
    _get_block_by_number,
    generate_genesis_state_for_keys,
    get_default_account_keys,
    get_default_genesis_params,
)
from eth_tester.backends.pyevm.serializers import (
    serialize_log,
    serialize_transaction,
    serialize_transaction_receipt,
)
from eth_tester.exceptions import TransactionFailed
from eth_tester.exceptions import TransactionNotFound as TesterTransactionNotFound
from eth_tester.exceptions import ValidationError as TesterValidationError
from eth_tester.utils.filters import Filter, check_if_log_matches
from eth_typing import BlockNumber, Hash32
from eth_utils import ValidationError as EthValidationError
from eth_utils import encode_hex, to_checksum_address
from eth_utils.toolz import assoc
from web3 import Web3
from web3.providers.eth_tester import EthereumTesterProvider
from web3.providers.eth_tester.defaults import API_ENDPOINTS, not_implemented, static_return
from web3.types import RPCEndpoint, RPCResponse

from credanchor.chain.keys import (
    Signer,
)
from credanchor.errors import ChainError, ChainIdMismatch, ChainUnavailable

log = logging.getLogger(__name__)

DEFAULT_CHAIN_ID = 1337
GENESIS_ACCOUNTS = 10
SCHEMA_VERSION = 1
_VM_SCHEDULE: tuple[tuple[BlockNumber, type[VirtualMachineAPI]], ...] = (
    (BlockNumber(0), PragueVM),
)
_VM_NAME = "PragueVM"

# eth-tester keeps state in class attributes and is not thread-safe even in memory: 8 threads
# sending at once lost transactions until every request was serialised. One lock for the whole
# process (not per chain) because some of that state is shared between instances.
_PROCESS_LOCK = threading.RLock()

# Methods that execute a transaction in the pending block and so must see a fresh timestamp.
_STAMPING_METHODS = frozenset({"eth_sendRawTransaction", "eth_sendTransaction", "evm_mine"})


# --- the key/value store --------------------------------------------------------------------


class SQLiteKV(BaseAtomicDB):
    """py-evm's key/value database on one SQLite table; each atomic batch is one transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __getitem__(self, key: bytes) -> bytes:
        row = self._conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return bytes(row[0])

    def __setitem__(self, key: bytes, value: bytes) -> None:
        # Writes outside a batch are rare in py-evm; autocommit keeps each one durable.
        self._conn.execute("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", (key, value))

    def __delitem__(self, key: bytes) -> None:
        if self._conn.execute("DELETE FROM kv WHERE k = ?", (key,)).rowcount == 0:
            raise KeyError(key)

    def _exists(self, key: bytes) -> bool:
        return self._conn.execute("SELECT 1 FROM kv WHERE k = ?", (key,)).fetchone() is not None

    @contextlib.contextmanager
    def atomic_batch(self) -> Iterator[AtomicDBWriteBatch]:
        # Reads inside the batch fall through to this store; writes are collected in memory
        # and land in one SQLite transaction, so a crash never leaves half a block behind.
        batch = AtomicDBWriteBatch(self)
        try:
            yield batch
            diff = batch._diff()
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", diff.pending_items()
                )
                self._conn.executemany(
                    "DELETE FROM kv WHERE k = ?", ((k,) for k in diff.deleted_keys())
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        finally:
            # Same hygiene as py-evm's own batch: no use after the context ends.
            batch._track_diff = None  # type: ignore[assignment]
            batch._write_target_db = None  # type: ignore[assignment]


def _connect(path: Path, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL costs ~10 % of throughput here (39-41 vs 42-47 tx/s) and keeps the last block
    # across a power cut, which matters when an issuer's ledger says "anchored".
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID"
    )
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    return conn


# --- the chain ------------------------------------------------------------------------------


def _fast_gas_estimate(state: Any, transaction: Any) -> int:
    """geth's shortcut: run once with the block gas limit, try what it consumed.

    py-evm's default binary search runs a transaction ~13 times per estimate (half of an
    anchoring's cost here). The gas consumed before refunds is almost always the exact
    answer; only when it is not (63/64 call stipends, refunds) does the search run.
    """
    limit = state.gas_limit
    snapshot = state.snapshot()
    try:
        computation = state.apply_transaction(SpoofTransaction(transaction, gas=limit, gas_price=0))
    finally:
        state.revert(snapshot)
    if computation.is_error:
        raise computation.error
    candidate = limit - computation.get_gas_remaining()
    snapshot = state.snapshot()
    try:
        probe = state.apply_transaction(SpoofTransaction(transaction, gas=candidate))
    finally:
        state.revert(snapshot)
    if not probe.is_error:
        return int(candidate)
    return int(binary_gas_search_exact(state, transaction))


def _chain_class(chain_id: int) -> type[MiningChain]:
    """The same chain eth-tester builds, with our chain id; identical on every open."""

    class CredanchorEmbeddedChain(MiningChain):
        vm_configuration = _VM_SCHEDULE
        gas_estimator = staticmethod(_fast_gas_estimate)

        def create_header_from_parent(self, parent_header: Any, **header_params: Any) -> Any:
            # eth-tester keeps the gas limit constant; so must every reopen.
            return super().create_header_from_parent(
                parent_header, **assoc(header_params, "gas_limit", parent_header.gas_limit)
            )

        def get_transaction_builder(self) -> Any:
            return super().get_vm().get_transaction_builder()

    CredanchorEmbeddedChain.chain_id = chain_id
    return CredanchorEmbeddedChain


class _Reverted(Exception):
    """A call or estimate reverted; carries the raw revert data for a node-style error."""

    def __init__(self, data: bytes, message: str) -> None:
        super().__init__(message)
        self.data = data
        self.message = message


class _PersistentBackend(PyEVMBackend):
    """eth-tester's py-evm backend on an existing chain, with indexed transaction lookups."""

    def __init__(self, chain: MiningChain, account_keys: tuple[Any, ...]) -> None:
        # Deliberately not calling PyEVMBackend.__init__: it builds a fresh in-memory chain.
        self.chain = chain
        self.account_keys = account_keys

    def reset_to_genesis(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("the embedded chain is persistent; delete its file instead")

    def take_snapshot(self) -> Any:
        raise NotImplementedError("snapshots would not survive a restart")

    def revert_to_snapshot(self, snapshot: Any) -> None:
        raise NotImplementedError("snapshots would not survive a restart")

    def restamp(self) -> None:
        """Give the (empty) pending block the current time, never earlier than parent + 1."""
        if self.chain.get_block().transactions:
            return  # only with automine off, which this chain never uses
        parent = self.chain.get_canonical_head()
        timestamp = max(int(time.time()), parent.timestamp + 1)
        if self.chain.header.timestamp != timestamp:
            self.chain.set_header_timestamp(timestamp)

    def _locate(self, transaction_hash: bytes) -> tuple[Any, Any, int]:
        # eth-tester scans blocks backwards (265 ms per receipt at 1,000 blocks); py-evm's
        # tx-hash -> (block, index) table answers in a few ms.
        try:
            number, index = self.chain.chaindb.get_transaction_index(Hash32(transaction_hash))
        except EVMTransactionNotFound:
            pending = self.chain.get_block()
            for i, tx in enumerate(pending.transactions):
                if tx.hash == transaction_hash:
                    return pending, tx, i
            raise TesterTransactionNotFound(
                f"No transaction found for transaction hash: {encode_hex(transaction_hash)}"
            ) from None
        block = self.chain.get_canonical_block_by_number(number)
        return block, block.transactions[index], index

    def get_transaction_by_hash(self, transaction_hash: bytes) -> Any:
        block, transaction, index = self._locate(transaction_hash)
        is_pending = block.number == self.chain.get_block().number
        return serialize_transaction(block, transaction, index, is_pending)

    def get_transaction_receipt(self, transaction_hash: bytes) -> Any:
        block, transaction, index = self._locate(transaction_hash)
        is_pending = block.number == self.chain.get_block().number
        receipts = block.get_receipts(self.chain.chaindb)
        return serialize_transaction_receipt(
            block, receipts, transaction, index, is_pending, self.chain.get_vm()
        )

    def call(self, transaction: Any, block_number: Any = "latest") -> bytes:
        # Two differences from eth-tester, both to behave like geth/anvil: revert data stays
        # bytes (eth-tester turns it into a message string), so custom errors decode as they
        # do from a real node; and a call without fees is free, so a verifier with an empty
        # (or no) account can call views - eth-tester charges 1 gwei x 30M gas.
        tx = dict(transaction)
        tx.setdefault("gas", self._max_available_gas())
        if not any(k in tx for k in ("gas_price", "max_fee_per_gas")):
            tx.update(max_fee_per_gas=0, max_priority_fee_per_gas=0)
        unsigned = self._get_normalized_and_unsigned_evm_transaction(tx, block_number)
        spoofed = SpoofTransaction(unsigned, from_=transaction["from"])
        header = _block_for(self, block_number).header
        vm = self.chain.get_vm(at_header=header)
        free_header = header.copy(base_fee_per_gas=0)  # same state root, no fee floor
        state = vm.build_state(
            vm.chaindb.db,
            free_header,
            vm.chain_context,  # type: ignore[attr-defined]
            vm.previous_hashes or (),
        )
        snapshot = state.snapshot()
        try:
            computation = state.apply_transaction(spoofed)  # type: ignore[arg-type]
        finally:
            state.revert(snapshot)
        if computation.is_error:
            error = computation._error
            data = error.args[0] if isinstance(error, EVMRevert) and error.args else b""
            raise _Reverted(bytes(data) if isinstance(data, bytes) else b"", str(error))
        return computation.output

    def estimate_gas(self, transaction: Any, block_number: Any = "latest") -> int:
        if not any(k in transaction for k in ("gas_price", "max_fee_per_gas")):
            # Like geth: an estimate without fees charges nothing, so an unfunded sender
            # learns the gas (or the revert reason) instead of "insufficient funds".
            # py-evm estimates in a state whose base fee is 0.
            transaction = {**transaction, "max_fee_per_gas": 0, "max_priority_fee_per_gas": 0}
        try:
            return super().estimate_gas(transaction, block_number)
        except TransactionFailed as exc:
            cause = exc.__cause__
            data = cause.args[0] if isinstance(cause, EVMRevert) and cause.args else b""
            raise _Reverted(bytes(data) if isinstance(data, bytes) else b"", str(cause)) from exc

    def raw_logs(self, number: int, addresses: tuple[bytes, ...]) -> list[dict[str, Any]]:
        """The logs of canonical block ``number`` in eth-tester's raw form.

        The block header's bloom filter rules most blocks out without reading a receipt.
        """
        header = self.chain.get_canonical_block_header_by_number(BlockNumber(number))
        if addresses:
            bloom = BloomFilter(header.bloom)
            if not any(address in bloom for address in addresses):
                return []
        block = self.chain.get_canonical_block_by_number(BlockNumber(number))
        receipts = block.get_receipts(self.chain.chaindb)
        entries: list[dict[str, Any]] = []
        # Numbered within the block, as nodes do (eth-tester restarts at 0 per transaction;
        # the same thing with automine's one transaction per block).
        for index, (tx, receipt) in enumerate(zip(block.transactions, receipts, strict=True)):
            for entry in receipt.logs:
                entries.append(serialize_log(block, tx, index, entry, len(entries), False))
        return entries


class _PersistentTester(EthereumTester):
    """EthereumTester whose get_logs reads each block once (bloom first) instead of
    fetching a receipt per transaction (135 s for 1,000 blocks of logs, per the notes)."""

    backend: _PersistentBackend

    def get_logs(
        self, from_block: Any = None, to_block: Any = None, address: Any = None, topics: Any = None
    ) -> tuple[Any, ...]:
        self.validator.validate_inbound_filter_params(
            from_block=from_block, to_block=to_block, address=address, topics=topics
        )
        raw_from, raw_to, raw_address, raw_topics = self.normalizer.normalize_inbound_filter_params(
            from_block=from_block, to_block=to_block, address=address, topics=topics
        )
        log_filter = Filter(
            filter_params=None,
            filter_fn=partial(
                check_if_log_matches,
                from_block=raw_from,
                to_block=raw_to,
                addresses=raw_address,
                topics=raw_topics,
            ),
        )
        lower = raw_from if isinstance(raw_from, int) else self._block_number(raw_from)
        upper = raw_to if isinstance(raw_to, int) else self._block_number(raw_to)
        if isinstance(raw_address, bytes):
            addresses: tuple[bytes, ...] = (raw_address,)
        else:
            addresses = tuple(raw_address or ())
        for number in range(lower, min(upper, self._block_number("latest")) + 1):
            log_filter.add(*self.backend.raw_logs(number, addresses))
        return tuple(self.normalizer.normalize_outbound_log_entry(e) for e in log_filter.get_all())

    def _block_number(self, block_id: Any) -> int:
        return int(self.get_block_by_number(block_id or "latest")["number"])


def _block_for(backend: PyEVMBackend, block_number: Any) -> Any:
    return _get_block_by_number(backend.chain, block_number)


def _node_style_message(exc: Exception) -> str:
    """Translate py-evm's validation messages into the wording geth and anvil use."""
    text = str(exc)
    lowered = text.lower()
    if "invalid transaction nonce" in lowered:
        # "Invalid transaction nonce: Expected 5, but got 4"
        try:
            expected = int(text.split("Expected")[1].split(",")[0])
            got = int(text.rsplit("got", 1)[1])
        except (IndexError, ValueError):
            return f"nonce mismatch: {text}"
        return f"nonce too {'low' if got < expected else 'high'}: {text}"
    if "cannot afford" in lowered or "enough balance" in lowered:
        return f"insufficient funds for gas * price + value: {text}"
    if "lower than block's base fee" in lowered:
        return f"max fee per gas less than block base fee: {text}"
    return text


class _EmbeddedProvider(EthereumTesterProvider):
    """EthereumTesterProvider serialised by the process lock, with node-style errors."""

    def __init__(self, tester: EthereumTester, backend: _PersistentBackend, chain_id: int):
        endpoints = {namespace: dict(methods) for namespace, methods in API_ENDPOINTS.items()}
        endpoints["eth"]["chainId"] = static_return(chain_id)
        endpoints["net"]["version"] = static_return(str(chain_id))
        # Snapshots and time travel live outside the database and would not survive a
        # restart; refuse them rather than let a caller believe in them.
        endpoints["evm"]["snapshot"] = not_implemented
        endpoints["evm"]["revert"] = not_implemented
        endpoints["testing"]["timeTravel"] = not_implemented
        super().__init__(tester, endpoints)
        self._backend = backend
        self._closed = False

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        with _PROCESS_LOCK:
            if self._closed:
                raise ChainUnavailable("the embedded chain has been closed")
            if method in _STAMPING_METHODS:
                self._backend.restamp()
            try:
                return super().make_request(method, params)
            except _Reverted as exc:
                # Same shape as geth/anvil: web3 then raises ContractCustomError & co.
                return _error_response(3, "execution reverted", encode_hex(exc.data))
            except (EthValidationError, TesterValidationError) as exc:
                return _error_response(-32000, _node_style_message(exc))
            except sqlite3.Error as exc:
                # Disk full, file removed, I/O error: the chain cannot serve, but a failed
                # batch was rolled back, so the file is still at the last complete block.
                raise ChainUnavailable(f"the embedded chain's database failed: {exc}") from exc

    def close(self) -> None:
        with _PROCESS_LOCK:
            self._closed = True


def _error_response(code: int, message: str, data: str | None = None) -> RPCResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": 0, "error": error}  # type: ignore[typeddict-item]


# --- opening and closing --------------------------------------------------------------------


def _lock(path: Path) -> int:
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise ChainError(
            f"the embedded chain {path} is already open in another process (pid {holder}); "
            "only one process may use it at a time"
        ) from None
    # flock is released by the kernel when the process dies, so a crash leaves no stale lock.
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def _genesis(db: SQLiteKV, chain_cls: type[MiningChain]) -> MiningChain:
    keys = get_default_account_keys(quantity=GENESIS_ACCOUNTS)
    state = generate_genesis_state_for_keys(keys)
    return cast(MiningChain, chain_cls.from_genesis(db, get_default_genesis_params(), state))


def _meta(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT key, value FROM meta").fetchall())


class EmbeddedChain:
    """An open embedded chain: ``w3`` talks to it; ``close()`` releases the file."""

    def __init__(
        self,
        path: Path,
        chain_id: int,
        w3: Web3,
        provider: _EmbeddedProvider,
        conn: sqlite3.Connection,
        lock_fd: int,
    ) -> None:
        self.path = path
        self.chain_id = chain_id
        self.w3 = w3
        self._provider = provider
        self._conn = conn
        self._lock_fd: int | None = lock_fd

    def __repr__(self) -> str:
        state = "closed" if self._lock_fd is None else "open"
        return f"EmbeddedChain({str(self.path)!r}, chain_id={self.chain_id}, {state})"

    def __enter__(self) -> EmbeddedChain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._lock_fd is None

    def funded_account(self, index: int = 0) -> Signer:
        """One of the prefunded genesis accounts (1,000,000 ETH each at genesis)."""
        if not 0 <= index < GENESIS_ACCOUNTS:
            raise ValueError(f"genesis account index must be in 0..{GENESIS_ACCOUNTS - 1}")
        # WARNING: well-known test key (private key = index + 1); embedded chain only.
        return Signer.from_key((index + 1).to_bytes(32, "big"))

    def fund(self, address: str, amount_wei: int, *, source_index: int = 0) -> str:
        """Transfer ``amount_wei`` from a genesis account; returns the mined tx hash."""
        source = self.funded_account(source_index)
        # Held across nonce read and send so two threads funding at once cannot collide.
        with _PROCESS_LOCK:
            w3 = self.w3
            base_fee = w3.eth.get_block("latest")["baseFeePerGas"]
            tip = 10**9
            tx = {
                "type": 2,
                "chainId": self.chain_id,
                "nonce": w3.eth.get_transaction_count(source.address, "pending"),
                "to": to_checksum_address(address),
                "value": amount_wei,
                "gas": 21_000,
                "maxPriorityFeePerGas": tip,
                "maxFeePerGas": 2 * base_fee + tip,
            }
            tx_hash = w3.eth.send_raw_transaction(source.sign_transaction(tx).raw_transaction)
            receipt = w3.eth.get_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            raise ChainError(f"funding {address} failed in tx {tx_hash.to_0x_hex()}")
        return str(tx_hash.to_0x_hex())

    def mine(self, blocks: int = 1) -> None:
        """Mine empty blocks (e.g. to give a receipt more confirmations)."""
        self.w3.provider.make_request(RPCEndpoint("evm_mine"), [blocks])

    def close(self) -> None:
        """Release the file; further requests raise ChainUnavailable. Idempotent."""
        with _PROCESS_LOCK:
            if self._lock_fd is None:
                return
            self._provider.close()
            self._conn.close()
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None


def open_embedded(
    path: Path, *, chain_id: int = DEFAULT_CHAIN_ID, synchronous: str = "FULL"
) -> EmbeddedChain:
    """Open (or create) the embedded chain stored in the SQLite file ``path``.

    Example::

        chain = open_embedded(Path(".data/chain.sqlite"))
        print(chain.w3.eth.block_number)
        chain.close()

    Raises ChainError if another process holds the file, ChainIdMismatch if the file was
    created for another chain id.
    """
    if synchronous.upper() not in {"FULL", "NORMAL", "EXTRA"}:
        raise ValueError("synchronous must be FULL, NORMAL or EXTRA")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    started = time.perf_counter()
    lock_fd = _lock(path)
    conn: sqlite3.Connection | None = None
    try:
        try:
            conn = _connect(path, synchronous.upper())
            chain = _open_chain(conn, path, chain_id)
        except sqlite3.Error as exc:
            raise ChainError(f"cannot open the embedded chain {path}: {exc}") from exc
        keys = get_default_account_keys(quantity=GENESIS_ACCOUNTS)
        backend = _PersistentBackend(chain, keys)
        tester = _PersistentTester(backend=backend, auto_mine_transactions=True)
        provider = _EmbeddedProvider(tester, backend, chain_id)
        w3 = Web3(provider)
    except BaseException:
        if conn is not None:
            conn.close()
        os.close(lock_fd)
        raise
    log.info(
        "opened embedded chain %s (chain id %d, head %d) in %.0f ms",
        path,
        chain_id,
        chain.get_canonical_head().block_number,
        (time.perf_counter() - started) * 1000,
    )
    return EmbeddedChain(path, chain_id, w3, provider, conn, lock_fd)


def _open_chain(conn: sqlite3.Connection, path: Path, chain_id: int) -> MiningChain:
    db = SQLiteKV(conn)
    chain_cls = _chain_class(chain_id)
    meta = _meta(conn)
    if not meta:
        chain = _genesis(db, chain_cls)
        genesis_hash = encode_hex(chain.get_canonical_block_header_by_number(BlockNumber(0)).hash)
        record = {
            "schema": str(SCHEMA_VERSION),
            "chain_id": str(chain_id),
            "vm": _VM_NAME,
            "genesis_hash": genesis_hash,
            "created_at": str(int(time.time())),
        }
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", record.items())
        conn.execute("COMMIT")
        return chain
    if meta.get("schema") != str(SCHEMA_VERSION) or meta.get("vm") != _VM_NAME:
        raise ChainError(
            f"{path} was written by another embedded-chain layout "
            f"(schema {meta.get('schema')}, vm {meta.get('vm')}); refusing to open it"
        )
    stored_id = int(meta["chain_id"])
    if stored_id != chain_id:
        raise ChainIdMismatch(
            f"the embedded chain {path} has chain id {stored_id}, but {chain_id} was requested"
        )
    chain = chain_cls(db)
    genesis = encode_hex(chain.get_canonical_block_header_by_number(BlockNumber(0)).hash)
    if genesis != meta["genesis_hash"]:
        raise ChainError(f"{path} is corrupt: genesis hash {genesis} != {meta['genesis_hash']}")
    return chain
