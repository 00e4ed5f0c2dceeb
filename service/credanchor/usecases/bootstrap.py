"""The service's bootstrap: the chain it anchors in, made ready and handed over as a
:class:`~credanchor.chain.gateway.ChainWriter`.

* embedded (the default): open the in-process EVM in the data directory and, on first start,
  deploy CredentialAnchor, create the local issuer's keystore, fund and accredit it
  (:func:`bootstrap_embedded`); later starts reuse all of it;
* rpc: connect to the node, check its chain id and the contract (or defer the check while the
  node is down).

This is the one place that maps :class:`~credanchor.usecases.config.Settings` to the chain
layer's plain arguments; :class:`credanchor.usecases.container.Runtime` calls
:func:`open_chain`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address

from credanchor.chain.artifact import load_artifact
from credanchor.chain.contract import (
    CredentialAnchor,
    Deployment,
    deploy_request,
    deployment_from_receipt,
)
from credanchor.chain.embedded import DEFAULT_CHAIN_ID, EmbeddedChain, open_embedded
from credanchor.chain.gateway import ChainReader, ChainWriter, open_rpc_reader
from credanchor.chain.keys import (
    PASSWORD_ENV,
    Signer,
    create_keystore,
    generate_password_file,
    load_keystore,
    read_password_file,
)
from credanchor.chain.tx import (
    FeePolicy,
    broadcast,
    build_and_sign,
    next_nonce,
    receipt_or_none,
    send_and_wait,
    suggest_fees,
    wait_for_receipt,
)
from credanchor.core.credentials import issuer_did
from credanchor.errors import ChainError, ConfigError, KeyUnavailable
from credanchor.usecases.config import EMBEDDED_CHAIN_FILE, EMBEDDED_STATE_FILE, Settings

log = logging.getLogger(__name__)


# --- the embedded chain, zero setup -------------------------------------------------------------------

CHAIN_FILE = EMBEDDED_CHAIN_FILE
STATE_FILE = EMBEDDED_STATE_FILE
ISSUER_KEYSTORE = "issuer-keystore.json"
ISSUER_PASSWORD_FILE = "issuer-keystore.password"
ISSUER_FUNDING_WEI = 100 * 10**18
_LOW_BALANCE_WEI = 10 * 10**18
# The embedded base fee starts at 1 gwei and only falls; this cap is never the limit there.
EMBEDDED_FEES = FeePolicy(max_fee_per_gas_cap=1_000 * 10**9, priority_fee=10**9)


@dataclass(frozen=True)
class EmbeddedSetup:
    """An open embedded chain with CredentialAnchor deployed and a local issuer accredited."""

    chain: EmbeddedChain
    contract_address: ChecksumAddress
    deploy_block: int
    admin: Signer
    issuer: Signer
    issuer_keystore: Path


def _read_state(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ChainError(f"{path} is not valid JSON ({exc}); fix or delete it") from exc
    if not isinstance(state, dict):
        raise ChainError(f"{path} does not hold a JSON object; fix or delete it")
    return state


def _write_state(path: Path, state: Mapping[str, Any]) -> None:
    # Written to a temp file, fsynced and renamed: a crash leaves the old or the new file.
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as fh:
        json.dump(dict(state), fh, indent=2, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _issuer_password(data_dir: Path, password: str | None) -> str:
    if password:
        return password
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    password_file = data_dir / ISSUER_PASSWORD_FILE
    if password_file.exists():
        return read_password_file(password_file)
    if (data_dir / ISSUER_KEYSTORE).exists():
        raise KeyUnavailable(
            f"{data_dir / ISSUER_KEYSTORE} exists but no password was given "
            f"(argument or ${PASSWORD_ENV}) and {ISSUER_PASSWORD_FILE} is missing"
        )
    # WARNING: demo convenience only - see generate_password_file().
    log.warning(
        "no keystore password given: generated one in %s (zero-setup demo only; pass "
        "$%s in any real deployment)",
        password_file,
        PASSWORD_ENV,
    )
    return generate_password_file(password_file)


def _issuer_signer(data_dir: Path, password: str | None, work_factor: int | None) -> Signer:
    secret = _issuer_password(data_dir, password)
    keystore = data_dir / ISSUER_KEYSTORE
    if not keystore.exists():
        create_keystore(keystore, secret, work_factor=work_factor)
    return load_keystore(keystore, secret)


def _ensure_deployed(
    chain: EmbeddedChain, admin: Signer, state: dict[str, Any], state_path: Path
) -> tuple[ChecksumAddress, int]:
    w3 = chain.w3
    if state.get("contract_address"):
        address = to_checksum_address(state["contract_address"])
        code = bytes(w3.eth.get_code(address))
        if not code:
            raise ChainError(
                f"{state_path} names contract {address}, but {chain.path} has no code there "
                "(was the chain file replaced?); delete the data directory to start over"
            )
        if code != load_artifact().deployed_bytecode:
            # Contracts are never upgraded in place (docs/contract.md): a data directory made
            # by another version holds another contract, whose ABI this code cannot speak.
            raise ChainError(
                f"{chain.path} holds a CredentialAnchor {address} of another version than this "
                "service's; contracts are not upgraded in place: move the data directory aside "
                "(or delete it) to start a new embedded chain"
            )
        return address, int(state["deploy_block"])
    receipt = None
    if state.get("deploy_tx"):
        receipt = receipt_or_none(w3, state["deploy_tx"])
        if receipt is None and next_nonce(w3, admin.address) != state["deploy_nonce"]:
            raise ChainError(
                f"deploy transaction {state['deploy_tx']} is missing but the admin's nonce "
                "moved on; delete the data directory to start over"
            )
    if receipt is None:
        # Recorded before sending, so a kill between send and bookkeeping is recognised
        # on the next start instead of deploying a second contract.
        nonce = next_nonce(w3, admin.address)
        signed = build_and_sign(
            w3, admin, deploy_request(), nonce=nonce, fees=suggest_fees(w3, EMBEDDED_FEES)
        )
        state.update(deploy_tx=signed.hash, deploy_nonce=nonce)
        _write_state(state_path, state)
        broadcast(w3, signed)
        receipt = wait_for_receipt(w3, signed.hash, timeout=30, poll=0.05)
        if receipt is None or receipt["status"] != 1:
            raise ChainError(f"deploying CredentialAnchor failed in {signed.hash}")
    deployment = deployment_from_receipt(w3, receipt)
    state.update(contract_address=deployment.address, deploy_block=deployment.deploy_block)
    _write_state(state_path, state)
    return deployment.address, deployment.deploy_block


def bootstrap_embedded(
    data_dir: Path,
    *,
    password: str | None = None,
    chain_id: int = DEFAULT_CHAIN_ID,
    issuer_name: str = "Local demo issuer",
    issuer_profile_uri: str = "",
    kdf_work_factor: int | None = None,
) -> EmbeddedSetup:
    """Open the embedded chain in ``data_dir`` and make it ready to anchor.

    On first start: deploy CredentialAnchor from the packaged artifact (admin = genesis
    account 0), create the issuer key in ``issuer-keystore.json``, fund and accredit it, and
    record addresses and the deploy block (no secrets) in ``embedded.json``. Later starts
    reuse all of it. Every step checks the chain before acting, so a run killed half way is
    finished by the next one.

    The keystore password comes from ``password``, then ``$CREDANCHOR_KEYSTORE_PASSWORD``,
    then ``issuer-keystore.password``; if there is none, one is generated into that file.
    WARNING: that file sits beside the keystore and is for the zero-setup demo only.
    ``kdf_work_factor`` (scrypt N) lets tests use a cheap KDF.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    chain = open_embedded(data_dir / CHAIN_FILE, chain_id=chain_id)
    try:
        state_path = data_dir / STATE_FILE
        state = _read_state(state_path)
        admin = chain.funded_account(0)
        address, deploy_block = _ensure_deployed(chain, admin, state, state_path)
        issuer = _issuer_signer(data_dir, password, kdf_work_factor)
        if chain.w3.eth.get_balance(issuer.address) < _LOW_BALANCE_WEI:
            chain.fund(issuer.address, ISSUER_FUNDING_WEI)
        client = CredentialAnchor(chain.w3, address, deploy_block=deploy_block)
        # "Ever accredited", not "active": an issuer the admin suspended stays suspended.
        if not client.issuer_info(issuer.address).ever_accredited:
            send_and_wait(
                chain.w3,
                admin,
                client.accredit_issuer(issuer.address, issuer_name, issuer_profile_uri,
                                       did=issuer_did(chain_id, issuer.address)),
                policy=EMBEDDED_FEES,
                timeout=30,
                poll=0.05,
            )
        record = {
            "version": 1,
            "chain_id": chain_id,
            "contract_address": address,
            "deploy_block": deploy_block,
            "deploy_tx": state.get("deploy_tx"),
            "deploy_nonce": state.get("deploy_nonce"),
            "admin": admin.address,
            "issuer": issuer.address,
            "issuer_keystore": ISSUER_KEYSTORE,
        }
        if record != state:
            _write_state(state_path, record)
    except BaseException:
        chain.close()
        raise
    return EmbeddedSetup(chain, address, deploy_block, admin, issuer, data_dir / ISSUER_KEYSTORE)


