"""Issuing and anchoring: the use cases behind ``credanchor issue`` and ``anchor`` and
``POST /api/v1/credentials`` (``status`` is :mod:`credanchor.usecases.status`).

The faces parse (a file, a request body) and render; what is stored, woken and waited for is
decided here once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from credanchor.issuing.bulk import rows_reporting
from credanchor.issuing.holder_files import write_holder_files as _write_holder_files
from credanchor.issuing.pipeline import Accepted, issue, issue_all
from credanchor.ledger.store import Issuer

if TYPE_CHECKING:
    from credanchor.usecases.container import Runtime


def issue_request(runtime: Runtime, issuer: Issuer, items: Sequence[Any], *,
                  idempotency_key: str | None = None) -> list[Accepted]:
    """One API request's items, accepted as pending (at most the configured number per
    request, idempotent per key); the worker is woken to batch them."""
    accepted = issue(runtime.store(), issuer, runtime.issuance(issuer), items,
                     max_items=runtime.settings.max_credentials_per_request,
                     idempotency_key=idempotency_key)
    runtime.wake_worker()
    return accepted


def issue_file(runtime: Runtime, issuer: Issuer, items: Sequence[Any], *,
               progress: Callable[[int], None] | None = None,
               workers: int | None = None) -> list[Accepted]:
    """Every item of a file accepted as pending, all or nothing, every item checked
    (:func:`credanchor.issuing.pipeline.issue_all`: InvalidInput with ``extra["refused"]``
    naming each bad item). Files of more than one chunk are built by ``workers`` processes
    (default: one per CPU; 1: this process only), credanchor.issuing.bulk.rows_reporting."""
    accepted = issue_all(runtime.store(), issuer, runtime.issuance(issuer), items,
                         progress=progress,
                         build=functools.partial(rows_reporting, workers=workers))
    runtime.wake_worker()
    return accepted


def anchor_pending(runtime: Runtime, *, timeout: float) -> int:
    """Seal everything pending, anchor it and wait until it is confirmed (failed operations
    are tried again at once); return how many credentials are still pending."""
    runtime.anchorer().run_until_idle(timeout=timeout)
    pending, _ = runtime.store().pending_summary()
    return pending


def write_holder_files(runtime: Runtime, ids: Iterable[str], out: Path) -> int:
    """The holder files of anchored credentials ``ids`` written into ``out``; how many."""
    return _write_holder_files(runtime.store(), runtime.proofs(), ids, out)


__all__ = ["anchor_pending", "issue_file", "issue_request", "write_holder_files"]
