"""Issuing: from an issuer's input (JSON objects, a JSON array, a CSV file) to accepted, pending
credentials in the ledger; and from an anchored credential to the file its holder gets.

Input item (JSON), documented in docs/api.md::

    {"recipient": {"name": "Ada Lovelace", "email": "ada@example.org"},
     "achievement": {"name": "Excel modelling", "description": "…", "criteria": "…",
                     "criteriaUrl": "https://…", "image": "https://…",
                     "skills": [{"framework": "ESCO", "code": "S5.6.1", "name": "…",
                                 "url": "https://…"}]},
     "validFrom": "2026-01-01T00:00:00Z", "validUntil": null,
     "evidence": [{"id": "https://…", "name": "…", "narrative": "…"}],
     "clearIdentity": false}

A complete Open Badges 3.0 credential (an object with ``@context``) is accepted as well.
CSV columns are listed in :data:`CSV_COLUMNS` (see examples/badges.csv). Items become
credentials and ledger rows in credanchor.issuing.items (re-exported here: ``build_from_item``,
``parse_csv``, ``load_items``, ``CSV_COLUMNS``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from credanchor.core.credentials import IssuerProfile
from credanchor.core.hashing import canonicalize, credential_hash, keccak256, to_hex
from credanchor.core.merkle import MerkleTree
from credanchor.core.proof import AnchorRef, CredanchorProof, attach_proof
from credanchor.errors import Forbidden, InvalidInput, NotFound, PayloadTooLarge
from credanchor.issuing.items import (
    CSV_COLUMNS,
    Issuance,
    Row,
    as_issuance,
    build_from_item,
    build_rows_reporting,
    load_items,
    parse_csv,
    prepare_rows,
)
from credanchor.issuing.signing import StatusSlot, signature_id, status_allocator
from credanchor.ledger.store import Issuer, Store, StoredCredential


@dataclass(frozen=True)
class Accepted:
    id: str
    credential_hash: str
    status: str = "pending"

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "credentialHash": self.credential_hash, "status": self.status}


def _check_size(items: Sequence[Any], max_items: int) -> None:
    if len(items) > max_items:
        raise PayloadTooLarge(
            f"{len(items)} credentials in one request; the maximum is {max_items}",
            maximum=max_items,
        )
    if not items:
        raise InvalidInput("no credentials in the request")


def prepare(
    items: Sequence[Any], issuer: Issuance | IssuerProfile, *, max_items: int,
    slots: Sequence[StatusSlot] | None = None,
) -> list[tuple[str, bytes, str, int | None, int | None]]:
    """Build, sign and hash every item; any failure rejects the whole request (nothing
    stored). A signing issuer's items need their status ``slots``."""
    _check_size(items, max_items)
    # Simple-form items are schema-checked on a sample (valid by construction); complete
    # credentials one by one. See credanchor.issuing.items.
    return prepare_rows(items, issuer, slots)


#: Makes a file's rows: (items, issuance, refused, *, slots) -> rows, as build_rows_reporting.
RowBuilder = Callable[..., Iterator[Row]]


def _slots(store: Store, issuance: Issuance, count: int) -> list[StatusSlot] | None:
    """Status list slots for ``count`` new credentials; call inside the write transaction."""
    allocator = status_allocator(store, issuance)
    return None if allocator is None else allocator.take(count)


def _require_active(issuer: Issuer) -> None:
    """A suspended issuer issues nothing, through any face (its held work stays held)."""
    if not issuer.active:
        raise Forbidden(f"issuer {issuer.id} ({issuer.name}) is suspended: reinstate it first "
                        "(credanchor issuer reactivate)")


