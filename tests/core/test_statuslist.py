"""The Bitstring Status List core (credanchor.core.statuslist, docs/status-list.md).

The bit ordering and the encoding are checked against Digital Bazaar's implementation, run for
real through tests/interop/verifiers.mjs (the ``interop`` tests), in both directions.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import secrets
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credanchor.core.statuslist import (
    DEFAULT_LENGTH,
    MAX_LENGTH,
    MIN_LENGTH,
    Bitstring,
    StatusEntry,
    allocate_index,
    allocate_indexes,
    credential_status_entry,
    parse_status_entry,
    parse_status_list_credential,
    status_list_credential,
)
from credanchor.errors import CredanchorError, StatusListFull, StatusListInvalid
from kit.credentials import make_credential

LIST_URL = "https://badges.northwind.example/status/northwind/1"
ISSUER_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
VALID_FROM = datetime(2026, 3, 2, 9, 15, 12, tzinfo=UTC)
#: The edges of bytes and of the list: an off-by-one or a reversed bit order moves one of them.
EDGE_BITS = [0, 1, 7, 8, 131_071]


def _b64url(data: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _raw(encoded: str) -> bytes:
    body = encoded[1:]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


# --- the bitstring --------------------------------------------------------------------------


def test_bit_zero_is_the_left_most_bit_of_the_first_byte() -> None:
    data = Bitstring.from_indexes(EDGE_BITS).to_bytes()
    assert len(data) == 16_384
    assert data[0] == 0b1100_0001  # bits 0, 1 and 7
    assert data[1] == 0b1000_0000  # bit 8
    assert data[-1] == 0b0000_0001  # bit 131071, the last one
    assert not any(data[2:-1])


def test_default_length_is_the_spec_minimum_of_16_kib() -> None:
    bits = Bitstring()
    assert bits.length == DEFAULT_LENGTH == MIN_LENGTH == 131_072
    assert bits.to_bytes() == bytes(16_384)
    assert bits.set_indexes() == [] and bits.count() == 0


def test_set_get_and_clear() -> None:
    bits = Bitstring()
    bits.set(9)
    bits.set(10)
    assert (bits.get(8), bits.get(9), bits.get(10), bits.get(11)) == (False, True, True, False)
    bits.set(9, False)
    assert bits.set_indexes() == [10]
    bits.set(10, False)
    assert bits == Bitstring()


@pytest.mark.parametrize(
    ("length", "message"),
    [
        (MIN_LENGTH - 8, "at least 131072 bits"),
        (MIN_LENGTH + 4, "multiple of 8"),
        (MAX_LENGTH + 8, "at most"),
        (0, "at least"),
        (True, "must be an integer"),
        (131_072.0, "must be an integer"),
    ],
)
def test_lengths_outside_the_spec_are_refused(length: Any, message: str) -> None:
    with pytest.raises(StatusListInvalid, match=message):
        Bitstring(length)


@pytest.mark.parametrize("index", [-1, 131_072, 10**30, True, "5", 5.0, None])
def test_indexes_outside_the_list_are_refused(index: Any) -> None:
    bits = Bitstring()
    with pytest.raises(StatusListInvalid):
        bits.set(index)
    with pytest.raises(StatusListInvalid):
        bits.get(index)
    assert bits.count() == 0


@given(
    length=st.sampled_from([MIN_LENGTH, MIN_LENGTH + 8, 2 * MIN_LENGTH]),
    data=st.data(),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_set_bits_survive_encode_and_decode(length: int, data: st.DataObject) -> None:
    revoked = data.draw(st.sets(st.integers(0, length - 1), max_size=300))
    bits = Bitstring.from_indexes(revoked, length)
    encoded = bits.encode()
    back = Bitstring.decode(encoded)
    assert back.length == length
    assert back.set_indexes() == sorted(revoked)
    assert back.count() == len(revoked)
    assert back == bits
    # An independent reader: the standard library's gzip gives the same bytes.
    assert gzip.decompress(_raw(encoded)) == bits.to_bytes()


@given(st.binary(min_size=1, max_size=64))
def test_set_indexes_agrees_with_get_bit_by_bit(data: bytes) -> None:
    bits = Bitstring.from_bytes(data, min_length=8)
    assert bits.set_indexes() == [i for i in range(bits.length) if bits.get(i)]
    expected = [i for i in range(8 * len(data)) if data[i // 8] >> (7 - i % 8) & 1]
    assert bits.set_indexes() == expected


def test_encoding_is_deterministic_and_has_a_fixed_header() -> None:
    a = Bitstring.from_indexes([3, 4000])
    b = Bitstring.from_indexes([4000, 3, 99])
    b.set(99, False)  # changed and changed back: nothing changed
    assert a.encode() == b.encode()
    raw = _raw(a.encode())
    # 1f 8b, deflate, no flags, mtime 0, maximum compression, OS "unknown"
    assert raw[:10] == bytes.fromhex("1f8b 08 00 00000000 02 ff")
    assert a.encode().startswith("u") and "=" not in a.encode()


def test_an_empty_list_compresses_to_a_short_string() -> None:
    """16 KiB of zeros: what a fresh list costs on the wire."""
    assert len(Bitstring().encode()) < 80


def test_lists_from_other_gzip_writers_are_read() -> None:
    data = Bitstring.from_indexes([2, 70_000]).to_bytes()
    # gzip.compress writes a real mtime and another header; a verifier must not care.
    assert Bitstring.decode(_b64url(gzip.compress(data, mtime=1_700_000_000))).set_indexes() == [
        2,
        70_000,
    ]
    # RFC 1952: a file may hold several members, their data concatenated.
    split = gzip.compress(data[:1000]) + gzip.compress(data[1000:])
    assert Bitstring.decode(_b64url(split)).set_indexes() == [2, 70_000]


# --- malformed encodedList ------------------------------------------------------------------

_GOOD = Bitstring.from_indexes([1, 2, 3]).encode()
_GOOD_RAW = _raw(_GOOD)


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        (None, "must be a string"),
        (b"uH4sI", "must be a string"),
        ("", "multibase prefix 'u'"),
        ("z" + _GOOD[1:], "multibase prefix 'u'"),
        ("U" + _GOOD[1:], "multibase prefix 'u'"),
        (_GOOD[1:], "multibase prefix 'u'"),
        (_GOOD + "=", "contains '='"),
        ("u" + base64.b64encode(_GOOD_RAW).decode(), "not base64url"),
        (_GOOD[:-1] + " ", "contains ' '"),
        ("uAAAAA", "length is impossible"),
        ("u", "not GZIP"),
        (_b64url(zlib.compress(bytes(16_384))), "not GZIP"),
        (_b64url(bytes(16_384)), "not GZIP"),
        (_b64url(_GOOD_RAW[:-4]), "truncated"),
        (_b64url(_GOOD_RAW[:20]), "truncated"),
        (_b64url(_GOOD_RAW[:-8] + b"\0\0\0\0" + _GOOD_RAW[-4:]), "corrupt"),  # bad CRC-32
        (_b64url(_GOOD_RAW[:-4] + b"\0\0\0\0"), "corrupt"),  # bad length
        (_b64url(_GOOD_RAW + b"junk"), "bytes after"),
        (_b64url(gzip.compress(bytes(1000), mtime=0)), "holds 8000 bits; the minimum is 131072"),
        (_b64url(gzip.compress(b"", mtime=0)), "holds 0 bits"),
    ],
)
def test_malformed_encoded_lists_are_refused_with_a_reason(encoded: Any, message: str) -> None:
    with pytest.raises(StatusListInvalid, match=message) as info:
        Bitstring.decode(encoded)
    assert isinstance(info.value, ValueError) and info.value.status == 422


def test_a_list_longer_than_the_bound_is_refused() -> None:
    big = Bitstring(2 * MIN_LENGTH).encode()
    assert Bitstring.decode(big).length == 2 * MIN_LENGTH
    with pytest.raises(StatusListInvalid, match="more than 131072 bits"):
        Bitstring.decode(big, max_length=MIN_LENGTH)


def _bomb(size: int) -> str:
    """GZIP of ``size`` zero bytes, made without holding them in memory."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    return _b64url(b"".join(parts) + compressor.flush())


