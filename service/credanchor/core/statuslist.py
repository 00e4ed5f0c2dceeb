"""W3C Bitstring Status List v1.0: revocation that standard VC verifiers can read.

Pure code, no I/O. Four parts, each usable alone (docs/status-list.md):

* :class:`Bitstring`: a fixed-length list of bits, at least 131,072 (16 KiB, the spec's
  minimum, which is what gives holders herd privacy). Bit 0 is the left-most (most
  significant) bit of the first byte, as the spec orders them and as Digital Bazaar's
  library reads them. ``encodedList`` is ``"u"`` + base64url without padding (multibase) of
  the GZIP-compressed bytes. Encoding is deterministic (fixed header, mtime 0), so a list
  whose bits did not change is served byte for byte the same.
* :class:`StatusEntry`: the ``BitstringStatusListEntry`` a badge carries in
  ``credentialStatus``, its builder and a strict parser.
* :func:`status_list_credential`: the *unsigned* ``BitstringStatusListCredential``. Signing
  is a separate step (Data Integrity), so a list can be rebuilt and compared without a key.
* :func:`allocate_indexes`: picks unused indexes uniformly at random, never a used one. The
  caller owns the record of used indexes (the ledger, inside the transaction that issues).

The bit only tells a standard verifier what the issuer published. The revocation that counts
is the one recorded on chain; the list mirrors it.
"""

from __future__ import annotations

import base64
import functools
import re
import struct
import zlib
from collections.abc import Callable, Container, Iterable, Mapping, Sized
from dataclasses import dataclass
from datetime import UTC, datetime
from random import Random
from typing import Any, Final
from urllib.parse import urlsplit

from credanchor.errors import StatusListFull, StatusListInvalid

__all__ = [
    "DEFAULT_LENGTH",
    "ENTRY_TYPE",
    "LIST_CREDENTIAL_TYPE",
    "LIST_TYPE",
    "MAX_LENGTH",
    "MIN_LENGTH",
    "STATUS_PURPOSE",
    "VC2_CONTEXT",
    "Bitstring",
    "StatusEntry",
    "StatusListDocument",
    "allocate_index",
    "allocate_indexes",
    "credential_status_entry",
    "entry_json",
    "parse_status_entry",
    "parse_status_list_credential",
    "status_list_credential",
]

#: The spec's minimum: 16 KiB of bits. Smaller lists would let an observer narrow down whose
#: status is checked; the spec's validation algorithm rejects them (STATUS_LIST_LENGTH_ERROR).
MIN_LENGTH: Final = 131_072
DEFAULT_LENGTH: Final = MIN_LENGTH
#: The largest list decoded or built: 16 MiB of bits. GZIP compresses zeros about 1000:1, so
#: without a bound a few kilobytes of ``encodedList`` could ask for gigabytes.
MAX_LENGTH: Final = 8 * 16 * 1024 * 1024

VC2_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
ENTRY_TYPE: Final = "BitstringStatusListEntry"
LIST_TYPE: Final = "BitstringStatusList"
LIST_CREDENTIAL_TYPE: Final = "BitstringStatusListCredential"
#: credanchor publishes revocation only (no suspension, no status messages).
STATUS_PURPOSE: Final = "revocation"

_MULTIBASE_BASE64URL = "u"
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_DECIMAL = re.compile(r"[0-9]+")
_GZIP_MAGIC = b"\x1f\x8b"
# ID1 ID2, CM=8 (deflate), FLG=0, MTIME=0, XFL=2 (maximum compression), OS=255 (unknown).
# Written by hand rather than by gzip.compress, whose OS byte comes from the zlib build when
# mtime=0 (Python 3.11+): the header must not depend on the machine.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"


def _check_index(index: object, length: int) -> int:
    # bool is an int in Python; True as an index is a bug, not bit 1.
    if type(index) is not int:
        raise StatusListInvalid(f"a status list index must be an integer, got {index!r:.40}")
    if not 0 <= index < length:
        raise StatusListInvalid(f"status list index {index} is not in 0..{length - 1}")
    return index


