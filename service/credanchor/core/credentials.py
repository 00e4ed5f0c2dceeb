"""Open Badges 3.0 credentials: building, accepting and validating them (pure, no I/O).

A credential built here is an ``OpenBadgeCredential`` (W3C VC 2.0 data model) whose issuer is
identified by ``did:pkh:eip155:<chainId>:<EIP-55 address>`` — the account that anchors the
batch root on chain — so a verifier can compare the credential's issuer with the address the
contract reports.

Privacy: the recipient's e-mail address or other identifier is stored as an OB 3.0
``IdentityObject`` with ``hashed: true`` and ``identityHash = "sha256$" + hex(sha256(identity +
salt))``, with a fresh random salt per identity object. E-mail addresses are trimmed and
lower-cased before hashing (both when issuing and in :func:`recipient_matches`), so
``Alice@Example.org `` and ``alice@example.org`` match; other identifiers are only trimmed.

The credential ``id`` is a fresh ``urn:uuid`` (UUID version 7: a millisecond time and 74
random bits; see :func:`urn_uuid_v7`). Because the id is part of the hashed bytes it also salts
the ``credentialHash``: the hash of a credential cannot be recomputed from guessable data such
as a name and a course (the contract publishes revoked hashes, see its WARNING on disclosure).

An achievement given without an ``id`` gets one derived from its issuer and its definition
(:func:`achievement_urn`), so every badge for the same achievement names the same one, as
wallets and stacks (credanchor.core.stacks) expect.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Protocol

import orjson
from eth_utils import is_checksum_address
from eth_utils import to_checksum_address as eip55

from credanchor.core.hashing import canonicalize
from credanchor.core.sampling import ProcessSampler
from credanchor.core.timefmt import format_datetime
from credanchor.errors import CanonicalizationError, InvalidInput, SchemaInvalid

__all__ = [
    "CONTEXT",
    "CREDENTIAL_TYPE",
    "AchievementSpec",
    "Alignment",
    "Evidence",
    "IssuerProfile",
    "Recipient",
    "accept_credential",
    "achievement_urn",
    "build_credential",
    "format_datetime",
    "is_absolute_uri",
    "issuer_did",
    "parse_datetime",
    "parse_issuer_did",
    "recipient_matches",
    "to_checksum_address",
    "urn_uuid",
    "urn_uuid_v7",
    "validate_credential",
]

CONTEXT = (
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
)
CREDENTIAL_TYPE = ("VerifiableCredential", "OpenBadgeCredential")
SCHEMA_FILE = "ob_v3p0_achievementcredential_schema.json"
#: At most this many errors are listed in SchemaInvalid.extra["errors"].
MAX_SCHEMA_ERRORS = 20

log = logging.getLogger(__name__)

# The identityType values the OB 3.0 schema enumerates; anything else must be "ext:<name>".
IDENTITY_TYPES = frozenset(
    (
        "name", "sourcedId", "systemId", "productId", "userName", "accountId", "emailAddress",
        "nationalIdentityNumber", "isbn", "issn", "lisSourcedId", "oneRosterSourcedId",
        "sisSourcedId", "ltiContextId", "ltiDeploymentId", "ltiToolId", "ltiPlatformId",
        "ltiUserId", "identifier",
    )
)  # fmt: skip
_EXT_TYPE = re.compile(r"ext:[A-Za-z0-9._-]+")


class RandomSource(Protocol):
    """What ``rng`` must offer: ``random.Random`` does; tests pass a seeded one."""

    def randbytes(self, n: int) -> bytes: ...


# --- addresses and DIDs ---------------------------------------------------------------------

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_DID_PKH = re.compile(r"did:pkh:eip155:([1-9][0-9]{0,19}):(0x[0-9a-fA-F]{40})")


@functools.lru_cache(maxsize=1024)
def to_checksum_address(address: str) -> str:
    """EIP-55 spelling of an address; a mixed-case input must already carry a valid checksum.

    All-lower or all-upper hex carries no checksum and is accepted; a mixed-case address with a
    wrong checksum is a typo (or tampering) and raises InvalidInput. Answers are remembered:
    every proof names the same few accounts, and EIP-55 costs a keccak256 each time.
    """
    if type(address) is not str or not _ADDRESS.fullmatch(address):
        raise InvalidInput(f"not an Ethereum address (0x + 40 hex digits): {address!r:.60}")
    return _checksum(address)


@functools.lru_cache(maxsize=4096)
def _checksum(address: str) -> str:  # an exception is raised, not cached
    body = address[2:]
    # eth_utils spells any address in EIP-55 without checking the case it was given in.
    if body not in (body.lower(), body.upper()) and not is_checksum_address(address):
        raise InvalidInput(f"address {address} has an invalid EIP-55 checksum")
    return eip55(address)


@functools.lru_cache(maxsize=1024)
def issuer_did(chain_id: int, address: str) -> str:
    """``did:pkh:eip155:<chainId>:<checksummed address>`` (CAIP-10 account as a DID)."""
    if type(chain_id) is not int or chain_id <= 0:
        raise InvalidInput(f"chain id must be a positive integer, got {chain_id!r}")
    return f"did:pkh:eip155:{chain_id}:{to_checksum_address(address)}"


def parse_issuer_did(did: object) -> tuple[int, str]:
    """``(chain_id, checksummed address)`` of a ``did:pkh:eip155`` DID; InvalidInput otherwise."""
    m = _DID_PKH.fullmatch(did) if type(did) is str else None
    if m is None:
        raise InvalidInput(f"issuer id must be did:pkh:eip155:<chainId>:<address>, got {did!r:.80}")
    return int(m.group(1)), to_checksum_address(m.group(2))


# --- dates ----------------------------------------------------------------------------------

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)


def parse_datetime(s: object, *, lenient: bool = False) -> datetime:
    """Parse an RFC 3339 date-time with an explicit offset into an aware UTC datetime.

    The one date parser of the package: credentials, proofs, stacks, the issuing API and the
    pages all read dates through it. ``lenient``: any ISO 8601 date or date-time Python reads
    (``2026-03-01``, ``2026-03-01T09:00``), one without a zone taken as UTC — what the issuing
    API accepts in its simple form.

    Raises ValueError (not an InvalidInput) so callers can word the message for their field —
    also for a date that exists in its own zone but not in UTC, such as
    ``0001-01-01T00:00:00+00:01`` or ``9999-12-31T23:59:59-23:59``: Python cannot represent it
    and would raise OverflowError, which no caller expects from a malformed file.
    A leap second (``:60``) is read as ``:59``: it cannot be represented and is one second off.
    """
    if type(s) is not str:
        raise ValueError(f"not an RFC 3339 date-time with a time zone: {s!r:.60}")
    return _parse_lenient(s) if lenient else _parse_datetime(s)


def _utc(dt: datetime, s: str) -> datetime:
    try:
        return dt.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{s!r:.60} is outside the years 1 to 9999 once converted to UTC") \
            from None


# Credentials of one batch share their dates, so verifying a batch parses the same few strings
# over and over; datetimes are immutable, so sharing them is safe.
@functools.lru_cache(maxsize=4096)
def _parse_datetime(s: str) -> datetime:
    m = _RFC3339.fullmatch(s)
    if m is None:
        raise ValueError(f"not an RFC 3339 date-time with a time zone: {s!r:.60}")
    t = m.string
    text = t[:17] + ("59" if m.group(6) == "60" else m.group(6)) + t[19:]
    text = text.replace("z", "Z").replace("t", "T")
    frac = m.group(7)
    if frac and len(frac) > 7:  # fromisoformat takes at most 6 fractional digits
        text = text.replace(frac, frac[:7], 1)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:  # the shape is right but the values are not (month 13, 30 February)
        raise ValueError(f"not a date-time that exists: {s!r:.60}") from None
    return _utc(dt, s)


def _parse_lenient(s: str) -> datetime:
    try:
        dt = datetime.fromisoformat(s.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO 8601 date-time: {s!r:.60}") from None
    return _utc(dt if dt.tzinfo else dt.replace(tzinfo=UTC), s)


# --- values ---------------------------------------------------------------------------------


def _require_text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must be a non-empty string")
    return value


def _optional_text(value: Any, what: str) -> str | None:
    return None if value is None else _require_text(value, what)


@dataclass(frozen=True)
class IssuerProfile:
    """The issuing organisation: the chain account that anchors its batches, its name, and the
    DID its credentials name it by.

    ``did`` is the issuer's signing DID (``did:key`` or ``did:web``, whose Ed25519 key signs
    its credentials); when None it is the legacy ``did:pkh`` of the anchoring account, the
    identifier of issuers from before signatures (their badges carry no signature).
    """

    address: str
    chain_id: int
    name: str
    url: str | None = None
    did: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", to_checksum_address(self.address))
        if type(self.chain_id) is not int or self.chain_id <= 0:
            raise InvalidInput(f"chain id must be a positive integer, got {self.chain_id!r}")
        _require_text(self.name, "issuer name")
        _optional_text(self.url, "issuer url")
        if not self.did:
            object.__setattr__(self, "did", issuer_did(self.chain_id, self.address))
        elif not isinstance(self.did, str) or not self.did.startswith("did:"):
            raise InvalidInput(f"issuer DID must be a DID, got {self.did!r:.80}")

    @property
    def legacy(self) -> bool:
        """True for a ``did:pkh`` issuer (no signing key: badges from before signatures)."""
        return self.did.startswith("did:pkh:")

    def profile(self) -> dict[str, Any]:
        """The OB 3.0 ``Profile`` object embedded as the credential's ``issuer``."""
        p: dict[str, Any] = {"id": self.did, "type": ["Profile"], "name": self.name}
        if self.url:
            p["url"] = self.url
        return p


