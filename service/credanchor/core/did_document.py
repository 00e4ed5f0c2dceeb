"""An issuer's DID document: built from its key ring and anchoring account, and read back by
the verifier (pure, no I/O, no clock).

Shape of a did:web document built here (docs/dids.md)::

    {
      "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
      "id": "did:web:badges.example.org",
      "verificationMethod": [
        {"id": "did:web:badges.example.org#z6MkNEW…", "type": "Multikey",
         "controller": "did:web:badges.example.org", "publicKeyMultibase": "z6MkNEW…"},
        {"id": "did:web:badges.example.org#z6MkOLD…", "type": "Multikey",
         "controller": "did:web:badges.example.org", "publicKeyMultibase": "z6MkOLD…",
         "revoked": "2026-05-01T12:00:00Z"},
        {"id": "did:web:badges.example.org#eip155-11155111-0xAbC…",
         "type": "EcdsaSecp256k1RecoveryMethod2020",
         "controller": "did:web:badges.example.org",
         "blockchainAccountId": "eip155:11155111:0xAbC…"}
      ],
      "assertionMethod": ["did:web:badges.example.org#z6MkNEW…"],
      "authentication": ["did:web:badges.example.org#z6MkNEW…"]
    }

Choices, and why:

* A key's fragment is its own ``publicKeyMultibase`` (``#z6Mk…``), as did:key does: the id
  follows from the key alone, so it never changes when keys are added or retired, two keys can
  never swap names, and a did:key issuer moving to did:web keeps the same fragment.
* A retired key stays in ``verificationMethod`` with ``revoked`` (W3C Controlled Identifiers
  v1.0 §2.2.2: an XML Schema ``dateTimeStamp`` after which proofs by that method are not to be
  verified) and leaves ``assertionMethod``/``authentication``: a standard verifier that ignores
  ``revoked`` still refuses it (not authorised), while credanchor's verifier can accept a
  proof made by it before the retirement (:meth:`DidDocument.assertion_view`).
* The anchoring Ethereum account is a verification method of type
  ``EcdsaSecp256k1RecoveryMethod2020`` with a CAIP-10 ``blockchainAccountId``
  (``eip155:<chainId>:<checksum address>``), the form did:ethr and did:pkh documents use. It
  is listed in no verification relationship: it anchors Merkle roots, it does not sign
  credentials. Both terms are defined by the context
  ``https://w3id.org/security/suites/secp256k1recovery-2020/v2``, which is not bundled (no npm
  package in node_modules ships it) and is therefore not put in ``@context``: the document is
  served and read as plain JSON (did:web resolvers, ours included, do not JSON-LD-process it),
  and naming a context our loader refuses would make it unprocessable for any consumer that
  does. A consumer that wants the RDF must add that context itself.
* A did:key's document is derived from the DID by every resolver, so nothing can be added to
  it: no second key, no ``revoked``, no account. :func:`issuer_did_document` returns exactly
  core.multikey's did:key document; rotating a did:key issuer means a new DID.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from credanchor.core.hashing import keccak256
from credanchor.core.jsonld import DID_V1, MULTIKEY_V1
from credanchor.core.multikey import (
    decode_public_multibase,
    did_key_document,
    did_web_url,
    encode_public_multibase,
    parse_did_key,
)
from credanchor.errors import DidDocumentInvalid, DidError, KeyFormatError

__all__ = [
    "ACCOUNT_METHOD_TYPE",
    "SECP256K1_RECOVERY_CONTEXT",
    "AnchorAccount",
    "DidDocument",
    "IssuerKey",
    "VerificationMethod",
    "account_method_id",
    "format_datetime",
    "issuer_did_document",
    "key_method_id",
    "parse_did_document",
]

#: The verification method type that carries a CAIP-10 ``blockchainAccountId``.
ACCOUNT_METHOD_TYPE = "EcdsaSecp256k1RecoveryMethod2020"
#: The JSON-LD context defining ACCOUNT_METHOD_TYPE and ``blockchainAccountId`` (not bundled,
#: not used in ``@context``; see the module docstring).
SECP256K1_RECOVERY_CONTEXT = "https://w3id.org/security/suites/secp256k1recovery-2020/v2"
#: The relationships credanchor writes a current key into.
KEY_RELATIONSHIPS = ("assertionMethod", "authentication")
#: Most verification methods a document may list: each may cost a key decode, and a DID
#: document comes from the network.
MAX_METHODS = 64

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_CAIP10_EIP155 = re.compile(r"eip155:([1-9][0-9]{0,18}):(0x[0-9a-fA-F]{40})")
# XML Schema dateTimeStamp: a dateTime whose time zone is mandatory.
_DATETIME_STAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"(Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)


def _checksum(address: str) -> str:
    """EIP-55 mixed-case checksum form of a 0x address."""
    hex_ = address[2:].lower()
    digest = keccak256(hex_.encode()).hex()
    return "0x" + "".join(
        c.upper() if int(d, 16) >= 8 else c for c, d in zip(hex_, digest[:40], strict=True)
    )


def format_datetime(when: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole seconds) of an aware datetime."""
    if when.tzinfo is None:
        raise ValueError("a naive datetime has no defined instant; pass an aware one")
    return when.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_datetime(value: object, what: str) -> datetime:
    if not isinstance(value, str) or not _DATETIME_STAMP.fullmatch(value):
        raise DidDocumentInvalid(f"{what} must be an XML Schema dateTimeStamp, got {value!r:.60}")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as exc:
        raise DidDocumentInvalid(f"{what} is not a valid date and time: {value!r:.60}") from exc


