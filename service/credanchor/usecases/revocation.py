"""Revoking a credential or a whole batch: the one implementation behind
``credanchor revoke`` and ``POST /api/v1/credentials/{id}/revoke`` / ``/batches/{id}/revoke``.

A revocation is recorded in the ledger and carried to the chain by the anchoring worker; the
faces only choose whether to wait for it (the CLI by default) or to answer at once (the API,
202).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from credanchor.errors import InvalidInput

if TYPE_CHECKING:
    from credanchor.usecases.container import Runtime

#: The contract's reason codes by name (docs/api.md); any other code is 0-255.
REVOCATION_REASONS = {
    "unspecified": 0, "issued-in-error": 1, "superseded": 2, "misconduct": 3,
    "key-compromise": 4, "withdrawn": 5,
}


def reason_code(reason: object) -> int:
    """A reason name from :data:`REVOCATION_REASONS` or an integer 0-255, as its code."""
    if isinstance(reason, str) and reason in REVOCATION_REASONS:
        return REVOCATION_REASONS[reason]
    if isinstance(reason, int) and not isinstance(reason, bool) and 0 <= reason <= 255:
        return reason
    raise InvalidInput(
        f"reason must be one of {', '.join(REVOCATION_REASONS)} or an integer 0-255"
    )


@dataclass(frozen=True)
class Revocation:
    """A recorded revocation request; ``created`` is False when it had been recorded before."""

    kind: Literal["credential", "batch"]
    target: bytes  # the credential hash, or the batch's Merkle root
    reason: int
    created: bool

    @property
    def status(self) -> str:
        return "queued" if self.created else "already-requested"


def revoke_credential(runtime: Runtime, credential_id: str, reason: int,
                      note: str | None = None, *, issuer_id: int | None = None) -> Revocation:
    """Record the revocation of one credential (of ``issuer_id`` only, when given) and wake
    the worker. NotFound for a credential that does not exist (or is another issuer's)."""
    store = runtime.store()
    cred = store.get_credential(credential_id, issuer_id=issuer_id)
    return _record(runtime, cred.issuer_id, "credential", cred.credential_hash, reason, note)


def revoke_batch(runtime: Runtime, batch_id: int, reason: int, note: str | None = None,
                 *, issuer_id: int | None = None) -> Revocation:
    """Record the revocation of every credential of a batch (its root) and wake the worker."""
    batch = runtime.store().get_batch(batch_id, issuer_id=issuer_id)
    return _record(runtime, batch.issuer_id, "batch", batch.root, reason, note)


def _record(runtime: Runtime, issuer_id: int, kind: Literal["credential", "batch"],
            target: bytes, reason: int, note: str | None) -> Revocation:
    code = reason_code(reason)
    created = runtime.store().add_revocation(issuer_id, kind, target, code, note)
    runtime.wake_worker()
    return Revocation(kind, target, code, created)


def carry_to_chain(runtime: Runtime, *, timeout: float = 300) -> None:
    """Send what is queued (revocations included) and wait until it is confirmed; nothing
    pending is sealed into a batch for it."""
    runtime.anchorer().run_until_idle(timeout=timeout, force_seal=False)


__all__ = ["REVOCATION_REASONS", "Revocation", "carry_to_chain", "reason_code",
           "revoke_batch", "revoke_credential"]