def test_a_decompression_bomb_is_refused_without_inflating_it() -> None:
    bomb = _bomb(256 << 20)  # 256 MiB of zeros in about 250 KB
    assert len(bomb) < 400_000
    tracemalloc.start()
    try:
        with pytest.raises(StatusListInvalid, match="more than 134217728 bits"):
            Bitstring.decode(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The output stops at the bound (16 MiB) plus one byte; copies of it and of the input
    # stay far below what inflating 256 MiB would take.
    assert peak < 64 << 20


# --- the entry in a badge -------------------------------------------------------------------


def test_entry_document() -> None:
    assert StatusEntry(LIST_URL, 94_567).to_json() == {
        "id": f"{LIST_URL}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": LIST_URL,
    }


@given(st.integers(0, DEFAULT_LENGTH - 1))
def test_entry_round_trips(index: int) -> None:
    entry = StatusEntry(LIST_URL, index)
    assert parse_status_entry(entry.to_json()) == entry
    assert credential_status_entry({"credentialStatus": entry.to_json()}) == entry


def _entry(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = StatusEntry(LIST_URL, 5).to_json()
    for key, value in changes.items():
        if value is ...:
            del entry[key]
        else:
            entry[key] = value
    return entry


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not an object", "must be an object"),
        (_entry(type="StatusList2021Entry"), "type must be 'BitstringStatusListEntry'"),
        (_entry(type=...), "type must be"),
        (_entry(statusPurpose="suspension"), "statusPurpose must be 'revocation'"),
        (_entry(statusPurpose=...), "statusPurpose must be"),
        (_entry(statusListIndex=5), "must be a decimal string"),
        (_entry(statusListIndex="abc"), "must be a decimal string"),
        (_entry(statusListIndex="-1"), "must be a decimal string"),
        (_entry(statusListIndex="1.5"), "must be a decimal string"),
        (_entry(statusListIndex=" 5"), "must be a decimal string"),
        (_entry(statusListIndex=""), "must be a decimal string"),
        (_entry(statusListIndex="\u0665"), "must be a decimal string"),  # Arabic-Indic 5
        (_entry(statusListIndex="9" * 5000), "must be a decimal string"),
        (_entry(statusListIndex=...), "must be a decimal string"),
        (_entry(statusListIndex="131072"), "131072 is not in 0..131071"),
        (_entry(statusSize=2), "statusSize must be 1"),
        (_entry(statusSize=True), "statusSize must be 1"),
        (_entry(statusListCredential=...), "statusListCredential: .*must be a string"),
        (_entry(statusListCredential="ftp://x.example/1"), "statusListCredential: .*http"),
        (_entry(statusListCredential=f"{LIST_URL}#list"), "without a fragment"),
        (_entry(statusListCredential="https:///nohost"), "without a fragment"),
        (_entry(id=LIST_URL), "must not be the status list's URL"),
        (_entry(id=7), "id must be a string"),
    ],
)
def test_malformed_entries_are_refused(value: Any, message: str) -> None:
    with pytest.raises(StatusListInvalid, match=message):
        parse_status_entry(value)


_SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()]


@pytest.mark.parametrize("where", ["inside", "leading", "trailing"])
def test_a_list_url_with_any_space_is_refused_every_time(where: str) -> None:
    """Every character str.isspace() calls space (Unicode's, not only ASCII's), wherever it
    stands; a refusal is never remembered as an answer, and a good URL still reads."""
    assert len(_SPACES) > 20 and "\u3000" in _SPACES and "\x1c" in _SPACES
    for space in _SPACES:
        url = {"inside": f"https://issuer.example/status/{space}1",
               "leading": f"{space}https://issuer.example/status/1",
               "trailing": f"https://issuer.example/status/1{space}"}[where]
        for _ in range(2):
            with pytest.raises(StatusListInvalid, match=r"must not contain spaces|http"):
                parse_status_entry(_entry(statusListCredential=url))
    zero_width = "https://issuer.example/status/\u200b1"  # not a space to str.isspace()
    for _ in range(2):
        assert parse_status_entry(_entry(statusListCredential=zero_width)).list_url == zero_width
    assert parse_status_entry(_entry()).list_url == LIST_URL


def test_entry_index_is_checked_against_the_list_length() -> None:
    entry = _entry(statusListIndex="200000")
    with pytest.raises(StatusListInvalid, match=r"not in 0\.\.131071"):
        parse_status_entry(entry)
    assert parse_status_entry(entry, length=2 * MIN_LENGTH).index == 200_000
    # Leading zeros are still base 10 (the spec does not forbid them).
    assert parse_status_entry(_entry(statusListIndex="007")).index == 7


