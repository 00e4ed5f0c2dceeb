"""The service's status (``credanchor status``): backlog, batches by status, the last confirmed
anchor and the chain head, read without opening the runtime.

Opening the :class:`~credanchor.usecases.container.Runtime` for this cost 1.8-3 s and 90-330 MB
(web3, eth-account and py-evm imports, the EVM, keystores, identities) and, on the embedded
chain, failed while a running service held the chain's lock. Here the ledger is opened
read-only and the head comes from :mod:`credanchor.chain.head`: the embedded chain's SQLite file
read-only, or one JSON-RPC request. Nothing here imports web3 or py-evm (a test holds it to
that).

Only a data directory nothing has initialised yet (no ledger, or an embedded chain without its
contract) is bootstrapped first, by opening the runtime once, as ``status`` always did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from credanchor.chain.head import ChainHead, eip55, embedded_head, rpc_head
from credanchor.errors import ChainError, ConfigError
from credanchor.ledger.records import Batch
from credanchor.ledger.schema import MIGRATIONS
from credanchor.ledger.store import Store
from credanchor.usecases.config import Settings


@dataclass(frozen=True)
class ServiceStatus:
    chain_id: int | None  # None: an RPC chain whose node did not answer and no CREDANCHOR_CHAIN_ID
    contract: str
    head: int | None  # None: the head could not be read, see head_error
    pending: int
    batches: dict[str, int]  # status -> count, every status
    last_confirmed: Batch | None
    head_error: str | None = None  # why head is None (a ChainError's message)


def service_status(settings: Settings) -> ServiceStatus:
    """Backlog, batches by status, the last confirmed anchor and the chain head.

    The head is None with ``head_error`` when the chain cannot be read (a node down, a
    missing chain file); the ledger's figures are still given."""
    if not _initialised(settings):
        _bootstrap(settings)
    store = Store.open_read_only(settings.ledger_path)
    try:
        pending, _ = store.pending_summary()
        batches = store.count_batches_by_status()
        last = store.last_confirmed_batch()
    finally:
        store.close()
    chain_id, contract = _where(settings)
    head: ChainHead | None = None
    error: str | None = None
    try:
        if settings.chain == "embedded":
            head = embedded_head(settings.embedded_chain_path)
        else:
            assert settings.rpc_url  # load_settings requires it with chain = rpc
            head = rpc_head(settings.rpc_url, expected_chain_id=settings.chain_id,
                            timeout=min(settings.rpc_timeout, 5.0))
    except ChainError as exc:
        error = str(exc)
    return ServiceStatus(
        chain_id=head.chain_id if head else chain_id, contract=contract,
        head=head.head if head else None, pending=pending, batches=batches,
        last_confirmed=last, head_error=error,
    )


def _embedded_state(settings: Settings) -> dict[str, object]:
    try:
        state = json.loads(settings.embedded_state_path.read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _initialised(settings: Settings) -> bool:
    """Has a runtime opened this data directory (ledger migrated, embedded contract deployed)?"""
    if not settings.ledger_path.is_file():
        return False
    if settings.chain == "embedded" and not (
            _embedded_state(settings).get("contract_address")
            and settings.embedded_chain_path.is_file()):
        return False
    store = Store.open_read_only(settings.ledger_path)
    try:
        return store.schema_version >= len(MIGRATIONS)
    finally:
        store.close()


def _bootstrap(settings: Settings) -> None:
    # The one slow path: a fresh (or older) data directory is made ready as any command would.
    from credanchor.usecases.container import Runtime

    Runtime.open(settings).close()


def _where(settings: Settings) -> tuple[int | None, str]:
    """The chain id and contract the settings (or the embedded bootstrap's record) name."""
    if settings.chain == "embedded":
        state = _embedded_state(settings)
        chain_id = state.get("chain_id")
        return (int(chain_id) if isinstance(chain_id, int | str) else None,
                eip55(str(state["contract_address"])))
    if not settings.contract_address:
        raise ConfigError("CREDANCHOR_CONTRACT_ADDRESS is required with an RPC chain "
                          "(deploy one with `credanchor deploy --rpc URL`)")
    try:
        return settings.chain_id, eip55(settings.contract_address)
    except ValueError as exc:
        raise ConfigError(f"CREDANCHOR_CONTRACT_ADDRESS: {exc}") from None


__all__ = ["ServiceStatus", "service_status"]
