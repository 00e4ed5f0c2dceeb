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
CSV columns are listed in :data:`CSV_COLUMNS` (see examples/badges.csv).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from credanchor.core.credentials import (
    AchievementSpec,
    Alignment,
    Evidence,
    IssuerProfile,
    Recipient,
    accept_credential,
    build_credential,
    parse_datetime,
    validate_credential,
)
from credanchor.core.hashing import canonicalize, credential_hash, keccak256, to_hex
from credanchor.core.merkle import MerkleTree
from credanchor.core.proof import AnchorRef, CredanchorProof, attach_proof
from credanchor.errors import Forbidden, InvalidInput, NotFound, PayloadTooLarge
from credanchor.ledger.store import Issuer, Store, StoredCredential

CSV_COLUMNS = (
    "recipient_name",
    "recipient_email",
    "recipient_id",
    "achievement_name",
    "achievement_description",
    "criteria",
    "criteria_url",
    "image_url",
    "skills",
    "valid_from",
    "valid_until",
    "evidence_url",
)
CSV_REQUIRED = ("achievement_name", "achievement_description")


@dataclass(frozen=True)
class Accepted:
    id: str
    credential_hash: str
    status: str = "pending"

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "credentialHash": self.credential_hash, "status": self.status}


def _parse_time(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return parse_datetime(str(value), lenient=True)
    except ValueError as exc:
        raise InvalidInput(f"{where}: {exc}") from exc


def _text(obj: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{where}.{key} is required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{where}.{key} must be a string")
    return value.strip()


def build_from_item(
    item: Any, profile: IssuerProfile, where: str = "$", *, validate: bool = True
) -> dict[str, Any]:
    """One input item (simple form or complete OB 3.0 credential) → a validated credential.

    ``validate=False`` skips the schema check of a *simple-form* item's credential (valid by
    construction; credanchor.issuing.bulk checks a sample instead). A complete credential is always
    validated."""
    if not isinstance(item, Mapping):
        raise InvalidInput(f"{where} must be a JSON object")
    if "@context" in item:
        return accept_credential(item, issuer=profile)
    unknown = set(item) - {"recipient", "achievement", "validFrom", "validUntil", "evidence",
                           "clearIdentity"}
    if unknown:
        raise InvalidInput(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    rec = item.get("recipient") or {}
    ach = item.get("achievement")
    if not isinstance(rec, Mapping):
        raise InvalidInput(f"{where}.recipient must be an object")
    if not isinstance(ach, Mapping):
        raise InvalidInput(f"{where}.achievement is required and must be an object")
    skills = ach.get("skills") or []
    if not isinstance(skills, list):
        raise InvalidInput(f"{where}.achievement.skills must be a list")
    alignments = []
    for i, s in enumerate(skills):
        w = f"{where}.achievement.skills[{i}]"
        if not isinstance(s, Mapping):
            raise InvalidInput(f"{w} must be an object")
        alignments.append(Alignment(
            target_name=_text(s, "name", w, required=True) or "",
            target_url=_text(s, "url", w, required=True) or "",
            target_code=_text(s, "code", w),
            target_framework=_text(s, "framework", w),
        ))
    evidence = []
    for i, e in enumerate(item.get("evidence") or []):
        w = f"{where}.evidence[{i}]"
        if not isinstance(e, Mapping):
            raise InvalidInput(f"{w} must be an object")
        evidence.append(Evidence(id=_text(e, "id", w), name=_text(e, "name", w),
                                 narrative=_text(e, "narrative", w)))
    try:  # Recipient validates itself; say which item of the request it was
        recipient = Recipient(
            name=_text(rec, "name", f"{where}.recipient"),
            email=_text(rec, "email", f"{where}.recipient"),
            identifier=_text(rec, "identifier", f"{where}.recipient"),
        )
    except InvalidInput as exc:
        if exc.detail.startswith(where):
            raise
        raise InvalidInput(f"{where}.recipient: {exc.detail}") from exc
    achievement = AchievementSpec(
        name=_text(ach, "name", f"{where}.achievement", required=True) or "",
        description=_text(ach, "description", f"{where}.achievement", required=True) or "",
        criteria_narrative=_text(ach, "criteria", f"{where}.achievement"),
        criteria_url=_text(ach, "criteriaUrl", f"{where}.achievement"),
        image_url=_text(ach, "image", f"{where}.achievement"),
        alignments=tuple(alignments),
        achievement_id=_text(ach, "id", f"{where}.achievement"),
    )
    valid_from = _parse_time(item.get("validFrom"), f"{where}.validFrom")
    valid_until = _parse_time(item.get("validUntil"), f"{where}.validUntil")
    if valid_from and valid_until and valid_until <= valid_from:
        raise InvalidInput(f"{where}.validUntil must be after validFrom")
    credential = build_credential(
        issuer=profile, recipient=recipient, achievement=achievement, valid_from=valid_from,
        valid_until=valid_until, evidence=evidence, clear_identity=bool(item.get("clearIdentity")),
    )
    if validate:
        validate_credential(credential)
    return credential


def parse_csv(data: bytes | str) -> list[dict[str, Any]]:
    """CSV rows → simple input items. Row numbers in errors count the header as row 1."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"the CSV file is not valid UTF-8 (byte {exc.start})") from exc
    reader = csv.DictReader(io.StringIO(data, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise InvalidInput(f"CSV header lacks column(s): {', '.join(missing)}")
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise InvalidInput(f"CSV header has unknown column(s): {', '.join(unknown)}")
    items = []
    try:
        for n, row in enumerate(reader, start=2):
            if None in row:
                raise InvalidInput(f"CSV row {n} has more fields than the header")
            items.append(_csv_item({k.strip(): (v or "").strip() for k, v in row.items()}, n))
    except csv.Error as exc:
        raise InvalidInput(f"malformed CSV: {exc}") from exc
    if not items:
        raise InvalidInput("the CSV file has no rows")
    return items


def _csv_item(row: Mapping[str, str], n: int) -> dict[str, Any]:
    skills = []
    for part in filter(None, (p.strip() for p in row.get("skills", "").split("|"))):
        # framework:code:name:url — the url may itself contain ':'
        bits = part.split(":", 3)
        if len(bits) != 4:
            raise InvalidInput(
                f"CSV row {n}: skill {part!r} must be framework:code:name:url (e.g. "
                "ESCO:S5.6.1:use spreadsheets software:http://data.europa.eu/esco/skill/…)"
            )
        skills.append({"framework": bits[0], "code": bits[1], "name": bits[2], "url": bits[3]})
    item: dict[str, Any] = {
        "recipient": {k: v for k, v in (("name", row.get("recipient_name")),
                                        ("email", row.get("recipient_email")),
                                        ("identifier", row.get("recipient_id"))) if v},
        "achievement": {k: v for k, v in (("name", row.get("achievement_name")),
                                          ("description", row.get("achievement_description")),
                                          ("criteria", row.get("criteria")),
                                          ("criteriaUrl", row.get("criteria_url")),
                                          ("image", row.get("image_url"))) if v},
    }
    if skills:
        item["achievement"]["skills"] = skills
    for key, col in (("validFrom", "valid_from"), ("validUntil", "valid_until")):
        if row.get(col):
            item[key] = row[col]
    if row.get("evidence_url"):
        item["evidence"] = [{"id": row["evidence_url"]}]
    return item


def prepare(
    items: Sequence[Any], profile: IssuerProfile, *, max_items: int
) -> list[tuple[str, bytes, str]]:
    """Build and hash every item; any failure rejects the whole request (nothing stored)."""
    if len(items) > max_items:
        raise PayloadTooLarge(
            f"{len(items)} credentials in one request; the maximum is {max_items}",
            maximum=max_items,
        )
    if not items:
        raise InvalidInput("no credentials in the request")
    # Simple-form items are schema-checked on a sample (valid by construction); complete
    # credentials one by one. See credanchor.issuing.bulk.
    from credanchor.issuing.bulk import prepare_rows

    return prepare_rows(items, profile)


def _require_active(issuer: Issuer) -> None:
    """A suspended issuer issues nothing, through any face (its held work stays held)."""
    if not issuer.active:
        raise Forbidden(f"issuer {issuer.id} ({issuer.name}) is suspended: reinstate it first "
                        "(credanchor issuer reactivate)")


def issue(
    store: Store,
    issuer: Issuer,
    profile: IssuerProfile,
    items: Sequence[Any],
    *,
    max_items: int,
    idempotency_key: str | None = None,
) -> list[Accepted]:
    """Accept credentials for ``issuer`` as pending. Atomic, and idempotent per key."""
    _require_active(issuer)
    request_hash = None
    if idempotency_key:
        request_hash = to_hex(keccak256(canonicalize(list(items))))
        previous = store.idempotent_response(issuer.id, idempotency_key, request_hash)
        if previous is not None:
            return [Accepted(**p) for p in previous]
    rows = prepare(items, profile, max_items=max_items)
    accepted = [Accepted(cid, to_hex(h)) for cid, h, _ in rows]
    with store.transaction():
        if idempotency_key and request_hash:
            # Re-check under the write lock: two retries racing must not both insert.
            previous = store.idempotent_response(issuer.id, idempotency_key, request_hash)
            if previous is not None:
                return [Accepted(**p) for p in previous]
        store.add_credentials(issuer.id, rows)
        if idempotency_key and request_hash:
            store.save_idempotent_response(
                issuer.id, idempotency_key, request_hash,
                [{"id": a.id, "credential_hash": a.credential_hash} for a in accepted],
            )
    return accepted


#: At most this many refused items are listed by :func:`issue_all` (its count covers all).
MAX_REFUSALS_LISTED = 50


def issue_all(
    store: Store,
    issuer: Issuer,
    profile: IssuerProfile,
    items: Sequence[Any],
    *,
    progress: Callable[[int], None] | None = None,
) -> list[Accepted]:
    """Accept every item of a file as pending, all or nothing, in one transaction.

    Unlike :func:`issue` (one API request, which stops at its first bad item), every item is
    checked, so a file's author learns about all its bad items at once. If any is refused,
    nothing is stored and InvalidInput says how many, with ``extra["refused"]`` listing the
    first :data:`MAX_REFUSALS_LISTED` details, each naming its item (``$[i]: …``).
    ``progress`` is called with the number of items checked.
    """
    _require_active(issuer)
    if not items:
        raise InvalidInput("no credentials in the file")
    refused: list[str] = []
    count = 0
    accepted: list[Accepted] = []

    def note(index: int, detail: str) -> None:
        nonlocal count
        count += 1
        if len(refused) < MAX_REFUSALS_LISTED:
            refused.append(detail)
        if progress is not None:
            progress(1)

    def rows() -> Iterator[tuple[str, bytes, str]]:
        from credanchor.issuing.bulk import build_rows_reporting

        for row in build_rows_reporting(items, profile, note):
            if progress is not None:
                progress(1)
            if count:  # nothing will be stored; go on only to find every bad item
                continue
            accepted.append(Accepted(row[0], to_hex(row[1])))
            yield row
        if count:  # raised inside the transaction, so it is rolled back
            listed = "" if count <= len(refused) else f" (the first {len(refused)} listed)"
            raise InvalidInput(f"{count} of {len(items)} item(s) refused; nothing was issued"
                               + listed, refused=refused, refusedCount=count)

    store.add_credentials(issuer.id, rows())
    return accepted


def load_items(data: bytes, content_type: str | None) -> list[Any]:
    """A request body or file: a JSON object, a JSON array, or CSV."""
    from credanchor.core.hashing import loads_strict

    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in ("text/csv", "application/csv") or (not ctype and data[:1] not in (b"{", b"[")):
        return parse_csv(data)
    value = loads_strict(data)
    return value if isinstance(value, list) else [value]


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
        )
        return attach_proof(json.loads(cred.document), proof)

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