def issue(
    store: Store,
    issuer: Issuer,
    profile: Issuance | IssuerProfile,
    items: Sequence[Any],
    *,
    max_items: int,
    idempotency_key: str | None = None,
) -> list[Accepted]:
    """Accept credentials for ``issuer`` as pending. Atomic, and idempotent per key.

    ``profile`` is the issuer's :class:`Issuance` (signing key, status lists); a bare profile
    issues unsigned. The credentials are built and signed inside the write transaction, after
    their status list slots are allocated in it, so no two requests can take the same slot.
    A bad item refuses the whole request, and the error lists every bad item
    (``extra["refused"]``, ``extra["refusedCount"]``: :func:`_list_every_refusal`)."""
    _require_active(issuer)
    issuance = as_issuance(profile)
    request_hash = None
    if idempotency_key:
        request_hash = to_hex(keccak256(canonicalize(list(items))))
        previous = store.idempotent_response(issuer.id, idempotency_key, request_hash)
        if previous is not None:
            return [Accepted(**p) for p in previous]
    _check_size(items, max_items)
    try:
        with store.transaction():
            if idempotency_key and request_hash:
                # Re-check under the write lock: two retries racing must not both insert.
                previous = store.idempotent_response(issuer.id, idempotency_key, request_hash)
                if previous is not None:
                    return [Accepted(**p) for p in previous]
            rows = prepare(items, issuance, max_items=max_items,
                           slots=_slots(store, issuance, len(items)))
            accepted = [Accepted(row[0], to_hex(row[1])) for row in rows]
            store.add_credentials(issuer.id, rows)
            if idempotency_key and request_hash:
                store.save_idempotent_response(
                    issuer.id, idempotency_key, request_hash,
                    [{"id": a.id, "credential_hash": a.credential_hash} for a in accepted],
                )
    except InvalidInput as exc:
        # Rolled back and the write lock released: the other items are looked at after.
        _list_every_refusal(exc, items, issuance)
        raise
    return accepted


#: At most this many refused items are listed by :func:`issue` and :func:`issue_all` (their
#: count covers all).
MAX_REFUSALS_LISTED = 50


class _Refusals:
    """The ``refused(index, detail)`` callback of :func:`build_rows_reporting`: counts the
    refused items and keeps the first :data:`MAX_REFUSALS_LISTED` details (``progress``, if
    given, is told of each)."""

    def __init__(self, progress: Callable[[int], None] | None = None) -> None:
        self.count = 0
        self.listed: list[str] = []
        self._progress = progress

    def __call__(self, index: int, detail: str) -> None:
        self.count += 1
        if len(self.listed) < MAX_REFUSALS_LISTED:
            self.listed.append(detail)
        if self._progress is not None:
            self._progress(1)


def _list_every_refusal(exc: InvalidInput, items: Sequence[Any], issuance: Issuance) -> None:
    """Give a refused request's error every bad item, not only the first it stopped at.

    ``exc`` keeps its type, status and detail (the first bad item) and gains
    ``extra["refused"]`` (the first :data:`MAX_REFUSALS_LISTED` details, ``$[i]: …`` each, as
    :func:`issue_all` lists them) and ``extra["refusedCount"]``; when there are more than one,
    the detail says how many. The other items are only built again, not signed (~15 µs each).
    """
    if "refused" in exc.extra:
        return
    found = _Refusals()
    if len(items) > 1:
        for _ in build_rows_reporting(items, issuance, found, sign=False):
            pass
    refused, count = found.listed, found.count
    if count == 0:  # refused after building (signing, hashing): the error names it alone
        refused, count = [exc.detail], 1
    exc.extra.update(refused=refused, refusedCount=count)
    if count > 1:
        exc.detail = (f"{exc.detail} ({count} of {len(items)} items refused, listed in "
                      "'refused'; nothing was issued)")
        exc.args = (exc.detail,)