@dataclass(frozen=True)
class Recipient:
    """Who earned the badge; at least one of the three is required.

    ``name`` is shown in clear for display. OB 3.0 requires the subject to carry an ``id`` or
    an ``identifier``, so the e-mail and identifier become IdentityObjects, and a recipient
    known only by name gets a (hashed) IdentityObject of type ``name`` as well.
    """

    name: str | None = None
    email: str | None = None
    identifier: str | None = None
    identifier_type: str = "identifier"

    def __post_init__(self) -> None:
        _optional_text(self.name, "recipient name")
        _optional_text(self.email, "recipient email")
        _optional_text(self.identifier, "recipient identifier")
        if self.name is None and self.email is None and self.identifier is None:
            raise InvalidInput("a recipient needs a name, an email address or an identifier")
        if self.email is not None and "@" not in self.email:
            raise InvalidInput(f"not an email address: {self.email!r:.80}")
        t = self.identifier_type
        if not isinstance(t, str) or not (t in IDENTITY_TYPES or _EXT_TYPE.fullmatch(t)):
            raise InvalidInput(
                f"identifier_type {t!r} is neither an OB 3.0 identityType nor 'ext:<name>'"
            )


@dataclass(frozen=True)
class Alignment:
    """A link from the achievement to a framework entry (ESCO skill, O*NET code, EQF level…)."""

    target_name: str
    target_url: str
    target_code: str | None = None
    target_framework: str | None = None

    def __post_init__(self) -> None:
        _require_text(self.target_name, "alignment target_name")
        _require_text(self.target_url, "alignment target_url")
        _optional_text(self.target_code, "alignment target_code")
        _optional_text(self.target_framework, "alignment target_framework")

    def to_json(self) -> dict[str, Any]:
        a: dict[str, Any] = {
            "type": ["Alignment"],
            "targetName": self.target_name,
            "targetUrl": self.target_url,
        }
        if self.target_code is not None:
            a["targetCode"] = self.target_code
        if self.target_framework is not None:
            a["targetFramework"] = self.target_framework
        return a


