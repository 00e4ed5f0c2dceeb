"""keccak256, credential_hash, leaf_hash, hex helpers and strict JSON parsing."""

from __future__ import annotations

import json
import random
import sys

import pytest
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak as eth_keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from credanchor.core.hashing import (
    MAX_DEPTH,
    _nesting_depth,
    canonicalize,
    canonicalize_built,
    credential_hash,
    from_hex32,
    keccak256,
    leaf_hash,
    loads_strict,
    to_hex,
)
from credanchor.errors import CanonicalizationError, InvalidInput, ProofFormatError
from kit.credentials import make_credential
from kit.ob3 import ob3_credentials


def test_keccak256_is_ethereum_keccak_not_sha3():
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    assert keccak256(b"abc") == eth_keccak(b"abc")


@settings(max_examples=200)
@given(st.one_of(st.binary(max_size=600),
                 st.integers(1, 3).flatmap(lambda k: st.binary(min_size=136 * k - 2,
                                                               max_size=136 * k + 2))))
def test_keccak256_agrees_with_eth_hash_on_any_bytes_like_input(data):
    """tiny-keccak, cross-checked against web3's eth-hash (pycryptodome or pysha3: another
    implementation), across the 136-byte block boundaries; a bytearray or memoryview gives the
    same digest as the bytes it holds."""
    expected = eth_keccak(data)
    assert keccak256(data) == expected
    assert keccak256(bytearray(data)) == expected
    assert keccak256(memoryview(data)) == expected


@settings(max_examples=50)
@given(st.binary(min_size=32, max_size=32))
def test_leaf_hash_is_oz_standard_leaf_of_abi_encoded_bytes32(h):
    assert abi_encode(["bytes32"], [h]) == h  # why the leaf is just the hash applied twice
    assert leaf_hash(h) == eth_keccak(eth_keccak(abi_encode(["bytes32"], [h])))


def test_leaf_hash_needs_32_bytes():
    with pytest.raises(InvalidInput):
        leaf_hash(b"\x00" * 31)


def test_credential_hash_ignores_only_the_anchor_proof_and_what_follows(credential):
    h = credential_hash(credential)
    assert h == keccak256(canonicalize(credential))
    anchor = {"type": "CredanchorMerkleProof2026", "merkleRoot": "0x00"}
    # An unsigned badge: the anchor proof alone is left out, as a single object or in a list.
    assert credential_hash({**credential, "proof": [anchor]}) == h
    assert credential_hash({**credential, "proof": anchor}) == h
    # A signed badge: the signature before the anchor is hashed, what follows it is not.
    signature = {"type": "DataIntegrityProof", "proofValue": "z1"}
    signed = {**credential, "proof": [signature]}
    hs = credential_hash(signed)
    assert hs == keccak256(canonicalize(signed)) and hs != h
    assert credential_hash({**credential, "proof": [signature, anchor, {"type": "X"}]}) == hs
    assert credential_hash({**credential, "proof": [{**signature, "proofValue": "z2"},
                                                    anchor]}) != hs
    nested = json.loads(json.dumps(credential))
    nested["credentialSubject"]["proof"] = "part of the content"
    assert credential_hash(nested) != h


def test_credential_hash_needs_an_object():
    with pytest.raises(InvalidInput):
        credential_hash(["not", "an", "object"])  # type: ignore[arg-type]


def _shuffled(value, rng):
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: _shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rng) for v in value]
    return value


@settings(max_examples=60, deadline=None)
@given(
    i=st.integers(0, 1000),
    seed=st.integers(0, 2**32),
    indent=st.sampled_from([None, 0, 1, 2, 4, "\t"]),
)
def test_credential_hash_stable_under_key_order_and_whitespace(i, seed, indent):
    credential = make_credential(i)
    rng = random.Random(seed)
    text = json.dumps(_shuffled(credential, rng), indent=indent, ensure_ascii=rng.random() < 0.5)
    assert credential_hash(loads_strict(text.encode())) == credential_hash(credential)


