"""Bulk verification for employers: many credential files, one RPC endpoint, no issuer service.

The verdicts are exactly :class:`credanchor.verify.verifier.Verifier`'s; this module only makes them
cheap in bulk and gives them their inputs:

* :func:`collect_paths` turns what a user types (files, folders, globs, a CSV listing) into
  an ordered list of files, checking they exist before any work starts.
* :func:`open_bulk_verifier` builds a verifier trusting exactly the given (chain id, contract)
  pairs, reading each chain through its own ``--rpc`` URL. Nothing of the issuer's is needed.
* :class:`BulkVerifier` works in chunks: it parses a chunk of files, asks the contract's
  single-call ``verify(issuer, …)`` for all of them in JSON-RPC batches of 200 calls (:func:`batched_verify`),
  then the revocation details of the revoked ones, and lets the verifier run its checks on the
  answers. Per-root and per-issuer facts (the anchoring transaction, the issuer's accreditation,
  a batch revocation) are fetched once per run, and the chain head once every few seconds.
* :func:`verify_files_in_processes` spreads the chunks over several processes.

WARNING: when the chain cannot answer, the affected credentials are ERROR, never INVALID — the
same rule as the verifier's; the employer script exits with a distinct code for it.

Every file gets a :class:`FileResult`, whatever happens to the others: a file that cannot be
read or parsed is INVALID with the reason, and one whose verification fails unexpectedly (a
bug) is ERROR with the exception named — it never ends the run.
"""

from __future__ import annotations

import csv
import functools
import glob
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from credanchor.chain.contract import VERIFY_BATCH, CredentialAnchor, Deployment, verify_calldata
from credanchor.chain.gateway import (
    ChainReader,
    batch_revocation_detail,
    credential_revocation_detail,
    to_verdict,
)
from credanchor.chain.rpc import connect_rpc, redact_url
from credanchor.chain.tx import chain_errors
from credanchor.core.dataintegrity import DidResolver
from credanchor.core.hashing import loads_plain
from credanchor.core.proof import CredanchorProof, find_proof
from credanchor.core.report import Report, Status
from credanchor.errors import (
    ChainError,
    ChainUnavailable,
    ConfigError,
    CredanchorError,
    InvalidInput,
)
from credanchor.verify.ports import AnchorTx, IssuerFacts, OnChainVerdict
from credanchor.verify.verifier import (
    TrustedContract,
    TrustList,
    Verifier,
)

__all__ = [
    "BulkVerifier",
    "FileResult",
    "PrefetchingReader",
    "batched_revocations",
    "batched_verify",
    "collect_paths",
    "default_workers",
    "open_bulk_verifier",
    "verify_calldata",
    "verify_files_in_processes",
    "workers_for",
]

#: Files parsed, prefetched and verified together: big enough to fill JSON-RPC batches,
#: small enough that memory stays flat however many files there are.
CHUNK = 1000
_GLOB_CHARS = frozenset("*?[")

VerifyKey = tuple[str, bytes, tuple[bytes, ...], bytes]  # (issuer account, hash, proof, root)


# --- inputs ---------------------------------------------------------------------------------


def collect_paths(args: Iterable[str]) -> list[Path]:
    """The files named by ``args``, in order, each once.

    Each argument is a file, a folder (every ``*.json`` below it, sorted), a glob pattern
    (``badges/**/*.json``; quote it so the shell leaves it alone), or a ``.csv`` listing whose
    ``path`` column (or else first column) names one file per row, relative to the listing's
    folder. Raises InvalidInput naming the first thing that does not exist.
    """
    found: dict[Path, None] = {}
    for arg in args:
        p = Path(arg)
        if p.is_dir():
            found.update((q, None) for q in sorted(p.rglob("*.json")) if q.is_file())
        elif p.is_file() and p.suffix.lower() == ".csv":
            found.update((q, None) for q in _csv_listing(p))
        elif p.is_file():
            found[p] = None
        elif _GLOB_CHARS & set(arg):
            matches = sorted(Path(m) for m in glob.glob(arg, recursive=True))
            files = [m for m in matches if m.is_file()]
            if not files:
                raise InvalidInput(f"no file matches {arg}")
            found.update((m, None) for m in files)
        else:
            raise InvalidInput(f"no such file or folder: {arg}")
    if not found:
        raise InvalidInput("no credential files found")
    return list(found)