def _check_length(length: object, *, min_length: int, max_length: int) -> int:
    if type(length) is not int:
        raise StatusListInvalid(f"a status list length must be an integer, got {length!r:.40}")
    if length % 8:
        raise StatusListInvalid(f"a status list length must be a multiple of 8, got {length}")
    if length < min_length:
        raise StatusListInvalid(
            f"a status list must hold at least {min_length} bits, got {length}"
        )
    if length > max_length:
        raise StatusListInvalid(f"a status list may hold at most {max_length} bits, got {length}")
    return length


# --- the bitstring --------------------------------------------------------------------------


class Bitstring:
    """A fixed-length bitstring; bit ``i`` is bit ``7 - i % 8`` of byte ``i // 8``.

    Mutable (``set``), so it is not hashable; compare with ``==`` (same length, same bits).
    """

    __slots__ = ("_bytes",)

    def __init__(
        self,
        length: int = DEFAULT_LENGTH,
        *,
        min_length: int = MIN_LENGTH,
        max_length: int = MAX_LENGTH,
    ) -> None:
        n = _check_length(length, min_length=min_length, max_length=max_length)
        self._bytes = bytearray(n // 8)

    @classmethod
    def from_bytes(
        cls,
        data: bytes | bytearray,
        *,
        min_length: int = MIN_LENGTH,
        max_length: int = MAX_LENGTH,
    ) -> Bitstring:
        """The bitstring whose bytes are ``data`` (length ``8 * len(data)``)."""
        bits = cls(8 * len(data), min_length=min_length, max_length=max_length)
        bits._bytes[:] = data
        return bits

    @classmethod
    def from_indexes(cls, indexes: Iterable[int], length: int = DEFAULT_LENGTH) -> Bitstring:
        """A bitstring of ``length`` bits with exactly ``indexes`` set."""
        bits = cls(length)
        for i in indexes:
            bits.set(i)
        return bits

    @property
    def length(self) -> int:
        """The number of bits (a multiple of 8)."""
        return 8 * len(self._bytes)

    def get(self, index: int) -> bool:
        """Whether bit ``index`` is set."""
        i = _check_index(index, self.length)
        return bool(self._bytes[i >> 3] & (0x80 >> (i & 7)))

    def set(self, index: int, value: bool = True) -> None:
        """Set bit ``index`` (or clear it with ``value=False``)."""
        i = _check_index(index, self.length)
        mask = 0x80 >> (i & 7)
        if value:
            self._bytes[i >> 3] |= mask
        else:
            self._bytes[i >> 3] &= ~mask & 0xFF

    def set_indexes(self) -> list[int]:
        """The indexes of the set bits, ascending."""
        out: list[int] = []
        for byte_index, byte in enumerate(self._bytes):
            if byte:  # most bytes of a revocation list are zero
                base = byte_index << 3
                out.extend(base + bit for bit in range(8) if byte & (0x80 >> bit))
        return out

    def count(self) -> int:
        """The number of set bits."""
        return int.from_bytes(self._bytes, "big").bit_count()

    def to_bytes(self) -> bytes:
        return bytes(self._bytes)

    def encode(self) -> str:
        """The ``encodedList``: multibase base64url (no padding) of the GZIP-compressed bytes.

        The same bits always give the same string on one machine. Another GZIP implementation
        (or zlib version) may compress differently, so compare lists by their bits.
        """
        data = bytes(self._bytes)
        compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        deflated = compressor.compress(data) + compressor.flush()
        trailer = struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
        gz = _GZIP_HEADER + deflated + trailer
        return _MULTIBASE_BASE64URL + base64.urlsafe_b64encode(gz).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(
        cls,
        encoded: object,
        *,
        min_length: int = MIN_LENGTH,
        max_length: int = MAX_LENGTH,
    ) -> Bitstring:
        """Read an ``encodedList``. StatusListInvalid, saying why, when it is not multibase
        base64url, not GZIP, corrupt, or decodes to fewer than ``min_length`` or more than
        ``max_length`` bits (decompression stops as soon as the bound is passed)."""
        if not isinstance(encoded, str):
            raise StatusListInvalid("encodedList must be a string")
        if not encoded.startswith(_MULTIBASE_BASE64URL):
            raise StatusListInvalid(
                "encodedList must start with the multibase prefix 'u' (base64url), "
                f"got {encoded[:1]!r}"
            )
        body = encoded[1:]
        if _BASE64URL.fullmatch(body) is None:
            bad = next(c for c in body if _BASE64URL.fullmatch(c) is None)
            raise StatusListInvalid(
                f"encodedList is not base64url without padding: it contains {bad!r}"
            )
        if len(body) % 4 == 1:
            raise StatusListInvalid("encodedList is not base64url: its length is impossible")
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        data = _gunzip(compressed, limit=max_length // 8)
        if len(data) * 8 < min_length:
            raise StatusListInvalid(
                f"the status list holds {len(data) * 8} bits; the minimum is {min_length}"
            )
        return cls.from_bytes(data, min_length=min_length, max_length=max_length)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Bitstring):
            return NotImplemented
        return self._bytes == other._bytes

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Bitstring(length={self.length}, set={self.count()})"


def _gunzip(data: bytes, *, limit: int) -> bytes:
    """GZIP-decompress ``data`` (one or more members, RFC 1952), refusing more than ``limit``
    bytes of output without ever producing more than ``limit + 1``."""
    if not data.startswith(_GZIP_MAGIC):
        raise StatusListInvalid("encodedList is not GZIP data (it does not start with 1f 8b)")
    out = bytearray()
    rest = data
    while rest:
        if not rest.startswith(_GZIP_MAGIC):
            raise StatusListInvalid("encodedList has bytes after its GZIP data")
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip wrapper only
        try:
            # max_length bounds the output of this call: the bomb guard.
            chunk = inflater.decompress(rest, limit - len(out) + 1)
        except zlib.error as exc:
            raise StatusListInvalid(f"encodedList's GZIP data is corrupt: {exc}") from exc
        out += chunk
        if len(out) > limit:
            raise StatusListInvalid(
                f"the status list decompresses to more than {limit * 8} bits (the maximum)"
            )
        if not inflater.eof:
            raise StatusListInvalid("encodedList's GZIP data is truncated")
        rest = inflater.unused_data
    return bytes(out)


# --- the entry in a badge -------------------------------------------------------------------


def _check_list_url(url: object) -> str:
    if not isinstance(url, str):
        raise StatusListInvalid("a status list URL must be a string")
    return _checked_list_url(url)


# Every badge of an issuer names one of a few list URLs, and each verification reads the URL
# twice (the entry, then StatusEntry): ~3.7 µs a check here, ~0.1 µs remembered. Only URLs
# that pass are remembered (an exception is never cached); the check depends on the text alone.
@functools.lru_cache(maxsize=1024)
def _checked_list_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment or "#" in url:
        raise StatusListInvalid(
            f"a status list URL must be an http(s) URL without a fragment, got {url!r:.80}"
        )
    if url.split() != [url]:  # str.split() splits at exactly what str.isspace() calls space
        raise StatusListInvalid(f"a status list URL must not contain spaces, got {url!r:.80}")
    return url


@dataclass(frozen=True)
class StatusEntry:
    """A badge's place in a status list: bit ``index`` of the list at ``list_url``."""

    list_url: str
    index: int

    def __post_init__(self) -> None:
        _check_list_url(self.list_url)
        # The entry does not know the list's length; the maximum is the only bound here.
        _check_index(self.index, MAX_LENGTH)

    def to_json(self) -> dict[str, str]:
        """The ``credentialStatus`` object (the index as a decimal string, as the spec says)."""
        return entry_json(self.list_url, self.index)


def entry_json(list_url: str, index: int) -> dict[str, str]:
    """:meth:`StatusEntry.to_json` for a URL and an index already checked (the issuing path
    checks a list's URL once, not once per badge)."""
    return {
        "id": f"{list_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": STATUS_PURPOSE,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def parse_status_entry(value: object, *, length: int = DEFAULT_LENGTH) -> StatusEntry:
    """Validate one ``credentialStatus`` object as a revocation ``BitstringStatusListEntry``
    into a list of ``length`` bits. StatusListInvalid names the first thing wrong."""
    if not isinstance(value, Mapping):
        raise StatusListInvalid("credentialStatus must be an object")
    if value.get("type") != ENTRY_TYPE:
        raise StatusListInvalid(
            f"credentialStatus.type must be {ENTRY_TYPE!r}, got {value.get('type')!r:.60}"
        )
    if value.get("statusPurpose") != STATUS_PURPOSE:
        raise StatusListInvalid(
            f"credentialStatus.statusPurpose must be {STATUS_PURPOSE!r}, "
            f"got {value.get('statusPurpose')!r:.60}"
        )
    # A statusSize other than 1 would change which bits the index means.
    size = value.get("statusSize", 1)
    if type(size) is not int or size != 1:
        raise StatusListInvalid("credentialStatus.statusSize must be 1 (one bit per badge)")
    raw = value.get("statusListIndex")
    # The spec: "an arbitrary size integer greater than or equal to 0, expressed as a string in
    # base 10". ASCII digits only (str.isdigit would take other scripts' digits); the length
    # cap keeps int() cheap on hostile input.
    if not isinstance(raw, str) or len(raw) > 20 or _DECIMAL.fullmatch(raw) is None:
        raise StatusListInvalid(
            f"credentialStatus.statusListIndex must be a decimal string, got {raw!r:.40}"
        )
    index = int(raw)
    if index >= length:
        raise StatusListInvalid(
            f"credentialStatus.statusListIndex {index} is not in 0..{length - 1}"
        )
    try:
        url = _check_list_url(value.get("statusListCredential"))
    except StatusListInvalid as exc:
        raise StatusListInvalid(f"credentialStatus.statusListCredential: {exc.detail}") from exc
    entry_id = value.get("id")
    if entry_id is not None:
        if not isinstance(entry_id, str):
            raise StatusListInvalid("credentialStatus.id must be a string")
        if entry_id == url:
            raise StatusListInvalid("credentialStatus.id must not be the status list's URL")
    return StatusEntry(list_url=url, index=index)


def credential_status_entry(
    credential: Mapping[str, Any], *, length: int = DEFAULT_LENGTH
) -> StatusEntry | None:
    """The credential's revocation entry; None when it has no ``credentialStatus``.

    ``credentialStatus`` may be one object or an array; in an array, entries of other types or
    purposes are ignored and exactly one revocation ``BitstringStatusListEntry`` must remain.
    """
    status = credential.get("credentialStatus")
    if status is None:
        return None
    if not isinstance(status, list):
        return parse_status_entry(status, length=length)
    ours = [
        s
        for s in status
        if isinstance(s, Mapping)
        and s.get("type") == ENTRY_TYPE
        and s.get("statusPurpose") == STATUS_PURPOSE
    ]
    if len(ours) != 1:
        raise StatusListInvalid(
            f"credentialStatus must hold exactly one revocation {ENTRY_TYPE}, found {len(ours)}"
        )
    return parse_status_entry(ours[0], length=length)


# --- the list credential --------------------------------------------------------------------


def _format_time(when: datetime) -> str:
    if not isinstance(when, datetime) or when.utcoffset() is None:
        raise StatusListInvalid("validFrom must be a timezone-aware datetime")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_list_credential(
    *,
    list_url: str,
    issuer: str,
    valid_from: datetime,
    revoked: Iterable[int] | Bitstring,
    length: int = DEFAULT_LENGTH,
) -> dict[str, Any]:
    """The unsigned ``BitstringStatusListCredential`` at ``list_url`` with the bits of
    ``revoked`` set (indexes, or a ready Bitstring whose own length then counts).

    VC 2.0 context only (it defines the status list terms). ``issuer`` must be the badges'
    issuer DID: standard verifiers refuse a list whose issuer differs from the badge's.
    """
    _check_list_url(list_url)
    if not isinstance(issuer, str) or not issuer.startswith("did:"):
        raise StatusListInvalid(f"the status list's issuer must be a DID, got {issuer!r:.80}")
    bits = revoked if isinstance(revoked, Bitstring) else Bitstring.from_indexes(revoked, length)
    return {
        "@context": [VC2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": _format_time(valid_from),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": LIST_TYPE,
            "statusPurpose": STATUS_PURPOSE,
            "encodedList": bits.encode(),
        },
    }


@dataclass(frozen=True, eq=False)
class StatusListDocument:
    """What a ``BitstringStatusListCredential`` says (its proof is not checked here)."""

    list_url: str
    issuer: str
    bits: Bitstring


def parse_status_list_credential(
    document: object, *, max_length: int = MAX_LENGTH
) -> StatusListDocument:
    """Read a revocation ``BitstringStatusListCredential`` (ours or anyone's). Checks its
    shape and decodes its list; verifying its signature is the caller's job."""
    if not isinstance(document, Mapping):
        raise StatusListInvalid("a status list credential must be an object")
    types = document.get("type")
    if not isinstance(types, list) or LIST_CREDENTIAL_TYPE not in types:
        raise StatusListInvalid(
            f"the status list credential's type must include {LIST_CREDENTIAL_TYPE!r}"
        )
    list_url = _check_list_url(document.get("id"))
    issuer = document.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    if not isinstance(issuer, str) or not issuer:
        raise StatusListInvalid("the status list credential has no issuer")
    subject = document.get("credentialSubject")
    if not isinstance(subject, Mapping):
        raise StatusListInvalid("the status list credential has no credentialSubject object")
    if subject.get("type") != LIST_TYPE:
        raise StatusListInvalid(f"credentialSubject.type must be {LIST_TYPE!r}")
    if subject.get("statusPurpose") != STATUS_PURPOSE:
        raise StatusListInvalid(
            f"credentialSubject.statusPurpose must be {STATUS_PURPOSE!r}, "
            f"got {subject.get('statusPurpose')!r:.60}"
        )
    size = subject.get("statusSize", 1)
    if type(size) is not int or size != 1:
        raise StatusListInvalid("credentialSubject.statusSize must be 1")
    bits = Bitstring.decode(subject.get("encodedList"), max_length=max_length)
    return StatusListDocument(list_url=list_url, issuer=issuer, bits=bits)


# --- index allocation -----------------------------------------------------------------------

#: Random probes per index when the caller cannot say how many indexes are used. At half full
#: all of them miss once in 4 billion draws; a list so full that they keep missing is scanned
#: instead (one pass), so a full list never turns into endless retries.
_PROBES: Final = 32
#: With a known count, at or below this many free indexes one pass over the list is cheaper
#: than probing (which would expect length/free probes per index).
_SCAN_AT_FREE: Final = 32


def _full(free: int, count: int, length: int) -> StatusListFull:
    return StatusListFull(
        f"the status list has {free} free indexes of {length}; {count} were asked for",
        free=free,
        length=length,
    )


def _uniform_draws(rng: Random, length: int, block: int) -> Callable[[], int]:
    """Independent uniform draws from ``0..length-1``, made ``block`` at a time: one
    ``rng.getrandbits`` call (for SystemRandom, one urandom read) per block instead of one
    per draw, which cost ~2 µs each when a million credentials take their slots. The bits are
    cut into 32-bit words; words at or above the largest multiple of ``length`` are dropped,
    so each kept word modulo ``length`` is exactly uniform."""
    if length > 1 << 32:
        return lambda: rng.randrange(length)
    limit = (1 << 32) // length * length
    buffer: list[int] = []

    def draw() -> int:
        while not buffer:
            words = memoryview(rng.getrandbits(32 * block).to_bytes(4 * block, "little"))
            buffer.extend([w % length for w in words.cast("I") if w < limit])
        return buffer.pop()

    return draw


def allocate_indexes(
    rng: Random,
    used: Container[int] | Callable[[int], bool],
    count: int,
    *,
    length: int = DEFAULT_LENGTH,
    used_count: int | None = None,
    probes: int = _PROBES,
) -> list[int]:
    """``count`` distinct indexes in ``0..length-1`` that ``used`` does not hold, each drawn
    uniformly from the indexes still free (the spec asks for random assignment, so that an
    index says nothing about when or to whom a badge was issued).

    ``used`` is a container (``i in used``: a set, a ledger view) or a predicate (``used(i)``:
    e.g. ``Bitstring.get`` of an "allocated" bitmap). ``used_count`` is how many indexes of
    ``0..length-1`` are used; it is ``len(used)`` for a sized container. ``rng`` is injected:
    ``secrets.SystemRandom()`` in production, a seeded ``random.Random`` in tests.

    Pure: nothing is recorded. The caller (the ledger, in the transaction that issues) stores
    the indexes as used before committing, with a uniqueness constraint as the backstop. All or
    nothing: :class:`StatusListFull` when fewer than ``count`` are free, and then nothing was
    allocated.

    Cost, in calls of ``used``: about ``length/free`` per index while probing at random. With a
    known count, a list without room is refused at once, and one with few free indexes (or a
    request for most of them) is scanned once and sampled. Without a count, ``probes`` misses
    in a row end the probing and the list is scanned, so a nearly full list costs at most one
    pass per call but may cost it often: give ``used_count`` when ``used`` is a predicate.
    """
    if type(count) is not int or count < 0:
        raise ValueError(f"count must be a non-negative integer, got {count!r:.40}")
    if type(length) is not int or length < 1:
        raise ValueError(f"length must be a positive integer, got {length!r:.40}")
    if type(probes) is not int or probes < 0:
        raise ValueError(f"probes must be a non-negative integer, got {probes!r:.40}")
    if used_count is None and isinstance(used, Sized):
        used_count = len(used)
    if used_count is not None and (type(used_count) is not int or not 0 <= used_count <= length):
        raise ValueError(f"used_count must be in 0..{length}, got {used_count!r:.40}")
    is_used: Callable[[int], bool] = (
        used.__contains__ if isinstance(used, Container) else used  # type: ignore[assignment]
    )
    picked: list[int] = []
    taken: set[int] = set()
    draw = _uniform_draws(rng, length, min(max(64, 2 * count), 1 << 16))
    while len(picked) < count:
        if used_count is None:
            budget = probes
        else:
            free, need = length - used_count - len(picked), count - len(picked)
            if free < need:
                raise _full(free + len(picked), count, length)
            if free <= _SCAN_AT_FREE or 2 * need > free:
                break
            # 16 times the expected number of probes: all miss with probability ~e^-16.
            budget = 16 * length // free + 1
        for _ in range(budget):
            i = draw()
            # A probe that hits a used slot is redrawn: conditioned on success, the draw is
            # uniform over the free slots.
            if i not in taken and not is_used(i):
                picked.append(i)
                taken.add(i)
                break
        else:
            break
    missing = count - len(picked)
    if missing:
        free_slots = [i for i in range(length) if i not in taken and not is_used(i)]
        if len(free_slots) < missing:
            raise _full(len(free_slots) + len(picked), count, length)
        picked += rng.sample(free_slots, missing)
    return picked


def allocate_index(
    rng: Random,
    used: Container[int] | Callable[[int], bool],
    *,
    length: int = DEFAULT_LENGTH,
    used_count: int | None = None,
    probes: int = _PROBES,
) -> int:
    """One unused index, drawn uniformly; see :func:`allocate_indexes`."""
    return allocate_indexes(
        rng, used, 1, length=length, used_count=used_count, probes=probes
    )[0]
