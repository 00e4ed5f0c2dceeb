"""An issuer's Ed25519 signing keys (Data Integrity proofs), encrypted at rest, as a key ring.

Layout, in the directory the caller passes (the data directory's keystore folder)::

    <issuer>.ed25519.json                  the index: public keys, created, retired (no secret)
    <issuer>.ed25519-<z6Mk…>.json          one encrypted key each (Web3 Secret Storage v3)
    <issuer>.ed25519.lock                  serialises changes between processes

Each key file is what ``eth_account.Account.encrypt`` makes of the 32-byte Ed25519 seed, the
same format, KDF and work factor as the issuer's Ethereum keystore (chain.keys), written with
mode 0600 and never overwritten. Its ``address`` member is removed: it would be the
secp256k1 address of the seed's bytes, which names no account and would only mislead; the
public key it holds is recorded instead, and checked against the decrypted seed on load.

Rotation adds a new key and retires the current one at the same instant; a retired key is
kept (its public key stays in the DID document with ``revoked``, see core.did_document), so
signatures it made before its retirement can still be checked. The new key file is written
before the index names it, and the index is replaced atomically: a crash leaves either the
old ring or the new one (plus, at worst, an unused key file).

WARNING: the seed is the issuer's signing authority. It exists in clear only inside
``Ed25519KeyPair`` (whose repr shows the public key only) and in ``Account.encrypt``'s
arguments; nothing here logs or raises with it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from eth_account import Account

from credanchor.chain.keys import decrypt_secret_storage
from credanchor.core.did_document import IssuerKey, format_datetime
from credanchor.core.multikey import Ed25519KeyPair, decode_secret_multibase
from credanchor.errors import ConfigError, Conflict, KeyUnavailable

__all__ = ["IssuerKeyRing", "KeyInfo"]

log = logging.getLogger(__name__)

Kdf = Literal["scrypt", "pbkdf2"]
INDEX_VERSION = 1
_ISSUER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


@dataclass(frozen=True)
class KeyInfo:
    """One key of the ring, public facts only."""

    public_multibase: str
    created: datetime
    retired: datetime | None
    file: str

    @property
    def current(self) -> bool:
        return self.retired is None

    @property
    def issuer_key(self) -> IssuerKey:
        """The entry ``core.did_document.issuer_did_document`` takes."""
        return IssuerKey(self.public_multibase, self.created, self.retired)

    def to_json(self) -> dict[str, Any]:
        return {
            "publicKeyMultibase": self.public_multibase,
            "created": format_datetime(self.created),
            "retired": None if self.retired is None else format_datetime(self.retired),
            "file": self.file,
        }


def _seed(key: Ed25519KeyPair) -> bytes:
    return decode_secret_multibase(key.secret_multibase())


def _time(value: object, what: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a date")
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


class IssuerKeyRing:
    """The Ed25519 keys of one issuer in ``directory``.

    ``issuer`` names the files (its Ethereum address or a slug: letters, digits, ``_.-``).
    ``work_factor`` is scrypt's N or pbkdf2's iterations (None: eth-keyfile's default); tests
    pass a small one. ``clock`` gives the creation and retirement times (aware, UTC).
    Example: ``IssuerKeyRing(data_dir / "keys", address).create(password)``.
    """

    def __init__(
        self,
        directory: Path,
        issuer: str,
        *,
        kdf: Kdf = "scrypt",
        work_factor: int | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not isinstance(issuer, str) or not _ISSUER.fullmatch(issuer):
            raise ConfigError(f"issuer name {issuer!r:.60} is not usable in a file name")
        self.directory = Path(directory)
        self.issuer = issuer
        self.kdf: Kdf = kdf
        self.work_factor = work_factor
        self._clock = clock

    def __repr__(self) -> str:
        return f"IssuerKeyRing({str(self.directory)!r}, {self.issuer!r})"

    @property
    def index_path(self) -> Path:
        return self.directory / f"{self.issuer}.ed25519.json"

    # --- reading --------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.index_path.exists()

    def list_keys(self) -> tuple[KeyInfo, ...]:
        """Every key, oldest first. KeyUnavailable if there is no ring or its index is bad."""
        try:
            raw = self.index_path.read_bytes()
        except FileNotFoundError:
            raise KeyUnavailable(f"issuer {self.issuer} has no Ed25519 key ring") from None
        except OSError as exc:
            raise KeyUnavailable(f"{self.index_path} cannot be read: {exc.strerror}") from None
        try:
            index = json.loads(raw)
            if index["version"] != INDEX_VERSION or index["issuer"] != self.issuer:
                raise ValueError("another version or issuer")
            keys = tuple(
                KeyInfo(
                    public_multibase=IssuerKey(k["publicKeyMultibase"]).public_multibase,
                    created=_time(k["created"], "created"),
                    retired=None if k["retired"] is None else _time(k["retired"], "retired"),
                    file=str(k["file"]),
                )
                for k in index["keys"]
            )
        except (ValueError, TypeError, KeyError):
            raise KeyUnavailable(f"{self.index_path} is not a credanchor key ring index") from None
        if sum(k.current for k in keys) != 1 or any("/" in k.file for k in keys):
            raise KeyUnavailable(f"{self.index_path} is inconsistent (one current key expected)")
        return keys

    def current(self) -> KeyInfo:
        """The key that signs now."""
        return next(k for k in self.list_keys() if k.current)

    def issuer_keys(self) -> list[IssuerKey]:
        """The ring as ``core.did_document.issuer_did_document`` takes it."""
        return [k.issuer_key for k in self.list_keys()]

    def load_current(self, password: str) -> Ed25519KeyPair:
        """Decrypt the current signing key."""
        return self._decrypt(self.current(), password)

    def load(self, public_multibase: str, password: str) -> Ed25519KeyPair:
        """Decrypt one key of the ring (retired ones included), by its public key."""
        for info in self.list_keys():
            if info.public_multibase == public_multibase:
                return self._decrypt(info, password)
        raise KeyUnavailable(f"issuer {self.issuer} has no key {public_multibase:.60}")

    # --- changing -------------------------------------------------------------------------

    def create(self, password: str, *, key: Ed25519KeyPair | None = None) -> KeyInfo:
        """The ring's first key (new, or the given one). Conflict if the ring exists."""
        with self._locked():
            if self.exists():
                raise Conflict(f"issuer {self.issuer} already has an Ed25519 key ring")
            now = self._now()
            info = self._store(key or Ed25519KeyPair.generate(), password, now)
            self._write_index([info])
        log.info("created Ed25519 key %s for issuer %s", info.public_multibase, self.issuer)
        return info

    def rotate(
        self, password: str, *, key: Ed25519KeyPair | None = None, at: datetime | None = None
    ) -> KeyInfo:
        """Add a new current key and retire the current one at ``at`` (default: now).

        The password must open the current key: a ring is never left with keys under two
        passwords, and only whoever can sign now can hand signing over.
        """
        with self._locked():
            keys = self.list_keys()
            old = next(k for k in keys if k.current)
            self._decrypt(old, password)
            when = self._now() if at is None else at.astimezone(UTC).replace(microsecond=0)
            if when < old.created:
                raise ConfigError("a key cannot be retired before it was created")
            new_key = key or Ed25519KeyPair.generate()
            if any(k.public_multibase == new_key.public_multibase for k in keys):
                raise Conflict("that key is already in the ring")
            info = self._store(new_key, password, when)
            retired = KeyInfo(old.public_multibase, old.created, when, old.file)
            self._write_index([retired if k is old else k for k in keys] + [info])
        log.info(
            "issuer %s: Ed25519 key %s retired, %s current",
            self.issuer, old.public_multibase, info.public_multibase,
        )  # fmt: skip
        return info

    # --- internals ------------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ConfigError("the key ring's clock must return aware datetimes")
        return now.astimezone(UTC).replace(microsecond=0)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.directory / f"{self.issuer}.ed25519.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _store(self, key: Ed25519KeyPair, password: str, created: datetime) -> KeyInfo:
        if not password:
            raise ConfigError("an issuer key needs a non-empty password")
        try:
            document = Account.encrypt(
                _seed(key), password, kdf=self.kdf, iterations=self.work_factor
            )
        except Exception:
            # WARNING: `from None`: the original may quote its input. A seed outside the
            # secp256k1 range (probability ~2**-128) is the only expected cause.
            raise KeyUnavailable("the key cannot be encrypted; generate another") from None
        document.pop("address", None)
        document["credanchor"] = {"keyType": "Ed25519", "publicKeyMultibase": key.public_multibase}
        name = f"{self.issuer}.ed25519-{key.public_multibase}.json"
        _write_private(self.directory / name, json.dumps(document).encode())
        return KeyInfo(key.public_multibase, created, None, name)

    def _write_index(self, keys: list[KeyInfo]) -> None:
        index = {"version": INDEX_VERSION, "issuer": self.issuer,
                 "keys": [k.to_json() for k in keys]}  # fmt: skip
        tmp = self.index_path.with_name(f".{self.index_path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, json.dumps(index, indent=2).encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.index_path)  # atomic: readers see the old ring or the new one

    def _decrypt(self, info: KeyInfo, password: str) -> Ed25519KeyPair:
        path = self.directory / info.file
        seed = decrypt_secret_storage(path, password, what="key file")
        key = Ed25519KeyPair.from_seed(seed)
        if key.public_multibase != info.public_multibase:
            raise KeyUnavailable(f"key file {path} holds another key than the index names")
        return key


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600, never overwriting (as chain.keys does for keystores)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(tmp, path)  # fails if the target exists
    except FileExistsError:
        raise Conflict(f"{path} already exists; refusing to overwrite a key file") from None
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)
