"""Signing keys: from an environment variable or an encrypted (Web3 Secret Storage) keystore.

The rest of the package only ever sees a :class:`Signer`, whose repr, str and error messages
show the address and nothing else.

WARNING: a private key grants full control of the issuer's on-chain identity. Never log it,
never put it in an exception message, never pass it on a command line (``ps`` shows argv to
every user), and keep keystores and password files at mode 0600. Tracebacks rendered with
local variables (e.g. rich's ``show_locals``) would defeat the wrapping below; don't enable
them in processes that hold keys.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from eth_account import Account
from eth_account.datastructures import SignedTransaction
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

from credanchor.errors import ConfigError, KeyUnavailable

log = logging.getLogger(__name__)

PRIVATE_KEY_ENV = "CREDANCHOR_PRIVATE_KEY"
KEYSTORE_ENV = "CREDANCHOR_KEYSTORE"
PASSWORD_ENV = "CREDANCHOR_KEYSTORE_PASSWORD"

Kdf = Literal["scrypt", "pbkdf2"]


class Signer:
    """Holds one private key and signs with it; shows only its address."""

    __slots__ = ("_account",)

    def __init__(self, account: LocalAccount) -> None:
        self._account = account

    @classmethod
    def from_key(cls, private_key: str | bytes) -> Signer:
        """Wrap a raw private key (32 bytes or 64 hex digits, optional 0x)."""
        try:
            return cls(Account.from_key(private_key))
        except Exception:
            # WARNING: `from None` on purpose - the original exception may quote its input.
            raise KeyUnavailable(
                "the private key is malformed (expected 32 bytes as hex)"
            ) from None

    @classmethod
    def generate(cls) -> Signer:
        """A new random key (from the OS CSPRNG)."""
        return cls(Account.from_key(secrets.token_bytes(32)))

    @property
    def address(self) -> ChecksumAddress:
        return self._account.address

    def sign_transaction(self, transaction: Mapping[str, Any]) -> SignedTransaction:
        return self._account.sign_transaction(dict(transaction))

    def encrypt(
        self, password: str, *, kdf: Kdf = "scrypt", work_factor: int | None = None
    ) -> dict[str, Any]:
        """The Web3 Secret Storage (v3) JSON for this key."""
        return Account.encrypt(self._account.key, password, kdf=kdf, iterations=work_factor)

    def __repr__(self) -> str:
        return f"Signer({self.address})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Signer) and other.address == self.address

    def __hash__(self) -> int:
        return hash(self.address)

    def __reduce__(self) -> Any:
        # WARNING: pickling would write the key wherever the pickle goes (caches, queues).
        raise TypeError("Signer objects cannot be pickled")


def _write_private(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 (never readable by others, even for a moment)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        # link() fails if the target exists: an existing key file is never overwritten.
        os.link(tmp, path)
    except FileExistsError:
        raise ConfigError(f"{path} already exists; refusing to overwrite a key file") from None
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)


def create_keystore(
    path: Path,
    password: str,
    *,
    kdf: Kdf = "scrypt",
    work_factor: int | None = None,
    signer: Signer | None = None,
) -> ChecksumAddress:
    """Encrypt a new (or the given) key into ``path`` (mode 0600); returns its address.

    ``work_factor`` is scrypt's N (a power of two) or pbkdf2's iteration count; ``None``
    uses eth-keyfile's defaults (scrypt N=2**18, about a second). Tests pass a small value.
    Example: ``create_keystore(Path("issuer.json"), "s3cret", work_factor=2**14)``.
    """
    if not password:
        raise ConfigError("a keystore needs a non-empty password")
    signer = signer or Signer.generate()
    document = signer.encrypt(password, kdf=kdf, work_factor=work_factor)
    _write_private(Path(path), json.dumps(document).encode())
    log.info("created keystore %s for %s", path, signer.address)
    return signer.address


def decrypt_secret_storage(path: Path, password: str, *, what: str = "keystore") -> bytes:
    """The 32-byte secret in a Web3 Secret Storage file (an Ethereum keystore, or an issuer's
    encrypted Ed25519 seed). Missing file, bad JSON or wrong password: KeyUnavailable, whose
    message names ``what`` and the path but never the secret."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyUnavailable(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise KeyUnavailable(f"{what} {path} cannot be read: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s %s is accessible by other users (mode %o)", what, path, mode & 0o777)
    try:
        document = json.loads(raw)
        document["crypto"]  # a shape check before handing it to eth-account
    except (ValueError, TypeError, KeyError):
        raise KeyUnavailable(f"{what} {path} is not a Web3 Secret Storage JSON file") from None
    try:
        return bytes(Account.decrypt(document, password))
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise KeyUnavailable(f"wrong password for {what} {path}") from None
        raise KeyUnavailable(f"{what} {path} cannot be decrypted: unsupported format") from None
    except Exception:
        raise KeyUnavailable(f"{what} {path} cannot be decrypted: unsupported format") from None


def load_keystore(path: Path, password: str) -> Signer:
    """Decrypt a keystore file. Missing file, bad JSON or wrong password: KeyUnavailable."""
    return Signer(Account.from_key(decrypt_secret_storage(path, password)))


def load_signer(
    *,
    keystore: Path | None = None,
    password: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Signer:
    """The configured signing key, from the first source that is set.

    1. ``keystore`` (or ``$CREDANCHOR_KEYSTORE``) decrypted with ``password`` (or
       ``$CREDANCHOR_KEYSTORE_PASSWORD``);
    2. ``$CREDANCHOR_PRIVATE_KEY`` (hex).

    Raises KeyUnavailable with a one-line message when neither is usable.
    """
    env = os.environ if environ is None else environ
    keystore_path = keystore or (Path(env[KEYSTORE_ENV]) if env.get(KEYSTORE_ENV) else None)
    if keystore_path is not None:
        secret = password if password is not None else env.get(PASSWORD_ENV)
        if not secret:
            raise KeyUnavailable(
                f"keystore {keystore_path} needs a password (argument or ${PASSWORD_ENV})"
            )
        return load_keystore(keystore_path, secret)
    raw = env.get(PRIVATE_KEY_ENV)
    if raw:
        return Signer.from_key(raw.strip())
    raise KeyUnavailable(f"no signing key: set ${PRIVATE_KEY_ENV} or configure a keystore")


def generate_password_file(path: Path) -> str:
    """Create ``path`` (0600) holding a random password; returns it.

    WARNING: a password stored beside its keystore protects nothing against anyone who can
    read the directory. This exists only for the zero-setup embedded demo; real deployments
    pass the password from a secret store through the environment.
    """
    password = secrets.token_urlsafe(32)
    _write_private(Path(path), password.encode() + b"\n")
    return password


def read_password_file(path: Path) -> str:
    try:
        return Path(path).read_text().strip()
    except FileNotFoundError:
        raise KeyUnavailable(f"password file {path} does not exist") from None