@dataclass(frozen=True)
class AchievementSpec:
    """What was achieved. ``achievement_id`` should be a stable URL or URN of the achievement
    definition (it lets stackable credentials refer to it); if None, :func:`achievement_urn`
    derives one from the issuer and this definition."""

    name: str
    description: str
    criteria_narrative: str | None = None
    criteria_url: str | None = None
    image_url: str | None = None
    alignments: tuple[Alignment, ...] = ()
    achievement_id: str | None = None

    def __post_init__(self) -> None:
        _require_text(self.name, "achievement name")
        _require_text(self.description, "achievement description")
        _optional_text(self.criteria_narrative, "criteria narrative")
        _optional_text(self.criteria_url, "criteria url")
        _optional_text(self.image_url, "achievement image url")
        _optional_text(self.achievement_id, "achievement id")
        if self.criteria_narrative is None and self.criteria_url is None:
            raise InvalidInput("an achievement needs criteria: a narrative, a URL or both")
        object.__setattr__(self, "alignments", tuple(self.alignments))
        for a in self.alignments:
            if not isinstance(a, Alignment):
                raise InvalidInput("alignments must be Alignment values")

    def to_json(self, achievement_id: str) -> dict[str, Any]:
        criteria: dict[str, Any] = {}
        if self.criteria_url is not None:
            criteria["id"] = self.criteria_url
        if self.criteria_narrative is not None:
            criteria["narrative"] = self.criteria_narrative
        a: dict[str, Any] = {
            "id": achievement_id,
            "type": ["Achievement"],
            "name": self.name,
            "description": self.description,
            "criteria": criteria,
        }
        if self.image_url is not None:
            a["image"] = {"id": self.image_url, "type": "Image"}
        if self.alignments:
            a["alignment"] = [x.to_json() for x in self.alignments]
        return a


