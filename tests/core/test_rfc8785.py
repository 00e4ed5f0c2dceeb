"""canonicalize() against the RFC's and the reference implementation's published vectors."""

from __future__ import annotations

import json
import math
import struct

import orjson
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from credanchor.core.hashing import (
    _PLAIN_OPTIONS,
    MAX_SAFE_INTEGER,
    canonicalize,
    credential_hash,
    keccak256,
    loads_plain,
    loads_strict,
)
from credanchor.errors import CanonicalizationError
from kit.credentials import VECTORS

JCS = VECTORS / "rfc8785"
CASES = sorted(p.stem for p in (JCS / "input").glob("*.json"))


def test_every_published_case_is_present():
    assert CASES == [
        "arrays",
        "french",
        "rfc8785-3.2.3-sorting",
        "rfc8785-3.2.4-example",
        "simpleString",
        "structures",
        "unicode",
        "values",
        "weird",
    ]
    assert sorted(p.stem for p in (JCS / "output").glob("*.json")) == CASES


@pytest.mark.parametrize("case", CASES)
def test_canonical_form_matches_reference_output(case):
    expected = (JCS / "output" / f"{case}.json").read_bytes()
    value = loads_strict((JCS / "input" / f"{case}.json").read_bytes())
    assert canonicalize(value) == expected
    # Canonicalising the canonical form is the identity.
    assert canonicalize(loads_strict(expected)) == expected


@pytest.mark.parametrize("case", ["simpleString", "rfc8785-3.2.4-example"])
def test_published_hex_dumps(case):
    hex_text = (JCS / "outhex" / f"{case}.txt").read_text()
    value = loads_strict((JCS / "input" / f"{case}.json").read_bytes())
    assert canonicalize(value) == bytes.fromhex(hex_text)


def test_sorting_is_by_utf16_code_units_not_code_points():
    # U+1F600 is D83D DE00 in UTF-16, so it sorts before U+FB33 although its code point is larger.
    out = canonicalize({"\ufb33": 1, "\U0001f600": 2, "\u20ac": 3, "\r": 4, "1": 5, "\x80": 6})
    assert out.decode("utf-8") == '{"\\r":4,"1":5,"\x80":6,"€":3,"\U0001f600":2,"\ufb33":1}'


def _rows(name):
    for line in (JCS / "numbers" / name).read_text().splitlines():
        if line and not line.startswith(("#", "ieee754_hex")):
            yield line.split(",")[:2]


def _double(hex_bits: str) -> float:
    return struct.unpack(">d", bytes.fromhex(hex_bits.zfill(16)))[0]


@pytest.mark.parametrize("bits,expected", list(_rows("rfc8785-appendix-b.csv")))
def test_rfc_appendix_b_numbers(bits, expected):
    x = _double(bits)
    if expected == "":
        assert not math.isfinite(x)
        with pytest.raises(CanonicalizationError):
            canonicalize(x)
        with pytest.raises(CanonicalizationError):
            canonicalize({"n": [x]})
    else:
        assert canonicalize(x) == expected.encode()
        assert canonicalize({"n": [x]}) == b'{"n":[' + expected.encode() + b"]}"


def test_v8_number_sample():
    rows = list(_rows("es6-sample.csv"))
    assert len(rows) > 6000
    wrong = [
        (b, e, canonicalize(_double(b))) for b, e in rows if canonicalize(_double(b)) != e.encode()
    ]
    assert wrong == []


def test_v8_number_text_round_trips_through_the_parser():
    # The expected text, parsed as JSON, canonicalises to itself (integers beyond 2**53 excepted:
    # Python parses them as int and I-JSON forbids them, see test_integer_range).
    checked = 0
    for _, expected in _rows("es6-sample.csv"):
        value = loads_strict(expected)
        if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
            continue
        assert canonicalize(value) == expected.encode(), expected
        checked += 1
    assert checked > 5000


def test_integer_range():
    assert canonicalize(MAX_SAFE_INTEGER) == b"9007199254740991"
    assert canonicalize(-MAX_SAFE_INTEGER) == b"-9007199254740991"
    for n in (MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1, 10**30):
        with pytest.raises(CanonicalizationError, match="exceeds safe integer"):
            canonicalize({"a": [n]})


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        {"a": float("-inf")},
        {1: "non-string key"},
        {"lone": "\ud800"},
        {"\udfff": "lone surrogate key"},
        {"set": {1, 2}},
        {"bytes": b"x"},
    ],
)
def test_values_rfc8785_cannot_represent_are_refused(value):
    with pytest.raises(CanonicalizationError):
        canonicalize(value)


def test_literals_and_escapes():
    assert canonicalize([None, True, False, "", [], {}]) == b'[null,true,false,"",[],{}]'
    assert canonicalize("\x00\x1f\x7f\u2028/") == b'"\\u0000\\u001f\x7f\xe2\x80\xa8/"'
    assert canonicalize('\b\f\n\r\t"\\') == b'"\\b\\f\\n\\r\\t\\"\\\\"'
    assert canonicalize(-0.0) == b"0"
    assert canonicalize(4.0) == b"4"
    assert canonicalize((1, 2)) == b"[1,2]"


# --- the JSON fast path must never differ from the rfc8785 package -------------------------

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)),  # lone surrogates are refused anyway
    max_size=12,
)
_tricky_keys = st.sampled_from(["", "a", "A", "\ufb33", "\U0001f600", "\ue000", "\uffff", "\x7f"])
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(_text | _tricky_keys, children, max_size=6)
    ),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(_json)
