"""The files a credential's holder gets: their names, where they go, and writing them.

A holder file is the credential with its anchoring proof attached
(:meth:`credanchor.issuing.pipeline.ProofBuilder.credential_file`), as indented UTF-8 JSON.
Its name comes from the credential's id, which an issuer chooses: :func:`holder_file_name`
makes sure no id can name a path, and :func:`holder_file_path` that nothing is written
outside the chosen folder.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path

from credanchor.errors import InvalidInput
from credanchor.issuing.pipeline import ProofBuilder
from credanchor.ledger.store import Store

_PLAIN_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def holder_file_name(credential_id: str) -> str:
    """The name of a credential's holder file: the id with ``:`` as ``-`` (``urn-uuid-….json``)
    when that is a plain file name; otherwise the id's letters, digits, ``.``, ``_`` and ``-``
    (at most 80, never ``..``) and 16 hex digits of its SHA-256, so that no id — ``../x``,
    ``/tmp/x``, ``https://a/../b`` — can name a path, and different ids different files."""
    plain = credential_id.replace(":", "-")
    if _PLAIN_FILE_NAME.fullmatch(plain) and ".." not in plain:
        return plain + ".json"
    return _hashed_file_name(credential_id)


def _hashed_file_name(credential_id: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]", "-", credential_id)
    stem = re.sub(r"\.{2,}", "-", stem)
    stem = re.sub(r"-{2,}", "-", stem).strip("-._")[:80].strip("-._")
    digest = hashlib.sha256(credential_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{stem or 'credential'}-{digest}.json"


def holder_file_path(out: Path, credential_id: str, taken: set[str] | None = None) -> Path:
    """Where ``credential_id``'s holder file goes in folder ``out``, which must exist.

    ``taken`` holds the names already written in this run: an id whose plain name is taken
    (``a:b`` and ``a-b``) gets the hashed form instead of overwriting the other file. The path
    is checked to lead straight into ``out`` after resolving symlinks (a link planted in the
    folder is not followed out of it); InvalidInput otherwise.
    """
    name = holder_file_name(credential_id)
    if taken is not None:
        if name in taken:
            name = _hashed_file_name(credential_id)
        taken.add(name)
    path = out / name
    if path.resolve().parent != out.resolve():
        raise InvalidInput(f"refusing to write the file of credential {credential_id!r:.120}: "
                           f"{path} leads outside {out}")
    return path



def write_holder_files(store: Store, proofs: ProofBuilder, ids: Iterable[str], out: Path) -> int:
    """Write each credential's holder file into ``out`` (created if need be), named from its
    id but never outside ``out`` (:func:`holder_file_path`); return how many."""
    out.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    n = 0
    for cid in ids:
        document = proofs.credential_file(store.get_credential(cid))
        holder_file_path(out, cid, taken).write_text(
            json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        n += 1
    return n


__all__ = ["holder_file_name", "holder_file_path", "write_holder_files"]