@dataclass(frozen=True)
class Evidence:
    """Evidence of the achievement: a URL (``id``) and/or a description of it."""

    id: str | None = None
    name: str | None = None
    description: str | None = None
    narrative: str | None = None
    genre: str | None = None
    audience: str | None = None

    def __post_init__(self) -> None:
        for f in ("id", "name", "description", "narrative", "genre", "audience"):
            _optional_text(getattr(self, f), f"evidence {f}")
        if self.id is None and self.narrative is None and self.name is None:
            raise InvalidInput("evidence needs at least an id (URL), a name or a narrative")

    def to_json(self) -> dict[str, Any]:
        e: dict[str, Any] = {}
        if self.id is not None:
            e["id"] = self.id
        e["type"] = ["Evidence"]
        for f in ("name", "description", "narrative", "genre", "audience"):
            v = getattr(self, f)
            if v is not None:
                e[f] = v
        return e


# --- identities -----------------------------------------------------------------------------


def _normalize_identity(value: str, identity_type: str) -> str:
    value = value.strip()
    # Mail systems treat the address case-insensitively in practice; hashing one spelling
    # would make the holder's own "Alice@…" fail to match "alice@…".
    return value.lower() if identity_type == "emailAddress" else value


def _identity_hash(value: str, salt: str) -> str:
    return "sha256$" + hashlib.sha256((value + salt).encode("utf-8")).hexdigest()


def _identity_object(
    value: str, identity_type: str, *, clear: bool, randbytes: Any
) -> dict[str, Any]:
    value = _normalize_identity(value, identity_type)
    if clear:
        return {
            "type": "IdentityObject",
            "hashed": False,
            "identityHash": value,
            "identityType": identity_type,
        }
    salt = randbytes(16).hex()
    return {
        "type": "IdentityObject",
        "hashed": True,
        "identityHash": _identity_hash(value, salt),
        "identityType": identity_type,
        "salt": salt,
    }


def recipient_matches(credential: Mapping[str, Any], identifier: str) -> bool:
    """Whether ``identifier`` (an e-mail address, student number, DID…) is the credential's
    recipient: hashed identities are re-hashed with their salt (``sha256$`` or ``md5$``, the two
    OB 3.0 algorithms), clear ones compared, and ``credentialSubject.id`` compared as is."""
    if not isinstance(identifier, str) or not identifier.strip():
        return False
    subject = credential.get("credentialSubject") if isinstance(credential, Mapping) else None
    if not isinstance(subject, Mapping):
        return False
    presented = identifier.strip()
    if subject.get("id") == presented:
        return True
    identities = subject.get("identifier")
    if not isinstance(identities, list):
        return False
    for ident in identities:
        if not isinstance(ident, Mapping):
            continue
        stored = ident.get("identityHash")
        if not isinstance(stored, str):
            continue
        itype = ident.get("identityType")
        # The raw spelling first: another issuer may have hashed it without normalising.
        candidates = {presented, _normalize_identity(presented, str(itype))}
        if ident.get("hashed") is True:
            algo, _, digest = stored.partition("$")
            raw_salt = ident.get("salt")
            salt = raw_salt if isinstance(raw_salt, str) else ""
            if algo.lower() not in ("sha256", "md5") or not digest:
                continue
            for c in candidates:
                computed = hashlib.new(algo.lower(), (c + salt).encode("utf-8")).hexdigest()
                if hmac.compare_digest(computed, digest.lower()):
                    return True
        elif ident.get("hashed") is False and stored in candidates:
            return True
    return False


# --- building -------------------------------------------------------------------------------


#: The namespace of derived achievement ids (RFC 9562 §5.5): credanchor's own constant, so that
#: an id derived here can be told apart from one another system derives from the same text.
ACHIEVEMENT_ID_NAMESPACE = uuid.UUID("5b1c7e0a-3f4d-5e2a-9c61-0d2f8a4b7e13")