def _csv_listing(listing: Path) -> Iterator[Path]:
    try:
        text = listing.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {listing}: {exc}") from exc
    rows = [r for r in csv.reader(text.splitlines()) if r and any(c.strip() for c in r)]
    column, start = 0, 0
    if rows:
        header = [c.strip().lower() for c in rows[0]]
        if "path" in header:
            column, start = header.index("path"), 1
    base = listing.parent
    for number, row in enumerate(rows[start:], start=start + 1):
        cell = row[column].strip() if column < len(row) else ""
        if not cell:
            raise InvalidInput(f"{listing} row {number}: no path")
        path = Path(cell) if Path(cell).is_absolute() else base / cell
        if not path.is_file():
            raise InvalidInput(f"{listing} row {number}: no such file: {cell}")
        yield path


# --- a chain reader that answers from prefetched batches ------------------------------------


class PrefetchingReader:
    """The verifier's :class:`~credanchor.verify.ports.ChainReader` for one contract, fed in bulk.

    :meth:`prefetch` asks ``verify`` for a whole chunk in JSON-RPC batches, then the
    revocation details of the revoked ones; :meth:`verify` and :meth:`revocation_reason` answer
    from memory (with a live call for anything not prefetched). Batch revocations are kept per
    (issuer, root), the head for ``head_ttl`` seconds: an older head only makes an anchor look shallower,
    never deeper. Every chain failure reaches the verifier as :class:`ChainUnavailable`, which
    it reports as ERROR.
    """

    def __init__(
        self,
        chain: ChainReader,
        *,
        head_ttl: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        reopen: Callable[[], ChainReader] | None = None,
    ) -> None:
        self.chain = chain
        self.reopen = reopen
        self.chain_id = chain.chain_id
        self.contract_address = chain.contract_address
        self.head_ttl = head_ttl
        self.clock = clock
        self._verdicts: dict[VerifyKey, OnChainVerdict | ChainUnavailable] = {}
        self._batch_revocations: dict[tuple[str, bytes], dict[str, Any]] = {}
        self._credential_revocations: dict[tuple[str, bytes], dict[str, Any]] = {}
        self._head: tuple[float, int] | None = None
        self.calls = 0  # verify calls made live (not prefetched): a measure of batching misses

    def reconnect(self) -> None:
        """Read through a new connection to the same node (see :meth:`BulkVerifier.reconnect`);
        without a ``reopen`` given, keep the current one."""
        if self.reopen is not None:
            self.chain = self.reopen()

    def prefetch(self, keys: Iterable[VerifyKey]) -> None:
        """Fetch the verdicts of ``keys``, and the details of the revoked ones; the previous
        chunk's verdicts are dropped."""
        todo = list(dict.fromkeys(keys))
        self._verdicts = {}
        self._credential_revocations = {}
        if not todo:
            return
        try:
            verdicts = batched_verify(self.chain.contract, todo)
            self._verdicts = dict(zip(todo, verdicts, strict=True))
            if _can_batch(self.chain.contract):
                self._prefetch_revocations()
        except ChainError as exc:
            # Every credential of the chunk gets the failure at once rather than a slow
            # per-credential retry against a node that just failed.
            self._verdicts = dict.fromkeys(todo, _unavailable(exc))

    def _prefetch_revocations(self) -> None:
        creds = list(dict.fromkeys((v.issuer, k[1]) for k, v in self._verdicts.items()
                                   if isinstance(v, OnChainVerdict) and v.status == 3))
        batches = list(dict.fromkeys((k[0], k[3]) for k, v in self._verdicts.items()
                                     if isinstance(v, OnChainVerdict) and v.status == 4
                                     and (k[0].lower(), k[3]) not in self._batch_revocations))
        cred_details, batch_details = batched_revocations(self.chain.contract, creds, batches)
        for (issuer, h), detail in zip(creds, cred_details, strict=True):
            self._credential_revocations[(issuer.lower(), h)] = detail
        for (issuer, root), detail in zip(batches, batch_details, strict=True):
            if detail:
                self._batch_revocations[(issuer.lower(), root)] = detail

    # -- ChainReader --

    def verify(self, issuer: str, credential_hash: bytes, proof: list[bytes],
               root: bytes) -> OnChainVerdict:
        found = self._verdicts.get((issuer, bytes(credential_hash), tuple(proof), bytes(root)))
        if isinstance(found, ChainUnavailable):
            raise found
        if found is not None:
            return found
        self.calls += 1
        with _reading():
            return self.chain.verify(issuer, credential_hash, proof, root)

    def verify_many(self, keys: Sequence[VerifyKey]) -> list[OnChainVerdict]:
        """Verdicts of keys not in the chunk (a stacked qualification's components), in one
        batched call (the verifier's tree prefetch)."""
        with _reading():
            return batched_verify(self.chain.contract, keys)

    def issuer_facts(self, issuer: str) -> IssuerFacts:
        with _reading():
            return self.chain.issuer_facts(issuer)

    def anchor_tx(self, tx_hash: str) -> AnchorTx | None:
        with _reading():
            return self.chain.anchor_tx(tx_hash)

    def revocation_reason(self, issuer: str, credential_hash: bytes, root: bytes) -> dict[str, Any]:
        cached = self._batch_revocations.get((issuer.lower(), bytes(root)))
        if cached is not None:
            return cached
        # Prefetched only for verdicts saying CredentialRevoked, so the batch was not revoked.
        found = self._credential_revocations.get((issuer.lower(), bytes(credential_hash)))
        if found:
            return found
        with _reading():
            detail = self.chain.revocation_reason(issuer, credential_hash, root)
        if detail.get("scope") == "batch":  # the same for every credential of the batch
            self._batch_revocations[(issuer.lower(), bytes(root))] = detail
        return detail

    def head(self) -> int:
        now = self.clock()
        if self._head is None or now - self._head[0] > self.head_ttl:
            with _reading():
                self._head = (now, self.chain.head())
        return self._head[1]