def test_entry_builder_refuses_what_it_could_not_write() -> None:
    with pytest.raises(StatusListInvalid):
        StatusEntry(LIST_URL, -1)
    with pytest.raises(StatusListInvalid):
        StatusEntry(f"{LIST_URL}#frag", 1)
    with pytest.raises(StatusListInvalid):
        StatusEntry("https://x.example/a b", 1)


def test_the_revocation_entry_is_found_in_a_credential() -> None:
    ours = StatusEntry(LIST_URL, 12)
    suspension = {**ours.to_json(), "statusPurpose": "suspension", "id": f"{LIST_URL}-s#3"}
    other = {"type": "SomeOtherStatus", "id": "https://status.example/9"}
    assert credential_status_entry(make_credential()) is None
    assert credential_status_entry({"credentialStatus": ours.to_json()}) == ours
    assert (
        credential_status_entry({"credentialStatus": [other, suspension, ours.to_json()]}) == ours
    )
    with pytest.raises(StatusListInvalid, match=r"exactly one revocation .* found 0"):
        credential_status_entry({"credentialStatus": [other, suspension]})
    with pytest.raises(StatusListInvalid, match="found 2"):
        credential_status_entry({"credentialStatus": [ours.to_json(), ours.to_json()]})
    with pytest.raises(StatusListInvalid, match="type must be"):
        credential_status_entry({"credentialStatus": other})


# --- the list credential --------------------------------------------------------------------


def test_status_list_credential_document() -> None:
    doc = status_list_credential(
        list_url=LIST_URL,
        issuer=ISSUER_DID,
        valid_from=VALID_FROM.astimezone(timezone(timedelta(hours=2))),
        revoked=EDGE_BITS,
    )
    encoded = doc["credentialSubject"].pop("encodedList")
    assert doc == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": ISSUER_DID,
        "validFrom": "2026-03-02T09:15:12Z",
        "credentialSubject": {
            "id": f"{LIST_URL}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
        },
    }
    assert Bitstring.decode(encoded).set_indexes() == EDGE_BITS
    assert encoded == Bitstring.from_indexes(EDGE_BITS).encode()


