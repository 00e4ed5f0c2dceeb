"""Bulk issuance: many simple-form items → pending credentials in the ledger, streamed in chunks.

Rows are built by credanchor.issuing.items (:func:`build_rows`, which schema-checks a sample
of the simple-form items: see there), as for one request; this module only streams them in
chunks, optionally through a process pool. ``build_rows``, ``build_rows_reporting``,
``prepare_rows``, ``CHUNK`` and ``SAMPLE_EVERY`` are re-exported from there.

Stages per chunk: build → canonicalise (RFC 8785) → keccak256, then one ``executemany`` into the
ledger inside a single transaction for the whole call (all or nothing, like
:meth:`Store.add_credentials`, which it uses). With ``workers > 1`` the first three stages run in
a process pool that returns only ids, hashes and canonical bytes (one joined blob per chunk,
cheap to pickle) while this process writes the previous chunk; memory stays bounded by a few
chunks whatever the number of items.

:func:`rows_reporting` is the same pool for a whole file that must report every bad item
(credanchor.issuing.pipeline.issue_all, so ``credanchor issue FILE``): each worker builds its
chunk with ``build_rows_reporting`` and sends back its refusals with its rows.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from credanchor.core.credentials import IssuerProfile
from credanchor.issuing.items import (
    CHUNK,
    SAMPLE_EVERY,
    Issuance,
    Row,
    StatusSlot,
    as_issuance,
    build_rows,
    build_rows_reporting,
    prepare_rows,
)
from credanchor.issuing.signing import status_allocator

__all__ = [
    "CHUNK",
    "SAMPLE_EVERY",
    "BulkResult",
    "build_rows",
    "build_rows_reporting",
    "default_workers",
    "issue_bulk",
    "prepare_rows",
    "rows_reporting",
]

#: SQLite page cache while a bulk insert runs, in KiB.
CACHE_KIB = 256 * 1024


@dataclass(frozen=True)
class BulkResult:
    count: int
    #: The credential hashes in input order, joined (32 bytes each): the Merkle tree's input.
    hashes: bytes


# -- the process pool ---------------------------------------------------------------------------

_worker_issuance: Issuance | None = None

Slots = list[tuple[int, int]] | None
Job = tuple[list[Any], int, Slots]
Packed = tuple[list[str], bytes, bytes, list[int], Slots]


def _init_worker(issuance: Issuance) -> None:
    global _worker_issuance
    _worker_issuance = issuance
    gc.disable()  # short-lived dicts only; the cyclic GC costs ~40 % of the build at this rate


def _pack(rows: Sequence[Row]) -> Packed:
    """Rows as a few flat values, cheap to pickle: ids, joined hashes, one blob of documents
    with their lengths, and the status slots."""
    docs = [r[2].encode("utf-8") for r in rows]
    slots: Slots = None
    if rows and rows[0][3] is not None:
        slots = [(int(r[3]), int(r[4])) for r in rows]  # type: ignore[arg-type]
    return [r[0] for r in rows], b"".join(r[1] for r in rows), b"".join(docs), \
        [len(d) for d in docs], slots


def _work(args: Job) -> Packed:
    items, start, slots = args
    assert _worker_issuance is not None
    return _pack(build_rows(items, _worker_issuance, start=start, slots=slots))


def _work_reporting(args: tuple[list[Any], int, Slots, int]) -> tuple[Packed, list[tuple[int, str]]]:
    items, start, slots, total = args
    assert _worker_issuance is not None
    refused: list[tuple[int, str]] = []
    rows = list(build_rows_reporting(items, _worker_issuance,
                                     lambda i, detail: refused.append((i, detail)),
                                     slots=slots, start=start, total=total))
    return _pack(rows), refused


def _unpack(result: Packed) -> Iterator[Row]:
    ids, hashes, blob, lengths, slots = result
    off = 0
    for n, (cid, ln) in enumerate(zip(ids, lengths, strict=True)):
        list_no, index = slots[n] if slots is not None else (None, None)
        yield (cid, hashes[32 * n : 32 * n + 32], blob[off : off + ln].decode("utf-8"),
               list_no, index)
        off += ln


def _chunks(items: Iterable[Any], size: int, allocate: Any) -> Iterator[Job]:
    """Chunks of items with their status slots, allocated as each chunk is cut (inside the
    write transaction, by one allocator for the whole run)."""
    it = iter(items)
    start = 0
    while chunk := list(islice(it, size)):
        yield chunk, start, allocate(len(chunk))
        start += len(chunk)


def _in_pool(
    jobs: Iterable[Any], issuance: Issuance, workers: int, work: Callable[[Any], Any]
) -> Iterator[Any]:
    """``work(job)`` for every job, in a pool of forked workers, the results in job order."""
    # fork: the parent's imported modules are shared copy-on-write, so workers start at once.
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(issuance,)) as pool:
        pending: list[Future[Any]] = []
        try:
            # Keep two chunks per worker in flight: enough to never starve, bounded memory.
            for job in jobs:
                pending.append(pool.submit(work, job))
                if len(pending) >= 2 * workers:
                    yield pending.pop(0).result()
            while pending:
                yield pending.pop(0).result()
        finally:
            for f in pending:
                f.cancel()


def _rows_parallel(
    items: Iterable[Any], issuance: Issuance, workers: int, chunk: int, allocate: Any
) -> Iterator[Row]:
    for result in _in_pool(_chunks(items, chunk, allocate), issuance, workers, _work):
        yield from _unpack(result)


def default_workers() -> int:
    """The number of CPUs this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def rows_reporting(
    items: Sequence[Any], issuer: Issuance | IssuerProfile, refused: Callable[[int, str], None],
    *, slots: Sequence[StatusSlot] | None = None, workers: int | None = None,
    chunk: int = CHUNK,
) -> Iterator[Row]:
    """``build_rows_reporting(items, issuer, refused, slots=slots)`` spread over ``workers``
    processes (default: one per CPU), chunk by chunk: the same rows in the same order, the
    same refusals (``refused`` is called in this process, in item order, before the rows of
    the chunk they belong to), the same schema sample. Every proof carries one creation time.
    """
    issuance = as_issuance(issuer)
    workers = default_workers() if workers is None else workers
    if workers <= 1 or len(items) <= chunk:
        yield from build_rows_reporting(items, issuance, refused, slots=slots)
        return
    if issuance.signs and issuance.created is None:
        # One creation time for the whole file, as one process would give it.
        issuance = replace(issuance, created=datetime.now(UTC))
    total = len(items)
    jobs = (
        (list(items[start : start + chunk]), start,
         None if slots is None else list(slots[start : start + chunk]), total)
        for start in range(0, total, chunk)
    )
    for packed, chunk_refused in _in_pool(jobs, issuance, workers, _work_reporting):
        for index, detail in chunk_refused:
            refused(index, detail)
        yield from _unpack(packed)


