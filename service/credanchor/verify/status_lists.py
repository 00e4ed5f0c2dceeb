"""The ``status-list`` check: does the issuer's public Bitstring Status List agree with the chain?

Standard wallets learn of a revocation only through the status list a badge's
``credentialStatus`` points to; credanchor's verifier asks the chain, which is the authority.
This advisory check reads the list too and says when the two disagree — a list not yet updated
after a revocation, or a list that says more than the chain — without ever changing the
verdict (``data["advisory"]``): the chain's answer stands either way.

The list is obtained through a *source*, ``url -> status list credential``: the service reads
its own lists from its ledger (no network); with no source the list is not consulted. A list
is believed only when its issuer is the badge's issuer and its Data Integrity signature
verifies under that issuer's DID document; then its bit is compared with the chain's answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from credanchor.core import dataintegrity
from credanchor.core.report import ADVISORY, Check, Outcome
from credanchor.core.statuslist import (
    Bitstring,
    credential_status_entry,
    parse_status_list_credential,
)
from credanchor.errors import CredanchorError
from credanchor.verify.cache import TtlCache

__all__ = ["CHECK_STATUS_LIST", "StatusListSource", "StatusLists"]

CHECK_STATUS_LIST = "status-list"

#: ``url -> BitstringStatusListCredential`` (raises CredanchorError when it cannot be had).
StatusListSource = Callable[[str], Mapping[str, Any]]


def _advisory(outcome: Outcome, message: str, **data: Any) -> Check:
    return Check(CHECK_STATUS_LIST, outcome, message, {ADVISORY: True, **data})


class StatusLists:
    """Reads status lists through ``source``, verifying each signed document once (cached by
    its proof value, so a re-signed list is verified again). Safe to share between threads.

    ``ttl``: seconds a list read from ``source`` is reused before ``source`` is asked again
    (0: every time). The service's shared verifier gives its head TTL, the bound its chain
    answers are reused for, so the two sides of this comparison are equally fresh."""

    def __init__(self, source: StatusListSource, resolver: Any = None,
                 max_entries: int = 256, ttl: float = 0.0) -> None:
        self.source = source
        self.resolver = resolver
        self.max_entries = max_entries
        self.ttl = ttl
        self._verified: dict[tuple[str, str], tuple[str, Bitstring]] = {}
        self._recent = TtlCache(ttl, max_entries)
        self._lock = threading.Lock()

    def bits(self, url: str) -> tuple[str, Bitstring]:
        """(issuer DID, bits) of the list at ``url``; CredanchorError when it cannot be read,
        is not a status list, or its signature does not verify."""
        hit, answer = self._recent.get(url)
        if not hit:
            answer = self._read(url)
            self._recent.put(url, answer)
        return answer  # type: ignore[no-any-return]

    def forget(self) -> None:
        """Drop the lists read within the TTL (verified signatures stay: they never change)."""
        self._recent.clear()

    def _read(self, url: str) -> tuple[str, Bitstring]:
        document = self.source(url)
        proofs = document.get("proof")
        proof = proofs[0] if isinstance(proofs, list) and proofs else proofs
        value = proof.get("proofValue") if isinstance(proof, Mapping) else None
        key = (url, str(value))
        with self._lock:
            hit = self._verified.get(key)
        if hit is not None:
            return hit
        parsed = parse_status_list_credential(document)
        if parsed.list_url != url:
            raise CredanchorError(f"the document at {url} is the status list {parsed.list_url}")
        result = dataintegrity.verify(document, resolver=self.resolver)
        if not result.verified:
            detail = "; ".join(p.detail for p in result.failures) or "no signature"
            raise CredanchorError(f"its signature does not verify ({detail})")
        with self._lock:
            if len(self._verified) >= self.max_entries:
                self._verified.clear()
            self._verified[key] = (parsed.issuer, parsed.bits)
        return parsed.issuer, parsed.bits

    def check(self, credential: Mapping[str, Any], chain_revoked: bool | None) -> Check | None:
        """The ``status-list`` check of a badge whose revocation the chain has answered
        (``chain_revoked``; None: the chain could not say). None for a badge without a status
        list entry (issued before status lists), which has nothing to compare."""
        try:
            entry = credential_status_entry(credential)
        except CredanchorError as exc:
            return _advisory(Outcome.WARN, f"The badge's status list entry is malformed "
                             f"({exc.detail}); the blockchain's answer stands.")
        if entry is None:
            return None
        if chain_revoked is None:
            return _advisory(Outcome.SKIPPED, "Not compared: the blockchain's answer about "
                             "revocation is not known.")
        issuer = credential.get("issuer")
        issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
        try:
            list_issuer, bits = self.bits(entry.list_url)
            if list_issuer != issuer_id:
                raise CredanchorError(f"it was issued by {list_issuer}, not the badge's issuer")
            listed = bits.get(entry.index)
        except CredanchorError as exc:
            return _advisory(Outcome.WARN, f"The issuer's status list could not be read "
                             f"({exc.detail}); the blockchain's answer stands.",
                             url=entry.list_url)
        except IndexError:
            return _advisory(Outcome.WARN, "The issuer's status list is shorter than the badge's "
                             "index; the blockchain's answer stands.", url=entry.list_url)
        words = {True: "revoked", False: "not revoked"}
        data = {"url": entry.list_url, "index": entry.index, "listed": listed,
                "onChain": chain_revoked}
        if listed == chain_revoked:
            return _advisory(Outcome.PASS, "The issuer's public status list agrees with the "
                             f"blockchain: {words[listed]}.", **data)
        return _advisory(Outcome.WARN, f"The issuer's public status list says "
                         f"{words[listed]}, the blockchain says {words[chain_revoked]}: the "
                         "blockchain is the authority (wallets that read only the list may "
                         "show otherwise until it is updated).", **data)
