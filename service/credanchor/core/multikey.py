"""Ed25519 keys as Multikey, base58btc multibase, did:key and did:web (pure, no I/O).

Encodings (W3C Controlled Identifiers v1.0, "Multikey"; did:key method):

* public key: ``z`` + base58btc(0xed 0x01 + 32-byte public key) — always starts ``z6Mk``;
* secret key: ``z`` + base58btc(0x80 0x26 + 32-byte seed) — always starts ``z3u2``;
* ``did:key:<public multibase>``; its one verification method is ``<did>#<public multibase>``.

WARNING: a secret key is the issuer's signing authority. ``Ed25519KeyPair``'s repr shows only
the public key, and the secret multibase is produced only by an explicit method call, so that a
key pair logged or put in an error message by accident reveals nothing.
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from gmpy2 import mpz
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError

from credanchor.core.jsonld import DID_V1, MULTIKEY_V1
from credanchor.errors import DidError, KeyFormatError

__all__ = [
    "ED25519_PUB_PREFIX",
    "ED25519_SECRET_PREFIX",
    "Ed25519KeyPair",
    "b58decode",
    "b58encode",
    "decode_public_multibase",
    "decode_secret_multibase",
    "did_key",
    "did_key_document",
    "did_key_verification_method",
    "did_web_from_url",
    "did_web_url",
    "encode_public_multibase",
    "encode_secret_multibase",
    "multibase_decode",
    "multibase_encode",
    "parse_did_key",
    "resolve_offline",
    "verify_ed25519",
]

#: Multicodec ``ed25519-pub`` (0xed) as an unsigned varint.
ED25519_PUB_PREFIX = b"\xed\x01"
#: Multicodec ``ed25519-priv`` (0x1300) as an unsigned varint.
ED25519_SECRET_PREFIX = b"\x80\x26"

# --- base58btc ------------------------------------------------------------------------------

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# Longer inputs are refused: nothing here is larger than a 64-byte signature, and base
# conversion is superlinear, so an unbounded value from a document would be a cheap way to
# burn CPU.
_B58_MAX_CHARS = 256
_B58_TEXT = re.compile(r"[1-9A-HJ-NP-Za-km-z]*")

# The base conversion is GMP's (gmpy2): its base-58 digits are 0-9, A-Z, a-v, mapped to and
# from the base58btc alphabet by one byte table each way. A signature is encoded in ~1.2 µs
# against ~7 µs for the best pure-Python loop (ten digits per big-integer division), and
# every signed badge and every verification converts one (tests/core/test_base58.py holds it
# to the textbook digit-by-digit algorithm).
_GMP_DIGITS = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
_TO_B58 = bytes.maketrans(_GMP_DIGITS, _B58_ALPHABET.encode("ascii"))
_FROM_B58 = bytes.maketrans(_B58_ALPHABET.encode("ascii"), _GMP_DIGITS)


def b58encode(data: bytes) -> str:
    """Bitcoin base58 of ``data``; each leading zero byte becomes a leading ``1``."""
    if not isinstance(data, bytes | bytearray):
        raise TypeError("b58encode takes bytes")
    body = data.lstrip(b"\0")
    ones = "1" * (len(data) - len(body))
    if not body:
        return ones
    digits = mpz(int.from_bytes(body, "big")).digits(58)
    return ones + digits.encode("ascii").translate(_TO_B58).decode("ascii")


def b58decode(text: str) -> bytes:
    """Inverse of :func:`b58encode`; KeyFormatError for a character outside the alphabet."""
    if not isinstance(text, str):
        raise KeyFormatError("base58 value must be a string")
    if len(text) > _B58_MAX_CHARS:
        raise KeyFormatError(f"base58 value longer than {_B58_MAX_CHARS} characters")
    if not _B58_TEXT.fullmatch(text):
        bad = next(c for c in text if c not in _B58_ALPHABET)
        raise KeyFormatError(f"{bad!r} is not a base58btc character")
    body = text.lstrip("1")
    zeros = b"\0" * (len(text) - len(body))
    if not body:
        return zeros
    n = int(mpz(body.encode("ascii").translate(_FROM_B58).decode("ascii"), 58))
    return zeros + n.to_bytes((n.bit_length() + 7) // 8, "big")


def multibase_encode(data: bytes) -> str:
    """Multibase base58btc: ``z`` + base58btc(data)."""
    return "z" + b58encode(data)


def multibase_decode(text: object) -> bytes:
    """Decode a base58btc multibase string (the only base Data Integrity uses here)."""
    if not isinstance(text, str) or not text:
        raise KeyFormatError("multibase value must be a non-empty string")
    if text[0] != "z":
        raise KeyFormatError(f"multibase value must be base58btc ('z…'), got {text[:1]!r} prefix")
    return b58decode(text[1:])


# --- Multikey -------------------------------------------------------------------------------


def encode_public_multibase(public_key: bytes) -> str:
    """``z6Mk…`` Multikey encoding of a raw 32-byte Ed25519 public key."""
    if not isinstance(public_key, bytes) or len(public_key) != 32:
        raise KeyFormatError("an Ed25519 public key is 32 bytes")
    return multibase_encode(ED25519_PUB_PREFIX + public_key)


def decode_public_multibase(text: object) -> bytes:
    """The raw 32-byte public key of a ``z6Mk…`` Multikey; KeyFormatError if it is not one.

    The bytes are also checked to be a valid curve point, so a malformed key is reported here
    rather than as a failed signature. Valid keys are remembered (a verifier meets the same
    few issuer keys on every badge; decoding costs ~20 µs).
    """
    if isinstance(text, str) and len(text) <= _B58_MAX_CHARS:
        return _decode_public_cached(text)
    return _decode_public(text)


@functools.lru_cache(maxsize=4096)
def _decode_public_cached(text: str) -> bytes:
    return _decode_public(text)  # an exception is raised, not cached


def _decode_public(text: object) -> bytes:
    raw = multibase_decode(text)
    if raw[:2] != ED25519_PUB_PREFIX:
        raise KeyFormatError(
            f"not an Ed25519 public key (multicodec prefix {raw[:2].hex() or 'missing'}, "
            "expected ed01)"
        )
    key = raw[2:]
    if len(key) != 32:
        raise KeyFormatError(f"an Ed25519 public key is 32 bytes, got {len(key)}")
    try:
        Ed25519PublicKey.from_public_bytes(key)
    except ValueError as exc:
        raise KeyFormatError("not a valid Ed25519 public key") from exc
    return key


def encode_secret_multibase(seed: bytes) -> str:
    """``z3u2…`` Multikey encoding of a 32-byte Ed25519 seed (the secret key)."""
    if not isinstance(seed, bytes) or len(seed) != 32:
        raise KeyFormatError("an Ed25519 secret key (seed) is 32 bytes")
    return multibase_encode(ED25519_SECRET_PREFIX + seed)


def decode_secret_multibase(text: object) -> bytes:
    """The 32-byte seed of a ``z3u2…`` secret Multikey. The message never echoes the value."""
    try:
        raw = multibase_decode(text)
    except KeyFormatError:
        raise KeyFormatError("secret key is not a base58btc multibase value") from None
    if raw[:2] != ED25519_SECRET_PREFIX or len(raw) != 34:
        raise KeyFormatError("not an Ed25519 secret Multikey (expected 0x8026 + 32 bytes)")
    return raw[2:]


# Signing and verifying go through libsodium (PyNaCl), keys are made and exported through
# OpenSSL (cryptography). Ed25519 signatures are deterministic (RFC 8032), so both libraries
# sign alike, byte for byte (tests/core/test_multikey.py checks it on random keys and
# messages); libsodium verifies in ~60 µs where OpenSSL takes ~130 on this machine, and a
# verifier checks one signature per badge. libsodium is the stricter of the two: it also
# refuses small-order public keys and R values, which no honest signer produces.


def verify_ed25519(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 (RFC 8032, pure) signature of ``message``."""
    if len(signature) != 64 or len(public_key) != 32:
        return False
    try:
        crypto_sign_open(signature + message, public_key)
    except (BadSignatureError, ValueError):
        return False
    return True


