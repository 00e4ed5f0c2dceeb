"""Signing keys (keystores, env, secrecy) and the fee arithmetic."""

from __future__ import annotations

import logging
import pickle
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credanchor.chain.embedded import EmbeddedChain
from credanchor.chain.keys import (
    Signer,
    create_keystore,
    generate_password_file,
    load_keystore,
    load_signer,
)
from credanchor.chain.tx import (
    FeePolicy,
    Fees,
    broadcast,
    build_and_sign,
    bump,
    next_nonce,
    send_and_wait,
    suggest_fees,
)
from credanchor.errors import ConfigError, FeeTooHigh, KeyUnavailable
from kit.chain import KDF_WORK_FACTOR, POLICY, Deployed, random_hash

# A fixed, throwaway key so the test can search for its spellings.
KEY_HEX = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


def spellings(key_hex: str) -> list[str]:
    return [key_hex, key_hex.upper(), "0x" + key_hex, str(bytes.fromhex(key_hex))]


def test_keystore_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "issuer.json"
    address = create_keystore(path, "correct horse", work_factor=KDF_WORK_FACTOR)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    signer = load_keystore(path, "correct horse")
    assert signer.address == address
    assert KEY_HEX not in path.read_text()
    with pytest.raises(ConfigError, match="refusing to overwrite"):
        create_keystore(path, "another", work_factor=KDF_WORK_FACTOR)
    assert load_keystore(path, "correct horse").address == address  # untouched
    assert list(path.parent.iterdir()) == [path]  # no temp file left behind


def test_pbkdf2_keystore_and_given_key(tmp_path: Path) -> None:
    signer = Signer.from_key(KEY_HEX)
    path = tmp_path / "k.json"
    assert create_keystore(path, "pw", kdf="pbkdf2", work_factor=1000, signer=signer) == (
        signer.address
    )
    assert load_keystore(path, "pw") == signer


def test_keystore_failures_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "issuer.json"
    create_keystore(path, "right", work_factor=KDF_WORK_FACTOR)
    with pytest.raises(KeyUnavailable) as raised:
        load_keystore(path, "wrong")
    assert raised.value.detail == f"wrong password for keystore {path}"
    with pytest.raises(KeyUnavailable, match="does not exist"):
        load_keystore(tmp_path / "missing.json", "x")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(KeyUnavailable, match="not a Web3 Secret Storage JSON"):
        load_keystore(tmp_path / "junk.json", "x")
    for exc in (raised.value,):
        assert "\n" not in str(exc)


