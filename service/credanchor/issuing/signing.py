"""What an issuance adds to each credential before it is hashed: its status entry and the
issuer's signature.

A credential is issued in this order (docs/proof-format.md):

1. built (credanchor.issuing.items) — OB 3.0, ``issuer.id`` the issuer's signing DID;
2. given its ``credentialStatus``: a revocation ``BitstringStatusListEntry`` at the slot the
   ledger allocated (credanchor.ledger.status_lists);
3. signed: ``proof`` = ``[DataIntegrityProof]``, eddsa-rdfc-2022 with the issuer's current
   Ed25519 key, the proof ``id`` a fresh ``urn:uuid`` (the anchor proof names it in
   ``previousProof``);
4. hashed: keccak256 of the JCS bytes of that signed document — what gets anchored.

A legacy issuer (``did:pkh``, no key: see credanchor.usecases.issuer_identity) has no
:class:`Issuance` signer; its credentials get neither step 2 nor 3, as before.

:class:`Issuance` is picklable (the bulk path hands it to its worker processes): it carries
the key's 32-byte seed, never shown by its repr.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from credanchor.core.credentials import IssuerProfile, format_datetime, urn_uuid
from credanchor.core.dataintegrity import create_proof
from credanchor.core.multikey import Ed25519KeyPair
from credanchor.core.statuslist import MAX_LENGTH, StatusEntry, entry_json

__all__ = ["Issuance", "StatusSlot", "status_allocator", "status_list_url"]

#: (list number, bit index) of a credential in its issuer's status lists.
StatusSlot = tuple[int, int]


def status_list_url(base_url: str, issuer_id: int, list_no: int) -> str:
    """Where the service serves list ``list_no`` of issuer ``issuer_id`` (web.api)."""
    return f"{base_url.rstrip('/')}/status/{issuer_id}/{list_no}"


@dataclass(frozen=True)
class Issuance:
    """One issuer's issuing context: its profile, signing key and status-list base URL.

    ``seed`` None: an unsigned (legacy ``did:pkh``) issuer. ``verification_method`` is the
    DID URL of the key (``did:key:z…#z…`` or ``did:web:…#key-…``). ``status_base`` is the
    service's public base URL, under which the issuer's lists are served. ``created`` is the
    proofs' creation time (one per request or run; None: now).
    """

    profile: IssuerProfile
    issuer_id: int
    seed: bytes | None = field(default=None, repr=False)
    verification_method: str | None = None
    status_base: str | None = None
    created: datetime | None = None

    def __post_init__(self) -> None:
        if (self.seed is None) != (self.verification_method is None):
            raise ValueError("a signing issuance needs both a key and its verification method")
        if self.seed is not None and self.status_base is None:
            raise ValueError("a signing issuance needs the status lists' base URL")

    @property
    def signs(self) -> bool:
        return self.seed is not None

    def key(self) -> Ed25519KeyPair:
        assert self.seed is not None
        cached = _KEYS.get(self.seed)
        if cached is None:
            cached = _KEYS[self.seed] = Ed25519KeyPair.from_seed(self.seed)
        return cached

    def created_at(self) -> str:
        return format_datetime(self.created or datetime.now(UTC))

    def status_entry(self, slot: StatusSlot) -> dict[str, str]:
        assert self.status_base is not None
        list_no, index = slot
        key = (self.status_base, self.issuer_id, list_no)
        url = _LIST_URLS.get(key)
        if url is None:  # checked once per list (a StatusEntry checks its URL and index)
            url = _LIST_URLS[key] = StatusEntry(status_list_url(*key), 0).list_url
        if type(index) is not int or not 0 <= index < MAX_LENGTH:
            raise ValueError(f"status list index {index!r} is out of range")
        return entry_json(url, index)

    def finish(self, credential: dict[str, Any], slot: StatusSlot | None,
               created: str | None = None, *, proof_id: str | None = None) -> dict[str, Any]:
        """The credential as it is stored and hashed: with its status entry and signature
        when the issuer signs (``slot`` required then), unchanged otherwise. Modifies and
        returns ``credential``. ``proof_id``: see :meth:`sign`."""
        credential.pop("proof", None)
        if not self.signs:
            return credential
        if slot is None:
            raise ValueError("a signed credential needs its status list slot")
        credential["credentialStatus"] = self.status_entry(slot)
        return self.sign(credential, created, proof_id=proof_id)

    def sign(self, document: Mapping[str, Any], created: str | None = None, *,
             proof_id: str | None = None) -> dict[str, Any]:
        """``document`` with ``proof`` = ``[its DataIntegrityProof]`` (any earlier proof
        dropped: the signature is the first proof, the anchor proof comes after it).

        The proof's ``id`` is a fresh random ``urn:uuid`` unless ``proof_id`` is given: only
        reproducible output (the golden worked example of docs/proof-format.md) passes one,
        since two signatures with one id would make ``previousProof`` ambiguous."""
        unsigned = {k: v for k, v in document.items() if k != "proof"}
        proof = create_proof(
            unsigned, self.key(), verification_method=self.verification_method,
            created=created or self.created_at(),
            proof_id=proof_id or urn_uuid(),
        )
        unsigned["proof"] = [proof]
        return unsigned


#: Status list indexes are drawn from the operating system's CSPRNG: an index must say
#: nothing about when or to whom a badge was issued.
_STATUS_RNG = secrets.SystemRandom()


def status_allocator(store: Any, issuance: Issuance) -> Any:
    """The ledger's allocator of status list slots for ``issuance``'s issuer (None for an
    unsigned issuer). Create and use it inside the write transaction that stores the badges
    (credanchor.ledger.status_lists)."""
    return store.status_slots(issuance.issuer_id, _STATUS_RNG) if issuance.signs else None


# Seed -> key pair, per process: deriving the public key costs ~50 µs.
_KEYS: dict[bytes, Ed25519KeyPair] = {}
# (base URL, issuer, list) -> the list's URL, checked.
_LIST_URLS: dict[tuple[str, int, int], str] = {}


def signature_id(credential: Mapping[str, Any]) -> str | None:
    """The id of the issuer's signature a stored credential carries (the anchor proof's
    ``previousProof``); None for an unsigned one."""
    proofs = credential.get("proof")
    if isinstance(proofs, Mapping):
        proofs = [proofs]
    if not isinstance(proofs, list):
        return None
    for p in proofs:
        if isinstance(p, Mapping) and p.get("type") == "DataIntegrityProof" and isinstance(
                p.get("id"), str):
            return p["id"]
    return None