def test_status_list_credential_is_stable_and_reads_back() -> None:
    args: dict[str, Any] = {"list_url": LIST_URL, "issuer": ISSUER_DID, "valid_from": VALID_FROM}
    doc = status_list_credential(revoked={9, 3, 100_000}, **args)
    # The same revoked set, given another way, gives the same bytes to serve.
    same = status_list_credential(revoked=Bitstring.from_indexes([100_000, 9, 3]), **args)
    assert json.dumps(doc, sort_keys=True) == json.dumps(same, sort_keys=True)
    read = parse_status_list_credential(doc)
    assert (read.list_url, read.issuer) == (LIST_URL, ISSUER_DID)
    assert read.bits.set_indexes() == [3, 9, 100_000]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"list_url": "badges.example/status/1"}, "http\\(s\\) URL"),
        ({"issuer": "https://issuer.example"}, "must be a DID"),
        ({"valid_from": datetime(2026, 3, 2)}, "timezone-aware"),
        ({"revoked": [131_072]}, "not in 0..131071"),
        ({"length": 1024}, "at least 131072"),
    ],
)
def test_status_list_credential_refuses_bad_arguments(
    changes: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {
        "list_url": LIST_URL,
        "issuer": ISSUER_DID,
        "valid_from": VALID_FROM,
        "revoked": [1],
    }
    with pytest.raises(StatusListInvalid, match=message):
        status_list_credential(**{**args, **changes})


def _list_doc(**subject: Any) -> dict[str, Any]:
    doc = status_list_credential(
        list_url=LIST_URL, issuer=ISSUER_DID, valid_from=VALID_FROM, revoked=[4]
    )
    doc["credentialSubject"].update(subject)
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "must be an object"),
        ({**_list_doc(), "type": ["VerifiableCredential"]}, "must include"),
        ({**_list_doc(), "id": None}, "must be a string"),
        ({**_list_doc(), "issuer": None}, "no issuer"),
        ({**_list_doc(), "credentialSubject": [_list_doc()["credentialSubject"]]}, "no cred"),
        (_list_doc(type="StatusList2021"), "type must be 'BitstringStatusList'"),
        (_list_doc(statusPurpose="suspension"), "statusPurpose must be 'revocation'"),
        (_list_doc(statusSize=2), "statusSize must be 1"),
        (_list_doc(encodedList="H4sIAAAA"), "multibase prefix"),
    ],
)
def test_malformed_status_list_credentials_are_refused(doc: Any, message: str) -> None:
    with pytest.raises(StatusListInvalid, match=message):
        parse_status_list_credential(doc)


def test_issuer_may_be_an_object() -> None:
    doc = {**_list_doc(), "issuer": {"id": ISSUER_DID, "name": "Northwind"}}
    assert parse_status_list_credential(doc).issuer == ISSUER_DID


# --- index allocation -----------------------------------------------------------------------


class CountingPredicate:
    """``used`` as a predicate over a set, counting calls (what a ledger query would cost)."""

    def __init__(self, used: set[int]) -> None:
        self.used = used
        self.calls = 0

    def __call__(self, index: int) -> bool:
        self.calls += 1
        return index in self.used


@given(
    length=st.integers(1, 64),
    seed=st.integers(0, 2**32),
    data=st.data(),
)
def test_allocation_never_returns_a_used_index(length: int, seed: int, data: st.DataObject) -> None:
    used = data.draw(st.sets(st.integers(0, length - 1)))
    free = length - len(used)
    count = data.draw(st.integers(0, free))
    before = set(used)
    picked = allocate_indexes(random.Random(seed), used, count, length=length)
    assert len(picked) == len(set(picked)) == count
    assert all(0 <= i < length and i not in used for i in picked)
    assert used == before  # pure: nothing recorded
    with pytest.raises(StatusListFull):
        allocate_indexes(random.Random(seed), used, free + 1, length=length)
    assert used == before


@pytest.mark.parametrize("as_predicate", [False, True])
def test_filling_a_small_list_one_by_one_covers_every_index(as_predicate: bool) -> None:
    rng = random.Random(2026)
    used: set[int] = set()
    order = []
    for _ in range(64):
        index = allocate_index(rng, used.__contains__ if as_predicate else used, length=64)
        assert index not in used
        used.add(index)
        order.append(index)
    assert used == set(range(64))
    assert order != sorted(order)  # random, not sequential
    with pytest.raises(StatusListFull, match="0 free indexes of 64") as info:
        allocate_index(rng, used, length=64)
    assert isinstance(info.value, CredanchorError)
    assert info.value.to_problem()["status"] == 507
    assert info.value.extra == {"free": 0, "length": 64}


