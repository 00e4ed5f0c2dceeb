"""The status lists the service publishes: each issuer's signed BitstringStatusListCredentials.

``GET /status/{issuer}/{list}`` (credanchor.web.published) serves :func:`status_list_document`:

* **id** exactly the URL written into the badges' ``credentialStatus``
  (:func:`credanchor.issuing.signing.status_list_url` on the public base URL), and **issuer**
  the issuer's signing DID: standard verifiers refuse a list whose id or issuer differ from
  what the badge names.
* **bits** the credentials whose own revocation, or whose batch's, is *confirmed* on chain
  (credanchor.ledger.status_lists): the chain is the authority and the list follows it, so a
  revocation still queued or in flight leaves its bit clear.
* **signed** by the issuer's current key, the same key and DID that sign its badges
  (``Issuance.sign``, eddsa-rdfc-2022).
* **validFrom** the time of the issuer's last confirmed revocation, or, before any, the time
  the issuer was added: it depends only on what the list says, so every re-sign of the same
  state carries the same ``validFrom``. (The proof's ``created`` and ``id`` are those of the
  signing moment.)

Signing costs an RDF canonicalisation, so a signed list is kept per (issuer, list) and reused
while the issuer's revocations (``revocations_version``), DID and key stay the same: a request
then costs two small ledger reads. An issuer without a signing identity (from before
signatures), an unknown issuer or a list that holds no credential is NotFound.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from credanchor.core.statuslist import status_list_credential
from credanchor.errors import NotFound
from credanchor.issuing.signing import status_list_url
from credanchor.usecases.issuer_identity import public_base_url

if TYPE_CHECKING:
    from credanchor.ledger.store import Issuer
    from credanchor.usecases.container import Runtime

__all__ = ["status_list_document", "status_list_valid_from"]


@dataclass(frozen=True)
class _Signed:
    """A signed list and what it was signed for."""

    version: tuple[int, float]
    did: str
    verification_method: str
    url: str
    document: dict[str, Any]


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lists: dict[tuple[int, int], _Signed] = {}


# One cache per runtime (a process normally has one), gone with it.
_CACHES: weakref.WeakKeyDictionary[Runtime, _Cache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def _cache(runtime: Runtime) -> _Cache:
    with _CACHES_LOCK:
        cache = _CACHES.get(runtime)
        if cache is None:
            cache = _CACHES[runtime] = _Cache()
        return cache


#: Larger ids are no issuer's or list's (SQLite integers are 64-bit signed).
_MAX_ID = 2**63 - 1


def _not_found(issuer_id: int, list_no: int) -> NotFound:
    return NotFound(f"no status list {list_no} of issuer {issuer_id}")


def status_list_valid_from(issuer: Issuer, version: tuple[int, float]) -> datetime:
    """When the list's content last changed: the issuer's latest confirmed revocation, or
    the issuer's creation when none is (every bit clear since then)."""
    count, latest = version
    return datetime.fromtimestamp(latest if count else issuer.created_at, UTC)


def status_list_document(runtime: Runtime, issuer_id: int, list_no: int) -> dict[str, Any]:
    """The signed ``BitstringStatusListCredential`` of list ``list_no`` of issuer
    ``issuer_id``, as served at its URL. NotFound when the issuer does not exist, does not
    sign (no DID), or has no credential in that list."""
    if not (0 < issuer_id <= _MAX_ID and 0 < list_no <= _MAX_ID):
        raise _not_found(issuer_id, list_no)  # also keeps huge numbers away from SQLite
    store = runtime.store()
    try:
        issuer = store.get_issuer(issuer_id)
    except NotFound:
        raise _not_found(issuer_id, list_no) from None
    if not issuer.did:
        raise _not_found(issuer_id, list_no)
    version = store.revocations_version(issuer.id)
    issuance = runtime.issuance(issuer)  # the key is decrypted once per process
    assert issuance.verification_method is not None  # a DID means a signing key
    url = status_list_url(public_base_url(runtime), issuer.id, list_no)
    cache = _cache(runtime)
    key = (issuer.id, list_no)
    with cache.lock:
        hit = cache.lists.get(key)
        if hit is not None and (hit.version, hit.did, hit.verification_method, hit.url) == (
                version, issuer.did, issuance.verification_method, url):
            return hit.document
        # A list, once opened, holds its credentials for good: only a miss needs to ask.
        if hit is None and list_no not in store.status_list_numbers(issuer.id):
            raise _not_found(issuer_id, list_no)
        unsigned = status_list_credential(
            list_url=url, issuer=issuer.did,
            valid_from=status_list_valid_from(issuer, version),
            revoked=store.revoked_status_indexes(issuer.id, list_no),
        )
        signed = issuance.sign(unsigned)
        cache.lists[key] = _Signed(version, issuer.did, issuance.verification_method, url, signed)
        return signed