# --- building -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuerKey:
    """The public half of one of an issuer's Ed25519 keys, as the key ring lists it."""

    public_multibase: str
    created: datetime | None = None
    #: When the key stopped signing; None while it is current.
    retired: datetime | None = None

    def __post_init__(self) -> None:
        # Normalised through the decoder so that a malformed key fails here, not in a verifier.
        object.__setattr__(
            self, "public_multibase",
            encode_public_multibase(decode_public_multibase(self.public_multibase)),
        )  # fmt: skip
        for name in ("created", "retired"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"IssuerKey.{name} must be an aware datetime")


@dataclass(frozen=True)
class AnchorAccount:
    """The Ethereum account that anchors an issuer's batches, on one chain."""

    chain_id: int
    address: str

    def __post_init__(self) -> None:
        if isinstance(self.chain_id, bool) or not isinstance(self.chain_id, int):
            raise ValueError("chain_id must be an int")
        if not 0 < self.chain_id < 2**63:
            raise ValueError("chain_id must be positive")
        if not isinstance(self.address, str) or not _ADDRESS.fullmatch(self.address):
            raise ValueError("address must be 0x and 40 hex digits")
        object.__setattr__(self, "address", _checksum(self.address))

    @property
    def caip10(self) -> str:
        """``eip155:<chainId>:<checksum address>`` (CAIP-10 account id)."""
        return f"eip155:{self.chain_id}:{self.address}"

    @classmethod
    def from_caip10(cls, value: object) -> AnchorAccount:
        m = _CAIP10_EIP155.fullmatch(value) if isinstance(value, str) else None
        if m is None:
            raise DidDocumentInvalid(f"not an eip155 CAIP-10 account id: {value!r:.100}")
        return cls(int(m.group(1)), m.group(2))


def key_method_id(did: str, public_multibase: str) -> str:
    """The verification method id of an issuer key: ``<did>#<publicKeyMultibase>``."""
    return f"{did}#{public_multibase}"


def account_method_id(did: str, account: AnchorAccount) -> str:
    """The verification method id of an anchoring account: ``<did>#eip155-<chain>-<address>``."""
    return f"{did}#eip155-{account.chain_id}-{account.address}"


def issuer_did_document(
    did: str,
    keys: Sequence[IssuerKey] = (),
    accounts: Sequence[AnchorAccount] = (),
) -> dict[str, Any]:
    """The DID document an issuer publishes for ``did``.

    did:web: every key of ``keys`` (current ones authorised, retired ones with ``revoked``)
    and every anchoring account; at least one current key is required. did:key: the DID's own
    document (core.multikey); ``keys`` may hold other keys of the ring (each is its own
    did:key) but must contain this DID's key unretired, and ``accounts`` cannot be expressed
    in a did:key document, so they are not written anywhere (DidError if any are passed, so
    that no caller believes they were published).
    """
    if isinstance(did, str) and did.startswith("did:key:"):
        mb = encode_public_multibase(parse_did_key(did))
        if keys and not any(k.public_multibase == mb and k.retired is None for k in keys):
            raise DidError(f"{did:.100} is not a current key of this issuer")
        if accounts:
            raise DidError("a did:key document cannot name an anchoring account; use did:web")
        return did_key_document(did)
    did_web_url(did)  # validates the DID (DidError)
    current = [k for k in keys if k.retired is None]
    if not current:
        raise DidError(f"{did:.100} needs at least one current (unretired) key")
    seen: set[str] = set()
    methods: list[dict[str, Any]] = []
    for key in keys:
        if key.public_multibase in seen:
            raise DidError(f"key {key.public_multibase} is listed twice")
        seen.add(key.public_multibase)
        vm: dict[str, Any] = {
            "id": key_method_id(did, key.public_multibase),
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key.public_multibase,
        }
        if key.retired is not None:
            vm["revoked"] = format_datetime(key.retired)
        methods.append(vm)
    for account in dict.fromkeys(accounts):  # duplicates dropped, order kept
        methods.append({
            "id": account_method_id(did, account),
            "type": ACCOUNT_METHOD_TYPE,
            "controller": did,
            "blockchainAccountId": account.caip10,
        })  # fmt: skip
    refs = [key_method_id(did, k.public_multibase) for k in current]
    document: dict[str, Any] = {
        "@context": [DID_V1, MULTIKEY_V1],
        "id": did,
        "verificationMethod": methods,
    }
    for rel in KEY_RELATIONSHIPS:
        document[rel] = list(refs)
    return document


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerificationMethod:
    """One entry of ``verificationMethod`` (only the members credanchor reads)."""

    id: str
    type: str
    controller: str
    public_key_multibase: str | None = None
    blockchain_account_id: str | None = None
    revoked: datetime | None = None
    expires: datetime | None = None

    @property
    def ed25519_public_key(self) -> bytes | None:
        """The raw key of an Ed25519 Multikey; None for any other method."""
        if self.type != "Multikey" or self.public_key_multibase is None:
            return None
        try:
            return decode_public_multibase(self.public_key_multibase)
        except KeyFormatError:
            return None

    def revoked_at(self, when: datetime) -> bool:
        """Whether the method may no longer be used at ``when`` (revoked or expired at or
        before it, per Controlled Identifiers v1.0)."""
        return any(t is not None and when >= t for t in (self.revoked, self.expires))