def test_to_hex_and_from_hex32():
    b = bytes(range(32))
    assert to_hex(b) == "0x" + b.hex()
    assert from_hex32(to_hex(b)) == b
    assert from_hex32("0x" + b.hex().upper()) == b
    assert to_hex(b"") == "0x"


@pytest.mark.parametrize(
    "bad",
    [
        "00" * 32,
        "0x" + "00" * 31,
        "0x" + "00" * 33,
        "0X" + "00" * 32,
        " 0x" + "00" * 32,
        "0x" + "00" * 31 + " 0",
        "0x" + "0g" * 32,
        "0x" + "00" * 30 + "é0",
        None,
        b"0x" + b"00" * 32,
        12,
    ],
)
def test_from_hex32_is_strict(bad):
    with pytest.raises(InvalidInput, match="0x followed by 64 hex digits"):
        from_hex32(bad)
    with pytest.raises(ProofFormatError) as exc:
        from_hex32(bad, what="merkleRoot", error=ProofFormatError)
    assert exc.value.extra["field"] == "merkleRoot"


# --- loads_strict -----------------------------------------------------------------------------


def test_loads_strict_parses_ordinary_json():
    assert loads_strict(b'{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}
    assert loads_strict('"\u00e9"') == "\u00e9"
    assert loads_strict(b"\xef\xbb\xbf{}") == {}  # a UTF-8 BOM is tolerated


@pytest.mark.parametrize(
    "data,problem",
    [
        (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
        (b'{"x": {"b": 1, "c": 2, "b": 3}}', "duplicate key 'b'"),
        (b'{"a": NaN}', "NaN"),
        (b"[Infinity]", "Infinity"),
        (b"[-Infinity]", "-Infinity"),
        (b"[1e400]", "too large"),
        (b'{"a": "\xff"}', "not valid UTF-8"),
        (b'"\xc3"', "not valid UTF-8"),
        (b'["\\ud800"]', "unpaired surrogate"),
        (b'{"\\udc00": 1}', "unpaired surrogate"),
        (b"{} []", "not valid JSON"),
        (b"{'a': 1}", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), f"deeper than {MAX_DEPTH}"),
        (b"[" * 100_000 + b"]" * 100_000, f"deeper than {MAX_DEPTH}"),
        (b"[" + b"1" * 5000 + b"]", "not valid JSON"),
    ],
)
def test_loads_strict_refuses_ambiguous_input(data, problem):
    with pytest.raises(InvalidInput, match=problem.replace("(", r"\(")):
        loads_strict(data)


def test_loads_strict_depth_limit_is_inclusive():
    deep = b'{"a":' * (MAX_DEPTH - 1) + b"[]" + b"}" * (MAX_DEPTH - 1)
    value = loads_strict(deep)
    for _ in range(MAX_DEPTH - 1):
        value = value["a"]
    assert value == []


def test_deep_input_raises_instead_of_crashing_with_a_high_recursion_limit():
    # py-evm (imported by the app) sets the recursion limit to 100,000; json's C scanner and
    # encoder would then overflow the C stack and kill the process on deep input.
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, 100_000))
    try:
        for data in (b"[" * 200_000 + b"]" * 200_000, b'{"a":' * 200_000 + b"1" + b"}" * 200_000):
            with pytest.raises(InvalidInput, match="nesting deeper"):
                loads_strict(data)
        deep: list = []
        cur = deep
        for _ in range(150_000):
            cur.append([])
            cur = cur[0]
        with pytest.raises(CanonicalizationError):
            canonicalize(deep)
    finally:
        sys.setrecursionlimit(previous)


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"narrative": "[" * 500 + "{" * 500, "q": '\\"[[[' * 50})
    assert loads_strict(text)["narrative"].startswith("[[[")