def issue_all(
    store: Store,
    issuer: Issuer,
    profile: Issuance | IssuerProfile,
    items: Sequence[Any],
    *,
    progress: Callable[[int], None] | None = None,
    build: RowBuilder | None = None,
) -> list[Accepted]:
    """Accept every item of a file as pending, all or nothing, in one transaction.

    Like :func:`issue` (one API request), every item is checked, so a file's author learns
    about all its bad items at once; unlike it, the good ones are signed as they go. If any
    is refused, nothing is stored and InvalidInput says how many, with ``extra["refused"]``
    listing the first :data:`MAX_REFUSALS_LISTED` details, each naming its item (``$[i]: …``).
    ``progress`` is called with the number of items checked. ``build`` makes the rows:
    :func:`build_rows_reporting` in this process by default; credanchor.issuing.bulk.
    rows_reporting spreads the same work over processes (what ``credanchor issue`` uses).
    """
    _require_active(issuer)
    if not items:
        raise InvalidInput("no credentials in the file")
    refused = _Refusals(progress)
    accepted: list[Accepted] = []
    issuance = as_issuance(profile)

    def rows() -> Iterator[tuple[str, bytes, str, int | None, int | None]]:
        # Runs inside add_credentials' write transaction: the slots cannot be taken meanwhile.
        slots = _slots(store, issuance, len(items))
        for row in (build or build_rows_reporting)(items, issuance, refused, slots=slots):
            if progress is not None:
                progress(1)
            if refused.count:  # nothing will be stored; go on only to find every bad item
                continue
            accepted.append(Accepted(row[0], to_hex(row[1])))
            yield row
        if refused.count:  # raised inside the transaction, so it is rolled back
            count, listed = refused.count, refused.listed
            more = "" if count <= len(listed) else f" (the first {len(listed)} listed)"
            raise InvalidInput(f"{count} of {len(items)} item(s) refused; nothing was issued"
                               + more, refused=listed, refusedCount=count)

    store.add_credentials(issuer.id, rows())
    return accepted


# -- the holder's file ------------------------------------------------------------------------


class ProofBuilder:
    """Makes holder files for anchored credentials; caches each batch's tree once."""

    def __init__(self, store: Store, chain_id: int, contract: str) -> None:
        self.store = store
        self.chain_id = chain_id
        self.contract = contract
        self._trees: dict[int, MerkleTree] = {}
        self._accounts: dict[int, str] = {}  # issuer id -> the address its batches anchor from

    def tree(self, batch_id: int) -> MerkleTree:
        if batch_id not in self._trees:
            # Keep only the latest tree: files are written batch by batch, and a 1M-leaf
            # tree is ~64 MB; holding every batch's tree would grow without bound.
            hashes = self.store.batch_credential_hashes(batch_id)
            self._trees = {batch_id: MerkleTree.from_nodes_blob(
                self.store.batch_tree(batch_id), hashes, verify=False)}
        return self._trees[batch_id]

    def credential_file(self, cred: StoredCredential) -> dict[str, Any]:
        """The credential with its proof. NotFound unless its batch is confirmed."""
        if cred.batch_id is None or cred.status != "anchored":
            raise NotFound(f"credential {cred.id} is {cred.status}, not anchored yet",
                           status_now=cred.status)
        batch = self.store.get_batch(cred.batch_id)
        tree = self.tree(batch.id)
        document = json.loads(cred.document)
        assert batch.tx_hash and batch.block_number is not None and batch.anchored_at
        proof = CredanchorProof(
            credential_hash=cred.credential_hash,
            merkle_root=batch.root,
            merkle_proof=tuple(tree.proof(cred.credential_hash)),
            anchor=AnchorRef(
                chain_id=self.chain_id,
                contract=self.contract,
                transaction_hash=batch.tx_hash,
                block_number=batch.block_number,
                anchored_at=datetime.fromtimestamp(batch.anchored_at, UTC),
                issuer_account=self._account(batch.issuer_id),
            ),
            created=datetime.fromtimestamp(batch.confirmed_at or batch.anchored_at, UTC),
            previous_proof=signature_id(document),
        )
        return attach_proof(document, proof)

    def _account(self, issuer_id: int) -> str:
        if issuer_id not in self._accounts:
            self._accounts[issuer_id] = self.store.get_issuer(issuer_id).address
        return self._accounts[issuer_id]

    def files(self, creds: Iterable[StoredCredential]) -> Iterator[dict[str, Any]]:
        for c in creds:
            yield self.credential_file(c)


def recompute_hash(document: str) -> bytes:
    """Hash of a stored canonical document (audits re-derive it from the stored bytes)."""
    return keccak256(document.encode("utf-8"))


__all__ = [
    "CSV_COLUMNS",
    "Accepted",
    "ProofBuilder",
    "build_from_item",
    "credential_hash",
    "issue",
    "issue_all",
    "load_items",
    "parse_csv",
    "prepare",
]