@dataclass(frozen=True)
class DidDocument:
    """A validated DID document: lookups the verifier needs, and the raw JSON."""

    id: str
    methods: tuple[VerificationMethod, ...]
    relationships: Mapping[str, tuple[str, ...]]
    raw: Mapping[str, Any]

    def method(self, vm_id: str) -> VerificationMethod | None:
        """The verification method ``vm_id`` (absolute, or ``#fragment``), or None."""
        vm_id = self.id + vm_id if vm_id.startswith("#") else vm_id
        return next((m for m in self.methods if m.id == vm_id), None)

    def in_relationship(self, relationship: str, vm_id: str) -> bool:
        vm_id = self.id + vm_id if vm_id.startswith("#") else vm_id
        return vm_id in self.relationships.get(relationship, ())

    def is_assertion_method(self, vm_id: str) -> bool:
        """Whether ``vm_id`` is listed under ``assertionMethod`` (a current signing key)."""
        return self.in_relationship("assertionMethod", vm_id)

    def revoked(self, vm_id: str) -> datetime | None:
        """When ``vm_id`` was revoked (retired), or None if it is not (or does not exist)."""
        m = self.method(vm_id)
        return m.revoked if m is not None else None

    def is_revoked(self, vm_id: str, at: datetime | None = None) -> bool:
        """Whether ``vm_id`` is revoked at all (``at`` None) or already at ``at``."""
        m = self.method(vm_id)
        if m is None or m.revoked is None:
            return False
        return True if at is None else m.revoked_at(at)

    def assertion_key_at(self, vm_id: str, at: datetime) -> bytes | None:
        """The Ed25519 key of ``vm_id`` if it could sign an assertion at ``at``, else None.

        A key under ``assertionMethod`` counts unless revoked/expired at ``at``. A key outside
        it counts only as one of credanchor's retired keys: an Ed25519 Multikey of this DID,
        with a ``revoked`` time after ``at``, and listed under no other relationship (our
        documents drop a retired key from every relationship; a key some other software lists
        only under, say, ``authentication`` was never an assertion key and stays refused).
        ``at`` is the moment the signature is known to have existed: the anchor's block time.
        """
        m = self.method(vm_id)
        if m is None or m.controller != self.id or m.revoked_at(at):
            return None
        key = m.ed25519_public_key
        if key is None:
            return None
        if self.is_assertion_method(m.id):
            return key
        if m.revoked is None or any(m.id in refs for refs in self.relationships.values()):
            return None
        return key

    def assertion_view(self, at: datetime) -> dict[str, Any]:
        """The raw document as it stood for assertions at ``at``: every key for which
        :meth:`assertion_key_at` holds is under ``assertionMethod``, and no other. Hand this
        to ``core.dataintegrity.verify`` (which reads ``assertionMethod``, not ``revoked``)
        to accept a retired key's signature anchored before its retirement."""
        refs = [m.id for m in self.methods if self.assertion_key_at(m.id, at) is not None]
        view = dict(self.raw)
        view["assertionMethod"] = refs
        return view

    @property
    def blockchain_account_ids(self) -> tuple[str, ...]:
        """Every ``blockchainAccountId`` (CAIP-10) in the document, in order."""
        return tuple(m.blockchain_account_id for m in self.methods if m.blockchain_account_id)

    @property
    def anchor_accounts(self) -> tuple[AnchorAccount, ...]:
        """The eip155 accounts among :attr:`blockchain_account_ids` (other chains skipped)."""
        out = []
        for value in self.blockchain_account_ids:
            if _CAIP10_EIP155.fullmatch(value):
                out.append(AnchorAccount.from_caip10(value))
        return tuple(out)

    def names_account(self, chain_id: int, address: str) -> bool:
        """Whether the document lists ``address`` on ``chain_id`` (case-insensitive)."""
        return any(
            a.chain_id == chain_id and a.address.lower() == address.lower()
            for a in self.anchor_accounts
        )


