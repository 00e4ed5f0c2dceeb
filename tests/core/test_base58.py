"""base58btc through GMP's base conversion (credanchor.core.multikey) is the textbook
digit-by-digit algorithm: every length, leading zero bytes, the powers of 58, and every
character outside the alphabet (GMP itself would read some of them, such as ``0``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credanchor.core.multikey import _B58_ALPHABET, b58decode, b58encode
from credanchor.errors import KeyFormatError


def _textbook_encode(data: bytes) -> str:
    zeros = len(data) - len(data.lstrip(b"\0"))
    n = int.from_bytes(data, "big")
    digits = []
    while n:
        n, r = divmod(n, 58)
        digits.append(_B58_ALPHABET[r])
    return "1" * zeros + "".join(reversed(digits))


def _textbook_decode(text: str) -> bytes:
    n = 0
    for c in text:
        n = n * 58 + _B58_ALPHABET.index(c)
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + (n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b"")


@given(st.binary(max_size=120))
def test_encode_and_decode_match_the_textbook_algorithm(data):
    text = b58encode(data)
    assert text == _textbook_encode(data)
    assert b58decode(text) == _textbook_decode(text) == data


@pytest.mark.parametrize("k", range(0, 30))
def test_powers_of_58(k):
    # 58**k - 1, 58**k and 58**k + 1: where the number of digits changes
    for n in (58**k - 1, 58**k, 58**k + 1):
        data = b"\0\0" + n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big")
        assert b58encode(data) == _textbook_encode(data)
        assert b58decode(_textbook_encode(data)) == data


@given(st.text(alphabet=_B58_ALPHABET, max_size=60))
def test_any_base58_text_decodes_as_the_textbook_does(text):
    assert b58decode(text) == _textbook_decode(text)


@pytest.mark.parametrize(
    "text", ["0", "abc0", "O" * 11, "1111111111l", "I", "1 2", "12_3", "+12", "-12", "é",
             "w" * 3 + "\n"])
def test_characters_outside_the_alphabet_are_refused(text):
    with pytest.raises(KeyFormatError, match="not a base58btc character"):
        b58decode(text)