def _rows_serial(
    items: Iterable[Any], issuance: Issuance, chunk: int, allocate: Any
) -> Iterator[Row]:
    for part, start, slots in _chunks(items, chunk, allocate):
        yield from build_rows(part, issuance, start=start, slots=slots)


def issue_bulk(
    store: Any,
    issuer_id: int,
    profile: Issuance | IssuerProfile,
    items: Iterable[Any],
    *,
    workers: int | None = None,
    chunk: int = CHUNK,
) -> BulkResult:
    """Accept every item for ``issuer_id`` as pending, atomically; return the hashes in order.

    ``workers`` defaults to the number of usable CPUs (1 means no pool). Nothing is stored if
    any item fails (the write transaction is rolled back).
    """
    if workers is None:
        workers = default_workers()
    issuance = as_issuance(profile)
    hashes = bytearray()

    def tee() -> Iterator[Row]:
        # Runs inside add_credentials' write transaction, so the allocator's view of the used
        # slots cannot change under it.
        allocator = status_allocator(store, issuance)

        def allocate(n: int) -> Slots:
            return None if allocator is None else allocator.take(n)

        rows = (
            _rows_parallel(items, issuance, workers, chunk, allocate)
            if workers > 1
            else _rows_serial(items, issuance, chunk, allocate)
        )
        for row in rows:
            hashes.extend(row[1])
            yield row

    # Every object made here is acyclic and short-lived; a full collection walks the whole heap
    # (web3 and friends: ~1M objects) and would run dozens of times per million credentials.
    was_enabled = gc.isenabled()
    gc.disable()
    # A bigger page cache for this call only: the two unique indexes (id, hash) take random
    # inserts, and SQLite's default 2 MB cache makes each one re-read its path (7.5 → 4.7 µs a
    # row at 200,000 rows, measured).
    conn = store.conn
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = {-CACHE_KIB}")
    try:
        count = store.add_credentials(issuer_id, tee(), chunk=chunk)
    finally:
        conn.execute(f"PRAGMA cache_size = {int(cache)}")
        if was_enabled:
            gc.enable()
    return BulkResult(count, bytes(hashes))
