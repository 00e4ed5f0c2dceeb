"""A chain's id and head block number, read without a client: for ``credanchor status``.

Opening the embedded chain means importing py-evm, web3 and eth-account (about 2 s and 90 MB
on the project's 2-core machine, most of it py_ecc building pairing tables at import) and taking
the chain's exclusive lock, which a running service holds. The head needs none of it:

* embedded: the chain's SQLite file is opened read-only (``mode=ro``, WAL readers never block
  the writer, and the lock file is not touched), the canonical head hash is looked up under
  py-evm's ``v1:canonical_head_hash`` key, and the header stored under that hash is decoded
  with the few lines of RLP below (the ``rlp`` package imports eth-utils: 0.5 s). The header is
  checked to hash to the key it is stored under, so a layout py-evm changed fails loudly
  instead of printing a wrong number;
* RPC: ``eth_chainId`` and ``eth_blockNumber`` in one JSON-RPC batch over urllib, with the
  caller's timeout (web3 and requests cost 1 s of imports).

Only the standard library and :mod:`credanchor.core.hashing` (keccak256) are imported here.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from credanchor.core.hashing import keccak256
from credanchor.errors import ChainError, ChainIdMismatch, ChainUnavailable, ConfigError

#: py-evm's key of the canonical head's hash (eth.db.schema.SchemaV1, py-evm 0.12).
CANONICAL_HEAD_KEY = b"v1:canonical_head_hash"
_HEADER_NUMBER_FIELD = 8  # parent, uncles, coinbase, state, txs, receipts, bloom, difficulty, number


@dataclass(frozen=True)
class ChainHead:
    chain_id: int
    head: int


def redact_url(url: str) -> str:
    """scheme://host:port only.

    WARNING: hosted RPC URLs carry the API key in the path or query (…/v3/<key>); never log or
    show more than this.
    """
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def eip55(address: str) -> str:
    """The EIP-55 spelling of a 0x + 40 hex digit address (eth-utils' costs its imports)."""
    body = address[2:].lower()
    if not address.startswith(("0x", "0X")) or len(body) != 40 or body.strip("0123456789abcdef"):
        raise ValueError(f"not an Ethereum address: {address!r:.60}")
    digest = keccak256(body.encode()).hex()
    return "0x" + "".join(c.upper() if int(d, 16) >= 8 else c for c, d in zip(body, digest, strict=False))


# --- the embedded chain ----------------------------------------------------------------------


def _rlp_item(data: bytes, pos: int) -> tuple[int, int, bool]:
    """(start, end, is_list) of the RLP item at ``pos``: its payload's bounds."""
    if pos >= len(data):
        raise ValueError("truncated RLP")
    prefix = data[pos]
    if prefix < 0x80:
        return pos, pos + 1, False
    if prefix < 0xB8:
        start, end, is_list = pos + 1, pos + 1 + prefix - 0x80, False
    elif prefix < 0xC0:
        size = prefix - 0xB7
        start = pos + 1 + size
        end, is_list = start + int.from_bytes(data[pos + 1:start], "big"), False
    elif prefix < 0xF8:
        start, end, is_list = pos + 1, pos + 1 + prefix - 0xC0, True
    else:
        size = prefix - 0xF7
        start = pos + 1 + size
        end, is_list = start + int.from_bytes(data[pos + 1:start], "big"), True
    if end > len(data):
        raise ValueError("truncated RLP")
    return start, end, is_list


def header_number(header_rlp: bytes) -> int:
    """The block number of an RLP-encoded block header (its ninth field)."""
    start, end, is_list = _rlp_item(header_rlp, 0)
    if not is_list or end != len(header_rlp):
        raise ValueError("a block header is one RLP list")
    pos = start
    for _ in range(_HEADER_NUMBER_FIELD):
        pos = _rlp_item(header_rlp, pos)[1]
    field_start, field_end, field_is_list = _rlp_item(header_rlp, pos)
    if field_is_list or field_end - field_start > 8:
        raise ValueError("a block number is a short RLP string")
    return int.from_bytes(header_rlp[field_start:field_end], "big")


def embedded_head(path: Path) -> ChainHead:
    """The chain id (as the file recorded it when created) and head block number of the
    embedded chain in ``path``, read-only, while any other process may hold it open.

    Raises ChainError if the file is missing or not an embedded chain's."""
    path = Path(path)
    if not path.is_file():
        raise ChainError(f"no embedded chain at {path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5, isolation_level=None)
    except sqlite3.Error as exc:
        raise ChainError(f"cannot read the embedded chain {path}: {exc}") from exc
    try:
        # One read transaction: the head hash and its header come from the same snapshot
        # (both are written in one py-evm batch, so any snapshot has both).
        conn.execute("BEGIN")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        head_hash = _kv(conn, CANONICAL_HEAD_KEY)
        header = _kv(conn, head_hash)
        conn.execute("COMMIT")
    except (sqlite3.Error, KeyError) as exc:
        raise ChainError(f"cannot read the head of the embedded chain {path}: {exc}") from exc
    finally:
        conn.close()
    if keccak256(header) != head_hash:
        raise ChainError(f"{path}: the head header does not hash to the head hash")
    try:
        return ChainHead(chain_id=int(meta["chain_id"]), head=header_number(header))
    except (KeyError, ValueError) as exc:
        raise ChainError(f"{path}: unreadable head header or chain id ({exc})") from exc


def _kv(conn: sqlite3.Connection, key: bytes) -> bytes:
    row = conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
    if row is None:
        raise KeyError(f"key {key.hex()[:16]}… missing")
    return bytes(row[0])


# --- a JSON-RPC node -------------------------------------------------------------------------


def rpc_head(url: str, *, expected_chain_id: int | None, timeout: float) -> ChainHead:
    """``eth_chainId`` and ``eth_blockNumber`` of the node at ``url``, in one HTTP request.

    Raises ChainUnavailable if the node cannot be reached, times out or answers nonsense,
    ChainIdMismatch if it serves another chain than ``expected_chain_id``."""
    import urllib.request  # 50-80 ms of imports (http.client, email) the embedded chain never needs

    body = json.dumps([
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber", "params": []},
    ]).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    where = redact_url(url)
    if urlsplit(url).scheme not in ("http", "https"):  # urllib would also open file:// URLs
        raise ConfigError(f"RPC URL must be http(s)://host[:port][/path], got {where}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answers = json.loads(response.read(1 << 16))
    except (OSError, ValueError) as exc:  # URLError, timeouts, refused, bad JSON
        reason = getattr(exc, "reason", None) or exc
        raise ChainUnavailable(f"{where}: {reason}") from None
    try:
        by_id: dict[Any, Any] = {a["id"]: a["result"] for a in answers}
        chain_id, head = int(by_id[1], 16), int(by_id[2], 16)
    except (TypeError, KeyError, ValueError):
        raise ChainUnavailable(f"{where}: not a JSON-RPC answer to eth_chainId, "
                               "eth_blockNumber") from None
    if expected_chain_id is not None and chain_id != expected_chain_id:
        raise ChainIdMismatch(f"{where} serves chain {chain_id}, not {expected_chain_id}")
    return ChainHead(chain_id=chain_id, head=head)


__all__ = ["CANONICAL_HEAD_KEY", "ChainHead", "eip55", "embedded_head", "header_number",
           "redact_url", "rpc_head"]