def _refs(doc: Mapping[str, Any], rel: str, did: str) -> tuple[str, ...]:
    value = doc.get(rel, [])
    items: Iterable[Any] = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        ref = item.get("id") if isinstance(item, Mapping) else item
        if not isinstance(ref, str) or not ref:
            raise DidDocumentInvalid(f"{rel} holds an entry that is not a method id or object")
        out.append(did + ref if ref.startswith("#") else ref)
    return tuple(out)


def _method(entry: object, did: str) -> VerificationMethod:
    if not isinstance(entry, Mapping):
        raise DidDocumentInvalid("a verification method must be a JSON object")
    vm_id, vm_type, controller = entry.get("id"), entry.get("type"), entry.get("controller")
    if isinstance(vm_id, str) and vm_id.startswith("#"):
        vm_id = did + vm_id
    if not isinstance(vm_id, str) or "#" not in vm_id or not vm_id.startswith("did:"):
        raise DidDocumentInvalid(f"verification method id {vm_id!r:.100} is not a DID URL")
    if not isinstance(vm_type, str) or not vm_type:
        raise DidDocumentInvalid(f"verification method {vm_id:.100} has no type")
    if not isinstance(controller, str) or not controller.startswith("did:"):
        raise DidDocumentInvalid(f"verification method {vm_id:.100} has no controller DID")
    pkmb, account = entry.get("publicKeyMultibase"), entry.get("blockchainAccountId")
    if pkmb is not None and not isinstance(pkmb, str):
        raise DidDocumentInvalid(f"{vm_id:.100}: publicKeyMultibase must be a string")
    if account is not None and not isinstance(account, str):
        raise DidDocumentInvalid(f"{vm_id:.100}: blockchainAccountId must be a string")
    if vm_type == ACCOUNT_METHOD_TYPE and account is not None and account.startswith("eip155:"):
        AnchorAccount.from_caip10(account)  # a malformed eip155 id is refused, not skipped
    revoked = entry.get("revoked")
    expires = entry.get("expires")
    return VerificationMethod(
        id=vm_id,
        type=vm_type,
        controller=controller,
        public_key_multibase=pkmb,
        blockchain_account_id=account,
        revoked=None if revoked is None else _parse_datetime(revoked, f"{vm_id:.100} revoked"),
        expires=None if expires is None else _parse_datetime(expires, f"{vm_id:.100} expires"),
    )


def parse_did_document(document: object, did: str | None = None) -> DidDocument:
    """Validate a DID document (the structure credanchor relies on) and index it.

    DidDocumentInvalid when it is not a JSON object, its ``id`` is not ``did`` (when given),
    a verification method lacks an id, type or controller, ids repeat, a relationship names a
    method of another DID that is not embedded, or a date is not a dateTimeStamp. Members
    credanchor does not read are kept in ``raw`` and not checked.
    """
    if not isinstance(document, Mapping):
        raise DidDocumentInvalid("a DID document must be a JSON object")
    doc_id = document.get("id")
    if not isinstance(doc_id, str) or not doc_id.startswith("did:"):
        raise DidDocumentInvalid(f"the DID document's id {doc_id!r:.100} is not a DID")
    if did is not None and doc_id != did:
        raise DidDocumentInvalid(f"the DID document's id is {doc_id!r:.100}, not {did!r:.100}")
    entries = document.get("verificationMethod", [])
    if not isinstance(entries, list):
        raise DidDocumentInvalid("verificationMethod must be a list")
    rels = ("assertionMethod", "authentication", "capabilityInvocation",
            "capabilityDelegation", "keyAgreement")  # fmt: skip
    # Methods embedded in a relationship (allowed by DID Core) are methods too.
    embedded: list[Any] = []
    for rel in rels:
        value = document.get(rel)
        if isinstance(value, list):
            embedded += [e for e in value if isinstance(e, Mapping)]
    if len(entries) + len(embedded) > MAX_METHODS:
        raise DidDocumentInvalid(f"more than {MAX_METHODS} verification methods")
    methods = tuple(_method(e, doc_id) for e in [*entries, *embedded])
    ids = [m.id for m in methods]
    if len(set(ids)) != len(ids):
        raise DidDocumentInvalid("two verification methods share an id")
    relationships = {rel: _refs(document, rel, doc_id) for rel in rels if rel in document}
    return DidDocument(id=doc_id, methods=methods, relationships=relationships, raw=document)