@functools.lru_cache(maxsize=256)
def achievement_urn(issuer_id: str, achievement: AchievementSpec) -> str:
    """The ``urn:uuid`` of an achievement its issuer gave no id: UUID version 5 (RFC 9562,
    name-based, SHA-1) in :data:`ACHIEVEMENT_ID_NAMESPACE` of the RFC 8785 text of
    ``{"achievement": <its JSON without "id">, "issuer": issuer_id}``.

    The same issuer and the same definition (name, description, criteria, image, alignments)
    give the same id in every badge, so a wallet groups them and a stack's components can name
    it; another issuer, or an edited definition, gives another. An issuer who edits a
    definition and wants to keep its id gives the id explicitly. The id says nothing about the
    learner: it is computed from what every badge of the achievement shows anyway."""
    definition = achievement.to_json("")
    del definition["id"]
    name = canonicalize({"achievement": definition, "issuer": issuer_id}).decode("utf-8")
    return f"urn:uuid:{uuid.uuid5(ACHIEVEMENT_ID_NAMESPACE, name)}"


def urn_uuid(randbytes: Callable[[int], bytes] = os.urandom) -> str:
    """A fresh ``urn:uuid`` (UUID version 4 from 16 bytes of ``randbytes``): the same string
    as ``str(uuid.UUID(bytes=…, version=4))``, built without the UUID object (two per signed
    badge)."""
    return _urn_uuid(bytearray(randbytes(16)), 4)


def _urn_uuid(b: bytearray, version: int) -> str:
    """``urn:uuid:`` of 16 bytes, with their version and RFC 9562 variant bits set."""
    b[6] = (b[6] & 0x0F) | (version << 4)
    b[8] = (b[8] & 0x3F) | 0x80  # the RFC 9562 (RFC 4122) variant
    h = b.hex()
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def urn_uuid_v7(unix_ms: int, randbytes: Callable[[int], bytes] = os.urandom) -> str:
    """A fresh ``urn:uuid`` of UUID version 7 (RFC 9562 §5.7): ``unix_ms`` (milliseconds since
    1970) in the first 48 bits, then 74 random bits from ``randbytes``. The same string as
    Python's ``uuid.UUID`` of those bits.

    Credential ids are version 7: ids made one after the other sort one after the other, so
    the ledger's unique index on them grows at its end rather than at a random page. At a
    million credentials a random id made each insert read back pages the documents had
    pushed out of the cache (41.7 -> 33.4 µs a row in the ledger's schema, measured). The
    time says nothing a credential does not already say (``validFrom``, the proof's
    ``created``), and 74 random bits still make an id unguessable."""
    if not 0 <= unix_ms < 2**48:
        raise ValueError("a UUID version 7 holds a 48-bit millisecond time")
    b = bytearray(randbytes(16))
    b[0:6] = unix_ms.to_bytes(6, "big")
    return _urn_uuid(b, 7)