def test_one_call_can_fill_a_list_and_is_all_or_nothing() -> None:
    assert sorted(allocate_indexes(random.Random(1), set(), 64, length=64)) == list(range(64))
    used = set(range(0, 64, 2))
    with pytest.raises(StatusListFull, match="32 free indexes of 64; 33 were asked for"):
        allocate_indexes(random.Random(1), used, 33, length=64)
    assert sorted(allocate_indexes(random.Random(1), used, 32, length=64)) == list(range(1, 64, 2))


def _chi_square_ok(counts: dict[int, int], cells: list[int], draws: int) -> bool:
    """The chi-square statistic is below its 0.1% critical value (Wilson-Hilferty)."""
    expected = draws / len(cells)
    statistic = sum((counts.get(c, 0) - expected) ** 2 / expected for c in cells)
    df = len(cells) - 1
    critical = df * (1 - 2 / (9 * df) + 3.09 * (2 / (9 * df)) ** 0.5) ** 3
    return statistic < critical


@pytest.mark.parametrize(
    ("length", "used", "as_predicate", "probes"),
    [
        (256, set(range(0, 256, 4)), False, 32),  # known count, 192 free: random probes
        (256, set(range(0, 256, 4)), True, 32),  # unknown count: random probes
        (256, set(range(0, 256, 4)), True, 0),  # unknown count, no probes: scan and sample
        (256, set(range(256)) - set(range(0, 256, 11)), False, 32),  # 24 free: scan
    ],
)
def test_allocation_is_uniform_over_the_free_indexes(
    length: int, used: set[int], as_predicate: bool, probes: int
) -> None:
    free = [i for i in range(length) if i not in used]
    rng = random.Random(7)
    draws = 100 * len(free)
    counts: dict[int, int] = {}
    arg = used.__contains__ if as_predicate else used
    for _ in range(draws):
        i = allocate_index(rng, arg, length=length, probes=probes)
        counts[i] = counts.get(i, 0) + 1
    assert set(counts) == set(free)
    # A skew, e.g. towards the slot after a used one ("next free"), fails this by far.
    assert _chi_square_ok(counts, free, draws)


def test_the_uniformity_check_can_fail() -> None:
    """The same check on a "next free slot after a random start" allocator rejects it."""
    used = set(range(0, 256, 4)) | set(range(128, 160))
    free = [i for i in range(256) if i not in used]
    rng = random.Random(7)
    counts: dict[int, int] = {}
    for _ in range(100 * len(free)):
        i = rng.randrange(256)
        while i in used:
            i = (i + 1) % 256
        counts[i] = counts.get(i, 0) + 1
    assert not _chi_square_ok(counts, free, 100 * len(free))


def test_a_full_list_with_a_known_count_is_refused_without_a_scan() -> None:
    used = CountingPredicate(set(range(DEFAULT_LENGTH)) - {77_777, 131_071})
    with pytest.raises(StatusListFull, match="2 free indexes of 131072; 3 were asked for"):
        allocate_indexes(random.Random(3), used, 3, used_count=DEFAULT_LENGTH - 2)
    assert used.calls == 0
    # Two free: one pass, then both of them.
    assert set(allocate_indexes(random.Random(3), used, 2, used_count=len(used.used))) == {
        77_777,
        131_071,
    }
    assert used.calls == DEFAULT_LENGTH


def test_a_nearly_full_list_with_a_known_count_is_probed_not_scanned() -> None:
    rng = random.Random(5)
    free = set(rng.sample(range(DEFAULT_LENGTH), 1000))  # 99.2% full
    used = CountingPredicate(set(range(DEFAULT_LENGTH)) - free)
    picked = []
    for _ in range(20):
        index = allocate_index(rng, used, used_count=len(used.used))
        assert index in free
        used.used.add(index)
        picked.append(index)
    assert len(set(picked)) == 20
    # About 131 probes per index (length / free), far from one pass (131,072) per index.
    assert used.calls < 20 * 400