@dataclass(frozen=True, repr=False)
class Ed25519KeyPair:
    """An Ed25519 signing key. Build it with :meth:`generate`, :meth:`from_seed` or
    :meth:`from_secret_multibase`; the repr shows only the public key."""

    public_key: bytes
    _private: Ed25519PrivateKey = field(compare=False)
    # libsodium's form of the same secret (seed + public key), what crypto_sign takes.
    _sodium_secret: bytes = field(init=False, compare=False)

    def __repr__(self) -> str:
        return f"Ed25519KeyPair(public={self.public_multibase})"

    def __post_init__(self) -> None:
        derived = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        if derived != self.public_key:
            raise KeyFormatError("public key does not belong to the private key")
        seed = self._private.private_bytes_raw()
        sodium_public, sodium_secret = crypto_sign_seed_keypair(seed)
        if sodium_public != derived:  # the two libraries must agree on the key
            raise KeyFormatError("libsodium derived another public key from this seed")
        object.__setattr__(self, "_sodium_secret", sodium_secret)

    @classmethod
    def generate(cls) -> Ed25519KeyPair:
        """A fresh key from the operating system's CSPRNG (through OpenSSL)."""
        return cls._from_private(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519KeyPair:
        """The key pair of a 32-byte RFC 8032 seed (the "private key" bytes)."""
        if not isinstance(seed, bytes) or len(seed) != 32:
            raise KeyFormatError("an Ed25519 seed is 32 bytes")
        return cls._from_private(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_secret_multibase(cls, text: str) -> Ed25519KeyPair:
        """The key pair of a ``z3u2…`` secret Multikey."""
        return cls.from_seed(decode_secret_multibase(text))

    @classmethod
    def _from_private(cls, private: Ed25519PrivateKey) -> Ed25519KeyPair:
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return cls(public, private)

    @property
    def public_multibase(self) -> str:
        """``z6Mk…``: the ``publicKeyMultibase`` of this key's Multikey."""
        return encode_public_multibase(self.public_key)

    @property
    def did(self) -> str:
        """This key's ``did:key``."""
        return did_key(self.public_key)

    @property
    def verification_method(self) -> str:
        """The did:key verification method id: ``did:key:z6Mk…#z6Mk…``."""
        return did_key_verification_method(self.public_key)

    def secret_multibase(self) -> str:
        """``z3u2…`` encoding of the seed. WARNING: this is the secret; store it encrypted."""
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return encode_secret_multibase(seed)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message`` (libsodium; OpenSSL gives the same)."""
        return crypto_sign(message, self._sodium_secret)[:64]


# --- did:key --------------------------------------------------------------------------------

_DID_KEY = re.compile(r"did:key:(z[1-9A-HJ-NP-Za-km-z]+)")


def did_key(public_key: bytes | str) -> str:
    """``did:key:z6Mk…`` of a raw public key or its ``z6Mk…`` multibase."""
    mb = (
        encode_public_multibase(public_key)
        if isinstance(public_key, bytes)
        else encode_public_multibase(decode_public_multibase(public_key))
    )
    return "did:key:" + mb


def did_key_verification_method(public_key: bytes | str) -> str:
    """The id of a did:key's only verification method: ``did:key:z6Mk…#z6Mk…``."""
    did = did_key(public_key)
    return f"{did}#{did[len('did:key:') :]}"


def parse_did_key(did: object) -> bytes:
    """The raw Ed25519 public key of ``did:key:z6Mk…`` (a DID, not a DID URL)."""
    m = _DID_KEY.fullmatch(did) if isinstance(did, str) else None
    if m is None:
        raise DidError(f"not a did:key DID: {did!r:.100}")
    try:
        return decode_public_multibase(m.group(1))
    except KeyFormatError as exc:
        raise DidError(f"did:key does not hold an Ed25519 key: {exc.detail}") from exc


def did_key_document(did: str) -> dict[str, Any]:
    """The DID document of an Ed25519 did:key, resolved offline (it is derived from the DID).

    Follows the did:key method's Multikey form: one ``Multikey`` verification method, named
    by every verification relationship that applies to a signing key.
    """
    public_key = parse_did_key(did)
    mb = encode_public_multibase(public_key)
    vm_id = f"{did}#{mb}"
    return {
        "@context": [DID_V1, MULTIKEY_V1],
        "id": did,
        "verificationMethod": [
            {"id": vm_id, "type": "Multikey", "controller": did, "publicKeyMultibase": mb}
        ],
        "authentication": [vm_id],
        "assertionMethod": [vm_id],
        "capabilityInvocation": [vm_id],
        "capabilityDelegation": [vm_id],
    }


# --- did:web --------------------------------------------------------------------------------

# A DNS host name: labels of letters, digits and hyphens (IDNs must arrive punycoded), at least
# two labels, or "localhost" (for development). IP addresses are excluded by the did:web spec.
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_PORT = re.compile(r"[0-9]{1,5}")
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=@%-]+")


def _check_segment(segment: str, did_or_url: str) -> str:
    decoded = urllib.parse.unquote(segment)
    if (
        not _PATH_SEGMENT.fullmatch(segment)
        or decoded in (".", "..")
        or "/" in decoded
        or ":" in decoded
    ):
        raise DidError(f"invalid did:web path segment {segment!r:.60} in {did_or_url!r:.120}")
    return segment


def did_web_url(did: object) -> str:
    """The https URL of a did:web DID's document, per the did:web method specification.

    ``did:web:example.com`` -> ``https://example.com/.well-known/did.json``;
    ``did:web:example.com:issuers:acme`` -> ``https://example.com/issuers/acme/did.json``;
    a port is percent-encoded in the DID: ``did:web:example.com%3A3000`` (host:port).
    Only computes the URL; fetching it is the caller's business.
    """
    if not isinstance(did, str) or not did.startswith("did:web:"):
        raise DidError(f"not a did:web DID: {did!r:.100}")
    if any(c in did for c in "#?/"):
        raise DidError(f"a did:web DID has no path, query or fragment: {did!r:.100}")
    host_part, *path = did[len("did:web:") :].split(":")
    host, sep, port = urllib.parse.unquote(host_part).partition(":")
    if (
        not (_HOST.fullmatch(host) or host.lower() == "localhost")
        or host.replace(".", "").isdigit()
    ):
        raise DidError(f"did:web host must be a DNS name, got {host!r:.100}")
    if sep and (not _PORT.fullmatch(port) or not 0 < int(port) < 65536):
        raise DidError(f"did:web port must be 1-65535, got {port!r:.20}")
    if "%" in host_part and host_part.lower() != f"{host}%3a{port}".lower():
        raise DidError(f"only the port separator may be percent-encoded in {did!r:.100}")
    segments = [_check_segment(s, did) for s in path]
    authority = host.lower() + (f":{port}" if sep else "")
    suffix = "/".join(segments) if segments else ".well-known"
    return f"https://{authority}/{suffix}/did.json"


def did_web_from_url(url: str) -> str:
    """The did:web DID whose document lives at ``url`` (the inverse of :func:`did_web_url`).

    Accepts the document URL (``…/did.json``) or the URL of its directory.
    """
    if not isinstance(url, str):
        raise DidError("URL must be a string")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" or parts.query or parts.fragment or parts.username:
        raise DidError(f"did:web needs a plain https URL, got {url!r:.120}")
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError as exc:
        raise DidError(f"invalid port in {url!r:.120}") from exc
    path = parts.path.removesuffix("/did.json").strip("/")
    segments = [s for s in path.split("/") if s] if path else []
    if segments == [".well-known"]:
        segments = []
    for s in segments:
        _check_segment(s, url)
    did = "did:web:" + host.lower() + (f"%3A{port}" if port is not None else "")
    if segments:
        did += ":" + ":".join(segments)
    did_web_url(did)  # validates the host and port the same way in both directions
    return did


def resolve_offline(did: str, documents: Mapping[str, Mapping[str, Any]] | None = None) -> Any:
    """A DID document without I/O: did:key is derived; anything else must be in ``documents``."""
    if did.startswith("did:key:"):
        return did_key_document(did)
    if documents is not None and did in documents:
        return documents[did]
    raise DidError(f"no DID document for {did!r:.100} (only did:key resolves offline)")