def build_credential(
    *,
    issuer: IssuerProfile,
    recipient: Recipient,
    achievement: AchievementSpec,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    evidence: Sequence[Evidence] = (),
    credential_id: str | None = None,
    clear_identity: bool = False,
    rng: RandomSource | None = None,
) -> dict[str, Any]:
    """A new OB 3.0 ``OpenBadgeCredential`` (a plain dict, ready to hash; no proof yet).

    ``valid_from`` defaults to now; datetimes must be timezone-aware and are written in UTC to
    the second. ``rng`` (anything with ``randbytes``, e.g. a seeded ``random.Random``) makes ids
    and salts reproducible for tests and examples; never pass one in production, where the
    operating system's CSPRNG is used (the credential's id is then a time-ordered UUID version 7:
    see :func:`urn_uuid_v7`). ``clear_identity=True`` writes the identifiers in clear
    (``hashed: false``) for recipients who want them readable.
    """
    if not isinstance(issuer, IssuerProfile):
        raise InvalidInput("issuer must be an IssuerProfile")
    if not isinstance(recipient, Recipient):
        raise InvalidInput("recipient must be a Recipient")
    if not isinstance(achievement, AchievementSpec):
        raise InvalidInput("achievement must be an AchievementSpec")
    randbytes = os.urandom if rng is None else rng.randbytes
    if valid_from is None:
        valid_from = datetime.now(UTC)
    valid_from_s = format_datetime(valid_from)
    valid_until_s = None
    if valid_until is not None:
        valid_until_s = format_datetime(valid_until)
        if valid_until_s <= valid_from_s:  # same fixed format, so string order is time order
            raise InvalidInput("valid_until must be later than valid_from")
    if credential_id is None:
        # Time-ordered in production; reproducible (version 4 from rng) when rng is given.
        credential_id = (urn_uuid_v7(time.time_ns() // 1_000_000) if rng is None
                         else urn_uuid(randbytes))
    else:
        _require_text(credential_id, "credential id")

    identities = []
    if recipient.email is not None:
        identities.append(
            _identity_object(
                recipient.email, "emailAddress", clear=clear_identity, randbytes=randbytes
            )
        )
    if recipient.identifier is not None:
        identities.append(
            _identity_object(
                recipient.identifier,
                recipient.identifier_type,
                clear=clear_identity,
                randbytes=randbytes,
            )
        )
    if not identities:
        assert recipient.name is not None  # Recipient guarantees one of the three
        identities.append(
            _identity_object(recipient.name, "name", clear=clear_identity, randbytes=randbytes)
        )
    subject: dict[str, Any] = {"type": ["AchievementSubject"]}
    if recipient.name is not None:
        # AchievementSubject allows additional properties; "name" is the display name a
        # verifier shows next to the badge (hashed identities are not human-readable).
        subject["name"] = recipient.name
    subject["identifier"] = identities
    subject["achievement"] = achievement.to_json(
        achievement.achievement_id or achievement_urn(issuer.did, achievement))

    credential: dict[str, Any] = {
        "@context": list(CONTEXT),
        "id": credential_id,
        "type": list(CREDENTIAL_TYPE),
        "name": achievement.name,
        "issuer": issuer.profile(),
        "validFrom": valid_from_s,
    }
    if valid_until_s is not None:
        credential["validUntil"] = valid_until_s
    credential["credentialSubject"] = subject
    if evidence:
        items = []
        for e in evidence:
            if not isinstance(e, Evidence):
                raise InvalidInput("evidence must be Evidence values")
            items.append(e.to_json())
        credential["evidence"] = items
    return credential


# --- validation -----------------------------------------------------------------------------
#
# Two validators of the same schema with the same format rules: jsonschema-rs (compiled, a few
# microseconds) decides whether a credential is valid, and jsonschema (about half a millisecond)
# words the errors of an invalid one — the report a user sees has not changed — and checks a
# sample of the valid verdicts in production (SCHEMA_CROSS_CHECK_EVERY). Where the compiled
# validator cannot read the data (see _fast_readable), jsonschema alone decides. Both read a
# Python tuple as an array, as every serialiser credanchor uses writes it (orjson, rfc8785).

#: The first valid verdict of the compiled validator in every process, and one in every this
#: many after it, is also computed by jsonschema: at about 0.5 ms a check, the sample costs
#: about 0.5 µs per credential.
SCHEMA_CROSS_CHECK_EVERY = 1_000
# Deepest nesting the compiled validator is given (an OB 3.0 credential with its proof needs
# about 8): orjson's own limit, below which it serialises (:func:`_fast_readable`).
# jsonschema-rs recurses on the native stack: a document nested some 100,000 levels deep
# crashes the process instead of raising, so deeper ones (and cycles) go to jsonschema
# (json.loads itself refuses about 1,000 levels; this guards documents built in Python).
_FAST_MAX_DEPTH = 254


def _check_date_time(instance: object) -> None:
    """The ``date-time`` format: an RFC 3339 date-time with an offset that exists (ValueError)."""
    if isinstance(instance, str):
        parse_datetime(instance)


def _check_date(instance: object) -> None:
    """The ``date`` format: an RFC 3339 full-date that exists (ValueError)."""
    if isinstance(instance, str):
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", instance):
            raise ValueError(f"{instance!r} is not a full-date (YYYY-MM-DD)")
        datetime.strptime(instance, "%Y-%m-%d")


# Own format checks instead of jsonschema's optional extras: without rfc3339-validator installed,
# jsonschema silently accepts any string as a date-time — and jsonschema-rs's built-in ones
# follow other rules (it accepts 0001-01-01T00:00:00+00:01, which is not a date in UTC, and
# refuses a leap second at 09:00:60). Both validators apply these two, and no other format
# (the schema uses no other).
_FORMATS = {"date-time": _check_date_time, "date": _check_date}


@functools.cache
def _schema() -> dict[str, Any]:
    text = resources.files("credanchor").joinpath("schema", SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _is_array(checker: Any, instance: object) -> bool:
    return isinstance(instance, list | tuple)


@functools.cache
def _validator() -> Any:
    """jsonschema's validator, built once per process (compiling costs milliseconds). A tuple
    is an array to it, as to jsonschema-rs and to the serialisers that write the credential.
    The vendored schema is not checked against the draft's meta-schema here (~0.2 s a
    process): tests/core/test_credentials.py does, and pins the file's digest."""
    from jsonschema import Draft201909Validator, FormatChecker, validators

    checker = FormatChecker(formats=())
    for name, check in _FORMATS.items():
        checker.checks(name, raises=ValueError)(_passes(check))
    schema = _schema()
    types = Draft201909Validator.TYPE_CHECKER.redefine("array", _is_array)
    validator = validators.extend(Draft201909Validator, type_checker=types)
    return validator(schema, format_checker=checker)


def _passes(check: Callable[[object], None]) -> Callable[[object], bool]:
    def passes(instance: object) -> bool:
        check(instance)
        return True

    return passes


def _holds(check: Callable[[object], None]) -> Callable[[str], bool]:
    """A format check as jsonschema-rs calls it: a verdict, where jsonschema reads ValueError
    as a failure (any other exception propagates in both)."""

    def holds(instance: str) -> bool:
        try:
            check(instance)
        except ValueError:
            return False
        return True

    return holds


@functools.cache
def _fast_validator() -> Any:
    """jsonschema-rs's validator of the same schema with the same format rules."""
    import jsonschema_rs

    return jsonschema_rs.Draft201909Validator(
        _schema(),
        formats={name: _holds(check) for name, check in _FORMATS.items()},
        validate_formats=True,  # draft 2019-09 makes formats annotations unless asked
        offline=True,  # the schema has no remote reference; nothing may be fetched
    )


def _fast_readable(value: Any) -> bool:
    """Whether jsonschema-rs may be given ``value``: nested at most _FAST_MAX_DEPTH levels,
    without a cycle, of JSON types (subclasses included) or a few others orjson writes.

    orjson finds that in C while it serialises (~1 µs for a badge, where a walk in Python
    cost ~8 µs, 8 % of an offline verification). Anything else (a set, a Decimal, a key that
    is not a string) is left to jsonschema; a type orjson writes and jsonschema-rs cannot read
    (a datetime, a str subclass) makes jsonschema-rs raise, and jsonschema decides then too.
    """
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:  # too deep, a cycle, or a type orjson does not write
        return False
    return True


def _fast_verdict(credential: object, from_json: bool = False) -> bool | None:
    """The compiled validator's verdict, or None where jsonschema must decide. ``from_json``:
    see validate_credential."""
    if not isinstance(credential, dict) or not (from_json or _fast_readable(credential)):
        return None
    try:
        return bool(_fast_validator().is_valid(credential))
    except Exception:  # a type it cannot read (a set, a str subclass…): jsonschema decides,
        return None  # and raises whatever a format check raised, as it always did


def _Sampler() -> ProcessSampler:
    """Which valid verdicts to cross-check: the first of each process and one in every
    SCHEMA_CROSS_CHECK_EVERY after it (``checked`` counts them; tests read it)."""
    return ProcessSampler(lambda: SCHEMA_CROSS_CHECK_EVERY)


_SAMPLER = _Sampler()


def _describe(error: Any) -> dict[str, str]:
    message = error.message if len(error.message) <= 300 else error.message[:297] + "..."
    return {"path": error.json_path, "message": message}


def _schema_invalid(errors: list[Any]) -> SchemaInvalid:
    from jsonschema.exceptions import best_match

    # For oneOf/anyOf failures the useful message is inside the error's context.
    leaves = [best_match([e]) for e in errors]
    leaves.sort(key=lambda e: (list(map(str, e.absolute_path)), e.message))
    first = _describe(best_match(errors))
    listed = [_describe(e) for e in leaves[:MAX_SCHEMA_ERRORS]]
    return SchemaInvalid(
        f"{first['path']}: {first['message']}", errors=listed, errorCount=len(errors)
    )


def validate_credential(credential: Mapping[str, Any], *, from_json: bool = False) -> None:
    """Validate against the vendored OB 3.0 AchievementCredential schema (draft 2019-09).

    Raises SchemaInvalid whose detail names the JSON path of the most relevant error (e.g.
    ``$.credentialSubject.achievement: 'criteria' is a required property``) and whose
    ``extra["errors"]`` lists up to MAX_SCHEMA_ERRORS errors as ``{"path", "message"}``.

    The verdict is jsonschema's. jsonschema-rs gives it in microseconds for a valid
    credential; anything it finds invalid, or cannot read as jsonschema does, is validated by
    jsonschema, which also writes every report. A sample of its valid verdicts (see
    SCHEMA_CROSS_CHECK_EVERY) is recomputed by jsonschema too: if jsonschema finds errors
    there, the disagreement is logged as a credanchor bug and jsonschema's verdict stands
    (SchemaInvalid), as credanchor.core.rdfc refuses rather than trust its fast path.

    ``from_json=True``: the credential is, unchanged, what credanchor.core.hashing's strict
    parser made of a file (JSON types only, nested at most MAX_DEPTH levels), so jsonschema-rs
    may read it without first proving so (~2.5 µs a verification).
    """
    if _fast_verdict(credential, from_json) is True:
        if not _SAMPLER.due():
            return
        errors = list(_validator().iter_errors(credential))
        if not errors:
            return
        log.error(
            "jsonschema-rs found a credential valid that jsonschema refuses (at %.200r); "
            "jsonschema's verdict stands. A credanchor bug: please report it.",
            errors[0].json_path,  # %r: the path holds the file's keys, escaped in the log
        )
    else:
        errors = list(_validator().iter_errors(credential))
        if not errors:
            return
    raise _schema_invalid(errors)


# RFC 3986 ``absolute-URI``: a scheme, ':', then only URI characters (unreserved, reserved or
# %-escapes). No whitespace, controls or non-ASCII: an IRI must be %-encoded to be a URI.
_ABSOLUTE_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=-]|%[0-9A-Fa-f]{2})+"
)