# --- the configured chain -------------------------------------------------------------------


@dataclass
class Bootstrap:
    """What opening the chain found or created, for the runtime to register."""

    passwords: dict[str, str] = field(default_factory=dict)  # keystore path -> password
    local_issuer: tuple[str, str] | None = None  # (address, keystore path)
    signers: dict[str, Signer] = field(default_factory=dict)


def fee_policy(settings: Settings) -> FeePolicy:
    return FeePolicy(max_fee_per_gas_cap=settings.max_fee_wei,
                     priority_fee=settings.priority_fee_wei)


def open_chain(settings: Settings) -> tuple[ChainWriter, Bootstrap]:
    """The configured chain: the embedded EVM (bootstrapped on first start) or an RPC node."""
    policy = fee_policy(settings)
    if settings.chain == "embedded":
        setup = bootstrap_embedded(
            settings.data_dir,
            password=settings.keystore_password.reveal() if settings.keystore_password else None,
            issuer_name=settings.issuer_name,
            issuer_profile_uri=settings.issuer_url or "",
            kdf_work_factor=settings.kdf_work_factor,
        )
        deployment = Deployment(setup.chain.chain_id, setup.contract_address, setup.deploy_block)
        contract = CredentialAnchor(setup.chain.w3, setup.contract_address,
                                    deploy_block=setup.deploy_block)
        reader = ChainReader(setup.chain.w3, contract, deployment, closer=setup.chain.close)
        chain = ChainWriter(reader, fee_policy=policy, poll_interval=0.05, admin=setup.admin,
                            embedded=setup.chain)
        password_file = setup.issuer_keystore.with_suffix(".password")
        password = (settings.keystore_password.reveal() if settings.keystore_password
                    else read_password_file(password_file) if password_file.exists() else None)
        return chain, Bootstrap(
            passwords={str(setup.issuer_keystore): password} if password else {},
            local_issuer=(setup.issuer.address, str(setup.issuer_keystore)),
            signers={setup.issuer.address: setup.issuer},
        )
    if not settings.contract_address:
        raise ConfigError("CREDANCHOR_CONTRACT_ADDRESS is required with an RPC chain "
                          "(deploy one with `credanchor deploy --rpc URL`)")
    assert settings.rpc_url
    reader = open_rpc_reader(settings.rpc_url, settings.contract_address,
                             deploy_block=settings.deploy_block,
                             expected_chain_id=settings.chain_id, timeout=settings.rpc_timeout)
    admin = Signer.from_key(settings.admin_key.reveal()) if settings.admin_key else None
    return ChainWriter(reader, fee_policy=policy, admin=admin), Bootstrap()
