"""``as_address`` remembers its answers (a bulk run asks about the same account once per file):
the remembered answers are the same as eth_utils', and a refusal is never remembered as an
answer."""

import pytest

from credanchor.chain.contract import as_address
from credanchor.errors import InvalidInput

CHECKSUMMED = "0x9E1969Ae53101C73B4c4072D44C170C38A30D459"


def test_every_spelling_gives_the_eip55_one_every_time():
    for _ in range(2):  # computed, then remembered
        assert as_address(CHECKSUMMED.lower()) == CHECKSUMMED
        assert as_address("0x" + CHECKSUMMED[2:].upper()) == CHECKSUMMED
        assert as_address(CHECKSUMMED) == CHECKSUMMED


@pytest.mark.parametrize("bad", [
    CHECKSUMMED[:-2],
    "not an address",
    None,
    b"\x00" * 20,
])
def test_what_is_not_an_address_is_refused_every_time(bad):
    for _ in range(2):
        with pytest.raises(InvalidInput, match="issuer is not an Ethereum address"):
            as_address(bad, "issuer")
