"""Wiring: settings → chain, signers, trust list, ledger, verifier, anchoring worker.

One :class:`Runtime` per process, opened at the edge (``create_app``, the CLI) and passed down.
The embedded default bootstraps itself on first start (deploys the contract, creates and
accredits a local issuer); the ``rpc`` mode connects to a node and checks its chain id.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from credanchor.chain.contract import Deployment
from credanchor.chain.gateway import ChainWriter
from credanchor.core.credentials import IssuerProfile
from credanchor.core.report import Report
from credanchor.errors import ConfigError, KeyUnavailable, NotFound
from credanchor.issuing.anchoring import Anchorer, AnchorPolicy, worker_lock
from credanchor.issuing.pipeline import ProofBuilder
from credanchor.issuing.signing import Issuance
from credanchor.ledger.store import Issuer, Store, make_private_dir, owner_only
from credanchor.usecases.bootstrap import open_chain
from credanchor.usecases.config import Settings
from credanchor.usecases.issuer_index import IssuerIndex
from credanchor.verify.verifier import TrustedContract, TrustList, Verifier

log = logging.getLogger(__name__)

#: Seconds the web app's shared verifier reuses the chain head, and so every answer read under
#: it: the bound on how late a revocation, a suspension, a reorganisation or an unreachable
#: node shows in ``POST /api/v1/verify`` (docs/reliability.md, "Verification caches").
SHARED_HEAD_TTL = 1.0


class Runtime:
    """Everything a credanchor process needs, opened once."""

    def __init__(self, settings: Settings, chain: ChainWriter, *, passwords: dict[str, str]) -> None:
        self.settings = settings
        self.chain = chain
        self._passwords = passwords  # keystore path -> password; never logged
        self._signers: dict[str, Any] = {}
        self._ed25519: dict[int, tuple[bytes, str]] = {}  # issuer id -> (seed, public key)
        self._local = threading.local()
        self._worker: threading.Thread | None = None
        self._shared_verifier: Verifier | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        # The service always trusts its own deployment; the trust-list file adds others.
        trusted = [TrustedContract(chain.chain_id, chain.contract_address,
                                   name="this service's registry",
                                   explorer_url=settings.explorer_url)]
        extra = TrustList.load(settings.trust_list) if settings.trust_list else TrustList([])
        self.trust = TrustList([*trusted, *extra])
        self.deployment: Deployment = chain.deployment
        #: The public issuer list, indexed in the ledger (GET /api/v1/issuers).
        self.issuer_index = IssuerIndex(chain.reader, self.store, ttl=settings.verify_cache_ttl)

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        secure_data_dir(settings.data_dir)
        chain, bootstrap = open_chain(settings)
        runtime = cls(settings, chain, passwords=bootstrap.passwords)
        runtime._signers.update(bootstrap.signers)
        if bootstrap.local_issuer is not None:
            runtime._register_local_issuer(*bootstrap.local_issuer)
        # Issuers without a signing identity get one (new installs, and ledgers from before
        # signatures): see credanchor.usecases.issuer_identity.
        from credanchor.usecases.issuer_identity import ensure_identities

        ensure_identities(runtime)
        # The embedded chain's database and state file were just created under the umask
        # (inside the 0700 directory, so nobody else could reach them meanwhile).
        secure_data_dir(settings.data_dir)
        return runtime

    def _register_local_issuer(self, address: str, keystore: str) -> None:
        store = self.store()
        try:
            store.find_issuer(address)
        except NotFound:
            store.add_issuer(address=address, name=self.settings.issuer_name,
                             url=self.settings.issuer_url, keystore=keystore)

    def close(self) -> None:
        self.stop_worker()
        store = getattr(self._local, "store", None)
        if store is not None:
            store.close()
            self._local.store = None
        self.chain.close()

    # -- ledger -------------------------------------------------------------------------------

    def store(self) -> Store:
        """This thread's ledger connection (SQLite connections are per thread)."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = Store(self.settings.ledger_path)
            self._local.store = store
        return store

    def issuer_profile(self, issuer: Issuer) -> IssuerProfile:
        return IssuerProfile(address=issuer.address, chain_id=self.chain.chain_id,
                             name=issuer.name, url=issuer.url, did=issuer.did or "")

    def issuance(self, issuer: Issuer) -> Issuance:
        """What issuing for ``issuer`` needs (signing key, DID, status lists)."""
        from credanchor.usecases.issuer_identity import issuance_for

        return issuance_for(self, issuer)

    def proofs(self) -> ProofBuilder:
        return ProofBuilder(self.store(), self.chain.chain_id, self.chain.contract_address)

    def shared_credential(self, credential_id: str) -> dict[str, Any] | None:
        """The holder file of a credential its issuer shared publicly, once anchored."""
        store = self.store()
        try:
            cred = store.get_credential(credential_id)
        except NotFound:
            return None
        if not store.is_shared(cred.id) or cred.status != "anchored":
            return None
        return self.proofs().credential_file(cred)

    # -- keys ---------------------------------------------------------------------------------

    def keystore_password(self) -> str:
        """The password new issuer keystores get: the configured one, else the embedded demo's
        generated password (see usecases.bootstrap), which protects all its local keys."""
        if self.settings.keystore_password:
            return self.settings.keystore_password.reveal()
        if self._passwords:
            return next(iter(self._passwords.values()))
        raise KeyUnavailable("set CREDANCHOR_KEYSTORE_PASSWORD to create issuer keystores")

    def remember_keystore(self, keystore: str | Path, password: str) -> None:
        """Hold the password of a keystore this process created or opened, for signer_for."""
        self._passwords.setdefault(str(keystore), password)

    def forget_key(self, issuer: Issuer) -> None:
        """Drop the issuer's signing key and its keystore's password from memory (the next
        signer_for reads the keystore again, with the configured password)."""
        self._signers.pop(issuer.address, None)
        if issuer.keystore:
            self._passwords.pop(issuer.keystore, None)

    def signer_for(self, issuer: Issuer) -> Any:
        """The issuer's signing key: its keystore (password from settings or the bootstrap),
        or ``CREDANCHOR_PRIVATE_KEY`` for the single-issuer RPC setup."""
        from credanchor.chain.keys import Signer, load_keystore

        if issuer.address in self._signers:
            return self._signers[issuer.address]
        if issuer.keystore:
            password = self._passwords.get(issuer.keystore) or (
                self.settings.keystore_password.reveal() if self.settings.keystore_password else None
            )
            if not password:
                raise KeyUnavailable(f"no password for the keystore of issuer {issuer.address}")
            signer = load_keystore(Path(issuer.keystore), password)
        elif self.settings.private_key:
            signer = Signer.from_key(self.settings.private_key.reveal())
        else:
            raise KeyUnavailable(f"no signing key configured for issuer {issuer.address}")
        if signer.address.lower() != issuer.address.lower():
            raise ConfigError(f"the key for issuer {issuer.address} belongs to {signer.address}")
        self._signers[issuer.address] = signer
        return signer

    def ed25519_seed(self, issuer: Issuer, ring: Any) -> tuple[bytes, str]:
        """(seed, public multibase) of the issuer's current Ed25519 signing key, decrypted
        once per process with the keystore password. Never logged."""
        from credanchor.core.multikey import decode_secret_multibase

        cached = self._ed25519.get(issuer.id)
        # The ring's index names the current key: a rotation made by another process (the
        # CLI, while the service runs) is picked up at the next issue, not at a restart.
        if cached is None or cached[1] != ring.current().public_multibase:
            key = ring.load_current(self.keystore_password())
            self._ed25519[issuer.id] = (decode_secret_multibase(key.secret_multibase()),
                                        key.public_multibase)
        return self._ed25519[issuer.id]

    def forget_ed25519_seed(self, issuer: Issuer) -> None:
        self._ed25519.pop(issuer.id, None)

    # -- verification -------------------------------------------------------------------------

    def verifier(self, *, shared: bool = False) -> Verifier:
        """A verifier on this service's trust list.

        ``shared=True``: the process-wide one the web app uses for every request. It caches
        per head block (``Verifier``): the contract's ``verify`` answer (anchored, revoked,
        issuer active) is reused while the head — read at most every ``SHARED_HEAD_TTL``
        seconds from a node, on every request from the embedded chain — is the same block, so
        a revocation, suspension or reorganisation shows within that second; an anchor transaction is kept for good once it is final
        (``max(confirmations, recheck_depth)`` blocks deep: the depth below which the worker
        no longer watches for reorganisations), and issuer records (name, DID, suspension
        date) for ``verify_cache_ttl`` seconds (at once when the accreditation changed).
        Otherwise a fresh verifier whose caches live as long as it does (one CLI run)."""
        if shared:
            if self._shared_verifier is None:
                s = self.settings
                # The in-process EVM has no round trip to save: its head is read every time.
                head_ttl = 0.0 if self.chain.embedded is not None else SHARED_HEAD_TTL
                self._shared_verifier = self._make_verifier(
                    cache_ttl=s.verify_cache_ttl, head_ttl=head_ttl,
                    final_depth=max(s.confirmations, s.recheck_depth))
            return self._shared_verifier
        return self._make_verifier(cache_ttl=None, head_ttl=0.0)

    def _make_verifier(self, *, cache_ttl: float | None, head_ttl: float,
                       final_depth: int | None = None) -> Verifier:
        def reader(trusted: TrustedContract):
            if (trusted.chain_id, trusted.contract.lower()) == (
                self.chain.chain_id, self.chain.contract_address.lower()
            ):
                return self.chain.reader
            raise ConfigError(
                f"no RPC endpoint configured for trusted chain {trusted.chain_id}"
            )

        from credanchor.usecases.issuer_identity import did_document_for
        from credanchor.verify.did_resolver import DidDocumentResolver

        web = DidDocumentResolver()

        def resolver(did: str) -> dict[str, Any]:
            # This service's own did:web issuers: the document it publishes is built from its
            # ledger and key rings, so it is read there rather than fetched from itself over
            # HTTPS (which a server behind NAT often cannot reach). Everything else: resolved.
            if did.startswith("did:web:"):
                own = next((i for i in self.store().list_issuers() if i.did == did), None)
                if own is not None:
                    return did_document_for(self, own)
            return web(did)

        return Verifier(self.trust, reader, min_confirmations=self.settings.confirmations,
                        cache_ttl=cache_ttl, head_ttl=head_ttl, final_depth=final_depth,
                        max_credentials=self.settings.max_verify_credentials,
                        resolver=resolver, status_lists=self._own_status_list)

    def _own_status_list(self, url: str) -> dict[str, Any]:
        """This service's own status list at ``url``, read from its ledger (what it serves at
        that URL); NotFound for any other URL: lists of other services are not fetched."""
        from credanchor.usecases.issuer_identity import public_base_url
        from credanchor.usecases.status_lists import status_list_document

        prefix = public_base_url(self) + "/status/"
        parts = url[len(prefix):].split("/") if url.startswith(prefix) else []
        if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) < 12
                                      for p in parts):
            raise NotFound(f"{url} is not a status list of this service")
        return status_list_document(self, int(parts[0]), int(parts[1]))

    def verify(self, document: Any, *, plain: bool = False) -> Report:
        """``plain``: see credanchor.core.hashing.loads_plain (the API parses with it)."""
        return self.verifier(shared=True).verify(document, plain=plain)

    # -- anchoring ----------------------------------------------------------------------------

    def policy(self) -> AnchorPolicy:
        s = self.settings
        return AnchorPolicy(
            batch_size=s.batch_size, batch_max=s.batch_max, batch_max_age=s.batch_max_age,
            confirmations=s.confirmations, recheck_depth=s.recheck_depth, tx_timeout=s.tx_timeout,
        )

    def anchorer(self, store: Store | None = None) -> Anchorer:
        return Anchorer(store or self.store(), self.chain, self.signer_for, self.policy())

    def wake_worker(self) -> None:
        self._wake.set()

    def start_worker_thread(self) -> None:
        """``credanchor serve``: the anchoring worker as a thread beside the web app."""
        if self._worker is not None:
            return

        def loop() -> None:
            with worker_lock(self.settings.data_dir):
                anchorer = self.anchorer(Store(self.settings.ledger_path))
                while not self._stop.is_set():
                    try:
                        report = anchorer.step()
                    except Exception:  # the worker thread must outlive any one bad step
                        log.exception("anchoring step failed")
                        report = None
                    if report is None or not report.busy:
                        self._wake.wait(self.settings.worker_interval)
                        self._wake.clear()

        self._worker = threading.Thread(target=loop, name="credanchor-worker", daemon=True)
        self._worker.start()

    def stop_worker(self) -> None:
        if self._worker is None:
            return
        self._stop.set()
        self._wake.set()
        self._worker.join(timeout=30)
        self._worker = None
        self._stop.clear()


def secure_data_dir(data_dir: Path) -> None:
    """Create the data directory 0700 and take group and others' access away from everything
    below it (files 0600, directories 0700): it holds the ledger (names, salted e-mail hashes
    and their salts, API-key digests), keystores and the embedded chain. Symbolic links are
    neither followed nor changed."""
    make_private_dir(data_dir)
    for root, dirs, files in os.walk(data_dir):
        for name in (*dirs, *files):
            owner_only(Path(root) / name)
