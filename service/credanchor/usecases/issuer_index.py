"""The chain's issuer list (``GET /api/v1/issuers``), kept incrementally instead of replayed.

The contract cannot enumerate its issuers: the list is every address an issuer event names since
deployment, each with its current ``issuerInfo`` record. Replaying every event on each request
cost O(chain length) RPC calls on a public, unauthenticated endpoint. Instead the ledger keeps
an index (:meth:`Store.update_issuer_index`: the records, and a cursor holding the last block
scanned and its hash), and a refresh

1. reads the head, and checks that the cursor's block is still canonical (2 calls; nothing more
   when no block came since);
2. scans only the blocks after the cursor for issuer events (the head again and one
   ``eth_getLogs`` per 2,000 blocks, plus the new head's hash);
3. re-reads ``issuerInfo`` of the issuers those events name: new events only.

So a request costs a bounded number of calls however long the chain is, and none at all within
``verify_cache_ttl`` seconds of the last refresh (a suspension shows within that time). Reading
the record from the contract, rather than folding the events into one, keeps the record exactly
what the contract says, whatever event announced the change. If the cursor's block is no longer
canonical (a reorganisation below it), the index is rebuilt from the deployment block.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from credanchor.chain.contract import IssuerInfo
from credanchor.chain.gateway import ChainReader
from credanchor.ledger.store import Store

log = logging.getLogger(__name__)

#: Events that change an issuer's record; each names it in its indexed ``issuer`` argument.
#: A new kind of issuer event is one more name here.
ISSUER_EVENTS: tuple[str, ...] = ("IssuerAccredited", "IssuerReactivated",
                                   "IssuerProfileUpdated", "IssuerSuspended")


def public_record(info: IssuerInfo) -> dict[str, Any]:
    """One entry of ``GET /api/v1/issuers`` (docs/api.md): the contract's record."""
    return {"address": info.address, "name": info.name, "profileURI": info.profile_uri,
            "did": info.did, "active": info.active, "accreditedAt": info.accredited_at or None,
            "suspendedAt": info.suspended_at or None}


class IssuerIndex:
    """One per process. ``store`` returns this thread's ledger connection."""

    def __init__(self, chain: ChainReader, store: Callable[[], Store], *, ttl: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.chain = chain
        self.store = store
        self.ttl = ttl
        self.clock = clock
        # One refresh at a time: concurrent requests wait for it rather than each paying.
        self._lock = threading.Lock()
        self._cached: list[dict[str, Any]] | None = None
        self._fresh_until = 0.0

    def issuers(self) -> list[dict[str, Any]]:
        """The list, refreshed from the chain when older than the TTL. ChainUnavailable if the
        node cannot be reached then: a stale list could show a suspended issuer as active."""
        with self._lock:
            if self._cached is None or self.clock() >= self._fresh_until:
                self.refresh()
                self._cached = self.store().indexed_issuers(self.chain.chain_id,
                                                            self.chain.contract_address)
                self._fresh_until = self.clock() + self.ttl
            return [dict(record) for record in self._cached]

    def refresh(self) -> None:
        """Bring the ledger's index up to the chain's head."""
        chain, store = self.chain, self.store()
        key = (chain.chain_id, chain.contract_address)
        head = chain.head()
        cursor = store.issuer_index_cursor(*key)
        start, rebuild = chain.deploy_block, cursor is None
        if cursor is not None:
            block, block_hash = cursor
            if block <= head and chain.block_hash(block) == block_hash:
                if block == head:
                    return
                start = block + 1
            else:
                log.warning("block %s, the last the issuer index saw, is no longer on the "
                            "chain; rebuilding the index from block %s", block, start)
                rebuild = True
        head_hash = chain.block_hash(head)
        if head_hash is None:  # reorganised away since we read it: next time
            return
        first_seen: dict[str, tuple[int, int]] = {}
        for event in chain.contract.events(from_block=start, to_block=head, names=ISSUER_EVENTS):
            first_seen.setdefault(event.args["issuer"], (event.block_number, event.log_index))
        records = {address: public_record(chain.contract.issuer_info(address))
                   for address in first_seen}
        store.update_issuer_index(*key, records, first_seen, cursor=(head, head_hash),
                                  rebuild=rebuild)
