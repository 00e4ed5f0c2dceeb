"""The one verification engine: offline checks plus what only the chain can say.

Used by the API, the web page, the CLI and the scripts alike. On top of
:func:`credanchor.verify.offline.offline_checks` (schema, integrity, the issuer's signature,
Merkle inclusion, validity window — the signature always checked here: did:web issuers' DID
documents are fetched through the verifier's ``resolver``) it adds, in this order:

``trusted-anchor``
    the proof's (chain id, contract) pair is in the verifier's own trust list. A credential
    naming any other contract is INVALID even if that contract would say yes: anyone can deploy
    a contract that answers "valid".
``anchored``
    the contract's single-call ``verify(issuer, credentialHash, proof, root)``, asked about the
    issuer account the proof names (``anchor.issuerAccount``), says that account anchored the
    root and accepts the proof, and the transaction the proof names really emitted ``Anchored``
    for that root and account in the block the proof names. Anchors are keyed by (issuer,
    root) on chain: another issuer's copy of the same root is never credited to anyone else.
``did-binding``
    the credential's issuer DID belongs to the account the proof says anchored it
    (``anchor.issuerAccount``): a legacy ``did:pkh`` names that account on the anchor's chain;
    any other DID (did:key, did:web) must be the DID the registry records for that account
    (its on-chain issuer profile). Checked before the chain's answer about the account is
    credited to the badge's issuer: the account comes from the unhashed proof, the DID from
    the hashed (and signed) credential.
``issuer``
    that account is accredited now (a suspended issuer is reported with the date).
``revocation``
    neither the credential (under its issuer) nor its batch is revoked.
``confirmations``
    the anchor is at least ``min_confirmations`` blocks deep; shallower reports PENDING.

WARNING: an unreachable or failing node (or an unreachable did:web DID document) turns the affected check into ``error`` and the overall
status into ERROR — never INVALID. An employer must not be told a genuine badge is fake because
an RPC endpoint timed out (a standing complaint about explorer-backed verifiers).
"""

from __future__ import annotations

import contextvars
import functools
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_utils import is_address, to_checksum_address

from credanchor.core.credentials import parse_issuer_did
from credanchor.core.dataintegrity import DidResolver
from credanchor.core.hashing import to_hex
from credanchor.core.proof import CredanchorProof, extract_proof, find_proof, has_proof
from credanchor.core.report import (
    CHECK_DID_BINDING,
    CHECK_ISSUER,
    Check,
    Outcome,
    Report,
    overall_status,
)
from credanchor.core.stacks import is_qualification
from credanchor.errors import (
    ChainError,
    ChainUnavailable,
    CredanchorError,
    InvalidInput,
    ProofFormatError,
    TooManyCredentials,
)
from credanchor.verify.cache import TtlCache
from credanchor.verify.did_resolver import DidDocumentResolver
from credanchor.verify.offline import offline_checks_and_proof
from credanchor.verify.ports import AnchorTx, ChainReader, IssuerFacts, OnChainVerdict
from credanchor.verify.qualifications import tree_documents, verify_qualification
from credanchor.verify.status_lists import StatusLists, StatusListSource

#: Entries each of a verifier's caches holds at most (a few hundred bytes each).
DEFAULT_MAX_CACHED = 50_000
STATUS_NAMES = ("Valid", "NotAnchored", "InvalidProof", "CredentialRevoked", "BatchRevoked")
#: Credentials one verification (a file, a request) may check against the chain: a stacked
#: qualification counts itself, its definition and every component at every level.
DEFAULT_MAX_CREDENTIALS = 256


@dataclass(frozen=True)
class TrustedContract:
    chain_id: int
    contract: str
    name: str | None = None
    explorer_url: str | None = None

    def tx_link(self, tx_hash: str) -> str | None:
        return f"{self.explorer_url.rstrip('/')}/tx/{tx_hash}" if self.explorer_url else None