@contextmanager
def _reading() -> Iterator[None]:
    """Any chain failure inside becomes ChainUnavailable, which the verifier reports as ERROR."""
    try:
        yield
    except ChainError as exc:
        raise _unavailable(exc) from exc


def _unavailable(exc: ChainError) -> ChainUnavailable:
    return exc if isinstance(exc, ChainUnavailable) else ChainUnavailable(str(exc))


# --- the bulk verifier ----------------------------------------------------------------------


#: FileResult.failure values: why a file has no report.
NOT_A_CREDENTIAL = "input"  # unreadable, not JSON, not a credential: INVALID
CHAIN_FAILED = "chain"  # the chain could not be read for it: ERROR
FAULT = "fault"  # verifying it raised unexpectedly (a bug): ERROR


@dataclass(frozen=True)
class FileResult:
    """One file's outcome: a verification report, or why there is none (``error``, and
    ``failure``: :data:`NOT_A_CREDENTIAL`, :data:`CHAIN_FAILED` or :data:`FAULT`)."""

    path: Path
    report: Report | None
    error: str | None = None
    failure: str = NOT_A_CREDENTIAL

    @property
    def status(self) -> Status:
        if self.report is not None:
            return self.report.status
        return Status.INVALID if self.failure == NOT_A_CREDENTIAL else Status.ERROR

    @property
    def chain_trouble(self) -> bool:
        """Whether the chain could not answer for this file (ERROR checks or no report)."""
        if self.report is not None:
            return self.report.status == Status.ERROR
        return self.failure == CHAIN_FAILED

    def to_dict(self) -> dict[str, Any]:
        if self.report is None:
            return {"file": str(self.path), "status": str(self.status), "error": self.error}
        return {"file": str(self.path), **self.report.to_dict()}

    def reason(self) -> str:
        """What failed, or why a PENDING file is not confirmed, in one line (empty for
        VALID)."""
        if self.report is None:
            return self.error or ""
        return "; ".join(f"{c.name}: {c.message}" for c in self.report.reasons())