def _depth(v):
    if isinstance(v, dict):
        return 1 + max(map(_depth, v.values()), default=0)
    if isinstance(v, list):
        return 1 + max(map(_depth, v), default=0)
    return 0


_nasty = st.text(alphabet='[]{}"\\ax\n', max_size=8)
_nested = st.recursive(
    st.none() | st.integers() | _nasty,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(_nasty, kids, max_size=3),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_nested, st.sampled_from([None, 1]))
def test_nesting_prescan_equals_real_depth(value, indent):
    # Brackets, quotes and backslashes inside strings must not confuse the pre-scan.
    assert _nesting_depth(json.dumps(value, indent=indent)) == _depth(value)


def test_loads_strict_refuses_other_types():
    with pytest.raises(InvalidInput):
        loads_strict(123)  # type: ignore[arg-type]


# --- canonicalize_built: the builder's own documents, without the per-value guard ----------------


def _signed_issuance():
    from datetime import UTC, datetime

    from credanchor.core.credentials import IssuerProfile
    from credanchor.core.multikey import Ed25519KeyPair, did_key
    from credanchor.issuing.signing import Issuance

    key = Ed25519KeyPair.from_seed(bytes(range(32)))
    profile = IssuerProfile(address="0x" + "11" * 20, chain_id=31337, name="Northwind",
                            url="https://northwind.example", did=did_key(key.public_key))
    return Issuance(profile=profile, issuer_id=3, seed=bytes(range(32)),
                    verification_method=key.verification_method,
                    status_base="https://northwind.example",
                    created=datetime(2026, 3, 1, tzinfo=UTC))


@settings(max_examples=150, deadline=None)
@given(ob3_credentials(credits=False), st.integers(0, 131_071))
def test_every_document_the_builder_makes_is_of_the_kind_canonicalize_built_takes(cred, index):
    # What canonicalize_built relies on: no number anywhere and ASCII keys, so that orjson's
    # bytes are RFC 8785's. Unsigned and signed (status entry and proof added), as issued.
    import rfc8785

    from credanchor.core import hashing

    for doc in (cred, _signed_issuance().finish(dict(cred), (1, index))):
        assert hashing._fast_path_mode(doc) == hashing._FAST
        assert canonicalize_built(doc) == rfc8785.dumps(doc) == canonicalize(doc)


def test_canonicalize_built_refuses_a_number_when_its_sample_looks(monkeypatch):
    from credanchor.core import hashing

    monkeypatch.setattr(hashing, "BUILT_CHECK_EVERY", 1)  # every call is sampled
    assert canonicalize_built({"a": "x", "b": [True, None]}) == b'{"a":"x","b":[true,null]}'
    for bad in ({"n": 1e-7}, {"n": 2.0}, {"\ue000": "x", "\U0001f600": "y"}):
        with pytest.raises(CanonicalizationError, match="canonicalize_built does not take"):
            canonicalize_built(bad)


def test_canonicalize_built_sends_a_lone_surrogate_the_slow_way():
    with pytest.raises(CanonicalizationError) as built:
        canonicalize_built({"name": "bad \ud800 text"})
    with pytest.raises(CanonicalizationError) as guarded:
        canonicalize({"name": "bad \ud800 text"})
    assert built.value.detail == guarded.value.detail


def test_bulk_rows_of_simple_items_equal_the_guarded_bytes():
    from credanchor.issuing.items import build_rows

    items = [{"recipient": {"name": f"Ada {i} \u00e9\u4e2d\U0001f600", "email": f"a{i}@x.org"},
              "achievement": {"name": "Excel", "description": "Models \"quoted\"\n",
                              "criteria": "Passed\ttwice"},
              "validFrom": "2026-01-15T09:00:00Z"} for i in range(30)]
    for _, digest, body, _, _ in build_rows(items, _signed_issuance(),
                                            slots=[(1, i) for i in range(30)]):
        doc = json.loads(body)
        assert body.encode() == canonicalize(doc)
        assert digest == keccak256(canonicalize(doc))