def test_fast_path_equals_rfc8785(value):
    assert canonicalize(value) == rfc8785.dumps(value)


_floats = (
    st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(2**60), 2**60).map(float)
    | st.floats(min_value=1e-5, max_value=1e17)
    | st.sampled_from([1e-4, 9.999999999999999e-05, 1e16, 9999999999999998.0, 2.0**53, 2.0**53 - 1])
)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(_floats | st.integers(0, 3), max_size=6), st.dictionaries(_text, _floats, max_size=3)
)
def test_floats_on_the_fast_path_equal_rfc8785(values, mapping):
    # Integral floats below 2**53 and positional-range floats stay on the json fast path.
    for value in (values, mapping, {"a": [values, mapping]}):
        assert canonicalize(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    "x,text",
    [
        (3.0, b"3"),
        (-0.0, b"0"),
        (0.0001, b"0.0001"),
        (0.00001, b"0.00001"),
        (9007199254740991.0, b"9007199254740991"),
        (9007199254740992.0, b"9007199254740992"),
        (2.0**60, b"1152921504606847000"),
        (1234567890123456.8, b"1234567890123456.8"),
        (0.1 + 0.2, b"0.30000000000000004"),
        (1e16, b"10000000000000000"),
        (1e21, b"1e+21"),
    ],
)
def test_float_edges(x, text):
    assert canonicalize({"n": x, "m": [x, 3]}) == b'{"m":[' + text + b',3],"n":' + text + b"}"


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=4) | _tricky_keys, st.integers(0, 9), max_size=8))
def test_key_order_equals_rfc8785_for_astral_and_private_use_keys(d):
    assert canonicalize(d) == rfc8785.dumps(d)


# -- loads_plain: the verifiers' parse, after which the guard is skipped ---------------------

_json_any_int = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)  # beyond I-JSON too: refused either way
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(_text | _tricky_keys, children, max_size=6)
    ),
    max_leaves=25,
)


def _rfc_hash(document):
    try:
        return keccak256(rfc8785.dumps(document))
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):
        return None


def _hash(document, *, plain):
    try:
        return credential_hash(document, plain=plain)
    except CanonicalizationError:
        return None


@settings(max_examples=600, deadline=None)
@given(_json_any_int, st.booleans(), st.sampled_from([None, 2]))
def test_a_value_loads_plain_calls_plain_hashes_as_rfc8785_says(value, ascii_only, indent):
    # Written as a holder's file might be: escaped or raw non-ASCII, compact or indented.
    text = json.dumps({"credentialSubject": value}, ensure_ascii=ascii_only, indent=indent)
    document, plain = loads_plain(text)
    assert document == loads_strict(text)
    expected = _rfc_hash(document)
    assert _hash(document, plain=plain) == expected  # None: both refuse it
    assert _hash(document, plain=False) == expected


@pytest.mark.parametrize(
    "text,plain",
    [
        ('{"a": 1, "b": [true, null, "x"], "c": {"d": -7}}', True),
        ('{"name": "Zoë Müller", "note": "\\u00e9t\\u00e9"}', True),  # below U+D800
        ('{"n": 9007199254740992}', True),  # plain, and refused by both ways (beyond I-JSON)
        ('{"n": 1.5}', False),
        ('{"n": 3.0}', False),  # ECMAScript prints 3, orjson 3.0
        ('{"n": 1e21}', False),
        ('{"n": 2E3}', False),
        ('{"\U0001f600": 1, "a": 2}', False),  # astral key, raw
        ('{"\\ud83d\\ude00": 1, "a": 2}', False),  # the same key escaped: ASCII text
        ('{"\\ue000": 1, "\\ud800\\udc00": 2}', False),  # UTF-16 order differs
        ('{"\\uE000": 1}', False),
        ('{"k": "C:\\\\u-drive"}', True),  # a backslash, then "u-": no high escape
        ('{"k": "C:\\\\dir\\\\ud83d"}', False),  # a backslash, then "ud83d": taken for one
    ],
)
def test_loads_plain_calls_plain_only_what_orjson_writes_as_rfc8785(text, plain):
    document, found = loads_plain(text)
    assert found is plain
    assert _hash(document, plain=found) == _rfc_hash(document)


def test_plain_said_of_a_value_that_is_not_can_only_make_the_hash_differ():
    # A caller that says plain of a float: orjson writes 1e21 where RFC 8785 writes 1e+21, so
    # the hash is not the issuer's (a false FAIL, never a false PASS) ...
    document = {"n": 1e21, "m": 3.0}
    assert credential_hash(document, plain=True) != credential_hash(document)
    # ... because what orjson writes always reads back as the same value: equal bytes from
    # the two ways are the same JSON value, so an altered document never matches.
    for value in (document, {"\ue000": 1, "\U0001f600": 2}, [0.1 + 0.2, -0.0, 5e-324]):
        assert json.loads(orjson.dumps(value, option=_PLAIN_OPTIONS)) == value


@pytest.mark.parametrize("value", [{"n": 2**53}, {"n": [-(2**53)]}])
def test_plain_hashing_still_refuses_integers_beyond_i_json(value):
    with pytest.raises(CanonicalizationError, match="cannot canonicalise"):
        credential_hash(value, plain=True)


def test_plain_hashing_sends_subclasses_the_guarded_way():
    class Text(str):
        pass

    class Obj(dict):
        pass

    for value in ({"a": Text("b")}, Obj(a="b"), {"a": Obj(b=1)}):
        assert credential_hash(value, plain=True) == keccak256(rfc8785.dumps(value))