class BulkVerifier:
    """Verifies files or parsed credentials chunk by chunk (see the module docstring)."""

    def __init__(self, verifier: Verifier, readers: Mapping[tuple[int, str], PrefetchingReader],
                 *, chunk: int = CHUNK) -> None:
        self.verifier = verifier
        self.readers = dict(readers)
        self.chunk = chunk

    def reconnect(self) -> None:
        """New connections to the same nodes, keeping every fact read so far: for a worker
        process forked from the one that opened this verifier (sockets must not be shared)."""
        for reader in self.readers.values():
            reader.reconnect()

    def verify_files(self, paths: Iterable[Path]) -> Iterator[FileResult]:
        """A result per path, in order."""
        chunk: list[Path] = []
        for path in paths:
            chunk.append(path)
            if len(chunk) >= self.chunk:
                yield from self._files_chunk(chunk)
                chunk = []
        if chunk:
            yield from self._files_chunk(chunk)

    def _files_chunk(self, paths: list[Path]) -> Iterator[FileResult]:
        parsed: list[tuple[Path, Any, bool, FileResult | None]] = []
        for path in paths:
            try:
                doc, plain = loads_plain(path.read_bytes())
            except OSError as exc:
                parsed.append((path, None, False, FileResult(
                    path, None, f"cannot read the file: {exc.strerror or exc}")))
                continue
            except InvalidInput as exc:
                parsed.append((path, None, False, FileResult(
                    path, None, f"not a credential file: {exc.detail}")))
                continue
            except Exception as exc:  # one odd file must not end the run
                parsed.append((path, None, False, _fault(path, exc)))
                continue
            if isinstance(doc, Mapping):
                parsed.append((path, doc, plain, None))
            else:
                parsed.append((path, None, False, FileResult(
                    path, None, "not a credential file: it holds a JSON "
                    f"{type(doc).__name__}, not an object")))
        proofs = self._prefetch([doc for _, doc, _, done in parsed if done is None])
        for path, doc, plain, done in parsed:
            if done is not None:
                yield done
                continue
            try:
                result = FileResult(path, self.verifier.verify(doc, proof=proofs.get(id(doc)),
                                                                plain=plain))
            except ChainError as exc:  # the reader makes these ERROR reports; should one escape
                result = FileResult(path, None, f"the chain could not be read: {exc.detail}",
                                    CHAIN_FAILED)
            except CredanchorError as exc:  # one odd file must not end a run of thousands
                result = FileResult(path, None, f"cannot be verified: {exc.detail}")
            except Exception as exc:  # nor a bug that one file triggers
                result = _fault(path, exc)
            yield result

    def _prefetch(self, documents: Sequence[Mapping[str, Any]]) -> dict[int, CredanchorProof]:
        """Ask the chain for the whole chunk at once. Best effort: a document or a reader
        that fails here is left to the verifier, which reports it file by file. Returns the
        proofs parsed, by ``id()`` of their document (alive for the chunk), for the verifier."""
        wanted: dict[tuple[int, str], list[VerifyKey]] = {}
        proofs: dict[int, CredanchorProof] = {}
        for doc in documents:
            try:
                found = find_proof(doc)
            except Exception:  # InvalidInput (a damaged proof), or a bug
                continue
            if found is None:
                continue
            proof = proofs[id(doc)] = found
            key = (proof.anchor.chain_id, proof.anchor.contract.lower())
            if key in self.readers:
                wanted.setdefault(key, []).append(
                    (proof.anchor.issuer_account, proof.credential_hash,
                     tuple(proof.merkle_proof), proof.merkle_root))
        for key, reader in self.readers.items():
            try:
                reader.prefetch(wanted.get(key, ()))
            except Exception:  # chain failures are handled inside: this is a bug
                reader.prefetch(())  # so each file asks for itself, and reports the fault
        return proofs


def _fault(path: Path, exc: Exception) -> FileResult:
    return FileResult(path, None, "could not be verified (an internal error; please report "
                      f"it): {type(exc).__name__}: {exc}", FAULT)


