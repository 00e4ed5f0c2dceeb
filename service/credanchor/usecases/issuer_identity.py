"""An issuer's signing identity: its Ed25519 key ring, its DID, the DID document the service
publishes for it, and what issuing with it needs (an :class:`Issuance`).

* **DID.** ``did:web`` when the service has an https public URL (``CREDANCHOR_PUBLIC_URL``):
  the first issuer is ``did:web:<host>`` (document at ``/.well-known/did.json``), issuer ``n``
  ``did:web:<host>:issuers:<n>`` (``/issuers/<n>/did.json``); otherwise ``did:key`` of the
  issuer's first key, which resolves offline. Chosen once, when the issuer gets its key, and
  recorded in the ledger and in the issuer's on-chain profile (the registry's binding of DID
  to anchoring account, which the verifier requires).
* **Keys** live encrypted in the data directory's ``keys/`` folder beside the issuer's
  Ethereum keystore, under the same password (credanchor.issuing.issuer_keys). A did:web
  issuer can rotate: the new key signs from then on, the old one stays in the DID document
  with ``revoked`` so that the badges it signed before keep verifying. A did:key *is* its key,
  so a did:key issuer cannot rotate without becoming another issuer.
* **Upgrade.** An issuer from before signatures (``did`` NULL in the ledger, known by its
  ``did:pkh``) gets its key and DID the first time the service opens with its keystore
  password (:func:`ensure_identities`): its old badges keep their ``did:pkh`` and verify
  through their anchor, reported unsigned; its new ones are signed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from credanchor.core.did_document import AnchorAccount, issuer_did_document, key_method_id
from credanchor.core.multikey import did_key, did_key_verification_method, did_web_from_url
from credanchor.errors import Conflict, CredanchorError, DidError, KeyUnavailable, NotFound
from credanchor.issuing.issuer_keys import IssuerKeyRing, KeyInfo
from credanchor.issuing.signing import Issuance
from credanchor.ledger.store import Issuer

if TYPE_CHECKING:
    from credanchor.usecases.container import Runtime

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_LOCAL_URL",
    "did_document_for",
    "ensure_identities",
    "ensure_identity",
    "find_issuer_by_did_path",
    "issuance_for",
    "public_base_url",
    "rotate_key",
]

#: Where status lists are said to be served when no public URL is configured: the local
#: ``credanchor serve`` default. A deployment must set CREDANCHOR_PUBLIC_URL, since the URL
#: written into each badge is where every verifier will look for its status list.
DEFAULT_LOCAL_URL = "http://127.0.0.1:8000"


def public_base_url(runtime: Runtime) -> str:
    return (runtime.settings.public_url or DEFAULT_LOCAL_URL).rstrip("/")


def _web_base(runtime: Runtime) -> str | None:
    url = runtime.settings.public_url
    return url.rstrip("/") if url and urlsplit(url).scheme == "https" else None


def key_ring(runtime: Runtime, issuer: Issuer) -> IssuerKeyRing:
    return IssuerKeyRing(runtime.settings.data_dir / "keys", issuer.address,
                         work_factor=runtime.settings.kdf_work_factor)


def _choose_did(runtime: Runtime, issuer: Issuer, key: KeyInfo) -> str:
    base = _web_base(runtime)
    if base is None:
        return did_key(key.public_multibase)
    return did_web_from_url(base if issuer.id == 1 else f"{base}/issuers/{issuer.id}")


def ensure_identity(runtime: Runtime, issuer: Issuer, *, record_on_chain: bool = True) -> Issuer:
    """The issuer with its signing key and DID, created if it has none. When it had none and
    the service holds the registry's admin key, its on-chain profile is updated to the new DID
    (``record_on_chain``; add_issuer accredits with it instead). KeyUnavailable when no
    password is configured for new keys."""
    if issuer.did:
        return issuer
    chain = runtime.chain
    if record_on_chain and chain.admin is None:
        record = chain.contract.issuer_info(issuer.address)
        if record.ever_accredited:
            # Its badges must name the DID the chain records for its account; without the
            # registry's admin key that record cannot follow, so the issuer stays as it is.
            raise KeyUnavailable(
                f"issuer {issuer.id} is accredited as {record.did or 'no DID'} and this service "
                "does not hold the registry's admin key to record a signing DID for it")
    password = runtime.keystore_password()
    ring = key_ring(runtime, issuer)
    ring.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        info = ring.create(password)
    except Conflict:  # a crash between the key and the ledger: use the key that exists
        info = ring.current()
    did = _choose_did(runtime, issuer, info)
    # The chain first: the ledger names the DID only once the registry binds it to the
    # account, so a failed transaction leaves the issuer as it was (retried at the next open).
    if record_on_chain and chain.admin is not None:
        record = chain.contract.issuer_info(issuer.address)
        if record.ever_accredited and record.did != did:
            chain.admin_send(chain.contract.update_issuer_profile(
                issuer.address, issuer.name, issuer.url or "", did=did))
    issuer = runtime.store().set_issuer_did(issuer.id, did)
    log.info("issuer %s signs as %s", issuer.id, did)
    return issuer


def ensure_identities(runtime: Runtime) -> None:
    """Give every issuer a signing identity (the upgrade of issuers from before signatures).
    An issuer stays unsigned, with a warning, when no key password is configured or when its
    new DID could not be recorded on chain (no admin key for an accredited issuer)."""
    store = runtime.store()
    for issuer in store.list_issuers():
        if issuer.did:
            continue
        try:
            ensure_identity(runtime, issuer)
        except CredanchorError as exc:  # no password, no admin key, a failed transaction
            log.warning("issuer %s keeps issuing unsigned badges for now: %s", issuer.id, exc)


def issuance_for(runtime: Runtime, issuer: Issuer) -> Issuance:
    """What issuing for ``issuer`` needs: its profile and, once it has a signing identity,
    its current key (decrypted once per process), verification method and status list base."""
    profile = runtime.issuer_profile(issuer)
    if not issuer.did:
        return Issuance(profile=profile, issuer_id=issuer.id)
    seed, public = runtime.ed25519_seed(issuer, key_ring(runtime, issuer))
    vm = (did_key_verification_method(public) if issuer.did.startswith("did:key:")
          else key_method_id(issuer.did, public))
    return Issuance(profile=profile, issuer_id=issuer.id, seed=seed, verification_method=vm,
                    status_base=public_base_url(runtime), created=datetime.now(UTC))


def did_document_for(runtime: Runtime, issuer: Issuer) -> dict[str, Any]:
    """The DID document of a did:web issuer: its keys (retired ones with ``revoked``) and its
    anchoring account on this chain. NotFound for an issuer without a did:web."""
    if not issuer.did or not issuer.did.startswith("did:web:"):
        raise NotFound(f"issuer {issuer.id} publishes no did:web document")
    account = AnchorAccount(runtime.chain.chain_id, issuer.address)
    return issuer_did_document(issuer.did, key_ring(runtime, issuer).issuer_keys(), [account])


def find_issuer_by_did_path(runtime: Runtime, slug: str | None) -> Issuer:
    """The did:web issuer whose document lives at ``/issuers/<slug>/did.json`` (slug None:
    ``/.well-known/did.json``, issuer 1)."""
    plain = slug is not None and slug.isascii() and slug.isdigit() and len(slug) <= 12
    issuer_id = 1 if slug is None else (int(slug) if plain else 0)
    try:
        issuer = runtime.store().get_issuer(issuer_id)
    except NotFound:
        raise NotFound("no such DID document") from None
    # Served only at the URL its DID resolves to: issuer 1 (did:web:<host>) at /.well-known,
    # so /issuers/1/did.json or /issuers/01/did.json are nobody's document.
    base = _web_base(runtime)
    path = "" if slug is None else f"/issuers/{slug}"
    try:
        here = did_web_from_url(base + path) if base is not None else None
    except DidError:
        here = None
    if here is None or issuer.did != here:
        raise NotFound("no such DID document")
    return issuer


def rotate_key(runtime: Runtime, issuer: Issuer) -> KeyInfo:
    """A new current key for a did:web issuer; the old one is retired now and stays in its
    DID document. Conflict for a did:key issuer (its DID is its key)."""
    if not issuer.did or not issuer.did.startswith("did:web:"):
        raise Conflict(f"issuer {issuer.id} signs as {issuer.did or 'did:pkh'}: only a did:web "
                       "issuer can rotate its key (a did:key is the key itself)")
    # A badge signed with the old key is judged by its anchor time: one anchored after the
    # retirement would no longer verify. So every badge signed so far is anchored first.
    waiting = runtime.store().unconfirmed_count(issuer.id)
    if waiting:
        raise Conflict(f"issuer {issuer.id} has {waiting} credential(s) signed with the current "
                       "key and not anchored yet: anchor them first (credanchor anchor), then "
                       "rotate", unconfirmed=waiting)
    info = key_ring(runtime, issuer).rotate(runtime.keystore_password())
    runtime.forget_ed25519_seed(issuer)
    return info