def is_absolute_uri(value: object) -> bool:
    """Whether ``value`` is an absolute URI (``urn:uuid:…``, ``https://…``, ``did:…``)."""
    return type(value) is str and _ABSOLUTE_URI.fullmatch(value) is not None


def _require_uri_id(credential: Mapping[str, Any]) -> None:
    """The credential's ``id`` must be a URI, as OB 3.0 and VC 2.0 say.

    The vendored schema records that only in a ``$comment`` (no ``format``), so it accepted
    any string — and ids name the holders' files: ``../../x`` or ``/tmp/x`` led ``issue --out``
    outside its folder. Checked where an issuer's complete credential is accepted, not when
    verifying: badges already issued with such an id stay verifiable.
    """
    value = credential.get("id")
    if not is_absolute_uri(value):
        message = f"{value!r:.120} is not an absolute URI (scheme:rest, e.g. urn:uuid:…)"
        raise SchemaInvalid(f"$.id: {message}", errors=[{"path": "$.id", "message": message}],
                            errorCount=1)


def _json_copy(value: Any, path: str = "$") -> Any:
    """Deep copy of plain JSON data; anything else (sets, bytes, objects) is refused."""
    t = type(value)
    if t is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                raise InvalidInput(f"{path}: object keys must be strings")
            out[k] = _json_copy(v, f"{path}.{k}")
        return out
    if t is list or t is tuple:
        return [_json_copy(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if value is None or t in (str, int, float, bool):
        return value
    if isinstance(value, Mapping):
        return _json_copy(dict(value), path)
    raise InvalidInput(f"{path}: {t.__name__} is not a JSON value")


def accept_credential(document: Mapping[str, Any], *, issuer: IssuerProfile) -> dict[str, Any]:
    """Take a complete OB 3.0 credential written by the issuer and make it ready to hash.

    The document must validate against the schema (so it has an ``id``: nothing is added —
    the id is part of what the issuer wrote and signs off, and a verifier must see exactly
    that), its id must be an absolute URI (SchemaInvalid otherwise), its issuer id must be this issuer's DID (for a legacy ``did:pkh`` issuer: same chain and
    address, spelled in any valid case), and it must be canonicalisable. Any existing
    top-level ``proof`` is dropped: it belongs to another system and is not hashed anyway.
    Returns a new dict; the input is not modified.

    Note: the id should be unpredictable (a urn:uuid) because it salts the credential hash.
    """
    if not isinstance(document, Mapping):
        raise InvalidInput("a credential must be a JSON object")
    if not isinstance(issuer, IssuerProfile):
        raise InvalidInput("issuer must be an IssuerProfile")
    credential = _json_copy(document)
    credential.pop("proof", None)
    validate_credential(credential)
    _require_uri_id(credential)
    named = credential["issuer"]
    named_id = named.get("id") if isinstance(named, dict) else named
    if issuer.legacy:
        try:
            chain_id, address = parse_issuer_did(named_id)
        except InvalidInput as exc:
            raise InvalidInput(
                f"the credential's issuer must be {issuer.did}, got {named_id!r:.80}",
                expected=issuer.did,
            ) from exc
        same = (chain_id, address) == (issuer.chain_id, issuer.address)
    else:
        same = named_id == issuer.did
    if not same:
        raise InvalidInput(
            f"the credential's issuer must be {issuer.did}, got {named_id!r:.80}",
            expected=issuer.did,
        )
    try:
        canonicalize(credential)
    except CanonicalizationError as exc:
        raise CanonicalizationError(f"the credential cannot be hashed: {exc.detail}") from exc
    return credential
