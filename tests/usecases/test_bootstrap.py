"""bootstrap_embedded: first start, restart, and a first start killed half way."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

import credanchor.usecases.bootstrap as bootstrap
from credanchor.chain.contract import CredentialAnchor
from credanchor.chain.tx import FeePolicy, TxRequest, send_and_wait
from credanchor.core.credentials import issuer_did
from credanchor.errors import ChainError, KeyUnavailable
from credanchor.usecases.bootstrap import EmbeddedSetup, bootstrap_embedded
from kit.chain import KDF_WORK_FACTOR


class Killed(BaseException):
    """Stands in for SIGKILL at a chosen point (BaseException: nothing catches it)."""


def boot(data_dir: Path, **kwargs: Any) -> EmbeddedSetup:
    return bootstrap_embedded(data_dir, kdf_work_factor=KDF_WORK_FACTOR, **kwargs)


def check_ready(setup: EmbeddedSetup) -> None:
    contract = CredentialAnchor(setup.chain.w3, setup.contract_address)
    assert contract.is_admin(setup.admin.address)
    info = contract.issuer_info(setup.issuer.address)
    assert info.active and info.name == "Local demo issuer"
    # The registry binds the DID the issuer's credentials name it by to its account.
    assert info.did == issuer_did(setup.chain.chain_id, setup.issuer.address)
    assert setup.chain.w3.eth.get_balance(setup.issuer.address) >= 10 * 10**18


def test_first_start_then_restart_reuses_everything(tmp_path: Path) -> None:
    first = boot(tmp_path)
    try:
        check_ready(first)
        head = first.chain.w3.eth.block_number
    finally:
        first.chain.close()
    for name in ("issuer-keystore.json", "issuer-keystore.password"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    state = json.loads((tmp_path / "embedded.json").read_text())
    assert state["contract_address"] == first.contract_address
    assert state["deploy_block"] == first.deploy_block == 1
    assert state["issuer"] == first.issuer.address
    password = (tmp_path / "issuer-keystore.password").read_text().strip()
    assert password not in json.dumps(state) and "crypto" not in state

    second = boot(tmp_path)
    try:
        assert (second.contract_address, second.deploy_block) == (
            first.contract_address,
            first.deploy_block,
        )
        assert (second.issuer, second.admin) == (first.issuer, first.admin)
        assert second.chain.w3.eth.block_number == head  # nothing was sent again
        check_ready(second)
    finally:
        second.chain.close()


def test_password_from_the_caller_is_not_written(tmp_path: Path) -> None:
    setup = boot(tmp_path, password="from-a-secret-store")
    setup.chain.close()
    assert not (tmp_path / "issuer-keystore.password").exists()
    with pytest.raises(KeyUnavailable, match="wrong password"):
        boot(tmp_path, password="something else")
    with pytest.raises(KeyUnavailable, match="no password was given"):
        boot(tmp_path)
    boot(tmp_path, password="from-a-secret-store").chain.close()


@pytest.mark.parametrize(
    "point",
    [
        "broadcast",  # deploy tx recorded, not sent
        "deployment_from_receipt",  # deploy mined, address not recorded
        "create_keystore",  # contract recorded, issuer key not created
        "send_and_wait",  # issuer created and funded, not accredited
    ],
)
def test_a_killed_first_start_is_finished_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    def die(*args: Any, **kwargs: Any) -> None:
        raise Killed(point)

    with monkeypatch.context() as patch:
        patch.setattr(bootstrap, point, die)
        with pytest.raises(Killed):
            boot(tmp_path)

    setup = boot(tmp_path)
    try:
        check_ready(setup)
        w3 = setup.chain.w3
        # Exactly one deployment: the admin's nonce 0 created the recorded contract, and
        # the admin sent three transactions in all (deploy, fund issuer, accredit).
        assert w3.eth.get_transaction_count(setup.admin.address) == 3
        deploy_tx = json.loads((tmp_path / "embedded.json").read_text())["deploy_tx"]
        receipt = w3.eth.get_transaction_receipt(deploy_tx)
        assert receipt["contractAddress"] == setup.contract_address
    finally:
        setup.chain.close()


def test_a_replaced_chain_file_is_detected(tmp_path: Path) -> None:
    boot(tmp_path).chain.close()
    (tmp_path / "chain.sqlite").unlink()
    with pytest.raises(ChainError, match="has no code there"):
        boot(tmp_path)


def test_a_data_directory_of_another_contract_version_is_refused(tmp_path: Path) -> None:
    # Contracts are not upgraded in place (docs/contract.md): a data directory whose recorded
    # contract has other code (here: a stand-in runtime of 3 bytes, deployed for real) must be
    # named as such, not fail later on an ABI it cannot decode.
    setup = boot(tmp_path)
    try:
        init = bytes.fromhex("6003600c60003960036000f3") + bytes.fromhex("600000")
        receipt = send_and_wait(setup.chain.w3, setup.admin, TxRequest(None, init),
                                policy=FeePolicy(max_fee_per_gas_cap=10**12))
        other = receipt["contractAddress"]
        assert setup.chain.w3.eth.get_code(other) == bytes.fromhex("600000")
    finally:
        setup.chain.close()
    state = json.loads((tmp_path / "embedded.json").read_text())
    state["contract_address"] = other
    (tmp_path / "embedded.json").write_text(json.dumps(state))
    with pytest.raises(ChainError, match="another version"):
        boot(tmp_path)