def test_load_signer_sources(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    address = create_keystore(path, "pw", work_factor=KDF_WORK_FACTOR)
    from_env = load_signer(environ={"CREDANCHOR_PRIVATE_KEY": "0x" + KEY_HEX})
    assert from_env.address == Signer.from_key(KEY_HEX).address
    keystore_env = {"CREDANCHOR_KEYSTORE": str(path), "CREDANCHOR_KEYSTORE_PASSWORD": "pw"}
    assert load_signer(environ=keystore_env).address == address  # keystore wins over a key
    assert load_signer(keystore=path, password="pw", environ={}).address == address
    with pytest.raises(KeyUnavailable, match="needs a password"):
        load_signer(keystore=path, environ={})
    with pytest.raises(KeyUnavailable, match="no signing key"):
        load_signer(environ={})


def test_malformed_key_is_not_echoed() -> None:
    bad = KEY_HEX[:-2] + "zz"
    with pytest.raises(KeyUnavailable) as raised:
        load_signer(environ={"CREDANCHOR_PRIVATE_KEY": bad})
    assert bad not in str(raised.value) and KEY_HEX[:20] not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_private_key_never_shown(
    chain: EmbeddedChain, embedded_deployed: Deployed, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    d = embedded_deployed
    signer = load_signer(environ={"CREDANCHOR_PRIVATE_KEY": KEY_HEX})
    chain.fund(signer.address, 10**18)
    send_and_wait(d.w3, d.admin, d.contract.accredit_issuer(signer.address, "K", "", did="did:ex:k"),
                  policy=POLICY)
    signed = build_and_sign(
        d.w3,
        signer,
        d.contract.anchor(random_hash(), 2),
        nonce=next_nonce(d.w3, signer.address),
        fees=suggest_fees(d.w3, POLICY),
    )
    broadcast(d.w3, signed)
    logging.getLogger("test").info("signer %s, %r; tx %r", signer, signer, signed)
    shown = [repr(signer), str(signer), f"{signer}", repr(signed), caplog.text]
    assert repr(signer) == f"Signer({signer.address})"
    for text in shown:
        for spelling in spellings(KEY_HEX):
            assert spelling not in text
    with pytest.raises(TypeError):
        pickle.dumps(signer)


def test_password_file_is_private(tmp_path: Path) -> None:
    password = generate_password_file(tmp_path / "pw")
    assert len(password) >= 40
    assert stat.S_IMODE((tmp_path / "pw").stat().st_mode) == 0o600
    assert (tmp_path / "pw").read_text().strip() == password


# --- fees -----------------------------------------------------------------------------------


def test_policy_rejects_bumps_nodes_would_refuse() -> None:
    with pytest.raises(ConfigError, match="at least 10"):
        FeePolicy(max_fee_per_gas_cap=10**9, bump_percent=5)
    with pytest.raises(ConfigError):
        FeePolicy(max_fee_per_gas_cap=0)


def test_bump_raises_both_fees_and_respects_the_cap() -> None:
    assert bump(Fees(100, 10), FeePolicy(max_fee_per_gas_cap=1000)) == Fees(115, 12)
    # The market moved more than the bump: follow it.
    assert bump(Fees(100, 10), FeePolicy(1000), network=Fees(300, 20)) == Fees(300, 20)
    # Capped, but still +10 %: accepted at the cap.
    assert bump(Fees(100, 10), FeePolicy(max_fee_per_gas_cap=112, bump_percent=20)) == Fees(112, 12)
    with pytest.raises(FeeTooHigh, match="nothing was sent"):
        bump(Fees(100, 10), FeePolicy(max_fee_per_gas_cap=105, bump_percent=20))


@given(
    max_fee=st.integers(1, 10**13),
    tip_share=st.floats(0, 1),
    cap=st.integers(1, 10**14),
    percent=st.integers(10, 100),
)
def test_bump_is_a_valid_replacement_or_refused(
    max_fee: int, tip_share: float, cap: int, percent: int
) -> None:
    old = Fees(max_fee, int(max_fee * tip_share))
    try:
        new = bump(old, FeePolicy(max_fee_per_gas_cap=cap, bump_percent=percent))
    except FeeTooHigh:
        assert cap * 100 < old.max_fee_per_gas * 110 or cap * 100 < (
            old.max_priority_fee_per_gas * 110
        )
        return
    assert new.max_fee_per_gas * 100 >= old.max_fee_per_gas * 110
    assert new.max_priority_fee_per_gas * 100 >= old.max_priority_fee_per_gas * 110
    assert new.max_priority_fee_per_gas <= new.max_fee_per_gas <= cap


def test_suggested_fees_follow_the_base_fee(chain: EmbeddedChain) -> None:
    base = chain.w3.eth.get_block("latest")["baseFeePerGas"]
    fees = suggest_fees(chain.w3, FeePolicy(max_fee_per_gas_cap=10**12, priority_fee=7))
    assert fees == Fees(2 * base + 7, 7)
    capped = suggest_fees(chain.w3, FeePolicy(max_fee_per_gas_cap=base + 10, priority_fee=7))
    assert capped == Fees(base + 10, 7)
    with pytest.raises(FeeTooHigh) as raised:
        suggest_fees(chain.w3, FeePolicy(max_fee_per_gas_cap=base + 6, priority_fee=7))
    assert "gwei" in raised.value.detail and "nothing was sent" in raised.value.detail