def test_a_nearly_full_list_without_a_count_costs_at_most_one_pass() -> None:
    used = CountingPredicate(set(range(DEFAULT_LENGTH)) - {77_777, 131_071})
    picked = allocate_indexes(random.Random(3), used, 2)
    assert set(picked) == {77_777, 131_071}
    # A few probes, then one pass over the list, instead of probing on and on.
    assert used.calls <= 2 * 32 + DEFAULT_LENGTH
    with pytest.raises(StatusListFull, match="2 free indexes of 131072; 3 were asked for"):
        allocate_indexes(random.Random(3), used, 3)


@pytest.mark.parametrize("known_count", [False, True])
def test_a_half_full_list_costs_about_two_probes_per_index(known_count: bool) -> None:
    rng = random.Random(11)
    used = CountingPredicate(set(rng.sample(range(DEFAULT_LENGTH), DEFAULT_LENGTH // 2)))
    picked = []
    for _ in range(2000):
        count = len(used.used) if known_count else None
        index = allocate_index(rng, used, used_count=count)
        used.used.add(index)
        picked.append(index)
    assert len(set(picked)) == 2000
    assert used.calls < 3 * 2000  # expected about 2 per index; one pass would be 131,072


def test_a_bulk_request_for_most_free_indexes_is_one_pass() -> None:
    used = CountingPredicate(set(range(0, DEFAULT_LENGTH, 2)))
    picked = allocate_indexes(random.Random(4), used, 60_000, used_count=DEFAULT_LENGTH // 2)
    assert len(set(picked)) == 60_000 and all(i % 2 for i in picked)
    assert used.calls == DEFAULT_LENGTH


def test_a_bitmap_of_allocated_indexes_can_be_the_predicate() -> None:
    allocated = Bitstring.from_indexes(range(0, DEFAULT_LENGTH, 2))
    for _ in range(50):
        index = allocate_index(secrets.SystemRandom(), allocated.get)
        assert index % 2 == 1
        allocated.set(index)
    assert allocated.count() == DEFAULT_LENGTH // 2 + 50


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": -1}, "count"),
        ({"count": 1.0}, "count"),
        ({"count": 1, "length": 0}, "length"),
        ({"count": 1, "probes": -1}, "probes"),
        ({"count": 1, "used_count": -1}, "used_count"),
        ({"count": 1, "used_count": DEFAULT_LENGTH + 1}, "used_count"),
    ],
)
def test_allocation_refuses_nonsense_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        allocate_indexes(random.Random(0), set(), **kwargs)


# --- against Digital Bazaar's implementation (tests/interop/verifiers.mjs) -------------------

SEED = hashlib.sha256(b"credanchor status list tests: the issuer").digest()
CREATED = "2026-03-02T09:15:12Z"


def _some_bits() -> list[int]:
    rng = random.Random(131_072)
    return sorted(set(EDGE_BITS) | set(rng.sample(range(DEFAULT_LENGTH), 60)))


@pytest.mark.interop
def test_python_list_reads_the_same_in_digital_bazaars_library() -> None:
    from interop import verifiers

    bits = _some_bits()
    doc = status_list_credential(
        list_url=LIST_URL, issuer=ISSUER_DID, valid_from=VALID_FROM, revoked=bits
    )
    assert verifiers.read_status_list(doc) == (DEFAULT_LENGTH, bits)


@pytest.mark.interop
def test_digital_bazaars_list_reads_the_same_in_python() -> None:
    from interop import verifiers

    bits = _some_bits()
    doc = verifiers.status_list(seed=SEED, url=LIST_URL, revoked=bits, created=CREATED)
    read = parse_status_list_credential(doc)
    assert read.bits.length == DEFAULT_LENGTH
    assert read.bits.set_indexes() == bits
    assert read.list_url == LIST_URL
    assert read.issuer == verifiers.did_key(SEED)
    # Same bits, possibly other bytes: pako and zlib need not compress alike.
    assert read.bits == Bitstring.from_indexes(bits)


@pytest.fixture(scope="module")
def served_lists(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two badges whose entries and lists come from this module, the lists signed by Digital
    Bazaar's issue() (standing in for credanchor's Data Integrity signer) and served on
    127.0.0.1: one list has the badge's bit set, the other only its neighbours."""
    from interop import verifiers

    served = tmp_path_factory.mktemp("served")
    issuer = verifiers.did_key(SEED)
    index = 65_432
    with verifiers.serve_directory(served) as base:
        urls = {name: f"{base}/status/{name}" for name in ("revoked", "clear")}
        lists = verifiers.sign_all(
            [
                status_list_credential(
                    list_url=urls["revoked"], issuer=issuer, valid_from=VALID_FROM,
                    revoked=[index, 3],
                ),
                status_list_credential(
                    list_url=urls["clear"], issuer=issuer, valid_from=VALID_FROM,
                    revoked=[index - 1, index + 1],
                ),
            ],
            seed=SEED,
            created=CREATED,
        )  # fmt: skip
        (served / "status").mkdir()
        for name, signed_list in zip(urls, lists, strict=True):
            (served / "status" / name).write_text(json.dumps(signed_list), encoding="utf-8")
        badges = {}
        for name, url in urls.items():
            badge = make_credential(1)
            badge["issuer"]["id"] = issuer
            badge["credentialStatus"] = StatusEntry(url, index).to_json()
            badges[name] = badge
        signed = verifiers.sign_all(list(badges.values()), seed=SEED, created=CREATED)
        yield verifiers.verify_documents(
            dict(zip(badges, signed, strict=True)), tmp_path_factory.mktemp("badges")
        )


@pytest.mark.interop
def test_standard_verifiers_see_a_set_bit_as_revoked(served_lists: dict[str, Any]) -> None:
    v = served_lists["revoked"]
    assert v.offline_complete
    assert v.core_revoked is True
    assert v.db_revoked is True
    # @digitalbazaar/vc verified the list itself: our document shape, signed, is accepted.
    assert v.db_vc["status"]["verified"] is True
    assert v.db_vc["status"]["entries"] == [
        {"statusPurpose": "revocation", "statusListIndex": "65432", "set": True}
    ]


@pytest.mark.interop
def test_standard_verifiers_see_a_clear_bit_as_not_revoked(served_lists: dict[str, Any]) -> None:
    v = served_lists["clear"]
    assert v.offline_complete
    assert v.core_revoked is False
    assert v.db_revoked is False
    assert v.accepted


class _Words(random.Random):
    """A generator that hands out given 32-bit words (a test input, to reach a word the
    allocator must drop), then zeros; it counts how often it is read."""

    def __init__(self, words: list[int]) -> None:
        super().__init__(0)
        self.words = list(words)
        self.reads = 0

    def getrandbits(self, k: int) -> int:
        self.reads += 1
        n = k // 32
        block = (self.words + [0] * n)[:n]
        self.words = self.words[n:]
        return int.from_bytes(b"".join(w.to_bytes(4, "little") for w in block), "little")


def test_a_word_beyond_the_last_whole_multiple_of_the_length_is_dropped() -> None:
    # length 100: words from 4,294,967,200 (the last multiple of 100 below 2**32) up are
    # dropped; taken modulo 100 they would favour 0..95. Draws come from the end of a block.
    assert allocate_indexes(_Words([0] * 62 + [7, 2**32 - 1]), set(), 1, length=100) == [7]
    assert allocate_indexes(_Words([0] * 62 + [7, 4_294_967_199]), set(), 1,
                            length=100) == [99]


def test_many_indexes_read_the_generator_a_block_at_a_time() -> None:
    class Counting(secrets.SystemRandom):
        reads = 0

        def getrandbits(self, k: int) -> int:
            Counting.reads += 1
            return super().getrandbits(k)

    picked = allocate_indexes(Counting(), set(), 10_000)
    assert len(set(picked)) == 10_000 and all(0 <= i < DEFAULT_LENGTH for i in picked)
    assert Counting.reads <= 3  # one urandom read per block, not one per index