def open_bulk_verifier(
    *,
    rpc_urls: Sequence[str],
    contract: str | None = None,
    chain_id: int | None = None,
    trust_list: str | Path | None = None,
    min_confirmations: int = 1,
    timeout: float = 10.0,
    chunk: int = CHUNK,
    resolver: DidResolver | None = None,
) -> BulkVerifier:
    """A bulk verifier trusting ``(chain_id, contract)`` and/or the trust-list file's entries.

    Each RPC URL is connected once and serves the trusted contracts of its chain; a trusted
    chain without a URL makes its credentials ERROR (not INVALID). Raises InvalidInput for
    contradictory arguments, ChainUnavailable when a node cannot be reached, ConfigError when a
    trusted contract has no code on its chain or the node serves another chain than
    ``chain_id``. ``resolver`` (DID -> DID document) is for the issuers' signatures; by default
    a DidDocumentResolver per process (did:key offline, did:web over HTTPS, each issuer's
    document fetched once per run and cached; unreachable: those credentials are ERROR).
    """
    entries: list[TrustedContract] = []
    if trust_list is not None:
        entries += list(TrustList.load(trust_list))
    if contract is not None:
        if chain_id is None:
            raise InvalidInput("--contract needs --chain-id: trust is for a (chain, contract) pair")
        entries.append(TrustedContract(int(chain_id), contract))
    elif chain_id is not None and trust_list is None:
        raise InvalidInput("--chain-id needs --contract (or give a --trust-list)")
    if not entries:
        raise InvalidInput("say what to trust: --contract ADDRESS --chain-id N, or --trust-list FILE")
    trust = TrustList(entries)
    if not rpc_urls:
        raise InvalidInput("give the RPC URL of the chain with --rpc")

    nodes: dict[int, Any] = {}
    for url in rpc_urls:
        expected = chain_id if (len(rpc_urls) == 1 and contract is not None) else None
        w3 = connect_rpc(url, expected_chain_id=expected, timeout=timeout)
        with chain_errors("reading the chain id"):
            node_chain = int(w3.eth.chain_id)
        if node_chain in nodes:
            raise InvalidInput(f"two --rpc URLs serve chain {node_chain}; give one")
        nodes[node_chain] = (w3, url)

    readers: dict[tuple[int, str], PrefetchingReader] = {}
    for entry in trust:
        if entry.chain_id not in nodes:
            continue
        w3, url = nodes[entry.chain_id]
        anchor = CredentialAnchor(w3, entry.contract)
        if not anchor.has_code():
            raise ConfigError(f"no contract at {entry.contract} on chain {entry.chain_id} "
                              f"({redact_url(url)})")
        chain = ChainReader(w3, anchor, Deployment(entry.chain_id, anchor.address, 0))
        reopen = functools.partial(_reopen, url, timeout, entry.chain_id, anchor.address)
        readers[(entry.chain_id, entry.contract.lower())] = PrefetchingReader(chain,
                                                                              reopen=reopen)
    if not readers:
        served = ", ".join(str(c) for c in nodes)
        raise InvalidInput(f"the --rpc node(s) serve chain {served}, but no trusted contract "
                           "is on that chain")

    def lookup(trusted: TrustedContract) -> PrefetchingReader:
        reader = readers.get((trusted.chain_id, trusted.contract.lower()))
        if reader is None:
            raise ChainUnavailable(f"no --rpc URL given for chain {trusted.chain_id}")
        return reader

    verifier = Verifier(trust, lookup, min_confirmations=min_confirmations, resolver=resolver)
    return BulkVerifier(verifier, readers, chunk=chunk)


def _reopen(url: str, timeout: float, chain_id: int, address: str) -> ChainReader:
    """A reader of ``address`` through a new connection to ``url``, checked already (chain
    id, code) when the verifier was opened: it sends nothing."""
    w3 = connect_rpc(url, expected_chain_id=None, timeout=timeout, check=False)
    anchor = CredentialAnchor(w3, address)
    return ChainReader(w3, anchor, Deployment(chain_id, anchor.address, 0))


# --- several processes ----------------------------------------------------------------------
# A signed file costs ~0.6-0.7 ms of CPU (parsing, RFC 8785 + keccak256, the RDFC-1.0
# canonical form and Ed25519 for the signature, the schema check) and the chain reads ~0.05 ms
# a file (batched), so a run scales with cores. What crosses between processes is kept small:
# a task is a list of paths, and a worker sends back what ``digest`` makes of each result (the
# CLI: the output lines, ready to print) — a whole FileResult pickles to ~1.4 KB and costs the
# parent ~0.35 ms a file to unpickle, more than half of what the worker spent verifying it.

#: Fewest files worth a task of their own (a worker costs ~50 ms to start and connect).
MIN_TASK = 100

_worker: BulkVerifier | BaseException | None = None
_digest: Callable[[FileResult], Any] | None = None
#: The verifier of the process that starts a pool, for the workers it forks: each takes it
#: over with every fact already read (see verify_files_in_processes).
_parent: BulkVerifier | None = None