class TrustList:
    """The (chain id, contract) pairs this verifier believes. Nothing else is trusted."""

    def __init__(self, entries: Iterable[TrustedContract]) -> None:
        self._entries: dict[tuple[int, str], TrustedContract] = {}
        for e in entries:
            if not is_address(e.contract):
                raise InvalidInput(f"trust list: {e.contract!r} is not an address")
            self._entries[(int(e.chain_id), e.contract.lower())] = e

    def find(self, chain_id: int, contract: str) -> TrustedContract | None:
        return self._entries.get((int(chain_id), str(contract).lower()))

    def __iter__(self):
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    @classmethod
    def load(cls, path: str | Path) -> TrustList:
        """A JSON file: ``{"trusted": [{"chainId": 11155111, "contract": "0x…",
        "name": "…", "explorer": "https://…"}]}`` (a bare list works too)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"cannot read trust list {path}: {exc}") from exc
        items = data.get("trusted", []) if isinstance(data, dict) else data
        try:
            return cls(
                TrustedContract(
                    chain_id=int(i["chainId"]),
                    contract=to_checksum_address(i["contract"]),
                    name=i.get("name"),
                    explorer_url=i.get("explorer"),
                )
                for i in items
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"trust list {path}: each entry needs chainId and contract") from exc

    def merged(self, other: Iterable[TrustedContract]) -> TrustList:
        return TrustList([*self, *other])


ReaderLookup = Callable[[TrustedContract], ChainReader]
#: A trusted contract as cache keys name it: (chain id, lower-case address).
_Where = tuple[int, str]


class Verifier:
    """Verifies credentials against trusted chains; caches per-root and per-issuer facts.

    ``readers`` returns the chain reader for a trusted contract (the service has one; the
    employer script builds one from ``--rpc``). Safe to share between threads."""

    def __init__(
        self,
        trust: TrustList,
        readers: ReaderLookup,
        *,
        min_confirmations: int = 1,
        schema: bool = True,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cache_ttl: float | None = None,
        head_ttl: float = 0.0,
        max_credentials: int = DEFAULT_MAX_CREDENTIALS,
        resolver: DidResolver | None = None,
        status_lists: StatusListSource | None = None,
        final_depth: int | None = None,
        max_cached: int = DEFAULT_MAX_CACHED,
    ) -> None:
        """``cache_ttl``: seconds a fetched anchor transaction or issuer record is reused
        (None: for the verifier's lifetime — one run of a script). A long-lived, shared
        verifier (the service) sets a few seconds, so a suspension shows within that time.
        ``head_ttl``: seconds the chain head is reused for the confirmation count.
        ``max_credentials``: the most credentials one verification checks against the chain
        (see :meth:`tree`).
        ``resolver``: DID -> DID document for the ``signature`` check (None: a
        :class:`~credanchor.verify.did_resolver.DidDocumentResolver` with its defaults —
        did:key offline, did:web over HTTPS, cached).
        ``status_lists``: ``url -> status list credential`` for the advisory ``status-list``
        check, which compares a badge's status list bit with the chain's answer (None: lists
        are not consulted; the service passes its own lists, read from its ledger).
        ``final_depth``: None for a verifier of one run (the CLI, a script): a run is one
        moment, and its facts are kept as ``cache_ttl`` says. A long-lived verifier (the
        service) gives the depth from which it takes a block as final, and caches per head
        (below). ``max_cached``: entries each cache holds at most (least recently used go).

        Per-head caching (``final_depth`` given). Each answer is stored with the head block
        (number and hash) it was read under and reused only while the head, read again at
        most every ``head_ttl`` seconds (0: on every verification), is still that block:

        * the contract's ``verify`` (anchored? Merkle proof? revoked? issuer active?) — a
          revocation, suspension or reorganisation shows at most ``head_ttl`` seconds after
          the node has the block that made it, never later;
        * an anchor transaction less than ``final_depth`` blocks deep (a reorganisation may
          still take it away). From ``final_depth`` blocks deep its block, its ``Anchored``
          events and so the badge's transaction/block cross-check never change: it is kept
          until evicted.

        The advisory ``status-list`` check reads each list again after ``head_ttl`` seconds
        too. An unreachable node is still ERROR: the head is read before any cached answer is
        reused, so at most ``head_ttl`` seconds after the node went away. Every key names the
        trusted (chain id, contract) the answer came from."""
        self.trust = trust
        self.resolver: DidResolver = DidDocumentResolver() if resolver is None else resolver
        self._status_lists = (None if status_lists is None else StatusLists(
            status_lists, self.resolver, ttl=head_ttl if final_depth is not None else 0.0))
        self.readers = readers
        self.min_confirmations = min_confirmations
        self.schema = schema
        self.clock = clock
        self.max_credentials = max_credentials
        self.final_depth = final_depth
        self._per_head = final_depth is not None
        self._tx_cache = TtlCache(cache_ttl if final_depth is None else None, max_cached)
        self._final_tx_cache = TtlCache(None, max_cached)
        self._verdict_cache = TtlCache(None, max_cached)
        self._issuer_cache = TtlCache(cache_ttl, max_cached)
        self._head_cache = TtlCache(head_ttl, max_cached)

    # -- public -------------------------------------------------------------------------------

    def verify(self, credential: Mapping[str, Any], *, schema: bool | None = None,
               proof: CredanchorProof | None = None, plain: bool = False) -> Report:
        """The report of one credential. ``schema`` overrides the verifier's setting (a stack
        definition is not an OB 3.0 credential). ``proof``: ``extract_proof(credential)``
        when the caller has parsed it already (the bulk verifier, to batch the chain calls).
        ``plain``: the credential is, unchanged, what ``credanchor.core.hashing.loads_plain``
        parsed and called plain, so it is hashed without the canonical form's guard.

        A stacked qualification is verified as one tree (:meth:`tree`): TooManyCredentials
        when it holds more than ``max_credentials`` credentials, raised before any chain call."""
        with self.tree(credential):
            report = self._verify_one(credential, self.schema if schema is None else schema,
                                      proof, plain)
            if is_qualification(credential):
                # A stacked qualification: its definition and every component, recursively.
                report = verify_qualification(self, credential, report)
            return report

    @contextmanager
    def tree(self, *documents: Any) -> Iterator[None]:
        """One verification of ``documents`` and everything they carry (a stacked
        qualification's definition and components, at every level): the unit of work of one
        file or request.

        First the credentials it will check against the chain are counted, offline: more
        than ``max_credentials`` raises TooManyCredentials before any chain call — a crafted
        qualification nests 100 components 8 levels deep, so a single file could otherwise
        cost thousands of verifications. Then, while the tree is open, every verification
        in it shares one set of chain reads: the contract's ``verify`` for all of them is
        asked at once per contract (``verify_many``: one JSON-RPC batch per 200 over HTTP),
        and each anchor transaction, issuer record, revocation detail and the head is read at
        most once. Verifications inside an open tree (the components) join it."""
        current = _open_tree.get()
        if current is not None and current.verifier is self:
            yield
            return
        found = list(itertools.islice(tree_documents(documents), self.max_credentials + 1))
        if len(found) > self.max_credentials:
            raise TooManyCredentials(
                f"this holds more than {self.max_credentials} credentials to verify against "
                "the blockchain (a stacked qualification counts itself, its definition and "
                "every badge it is built from, at every level); verify its parts separately",
                limit=self.max_credentials)
        if len(found) <= 1:  # one plain credential: nothing to share or batch
            yield
            return
        tree = _Tree(self)
        tree.prefetch(found)
        token = _open_tree.set(tree)
        try:
            yield
        finally:
            _open_tree.reset(token)

    def _reader(self, trusted: TrustedContract) -> ChainReader:
        tree = _open_tree.get()
        if tree is not None and tree.verifier is self:
            return tree.reader(trusted)
        return self.readers(trusted)

    def _verify_one(self, credential: Mapping[str, Any], schema: bool,
                    parsed: CredanchorProof | None = None, plain: bool = False) -> Report:
        now = self.clock()
        found, parsed = offline_checks_and_proof(credential, now=now, schema=schema,
                                                 resolver=self.resolver, proof=parsed,
                                                 plain=plain)
        checks = list(found)
        cred_id = credential.get("id") if isinstance(credential.get("id"), str) else None
        chash = next((c.data.get("credentialHash") for c in checks if c.name == "integrity"), None)
        # ``parsed``: the offline checks found a proof of ours, well-formed.
        if parsed is None and not has_proof(credential):
            checks += [
                Check(n, Outcome.SKIPPED, "Not checked: the file carries no blockchain proof, "
                      "so there is nothing to look up.", {"pending": True})
                for n in ("trusted-anchor", "anchored", CHECK_DID_BINDING, CHECK_ISSUER,
                          "revocation", "confirmations")
            ]
            return Report(overall_status(checks), tuple(checks), cred_id, chash)
        try:
            proof = parsed if parsed is not None else extract_proof(credential)
        except ProofFormatError as exc:
            checks.append(Check("trusted-anchor", Outcome.FAIL, str(exc)))
            return Report(overall_status(checks), tuple(checks), cred_id, chash)
        chash = to_hex(proof.credential_hash)
        chain_checks, issuer, anchor = self._chain_checks(credential, proof)
        checks += chain_checks
        return Report(overall_status(checks), tuple(checks), cred_id, chash, issuer, anchor)

    def verify_many(self, credentials: Iterable[Mapping[str, Any]]) -> Iterable[Report]:
        for c in credentials:
            yield self.verify(c)

    # -- chain checks -------------------------------------------------------------------------

    def _chain_checks(
        self, credential: Mapping[str, Any], proof: CredanchorProof
    ) -> tuple[list[Check], dict[str, Any] | None, dict[str, Any] | None]:
        a = proof.anchor
        anchor_info: dict[str, Any] = {
            "chainId": a.chain_id,
            "contract": a.contract,
            "transactionHash": a.transaction_hash,
            "blockNumber": a.block_number,
            "anchoredAt": a.anchored_at.isoformat().replace("+00:00", "Z"),
            "issuerAccount": a.issuer_account,
        }
        names = ("anchored", CHECK_DID_BINDING, CHECK_ISSUER, "revocation", "confirmations")
        trusted = self.trust.find(a.chain_id, a.contract)
        if trusted is None:
            checks = [
                Check(
                    "trusted-anchor", Outcome.FAIL,
                    "The badge says it is recorded in a registry this verifier does not trust "
                    f"(chain {a.chain_id}, contract {a.contract}).",
                    {"chainId": a.chain_id, "contract": a.contract},
                ),
                *(Check(n, Outcome.SKIPPED, "Not checked: the registry is not trusted.")
                  for n in names),
            ]
            return checks, None, anchor_info
        anchor_info["registry"] = trusted.name
        if link := trusted.tx_link(a.transaction_hash):
            anchor_info["explorerUrl"] = link
        checks = [
            Check("trusted-anchor", Outcome.PASS,
                  f"Recorded in a trusted registry{f' ({trusted.name})' if trusted.name else ''}.",
                  {"chainId": a.chain_id, "contract": trusted.contract})
        ]
        where = (trusted.chain_id, trusted.contract.lower())
        try:
            reader = self._reader(trusted)
            verdict = self._cached_verdict(reader, where, proof)
            issuer_info, issuer_checks = self._issuer_checks(credential, proof, reader, where,
                                                             verdict)
            checks.append(self._anchored_check(proof, reader, where, verdict))
            checks += issuer_checks
            revocation = self._revocation_check(proof, reader, verdict)
            checks.append(revocation)
            checks.append(self._confirmation_check(proof, reader, where, verdict))
            if self._status_lists is not None:
                chain_revoked = {Outcome.FAIL: True, Outcome.PASS: False}.get(revocation.outcome)
                listed = self._status_lists.check(credential, chain_revoked)
                if listed is not None:
                    checks.append(listed)
        except ChainUnavailable as exc:
            done = {c.name for c in checks}
            checks += [
                Check(n, Outcome.ERROR,
                      f"Could not reach the blockchain to check this ({exc}). This says nothing "
                      "about the badge itself: try again later.")
                for n in names if n not in done
            ]
            return checks, None, anchor_info
        return checks, issuer_info, anchor_info

    def _anchored_check(self, proof: CredanchorProof, reader: ChainReader, where: _Where,
                        verdict: OnChainVerdict) -> Check:
        a = proof.anchor
        if verdict.status == 1:
            return Check("anchored", Outcome.FAIL,
                         "The batch this badge belongs to was never recorded on the blockchain "
                         "by the issuer's account.",
                         {"root": to_hex(proof.merkle_root), "issuerAccount": a.issuer_account})
        if verdict.status == 2:
            return Check("anchored", Outcome.FAIL,
                         "The badge's proof does not lead to the recorded batch.",
                         {"root": to_hex(proof.merkle_root)})
        tx = self._cached_tx(reader, where, a.transaction_hash)
        if tx is None or (proof.merkle_root, a.issuer_account.lower()) not in tx.anchors:
            return Check("anchored", Outcome.FAIL,
                         "The transaction named in the badge did not record this batch.",
                         {"transactionHash": a.transaction_hash})
        if tx.block_number != a.block_number:
            return Check("anchored", Outcome.FAIL,
                         f"The badge names block {a.block_number}, but the batch was recorded "
                         f"in block {tx.block_number}.", {"blockNumber": tx.block_number})
        if int(a.anchored_at.timestamp()) != verdict.anchored_at:
            return Check("anchored", Outcome.FAIL,
                         "The recording time in the badge differs from the blockchain's.",
                         {"anchoredAt": verdict.anchored_at})
        return Check("anchored", Outcome.PASS,
                     f"Recorded on the blockchain on {_minute_text(verdict.anchored_at)}.",
                     {"anchoredAt": verdict.anchored_at, "blockNumber": tx.block_number})

    def _issuer_checks(
        self, credential: Mapping[str, Any], proof: CredanchorProof, reader: ChainReader,
        where: _Where, verdict: OnChainVerdict,
    ) -> tuple[dict[str, Any] | None, list[Check]]:
        """``did-binding`` then ``issuer``."""
        issuer = credential.get("issuer")
        did = issuer.get("id") if isinstance(issuer, Mapping) else issuer
        account = proof.anchor.issuer_account
        info: dict[str, Any] = {"did": did, "address": verdict.issuer}
        binding = self._binding_check(did, proof, reader, where, verdict)
        if binding.outcome != Outcome.PASS:
            why = ("the issuer never recorded this batch" if verdict.status == 1 else
                   "the badge's issuer is not the account that recorded it")
            skipped = Check(CHECK_ISSUER, Outcome.SKIPPED, f"Not checked: {why}.")
            return (info if binding.outcome == Outcome.FAIL else None), [binding, skipped]
        if verdict.status == 1:
            return None, [binding, Check(CHECK_ISSUER, Outcome.SKIPPED,
                                         "Not checked: the issuer never recorded this batch.")]
        facts = self._cached_issuer(reader, where, account, verdict.issuer_active)
        info.update(name=facts.name, profileURI=facts.profile_uri, active=facts.active,
                    accreditedAt=facts.accredited_at, suspendedAt=facts.suspended_at or None)
        if not verdict.issuer_active:
            when = (datetime.fromtimestamp(facts.suspended_at, UTC).strftime("%d %B %Y")
                    if facts.suspended_at else "an unknown date")
            return info, [binding, Check(
                CHECK_ISSUER, Outcome.FAIL,
                f"The issuer {facts.name or verdict.issuer} is no longer accredited "
                f"(suspended on {when}).",
                {"address": verdict.issuer, "suspendedAt": facts.suspended_at},
            )]
        return info, [binding, Check(CHECK_ISSUER, Outcome.PASS,
                                     f"Issued by {facts.name}, an accredited issuer.",
                                     {"address": verdict.issuer, "name": facts.name})]

    def _binding_check(self, did: object, proof: CredanchorProof, reader: ChainReader,
                       where: _Where, verdict: OnChainVerdict) -> Check:
        """Whether the badge's issuer DID is the anchoring account's: only then may the
        chain's answers about that account be credited to the badge's issuer."""
        a = proof.anchor
        if not isinstance(did, str) or not did.startswith("did:"):
            return Check(CHECK_DID_BINDING, Outcome.FAIL,
                         f"The issuer id {did!r:.100} is not a DID, so it cannot be matched "
                         "to the account that recorded the badge.",
                         {"claimed": did if isinstance(did, str) else None,
                          "issuerAccount": a.issuer_account})
        if did.startswith("did:pkh:"):
            # A legacy issuer: its DID is the account itself.
            try:
                did_chain, did_address = parse_issuer_did(did)
            except CredanchorError:
                return Check(CHECK_DID_BINDING, Outcome.FAIL,
                             f"The issuer id {did!r:.100} is not a valid blockchain account "
                             "identifier.", {"claimed": did, "issuerAccount": a.issuer_account})
            if did_chain != a.chain_id or did_address.lower() != a.issuer_account.lower():
                return Check(CHECK_DID_BINDING, Outcome.FAIL,
                             "The badge names a different issuer from the account its proof "
                             f"says recorded it ({a.issuer_account} on chain {a.chain_id}).",
                             {"claimed": did, "onChain": a.issuer_account})
            return Check(CHECK_DID_BINDING, Outcome.PASS,
                         "The issuer named in the badge is the account that recorded it.",
                         {"did": did, "issuerAccount": a.issuer_account})
        if verdict.status == 1:
            return Check(CHECK_DID_BINDING, Outcome.SKIPPED,
                         "Not checked: the account named in the proof never recorded this "
                         "batch.", {"claimed": did, "issuerAccount": a.issuer_account})
        facts = self._cached_issuer(reader, where, a.issuer_account, verdict.issuer_active)
        if facts.did != did:
            recorded = (f"records {facts.did}" if facts.did else
                        "records no identity") + " for that account"
            return Check(CHECK_DID_BINDING, Outcome.FAIL,
                         f"The badge names the issuer {did}, but the account that recorded it "
                         f"({a.issuer_account}) belongs to someone else: the registry "
                         f"{recorded}.",
                         {"claimed": did, "onChain": facts.did or None,
                          "issuerAccount": a.issuer_account})
        return Check(CHECK_DID_BINDING, Outcome.PASS,
                     "The issuer named in the badge is the one the blockchain registry records "
                     "for the account that recorded it.",
                     {"did": did, "issuerAccount": a.issuer_account})

    def _revocation_check(self, proof: CredanchorProof, reader: ChainReader,
                          verdict: OnChainVerdict) -> Check:
        if verdict.status in (1, 2):
            return Check("revocation", Outcome.SKIPPED, "Not checked: the anchor is not valid.")
        if verdict.status in (3, 4):
            detail = reader.revocation_reason(verdict.issuer, proof.credential_hash, proof.merkle_root)
            what = "This badge" if verdict.status == 3 else "The whole batch containing this badge"
            when = detail.get("revokedAt")
            when_text = (f" on {datetime.fromtimestamp(when, UTC).strftime('%d %B %Y')}"
                         if when else "")
            return Check("revocation", Outcome.FAIL,
                         f"{what} was revoked by its issuer{when_text}.",
                         {"kind": STATUS_NAMES[verdict.status], **detail})
        return Check("revocation", Outcome.PASS, "Not revoked.")

    def _confirmation_check(self, proof: CredanchorProof, reader: ChainReader, where: _Where,
                            verdict: OnChainVerdict) -> Check:
        if verdict.status in (1, 2):
            return Check("confirmations", Outcome.SKIPPED, "Not checked: the anchor is not valid.")
        depth = self._cached_head(reader, where) - proof.anchor.block_number + 1
        if depth < self.min_confirmations:  # a cached head may predate this anchor: ask again
            depth = self._cached_head(reader, where, fresh=True) - proof.anchor.block_number + 1
        if depth < self.min_confirmations:
            return Check("confirmations", Outcome.WARN,
                         f"Recorded only {depth} block(s) ago; wait for {self.min_confirmations}.",
                         {"confirmations": depth, "pending": True})
        return Check("confirmations", Outcome.PASS,
                     f"{depth} block{'s' if depth != 1 else ''} deep.",
                     {"confirmations": depth})

    # -- caches -------------------------------------------------------------------------------

    def _cached_verdict(self, reader: ChainReader, where: _Where,
                        proof: CredanchorProof) -> OnChainVerdict:
        """The contract's ``verify`` answer about ``proof``: asked every time by a verifier of
        one run; by a long-lived one, once per head block (see the class's per-head caching)."""
        args = _verify_args(proof)
        if not self._per_head:
            return reader.verify(*args)
        head = self._head_block(reader, where)  # ChainUnavailable: ERROR, cached or not
        key = (where, _hashable(args))
        hit, entry = self._verdict_cache.get(key)
        if hit and entry[0] == head:
            return entry[1]
        verdict = reader.verify(*args)
        self._verdict_cache.put(key, (head, verdict))
        return verdict

    def _cached_tx(self, reader: ChainReader, where: _Where, tx_hash: str) -> AnchorTx | None:
        key = (where, tx_hash.lower())
        if not self._per_head:
            hit, tx = self._tx_cache.get(key)
            if not hit:
                tx = reader.anchor_tx(tx_hash)
                if tx is not None:  # an unknown tx may still appear; don't cache absence
                    self._tx_cache.put(key, tx)
            return tx
        hit, tx = self._final_tx_cache.get(key)
        if hit:
            return tx
        head = self._head_block(reader, where)
        hit, entry = self._tx_cache.get(key)
        if hit and entry[0] == head:
            return entry[1]
        tx = reader.anchor_tx(tx_hash)
        if tx is None:  # an unknown tx may still appear; don't cache absence
            return None
        # The head may be older than the node's view the receipt came from: the depth is then
        # under-estimated, never over-estimated.
        assert self.final_depth is not None
        if head[0] - tx.block_number + 1 >= self.final_depth:
            self._final_tx_cache.put(key, tx)
        else:
            self._tx_cache.put(key, (head, tx))
        return tx

    def _cached_issuer(self, reader: ChainReader, where: _Where, address: str,
                       active: bool | None = None) -> IssuerFacts:
        """The issuer's on-chain record, reused for ``cache_ttl`` seconds — read again at
        once when the contract's latest answer (``active``) says its accreditation changed."""
        key = (where, address.lower())
        hit, facts = self._issuer_cache.get(key)
        if not hit or (active is not None and facts.active != active):
            facts = reader.issuer_facts(address)
            self._issuer_cache.put(key, facts)
        return facts

    def _head_block(self, reader: ChainReader, where: _Where, *,
                    fresh: bool = False) -> tuple[int, str]:
        """(number, hash) of the head, reused for ``head_ttl`` seconds. Only per-head caches
        need the hash; a reader without ``head_block`` gives the number only (hash "")."""
        hit, head = self._head_cache.get(where)
        if fresh or not hit:
            read = getattr(reader, "head_block", None) if self._per_head else None
            head = read() if read is not None else (reader.head(), "")
            self._head_cache.put(where, head)
        return head

    def _cached_head(self, reader: ChainReader, where: _Where | None = None, *,
                     fresh: bool = False) -> int:
        if where is None:
            where = (reader.chain_id, reader.contract_address.lower())
        return self._head_block(reader, where, fresh=fresh)[0]

    def forget(self) -> None:
        """Drop every cached fact."""
        for cache in (self._tx_cache, self._final_tx_cache, self._verdict_cache,
                      self._issuer_cache, self._head_cache):
            cache.clear()
        if self._status_lists is not None:
            self._status_lists.forget()


def _verify_args(proof: CredanchorProof) -> tuple[str, bytes, list[bytes], bytes]:
    """What ``ChainReader.verify`` is asked about a proof (one place, so a batched tree
    prefetch asks exactly what the checks will): anchors are keyed by (issuer, root), so the
    anchoring account the proof names comes first."""
    return (proof.anchor.issuer_account, proof.credential_hash, list(proof.merkle_proof),
            proof.merkle_root)


def _hashable(args: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(tuple(a) if isinstance(a, list) else a for a in args)


# A batch's badges share its anchoring time: ~6 µs a badge to write it, saved (the text
# depends on the timestamp alone).
@functools.lru_cache(maxsize=1024)
def _minute_text(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%d %B %Y %H:%M UTC")


class _Tree:
    """The chain reads of one open :meth:`Verifier.tree`, per trusted contract."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier
        self._readers: dict[tuple[int, str], _TreeReader] = {}

    def reader(self, trusted: TrustedContract) -> _TreeReader:
        key = (trusted.chain_id, trusted.contract.lower())
        reader = self._readers.get(key)
        if reader is None:
            reader = self._readers[key] = _TreeReader(self.verifier.readers(trusted))
        return reader

    def prefetch(self, documents: Iterable[Mapping[str, Any]]) -> None:
        """Ask each contract about every proved credential of the tree in one go."""
        wanted: dict[tuple[int, str], tuple[TrustedContract, list[tuple[Any, ...]]]] = {}
        for doc in documents:
            try:
                proof = find_proof(doc)
            except ProofFormatError:
                continue  # reported by the checks themselves
            if proof is None:
                continue
            trusted = self.verifier.trust.find(proof.anchor.chain_id, proof.anchor.contract)
            if trusted is not None:
                key = (trusted.chain_id, trusted.contract.lower())
                wanted.setdefault(key, (trusted, []))[1].append(_verify_args(proof))
        for trusted, items in wanted.values():
            try:
                reader = self.reader(trusted)
            except CredanchorError:
                continue  # no reader for that chain: each check reports it as usual
            reader.prefetch(items)


class _TreeReader:
    """A :class:`ChainReader` for one tree: ``verify`` answers come from one batched call
    where the reader offers ``verify_many``, and every read is made at most once — one
    verification is one moment, so its answers do not change within it. A failure is kept
    too (ChainUnavailable): the next credential asking the same reports ERROR at once instead
    of waiting on a node that just failed."""

    def __init__(self, reader: ChainReader) -> None:
        self.reader = reader
        self.chain_id = reader.chain_id
        self.contract_address = reader.contract_address
        self._memo: dict[tuple[Any, ...], Any] = {}

    def prefetch(self, items: Sequence[tuple[Any, ...]]) -> None:
        many = getattr(self.reader, "verify_many", None)
        todo = list({_hashable(i): i for i in items
                     if ("verify", *_hashable(i)) not in self._memo}.values())
        if many is None or not todo:
            return
        try:
            answers: list[Any] = list(many(todo))
        except ChainError as exc:
            failed = exc if isinstance(exc, ChainUnavailable) else ChainUnavailable(str(exc))
            answers = [failed] * len(todo)
        for item, answer in zip(todo, answers, strict=True):
            self._memo[("verify", *_hashable(item))] = answer

    def _once(self, name: str, *args: Any) -> Any:
        key = (name, *_hashable(args))
        if key not in self._memo:
            try:
                self._memo[key] = getattr(self.reader, name)(*args)
            except ChainUnavailable as exc:
                self._memo[key] = exc
        value = self._memo[key]
        if isinstance(value, ChainUnavailable):
            raise value
        return value

    def verify(self, issuer: str, credential_hash: bytes, proof: list[bytes],
               root: bytes) -> OnChainVerdict:
        return self._once("verify", issuer, credential_hash, proof, root)

    def issuer_facts(self, issuer: str) -> IssuerFacts:
        return self._once("issuer_facts", issuer)

    def anchor_tx(self, tx_hash: str) -> AnchorTx | None:
        return self._once("anchor_tx", tx_hash)

    def revocation_reason(self, issuer: str, credential_hash: bytes, root: bytes) -> dict[str, Any]:
        return self._once("revocation_reason", issuer, credential_hash, root)

    def head(self) -> int:
        return self._once("head")

    def head_block(self) -> tuple[int, str]:
        if getattr(self.reader, "head_block", None) is None:
            return self.head(), ""
        return self._once("head_block")


_open_tree: contextvars.ContextVar[_Tree | None] = contextvars.ContextVar(
    "credanchor_verification_tree", default=None)


