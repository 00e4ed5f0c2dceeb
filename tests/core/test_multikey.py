"""Ed25519 Multikey encodings, base58btc, did:key documents and did:web URLs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credanchor.core.jsonld import DID_V1, MULTIKEY_V1
from credanchor.core.multikey import (
    Ed25519KeyPair,
    b58decode,
    b58encode,
    decode_public_multibase,
    decode_secret_multibase,
    did_key,
    did_key_document,
    did_key_verification_method,
    did_web_from_url,
    did_web_url,
    encode_public_multibase,
    encode_secret_multibase,
    multibase_decode,
    parse_did_key,
    resolve_offline,
    verify_ed25519,
)
from credanchor.errors import DidError, InvalidInput, KeyFormatError

# Data Integrity EdDSA Cryptosuites v1.0 (W3C REC 2025-05-15), Appendix B.1, Example 7:
# Private and Public keys for Signature.
SPEC_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
SPEC_SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
# The raw public key those encode (hex of the 32 bytes after the 0xed01 prefix).
SPEC_PUBLIC_HEX = "b00d8d938e7f773d51565aad36a623f5344f7f5d1960f9cf3e8e12620ea2810f"
# Appendix B.5, Example 51: Public and Private Key Pairs (for proof sets and chains).
SPEC_PAIRS = [
    ("z6MktgKTsu1QhX6QPbyqG6geXdw6FQCZBPq7uQpieWbiQiG7", "z3u2W4YnTstS1nSSBAgZcYSJF43JuZ9uLV6bF38B1Bf8NugW"),
    ("z6MkhWqdDBPojHA7cprTGTt5yHv5yUi1B8cnXn8ReLumkw6E", "z3u2cfp4Q17kMGhNCh348a3yw3cUBiWK6RXRzyJE54sixMFn"),
    ("z6MkmEq87wkHCYnWnNZkigeDMGTN7oUw1upkhzd77KuXERS1", "z3u2Zr3tcDLBDQKGxVa9SRDFNLqNqPWsa8p9rWPvCEH6bADB"),
    ("z6Mkm1S51iPHJvDEkJ9MRtxJmT8Pqo6wHipAFwBAjN83vntT", "z3u2ZTWiFwM17veUR7sXniY66Gf14SqMdpMLy7SW9x4EDdmw"),
]  # fmt: skip


@pytest.mark.parametrize("public, secret", [(SPEC_PUBLIC, SPEC_SECRET), *SPEC_PAIRS])
def test_spec_secret_keys_give_the_spec_public_keys(public, secret):
    key = Ed25519KeyPair.from_secret_multibase(secret)
    assert key.public_multibase == public
    assert key.secret_multibase() == secret
    assert encode_public_multibase(decode_public_multibase(public)) == public


def test_spec_key_bytes_and_prefixes():
    assert decode_public_multibase(SPEC_PUBLIC).hex() == SPEC_PUBLIC_HEX
    assert multibase_decode(SPEC_PUBLIC)[:2] == b"\xed\x01"
    assert multibase_decode(SPEC_SECRET)[:2] == b"\x80\x26"
    key = Ed25519KeyPair.from_seed(decode_secret_multibase(SPEC_SECRET))
    assert key.public_key.hex() == SPEC_PUBLIC_HEX


def test_generated_keys_have_the_usual_prefixes_and_sign():
    key = Ed25519KeyPair.generate()
    assert key.public_multibase.startswith("z6Mk") and len(key.public_multibase) == 48
    assert key.secret_multibase().startswith("z3u2")
    sig = key.sign(b"hello")
    assert len(sig) == 64
    assert verify_ed25519(key.public_key, sig, b"hello")
    assert not verify_ed25519(key.public_key, sig, b"hellO")
    assert not verify_ed25519(key.public_key, sig[:-1], b"hello")
    assert Ed25519KeyPair.generate().public_key != key.public_key


def test_rfc8032_test_1_signature():
    # RFC 8032 §7.1, TEST 1: empty message.
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    key = Ed25519KeyPair.from_seed(seed)
    assert key.public_key.hex() == (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    )
    assert key.sign(b"").hex() == (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )


@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=300),
       flip=st.integers(min_value=0, max_value=64 * 8 - 1))
def test_libsodium_signs_and_verifies_exactly_as_openssl(seed, message, flip):
    # Signing and verifying go through libsodium; keys come from OpenSSL. Ed25519 is
    # deterministic, so both must give the same 64 bytes, and agree on what verifies.
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    openssl = Ed25519PrivateKey.from_private_bytes(seed)
    key = Ed25519KeyPair.from_seed(seed)
    signature = key.sign(message)
    assert signature == openssl.sign(message)
    assert verify_ed25519(key.public_key, signature, message)
    altered = bytearray(signature)
    altered[flip // 8] ^= 1 << (flip % 8)
    with pytest.raises(InvalidSignature):
        openssl.public_key().verify(bytes(altered), message)
    assert not verify_ed25519(key.public_key, bytes(altered), message)
    assert not verify_ed25519(key.public_key, signature, message + b"!")


def test_a_small_order_public_key_verifies_nothing():
    # The identity point (small order): a "signature" R = identity, S = 0 satisfies the
    # cofactorless equation for every message under it. libsodium refuses such keys outright.
    identity = (1).to_bytes(32, "little")
    forged = identity + bytes(32)
    assert not verify_ed25519(identity, forged, b"any message at all")
    assert not verify_ed25519(b"\x01" * 31, forged, b"short key")


def test_the_secret_never_appears_in_repr_or_str():
    key = Ed25519KeyPair.from_secret_multibase(SPEC_SECRET)
    seed = decode_secret_multibase(SPEC_SECRET)
    for text in (repr(key), str(key), f"{key!r}"):
        assert SPEC_SECRET not in text and seed.hex() not in text
        assert SPEC_PUBLIC in text


def test_a_mismatched_public_key_is_refused():
    a, b = Ed25519KeyPair.generate(), Ed25519KeyPair.generate()
    with pytest.raises(KeyFormatError):
        Ed25519KeyPair(b.public_key, a._private)


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("", "non-empty"),
        ("u7QEA", "base58btc"),  # base64url multibase
        ("z0OIl", "not a base58btc character"),
        ("z" + b58encode(b"\xec\x01" + bytes(32)), "ed01"),  # x25519-pub, not ed25519
        ("z" + b58encode(b"\xed\x01" + bytes(31)), "32 bytes"),
        ("z" + "2" * 300, "longer than"),
    ],
)
def test_malformed_public_keys_are_refused_with_a_reason(value, fragment):
    with pytest.raises(KeyFormatError) as err:
        decode_public_multibase(value)
    assert fragment in err.value.detail
    assert isinstance(err.value, InvalidInput)


def test_malformed_secret_keys_are_refused_without_echoing_them():
    bad = "z" + b58encode(b"\x80\x26" + bytes(range(31)))
    with pytest.raises(KeyFormatError) as err:
        decode_secret_multibase(bad)
    assert bad not in err.value.detail
    with pytest.raises(KeyFormatError):
        decode_secret_multibase(SPEC_PUBLIC)  # a public key is not a secret key
    with pytest.raises(KeyFormatError):
        Ed25519KeyPair.from_seed(b"short")
    with pytest.raises(KeyFormatError):
        encode_secret_multibase(bytes(31))


@given(st.binary(max_size=80))
def test_base58_round_trips_including_leading_zero_bytes(data):
    text = b58encode(data)
    assert b58decode(text) == data
    assert text.startswith("1" * (len(data) - len(data.lstrip(b"\0"))))


def test_base58_known_values():
    # Bitcoin's base58 reference values.
    assert b58encode(b"") == ""
    assert b58encode(b"\0") == "1"
    assert b58encode(b"hello world") == "StV1DL6CwTryKyV"
    assert b58encode(bytes.fromhex("0000287fb4cd")) == "11233QC4"
    assert b58decode("11233QC4") == bytes.fromhex("0000287fb4cd")


# --- did:key ----------------------------------------------------------------------------------


def test_did_key_of_the_spec_key():
    did = "did:key:" + SPEC_PUBLIC
    assert did_key(SPEC_PUBLIC) == did == did_key(bytes.fromhex(SPEC_PUBLIC_HEX))
    assert did_key_verification_method(SPEC_PUBLIC) == f"{did}#{SPEC_PUBLIC}"
    assert parse_did_key(did).hex() == SPEC_PUBLIC_HEX
    key = Ed25519KeyPair.from_secret_multibase(SPEC_SECRET)
    assert key.did == did and key.verification_method == f"{did}#{SPEC_PUBLIC}"


def test_did_key_document_is_the_multikey_form():
    did = "did:key:" + SPEC_PUBLIC
    vm = f"{did}#{SPEC_PUBLIC}"
    assert did_key_document(did) == {
        "@context": [DID_V1, MULTIKEY_V1],
        "id": did,
        "verificationMethod": [
            {"id": vm, "type": "Multikey", "controller": did, "publicKeyMultibase": SPEC_PUBLIC}
        ],
        "authentication": [vm],
        "assertionMethod": [vm],
        "capabilityInvocation": [vm],
        "capabilityDelegation": [vm],
    }
    assert resolve_offline(did) == did_key_document(did)


@pytest.mark.parametrize(
    "did",
    [
        "did:key:",
        "did:key:" + SPEC_PUBLIC + "#" + SPEC_PUBLIC,  # a DID URL, not a DID
        "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",  # a P-256 key
        "did:web:example.com",
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ",  # truncated
        42,
    ],
)
def test_malformed_did_keys_are_refused(did):
    with pytest.raises(DidError):
        parse_did_key(did)


def test_offline_resolution_knows_only_did_key_and_given_documents():
    doc = {"id": "did:web:example.com"}
    assert resolve_offline("did:web:example.com", {"did:web:example.com": doc}) is doc
    with pytest.raises(DidError):
        resolve_offline("did:web:example.com")


# --- did:web ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "did, url",
    [
        # did:web method specification, §3.2 "Read (Resolve)" examples.
        ("did:web:w3c-ccg.github.io", "https://w3c-ccg.github.io/.well-known/did.json"),
        ("did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"),
        ("did:web:example.com%3A3000:user:alice", "https://example.com:3000/user/alice/did.json"),
        ("did:web:example.com", "https://example.com/.well-known/did.json"),
        ("did:web:example.com:issuers:acme", "https://example.com/issuers/acme/did.json"),
        ("did:web:localhost%3A8443", "https://localhost:8443/.well-known/did.json"),
    ],
)
def test_did_web_to_url_and_back(did, url):
    assert did_web_url(did) == url
    assert did_web_from_url(url) == did


def test_did_web_from_a_directory_url_and_port_case():
    assert did_web_from_url("https://example.com/issuers/acme/") == (
        "did:web:example.com:issuers:acme"
    )
    assert did_web_from_url("https://Example.COM/") == "did:web:example.com"
    assert (
        did_web_url("did:web:example.com%3a3000") == "https://example.com:3000/.well-known/did.json"
    )


@pytest.mark.parametrize(
    "did",
    [
        "did:web:",
        "did:web:example.com/path",
        "did:web:example.com#frag",
        "did:web:127.0.0.1",  # IP addresses are excluded
        "did:web:example",  # not a DNS name
        "did:web:example.com%3A99999",
        "did:web:example.com%3Aabc",
        "did:web:example.com:..:etc",
        "did:web:example.com::x",
        "did:web:exa%6Dple.com",  # only the port separator may be encoded
        "did:web:example.com:a%2Fb",  # an encoded slash would leave the path segment
        "did:key:" + SPEC_PUBLIC,
    ],
)
def test_malformed_did_web_is_refused(did):
    with pytest.raises(DidError):
        did_web_url(did)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/.well-known/did.json",
        "https://example.com/did.json?x=1",
        "https://user@example.com/did.json",
        "https://127.0.0.1/did.json",
        "https://example.com:99999/did.json",
    ],
)
def test_urls_that_no_did_web_names_are_refused(url):
    with pytest.raises(DidError):
        did_web_from_url(url)