def default_workers() -> int:
    """The CPUs this process may run on (``os.cpu_count()`` where affinity is unknown)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def workers_for(files: int, workers: int, min_task: int = MIN_TASK) -> int:
    """Processes worth using for ``files``: at most one per ``min_task`` files."""
    return max(1, min(workers, -(-files // min_task)))


def _init_worker(digest: Callable[[FileResult], Any]) -> None:
    global _worker, _digest
    # Ctrl-C reaches the whole process group; the parent answers it (it ends the pool and
    # says "interrupted"), the workers would each print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _digest = digest
    try:
        if _parent is None:
            raise RuntimeError("a bulk verification worker started without its parent's verifier")
        _parent.reconnect()
        _worker = _parent
    except BaseException as exc:  # handed to the parent by _work, not lost
        # Raising here would make the pool start a new worker for ever.
        _worker = exc


def _work(paths: list[Path]) -> list[Any]:
    if isinstance(_worker, BaseException):
        raise _worker
    assert _worker is not None and _digest is not None
    return [_digest(r) for r in _worker.verify_files(paths)]


def _same(result: FileResult) -> FileResult:
    return result


def verify_files_in_processes(paths: Sequence[Path], *, jobs: int, chunk: int = CHUNK,
                              digest: Callable[[FileResult], Any] = _same,
                              min_task: int = MIN_TASK, **options: Any) -> Iterator[Any]:
    """:meth:`BulkVerifier.verify_files` over ``jobs`` processes: ``digest(result)`` of
    every path, in input order (``digest`` runs in the worker; by default the FileResult).

    ``options`` are :func:`open_bulk_verifier`'s; it is called here first, so bad arguments
    or an unreachable node fail before any process starts (exit 3 or 4, no output). This
    process then verifies the first file itself, and forks the workers: each takes over
    its verifier with a new connection (no start-up requests), so the facts of that file's
    batch and issuer — the anchoring transaction, the issuer record, the DID document, a
    batch revocation — are read once per run rather than once per process (others once per
    process that meets them). The contract's ``verify`` is asked once per file, in JSON-RPC
    batches of up to 200. Tasks are about a quarter of a
    worker's share (from ``min_task`` to ``chunk`` files), so the workers finish together;
    ``jobs`` 1, or too few files for two tasks, verifies in this process.
    """
    bulk = open_bulk_verifier(chunk=chunk, **options)
    return _verify_in_processes(bulk, paths, jobs=jobs, chunk=chunk, digest=digest,
                                min_task=min_task)


def _verify_in_processes(bulk: BulkVerifier, paths: Sequence[Path], *, jobs: int, chunk: int,
                         digest: Callable[[FileResult], Any], min_task: int) -> Iterator[Any]:
    import multiprocessing

    global _parent
    jobs = workers_for(len(paths) - 1, jobs, min_task)
    if "fork" not in multiprocessing.get_all_start_methods():  # Windows: one process
        jobs = 1
    if jobs <= 1 or len(paths) <= 1:
        yield from map(digest, bulk.verify_files(paths))
        return
    yield from map(digest, bulk.verify_files(paths[:1]))
    rest = list(paths[1:])
    size = max(min_task, min(chunk, -(-len(rest) // (jobs * 4))))
    tasks = [rest[i:i + size] for i in range(0, len(rest), size)]
    # fork: workers start in milliseconds with this verifier in their memory; each opens
    # its own HTTP connection in _init_worker (sockets are never shared).
    context = multiprocessing.get_context("fork")
    _parent = bulk  # for as long as the pool may fork (it replaces a worker that dies)
    try:
        with context.Pool(jobs, initializer=_init_worker, initargs=(digest,)) as pool:
            # leaving early (an error, Ctrl-C, a closed pipe) terminates the workers
            for results in pool.imap(_work, tasks):
                yield from results
    finally:
        _parent = None


# --- batched calls ---------------------------------------------------------------------------
# web3's contract-call machinery spends ~3 ms a call encoding arguments and formatting results,
# more than the node spends executing it; the contract client (chain.contract) encodes these
# calls word by word (docs/proof-format.md section 8) and sends one JSON-RPC batch per
# ``VERIFY_BATCH`` calls.


def _can_batch(contract: CredentialAnchor) -> bool:
    return hasattr(contract.w3.provider, "make_batch_request")


def batched_verify(contract: CredentialAnchor, keys: Sequence[VerifyKey],
                   *, batch: int = VERIFY_BATCH) -> list[OnChainVerdict]:
    """The contract's ``verify(issuer, hash, proof, root)`` for every key, as the verifier's
    values (:meth:`CredentialAnchor.verify_many` sends them as JSON-RPC batches)."""
    return [to_verdict(r) for r in contract.verify_many(list(keys), batch=batch)]


def batched_revocations(contract: CredentialAnchor, credentials: Sequence[tuple[str, bytes]],
                        batches: Sequence[tuple[str, bytes]]
                        ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``credentialRevocation(issuer, hash)`` and ``batchRevocation(issuer, root)`` in
    batches, as :meth:`ChainReader.revocation_reason` words them (``{}`` when not revoked)."""
    return (
        [credential_revocation_detail(r) for r in contract.credential_revocations(credentials)],
        [batch_revocation_detail(r) for r in contract.batch_revocations(batches)],
    )
