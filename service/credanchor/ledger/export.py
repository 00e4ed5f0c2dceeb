"""The issuer's ledger as an auditor sees it: read from the service's SQLite file or from an
export, and written out as that export.

An auditor reconciles the chain with a :class:`~credanchor.ledger.view.LedgerView`
(:mod:`credanchor.ledger.view`, read by :mod:`credanchor.audit.reconcile`). Two implementations
read the same facts:

* :class:`SqliteLedger` opens the service's ``ledger.sqlite`` **read-only** (it never migrates
  or writes the file it audits);
* :class:`ExportLedger` reads what :func:`export_ledger` wrote, so an issuer can hand an
  auditor its ledger without handing over its database.

The export (format ``credanchor-ledger-export`` version 1) is a directory — ``manifest.json``
plus one OpenZeppelin ``standard-v1`` tree dump per batch in ``batches/`` — or, when the
output path ends in ``.json``, the same content in one file with the dumps inline. It holds
issuers (address, name, status), batches (id, issuer, root, count, status, anchoring
transaction, block and time, tree dump), revocations (issuer, kind, target hash, reason, state,
transaction) and the hashes of credentials filed under a batch the ledger no longer has.

WARNING: no personal data leaves the ledger. Credential documents (names, hashed emails,
achievements) are never exported, only their 32-byte hashes, which are salted (a fresh
``urn:uuid`` id and identity salt each) and so cannot be linked to a person from guessable
facts. Keystore paths and API keys stay out too.

A tree dump is written exactly as stored: ``tree`` is the ledger's stored node blob and
``values`` the batch's credential hashes in sealing order with their standard ``treeIndex``.
So a tampered stored tree is exported tampered, and the audit of the export finds what the
audit of the database finds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address

from credanchor import __version__
from credanchor.core.hashing import from_hex32, to_hex
from credanchor.core.merkle import DUMP_FORMAT, LEAF_ENCODING
from credanchor.core.timefmt import utc_text
from credanchor.errors import InvalidInput, NotFound
from credanchor.ledger.view import (
    BatchMaterial,
    LedgerBatch,
    LedgerIssuer,
    LedgerRevocation,
    LedgerView,
    SqliteLedger,
    checksum_address,
    standard_tree_indices,
)

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "BatchMaterial",
    "ExportLedger",
    "ExportSummary",
    "LedgerBatch",
    "LedgerIssuer",
    "LedgerRevocation",
    "LedgerView",
    "SqliteLedger",
    "export_ledger",
    "open_ledger",
    "standard_tree_indices",
    "tree_dump",
]

EXPORT_FORMAT = "credanchor-ledger-export"
EXPORT_VERSION = 1
MANIFEST = "manifest.json"


def open_ledger(path: str | Path, *, issuer: str | None = None) -> LedgerView:
    """A ledger view of ``path``: a SQLite ledger (or a data directory holding
    ``ledger.sqlite``), an export directory, or an export ``.json`` file."""
    p = Path(path)
    if p.is_dir():
        if (p / MANIFEST).is_file():
            return ExportLedger(p, issuer=issuer)
        if (p / "ledger.sqlite").is_file():
            return SqliteLedger(p / "ledger.sqlite", issuer=issuer)
        raise InvalidInput(f"{p} holds neither a ledger export ({MANIFEST}) nor ledger.sqlite")
    if not p.is_file():
        raise InvalidInput(f"no such ledger or export: {p}")
    with p.open("rb") as fh:
        head = fh.read(16)
    if head.startswith(b"SQLite format 3"):
        return SqliteLedger(p, issuer=issuer)
    return ExportLedger(p, issuer=issuer)


# --- the export -----------------------------------------------------------------------------


def tree_dump(material: BatchMaterial) -> dict[str, Any]:
    """The OpenZeppelin ``standard-v1`` dump of a batch exactly as stored (see the module
    docstring); for an intact batch it equals ``MerkleTree.to_oz_dump()``."""
    nodes = material.nodes
    hashes = material.credential_hashes
    return {
        "format": DUMP_FORMAT,
        "leafEncoding": list(LEAF_ENCODING),
        "tree": ["0x" + nodes[i:i + 32].hex() for i in range(0, len(nodes), 32)],
        "values": [{"value": [to_hex(h)], "treeIndex": t}
                   for h, t in zip(hashes, standard_tree_indices(hashes), strict=True)],
    }


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    issuers: int
    batches: int
    credentials: int
    revocations: int


def export_ledger(
    view: LedgerView,
    out: str | Path,
    *,
    chain_id: int | None = None,
    contract: str | None = None,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ExportSummary:
    """Write ``view`` as an export to ``out``: a directory, or one file if ``out`` ends in
    ``.json``. ``chain_id``/``contract`` record where the ledger anchors (the ledger itself
    does not say). Refuses to overwrite an existing export unless ``force``. ``progress`` is
    called with the number of credentials of each batch written."""
    out = Path(out)
    single = out.suffix.lower() == ".json"
    if out.exists() and not force and (not out.is_dir() or any(out.iterdir())):
        raise InvalidInput(f"{out} already exists (use --force to overwrite)")
    issuers = view.issuers()
    batches = view.batches()
    if single:
        out.parent.mkdir(parents=True, exist_ok=True)
    else:
        (out / "batches").mkdir(parents=True, exist_ok=True)
    entries = []
    credentials = 0
    for b in batches:
        dump = tree_dump(view.material(b))
        credentials += len(dump["values"])
        entry: dict[str, Any] = {
            "id": b.id, "issuer": b.issuer, "root": to_hex(b.root), "count": b.count,
            "status": b.status, "txHash": b.tx_hash, "block": b.block_number,
            "anchoredAt": b.anchored_at,
        }
        if single:
            entry["ozDump"] = dump
        else:
            name = f"batches/{b.id:06d}.json"
            _write_json(out / name, dump)
            entry["ozDumpFile"] = name
        entries.append(entry)
        if progress is not None:
            progress(len(dump["values"]))
    revocations = view.revocations()
    manifest = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exportedAt": utc_text(),
        "generator": f"credanchor {__version__}",
        "chain": ({"chainId": chain_id, "contract": to_checksum_address(contract)}
                  if chain_id is not None and contract else None),
        "issuers": [{"address": i.address, "name": i.name, "status": i.status,
                     "pendingCredentials": i.pending} for i in issuers],
        "batches": entries,
        "revocations": [{"issuer": r.issuer, "kind": r.kind, "target": to_hex(r.target),
                         "reason": r.reason, "state": r.state, "txHash": r.tx_hash}
                        for r in revocations],
        "orphanedCredentials": [
            {"batchId": bid, "issuer": issuer, "credentialHashes": [to_hex(h) for h in hashes]}
            for bid, (issuer, hashes) in sorted(view.orphans().items())
        ],
    }
    _write_json(out if single else out / MANIFEST, manifest)
    return ExportSummary(out, len(issuers), len(batches), credentials, len(revocations))


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, separators=(",", ":")) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class ExportLedger:
    """A ledger export (directory or single file), read as a :class:`LedgerView`."""

    source = "export"

    def __init__(self, path: str | Path, *, issuer: str | None = None) -> None:
        self.path = Path(path)
        self._dir = self.path if self.path.is_dir() else None
        manifest = _read_json(self._dir / MANIFEST if self._dir else self.path)
        if not isinstance(manifest, Mapping) or manifest.get("format") != EXPORT_FORMAT:
            raise InvalidInput(f"{self.path} is not a credanchor ledger export")
        if manifest.get("version") != EXPORT_VERSION:
            raise InvalidInput(f"{self.path}: export version {manifest.get('version')!r}; this "
                               f"credanchor reads version {EXPORT_VERSION}")
        self._m = manifest
        chain = manifest.get("chain")
        self.chain_id = int(chain["chainId"]) if isinstance(chain, Mapping) else None
        self.contract = (checksum_address(chain["contract"], "chain.contract")
                         if isinstance(chain, Mapping) else None)
        self._only: str | None = None
        if issuer is not None:
            self._only = self._find_issuer(issuer)
        self._index: dict[bytes, int] | None = None
        self._entries: dict[Any, Mapping[str, Any]] | None = None

    def _find_issuer(self, ref: str) -> str:
        for i in self._list("issuers"):
            if str(i.get("address", "")).lower() == ref.lower():
                return checksum_address(i["address"], "issuers.address")
        raise NotFound(f"the export has no issuer {ref} (give its address)")

    def _list(self, key: str) -> list[Mapping[str, Any]]:
        value = self._m.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise InvalidInput(f"{self.path}: {key} must be a list of objects")
        return value

    def _mine(self, address: str) -> bool:
        return self._only is None or address.lower() == self._only.lower()

    def issuers(self) -> list[LedgerIssuer]:
        out = []
        for i, e in enumerate(self._list("issuers")):
            address = checksum_address(e.get("address"), f"issuers[{i}].address")
            if self._mine(address):
                out.append(LedgerIssuer(address, str(e.get("name", "")),
                                        str(e.get("status", "active")),
                                        int(e.get("pendingCredentials") or 0)))
        return out

    def batches(self) -> list[LedgerBatch]:
        out = []
        for i, e in enumerate(self._list("batches")):
            where = f"batches[{i}]"
            with self._parsing(where, "garbles"):
                batch = LedgerBatch(
                    id=int(e["id"]),
                    issuer=checksum_address(e["issuer"], f"{where}.issuer"),
                    root=from_hex32(e["root"], what=f"{where}.root"),
                    count=int(e["count"]),
                    status=str(e["status"]),
                    tx_hash=e.get("txHash"),
                    block_number=None if e.get("block") is None else int(e["block"]),
                    anchored_at=None if e.get("anchoredAt") is None else int(e["anchoredAt"]),
                )
            if self._mine(batch.issuer):
                out.append(batch)
        return out

    @contextmanager
    def _parsing(self, where: str, how: str) -> Iterator[None]:
        """Turn a missing or mistyped member into one InvalidInput naming the file and place."""
        try:
            yield
        except InvalidInput:
            raise
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            detail = f"lacks or garbles {exc}" if how == "garbles" else f"is malformed ({exc})"
            raise InvalidInput(f"{self.path}: {where} {detail}") from exc

    def _entry(self, batch_id: int) -> Mapping[str, Any]:
        if self._entries is None:
            self._entries = {e.get("id"): e for e in self._list("batches")}
        entry = self._entries.get(batch_id)
        if entry is None:
            raise NotFound(f"no batch {batch_id} in {self.path}")
        return entry

    def _dump(self, batch_id: int) -> Mapping[str, Any]:
        e = self._entry(batch_id)
        if "ozDump" in e:
            dump = e["ozDump"]
        elif self._dir is not None and isinstance(e.get("ozDumpFile"), str):
            target = (self._dir / e["ozDumpFile"]).resolve()
            if self._dir.resolve() not in target.parents:
                raise InvalidInput(f"{self.path}: batch {batch_id}'s dump file is outside it")
            dump = _read_json(target)
        else:
            raise InvalidInput(f"{self.path}: batch {batch_id} has no tree dump")
        if not isinstance(dump, Mapping) or dump.get("format") != DUMP_FORMAT:
            raise InvalidInput(f"{self.path}: batch {batch_id}'s dump is not {DUMP_FORMAT}")
        return dump

    def material(self, batch: LedgerBatch) -> BatchMaterial:
        dump = self._dump(batch.id)
        where = f"batch {batch.id} dump"
        with self._parsing(where, "malformed"):
            nodes = b"".join(bytes.fromhex(str(x)[2:]) for x in dump["tree"])
            hashes = [from_hex32(v["value"][0], what=f"{where} value")
                      for v in dump["values"]]
            indices = [int(v["treeIndex"]) for v in dump["values"]]
        return BatchMaterial(hashes, nodes, indices)

    def revocations(self) -> list[LedgerRevocation]:
        out = []
        for i, e in enumerate(self._list("revocations")):
            where = f"revocations[{i}]"
            with self._parsing(where, "garbles"):
                r = LedgerRevocation(
                    issuer=checksum_address(e["issuer"], f"{where}.issuer"),
                    kind=str(e["kind"]),
                    target=from_hex32(e["target"], what=f"{where}.target"),
                    reason=int(e["reason"]),
                    state=str(e["state"]),
                    tx_hash=e.get("txHash"),
                )
            if self._mine(r.issuer):
                out.append(r)
        return out

    def orphans(self) -> dict[int, tuple[str, list[bytes]]]:
        out = {}
        for i, e in enumerate(self._list("orphanedCredentials")):
            issuer = checksum_address(e.get("issuer"), f"orphanedCredentials[{i}].issuer")
            if self._mine(issuer):
                out[int(e["batchId"])] = (issuer, [
                    from_hex32(h, what=f"orphanedCredentials[{i}]")
                    for h in e.get("credentialHashes", [])])
        return out

    def batch_of(self, credential_hash: bytes) -> int | None:
        if self._index is None:
            index: dict[bytes, int] = {}
            for b in self.batches():
                for h in self.material(b).credential_hashes:
                    index[h] = b.id
            self._index = index
        return self._index.get(bytes(credential_hash))

    def document_mismatches(self) -> Iterator[tuple[str, bytes, str]]:
        return iter(())

    def close(self) -> None:
        self._index = None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from exc
