"""Exactly-once anchoring and revocation: the durable state machine.

Every chain write (anchoring a batch root, revoking credentials, revoking a batch) is an
*operation* row that moves through

    queued ──sign+persist──▶ submitted ──receipt, N confirmations──▶ confirmed
      ▲                          │                                       │
      └──── nonce lost / tx reverted / anchor vanished (reorg) ◀─────────┘

and every step is written to the ledger before the next one starts:

* **seal** (credentials → batch, tree persisted) is one transaction;
* a signed transaction is persisted (:meth:`Store.record_attempt`) **before** broadcast, so a
  crash at any instant leaves either nothing on the wire or a transaction we know the hash of;
* on resume, a submitted operation looks up the receipts of all its attempts, re-broadcasts
  the newest one (same bytes, same hash: harmless if already known), replaces it with a bumped
  fee after ``tx_timeout``, and before ever signing anything new asks the contract whether the
  work is already done (``anchorOf(issuer, root)`` is set, the hashes are already revoked).

So a root is anchored at most once per issuer (the contract refuses a second ``anchor`` from
the same issuer; we never try when it is done) and at least once (nothing leaves
``queued``/``submitted`` except by confirmation). Anchors are keyed by (issuer, root) on chain,
so another issuer anchoring the same root — a copy of our pending transaction, front-running
it — neither blocks our anchor nor counts as ours.

An issuer suspended in the *ledger* (``credanchor issuer suspend``, with or without the admin
key) gets nothing sealed and nothing newly signed: its credentials stay pending and its queued
batches stay queued until it is reinstated. Without the admin key the contract still calls it
active, so this check is the only thing that stops its anchoring. A transaction signed before
the suspension is followed to its end (it is already on the wire), and its revocations still go
out (the contract lets a suspended issuer revoke; withdrawing a badge only reduces harm).

The :class:`Anchorer` is driven by ``credanchor worker`` (its own process) or by a thread in
``credanchor serve``. Only one may run per ledger and sender; :func:`worker_lock` enforces it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credanchor import faults
from credanchor.chain.gateway import ChainPort, Receipt
from credanchor.core.merkle import MerkleTree
from credanchor.errors import (
    ChainError,
    ChainUnavailable,
    ConfigError,
    CredanchorError,
)
from credanchor.ledger.store import Batch, Issuer, RevocationOp, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnchorPolicy:
    batch_size: int = 10_000
    batch_max: int = 1_000_000
    batch_max_age: float = 60.0
    confirmations: int = 1
    recheck_depth: int = 12
    tx_timeout: float = 120.0
    retry_delay: float = 2.0
    max_retry_delay: float = 300.0


@dataclass
class StepReport:
    sealed: list[int] = field(default_factory=list)
    submitted: list[tuple[str, int]] = field(default_factory=list)
    confirmed: list[tuple[str, int]] = field(default_factory=list)
    requeued: list[tuple[str, int]] = field(default_factory=list)
    #: Queued batches of issuers suspended in the ledger: left alone until reinstatement.
    held: list[tuple[str, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        return bool(self.sealed or self.submitted or self.confirmed or self.requeued)


def build_tree(hashes: list[bytes]) -> tuple[bytes, bytes]:
    tree = MerkleTree.from_credential_hashes(hashes)
    return tree.root, tree.nodes_blob()


SignerLookup = Callable[[Issuer], Any]


class Anchorer:
    """Drives batches and revocations to the chain. Not thread-safe: one per worker."""

    def __init__(
        self,
        store: Store,
        chain: ChainPort,
        signer_for: SignerLookup,
        policy: AnchorPolicy = AnchorPolicy(),
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.chain = chain
        self.signer_for = signer_for
        self.policy = policy
        self.clock = clock
        self._failures: dict[tuple[str, int], int] = {}

    # -- sealing ------------------------------------------------------------------------------

    def seal_due(self, *, force: bool = False, issuer_id: int | None = None) -> list[Batch]:
        """Seal batches for issuers whose backlog is big or old enough (or all, with force)."""
        sealed: list[Batch] = []
        now = self.clock()
        suspended = self.store.suspended_issuer_ids()
        for iid, count, oldest in self.store.issuers_with_pending():
            if issuer_id is not None and iid != issuer_id:
                continue
            if iid in suspended:  # its credentials stay pending until it is reinstated
                continue
            due = force or count >= self.policy.batch_size or (
                oldest is not None and now - oldest >= self.policy.batch_max_age
            )
            while due:
                batch = self.store.seal_batch(
                    iid, max_count=self.policy.batch_max, build_tree=build_tree
                )
                if batch is None:
                    break
                log.info("sealed batch %s: %s credentials, root 0x%s", batch.id, batch.count,
                         batch.root.hex())
                sealed.append(batch)
                count -= batch.count
                due = count > 0 and (force or count >= self.policy.batch_size)
        return sealed

    # -- one pass -----------------------------------------------------------------------------

    def step(self, *, force_seal: bool = False) -> StepReport:
        """One pass of the worker: seal what is due, then move every due operation forward."""
        report = StepReport()
        report.sealed = [b.id for b in self.seal_due(force=force_seal)]
        self.store.group_revocations()
        now = self.clock()
        for table in ("batches", "revocation_ops"):
            for op_id in self.store.due_ops(table, ("queued", "submitted"), now):
                try:
                    outcome = self.drive(table, op_id)
                except CredanchorError as exc:
                    # One operation's trouble (node down, fee cap, a missing issuer key) is
                    # recorded on it and retried with backoff; it never blocks the others.
                    self._retry(table, op_id, exc)
                    report.errors.append(f"{table} {op_id}: {exc}")
                    continue
                self._failures.pop((table, op_id), None)
                if outcome == "held":
                    report.held.append((table, op_id))
                elif outcome == "submitted":
                    report.submitted.append((table, op_id))
                elif outcome == "confirmed":
                    report.confirmed.append((table, op_id))
            try:
                report.requeued += [(table, i) for i in self.recheck(table)]
            except ChainUnavailable as exc:
                report.errors.append(f"recheck {table}: {exc}")
        return report

    def _retry(self, table: str, op_id: int, exc: CredanchorError) -> None:
        n = self._failures.get((table, op_id), 0) + 1
        self._failures[(table, op_id)] = n
        delay = min(self.policy.max_retry_delay, self.policy.retry_delay * 2 ** (n - 1))
        log.warning("%s %s: %s (retry in %.0fs)", table, op_id, exc, delay)
        self.store.mark_retry(table, op_id, f"{type(exc).__name__}: {exc}", delay=delay)

    def run(self, stop: threading.Event, *, interval: float = 1.0) -> None:
        """Loop until ``stop`` is set; never dies of a chain outage (it backs off instead)."""
        log.info("anchoring worker started (chain %s, contract %s)", self.chain.chain_id,
                 self.chain.contract_address)
        while not stop.is_set():
            try:
                report = self.step()
            except ChainUnavailable as exc:
                log.warning("chain unavailable: %s", exc)
                report = StepReport()
            except CredanchorError as exc:
                log.error("anchoring step failed: %s", exc)
                report = StepReport()
            if not report.busy:
                stop.wait(interval)
        log.info("anchoring worker stopped")

    def run_until_idle(self, *, timeout: float = 60.0, force_seal: bool = True) -> None:
        """Seal everything and drive it to confirmation (CLI ``--anchor``, tests).

        The work of issuers suspended in the ledger is held, not waited for: this returns
        when only held work is left (it stays pending and queued, and is logged).

        An operator asked for this now, typically after fixing what made an earlier attempt
        fail (funding the issuer): the back-off an earlier run or the background worker stored
        (up to ``max_retry_delay``) is cleared so every operation is tried at once. Failures
        during this run still back off; the background worker (:meth:`run`) never clears."""
        deadline = time.monotonic() + timeout
        for table in ("batches", "revocation_ops"):
            if waiting := self.store.retry_now(table):
                log.info("%s %s: retrying now instead of after their back-off", table, waiting)
        first = True
        errors: list[str] = []
        while True:
            report = self.step(force_seal=force_seal and first)
            first = False
            held_pending, held_batches = self.store.held_work()
            # Steps in which a backed-off operation was not due report no error: keep the
            # last failure, or a time-out would not say why ("fund the account").
            errors = report.errors or errors
            busy = (
                len(self.store.due_ops("batches", ("queued", "submitted"), float("inf")))
                > held_batches
                or self.store.due_ops("revocation_ops", ("queued", "submitted"), float("inf"))
                or self.store.pending_summary()[0] > held_pending
            )
            if not busy:
                if held_pending or held_batches:
                    log.warning("held for suspended issuers: %s pending credential(s), %s "
                                "queued batch(es); anchored once they are reinstated",
                                held_pending, held_batches)
                return
            if time.monotonic() > deadline:
                detail = "; ".join(errors[-3:]) or "operations still in flight"
                raise ChainError(f"anchoring did not finish within {timeout:.0f}s: {detail}")
            if not report.busy:
                self.chain.wait_a_moment()
            if self.store.pending_summary()[0] > held_pending:
                self.seal_due(force=True)

    # -- the state machine for one operation --------------------------------------------------

    def drive(self, table: str, op_id: int) -> str:
        """Move one operation forward as far as it can go now. Returns its status."""
        op = self.store.get_op(table, op_id)
        issuer = self.store.get_issuer(op.issuer_id)
        if op.status == "queued" and table == "batches" and not issuer.active:
            return "held"  # suspended in the ledger: nothing is signed until reinstatement
        if op.status == "queued":
            done = self._already_done(table, op, issuer)
            if done is not None:
                return self._on_receipt(table, op, issuer, done)
            self._sign_and_send(table, op, issuer)
            return "submitted"
        if op.status == "submitted":
            return self._follow(table, op, issuer)
        return op.status

    def _call_for(self, table: str, op: Batch | RevocationOp, issuer: Issuer) -> Any:
        if table == "batches":
            assert isinstance(op, Batch)
            return self.chain.build_anchor(op.root, op.count)
        assert isinstance(op, RevocationOp)
        targets = self.store.revocation_targets(op.id)
        if op.kind == "batch":
            return self.chain.build_revoke_batch(issuer.address, targets[0], op.reason)
        return self.chain.build_revoke_credentials(targets, op.reason)

    def _next_nonce(self, sender: str) -> int:
        chain_nonce = self.chain.nonce(sender, pending=True)
        ours = self.store.max_nonce(sender)
        # Our own persisted attempts may not have reached this node's mempool (restart, node
        # swap): never reuse a nonce we already signed for another operation.
        return max(chain_nonce, -1 if ours is None else ours + 1)

    def _sign_and_send(self, table: str, op: Batch | RevocationOp, issuer: Issuer) -> None:
        signer = self.signer_for(issuer)
        if signer.address.lower() != issuer.address.lower():
            raise ConfigError(
                f"the signing key for issuer {issuer.id} is {signer.address}, "
                f"not its registered address {issuer.address}"
            )
        call = self._call_for(table, op, issuer)
        nonce = self._next_nonce(signer.address)
        fees = self.chain.fees()
        signed = self.chain.sign(signer, call, nonce=nonce, fees=fees)
        faults.reach("submit:after-sign")
        self.store.record_attempt(table, op.id, signed, signer.address)
        faults.reach("submit:after-persist")
        self.chain.broadcast(signed.raw)
        faults.reach("submit:after-broadcast")
        log.info("%s %s: sent %s (nonce %s)", table, op.id, signed.hash, nonce)

    def _follow(self, table: str, op: Batch | RevocationOp, issuer: Issuer) -> str:
        attempts = self.store.attempts(table, op.id)
        if not attempts:  # a crash between the two writes of record_attempt cannot happen
            self.store.requeue(table, op.id, "submitted without a persisted transaction")
            return "queued"
        for attempt in reversed(attempts):
            receipt = self.chain.receipt(attempt.tx_hash)
            if receipt is not None:
                return self._on_receipt(table, op, issuer, receipt)
        newest = attempts[-1]
        if self.chain.nonce(newest.sender, pending=False) > newest.nonce:
            # Our nonce was used, but by none of our attempts' hashes we can see: either a
            # receipt is not visible yet, or something else took the nonce. Ask the contract.
            done = self._already_done(table, op, issuer)
            if done is not None:
                return self._on_receipt(table, op, issuer, done)
            self.store.requeue(table, op.id, f"nonce {newest.nonce} was used by another tx")
            return "queued"
        age = self.clock() - newest.created_at
        if age >= self.policy.tx_timeout:
            self._replace(table, op, issuer, newest)
        elif not self.chain.is_known(newest.tx_hash):
            self.chain.broadcast(newest.raw)  # the node lost it (restart) or never got it
        return "submitted"

    def _replace(self, table: str, op: Batch | RevocationOp, issuer: Issuer, stuck: Any) -> None:
        """Same nonce, higher fee (EIP-1559 replacement). FeeTooHigh propagates: the operator
        is told, the stuck transaction stays in flight, nothing is lost."""
        signer = self.signer_for(issuer)
        fees = self.chain.bump_fees(stuck.max_fee_per_gas, stuck.max_priority_fee_per_gas)
        signed = self.chain.sign(signer, self._call_for(table, op, issuer), nonce=stuck.nonce,
                                 fees=fees)
        self.store.record_attempt(table, op.id, signed, signer.address)
        self.chain.broadcast(signed.raw)
        log.warning("%s %s: replaced stuck %s with %s (max fee %s wei)", table, op.id,
                    stuck.tx_hash, signed.hash, fees.max_fee_per_gas)

    def _on_receipt(
        self, table: str, op: Batch | RevocationOp, issuer: Issuer, receipt: Receipt
    ) -> str:
        faults.reach("confirm:after-receipt")
        if not receipt.success:
            done = self._already_done(table, op, issuer)
            if done is None:
                self.store.requeue(table, op.id, f"transaction {receipt.tx_hash} reverted")
                return "queued"
            receipt = done
        if op.tx_hash != receipt.tx_hash or op.block_number != receipt.block_number:
            anchored_at = None
            if table == "batches":
                assert isinstance(op, Batch)
                on_chain = self.chain.anchor_of(issuer.address, op.root)
                anchored_at = on_chain.anchored_at if on_chain else None
            self.store.mark_mined(
                table, op.id, tx_hash=receipt.tx_hash, block_number=receipt.block_number,
                block_hash=receipt.block_hash, anchored_at=anchored_at,
            )
        depth = self.chain.head() - receipt.block_number + 1
        if depth < self.policy.confirmations:
            return "submitted"
        if not self._effect_present(table, op, issuer):
            self.store.requeue(table, op.id, "confirmed transaction no longer on chain")
            return "queued"
        self.store.mark_confirmed(table, op.id)
        faults.reach("confirm:after-commit")
        return "confirmed"

    def _effect_present(self, table: str, op: Batch | RevocationOp, issuer: Issuer) -> bool:
        """Does the chain hold this operation's effect now, under this issuer (whichever of our
        transactions put it there)? Another issuer's anchor of the same root is not ours and
        does not count: the contract records it under that issuer only."""
        if table == "batches":
            assert isinstance(op, Batch)
            return self.chain.anchor_of(issuer.address, op.root) is not None
        assert isinstance(op, RevocationOp)
        targets = self.store.revocation_targets(op.id)
        if op.kind == "batch":
            return self.chain.batch_revoked(issuer.address, targets[0])
        return self.chain.credentials_revoked(issuer.address, targets)

    def _already_done(
        self, table: str, op: Batch | RevocationOp, issuer: Issuer
    ) -> Receipt | None:
        """If the chain already holds this operation's effect, the receipt that put it there
        (found through the contract's events: we may never have seen our own receipt)."""
        if not self._effect_present(table, op, issuer):
            return None
        if table == "batches":
            assert isinstance(op, Batch)
            return self.chain.find_event_receipt("Anchored", root=op.root, issuer=issuer.address)
        targets = self.store.revocation_targets(op.id)
        if op.kind == "batch":
            return self.chain.find_event_receipt("BatchRevoked", root=targets[0],
                                                 issuer=issuer.address)
        # A bulk revocation skips hashes already revoked, so look for the newest event of any.
        found = [r for h in targets
                 if (r := self.chain.find_event_receipt(
                     "CredentialRevoked", issuer=issuer.address, credentialHash=h)) is not None]
        return max(found, key=lambda r: r.block_number) if found else None

    # -- reorg protection ---------------------------------------------------------------------

    def recheck(self, table: str) -> list[int]:
        """Confirmed operations still shallower than ``recheck_depth``: is their block still
        canonical? If not, they go back to queued and are done again."""
        head = self.chain.head()
        requeued = []
        for op in self._recent_confirmed(table, head):
            assert op.block_number is not None  # confirmed operations carry their block
            canonical = self.chain.block_hash(op.block_number)
            if canonical == op.block_hash:
                continue
            issuer = self.store.get_issuer(op.issuer_id)
            done = self._already_done(table, op, issuer)
            if done is not None:
                # Re-included elsewhere (same transaction in another block): follow it.
                self.store.mark_mined(
                    table, op.id, tx_hash=done.tx_hash, block_number=done.block_number,
                    block_hash=done.block_hash,
                    anchored_at=(self.chain.anchor_of(issuer.address, op.root).anchored_at  # type: ignore[union-attr]
                                 if isinstance(op, Batch) else None),
                )
                continue
            log.warning("%s %s: block %s was reorganised away; anchoring again", table, op.id,
                        op.block_number)
            self.store.requeue(table, op.id, f"block {op.block_number} reorganised away")
            requeued.append(op.id)
        return requeued

    def _recent_confirmed(self, table: str, head: int) -> Iterator[Batch | RevocationOp]:
        for op_id in self.store.recent_confirmed(table, head - self.policy.recheck_depth):
            yield self.store.get_op(table, op_id)


@contextmanager
def worker_lock(data_dir: Path) -> Iterator[None]:
    """Only one anchoring worker per ledger: two would race for nonces."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "worker.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ConfigError(
                f"another anchoring worker is running on {data_dir} (lock {path})"
            ) from exc
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)
