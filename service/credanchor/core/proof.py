"""The ``proof`` a holder carries: where the credential's hash sits in an anchored batch.

The OB 3.0 schema makes ``proof`` an array of objects with a ``type``; an anchored credential
carries exactly one element of type ``CredanchorMerkleProof2026`` (docs/proof-format.md)::

    {"type": "CredanchorMerkleProof2026", "created": "2026-03-01T12:00:05Z",
     "proofPurpose": "assertionMethod", "previousProof": "urn:uuid:…",
     "credentialHash": "0x…", "merkleRoot": "0x…", "merkleProof": ["0x…", …],
     "anchor": {"chainId": 31337, "contract": "0x<EIP-55>", "issuerAccount": "0x<EIP-55>",
                "transactionHash": "0x…", "blockNumber": 123,
                "anchoredAt": "2026-03-01T12:00:00Z"}}

``previousProof`` (present when the credential is signed) names the issuer's Data Integrity
proof that precedes it: the credential hash covers the signed credential, signature included
(credanchor.core.hashing.signed_content), so the anchor timestamps the signature too.

WARNING: the proof is not covered by the credential hash (it cannot be: it is made after the
hash is anchored), so anyone can edit it without changing ``credentialHash``. Nothing in it is
trusted on its word: the verifier recomputes the hash from the document, folds the Merkle proof
itself, and asks *its own* trusted contract whether the issuer account anchored the root, and
when; that account must be the one the (hashed) credential's issuer DID names. A forged
``anchor`` block can only make verification fail, never succeed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from credanchor.core.credentials import format_datetime, parse_datetime, to_checksum_address
from credanchor.core.hashing import ANCHOR_PROOF_TYPE, credential_hash, from_hex32, to_hex
from credanchor.errors import InvalidInput, ProofFormatError

__all__ = [
    "PROOF_PURPOSE",
    "PROOF_TYPE",
    "AnchorRef",
    "CredanchorProof",
    "attach_proof",
    "extract_proof",
    "find_proof",
    "has_proof",
    "parse_proof",
]

PROOF_TYPE = ANCHOR_PROOF_TYPE
PROOF_PURPOSE = "assertionMethod"
#: A standard-v1 tree of 2**31 leaves has depth 32; anything much longer is garbage or abuse.
MAX_PROOF_LENGTH = 64

_PROOF_KEYS = frozenset(
    ("type", "created", "proofPurpose", "credentialHash", "merkleRoot", "merkleProof", "anchor")
)
_OPTIONAL_KEYS = frozenset(("previousProof",))
_ANCHOR_ORDER = ("chainId", "contract", "issuerAccount", "transactionHash", "blockNumber",
                 "anchoredAt")
_ANCHOR_KEYS = frozenset(_ANCHOR_ORDER)
_ALL_PROOF_KEYS = _PROOF_KEYS | _OPTIONAL_KEYS
_UTC_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z")


def _fail(field: str, problem: str) -> ProofFormatError:
    return ProofFormatError(f"{field}: {problem}", field=field)


def _hex32(value: Any, field: str) -> bytes:
    try:
        return from_hex32(value, what=field, error=ProofFormatError)
    except ProofFormatError as exc:
        raise _fail(field, "must be 0x followed by 64 hex digits") from exc


_LEN_66 = {66}  # the length of every element of a regular Merkle path ("0x" + 64 digits)


def _hex32_list(values: list[Any], field: str) -> tuple[bytes, ...]:
    """Decode a Merkle path in one ``fromhex`` call (a proof has ~20 elements and this runs
    for every verification); on any irregularity fall back to element-wise parsing, which
    names the offending element.

    The fast way is exact: every element a string of 66 characters (the join refuses
    anything but strings), each beginning with ``0x`` (the characters at 66k and 66k+1), and
    then 32 bytes per element out of what is left once every ``0x`` is removed. That can only
    be 64 hex digits each: ``fromhex`` skips whitespace and refuses an ``x``, so one more
    ``0x`` or one blank anywhere makes the blob too short.
    """
    n = len(values)
    try:
        joined = "".join(values)
    except TypeError:
        joined = ""
    if (joined and set(map(len, values)) == _LEN_66 and joined[::66] == "0" * n
            and joined[1::66] == "x" * n):
        try:
            blob = bytes.fromhex(joined.replace("0x", ""))
        except ValueError:
            blob = b""
        if len(blob) == 32 * n:
            return tuple([blob[i : i + 32] for i in range(0, 32 * n, 32)])
    return tuple([_hex32(v, f"{field}[{i}]") for i, v in enumerate(values)])


def _time(value: Any, field: str) -> datetime:
    if type(value) is not str or not _UTC_TIME.fullmatch(value):
        raise _fail(field, "must be a UTC date-time like 2026-03-01T12:00:00Z")
    try:
        return parse_datetime(value)
    except ValueError as exc:
        raise _fail(field, str(exc)) from exc


def _uint(value: Any, field: str, *, minimum: int = 0) -> int:
    # bool is an int in Python; JSON true is not a number.
    if type(value) is not int or value < minimum or value > 2**63 - 1:
        raise _fail(field, f"must be an integer >= {minimum}")
    return value


@dataclass(frozen=True)
class AnchorRef:
    """Where the batch root was anchored and by which account, as claimed by the issuer
    (verified against the chain: anchors are recorded under (issuer account, root))."""

    chain_id: int
    contract: str
    transaction_hash: str
    block_number: int
    anchored_at: datetime
    issuer_account: str

    def __post_init__(self) -> None:
        _uint(self.chain_id, "anchor.chainId", minimum=1)
        for name, field in (("contract", "anchor.contract"),
                            ("issuer_account", "anchor.issuerAccount")):
            try:
                object.__setattr__(self, name, to_checksum_address(getattr(self, name)))
            except InvalidInput as exc:
                raise _fail(field, exc.detail) from exc
        tx = to_hex(_hex32(self.transaction_hash, "anchor.transactionHash"))
        object.__setattr__(self, "transaction_hash", tx)
        _uint(self.block_number, "anchor.blockNumber")
        object.__setattr__(self, "anchored_at", _utc_seconds(self.anchored_at, "anchor.anchoredAt"))

    def to_json(self) -> dict[str, Any]:
        return {
            "chainId": self.chain_id,
            "contract": self.contract,
            "issuerAccount": self.issuer_account,
            "transactionHash": self.transaction_hash,
            "blockNumber": self.block_number,
            "anchoredAt": format_datetime(self.anchored_at),
        }


def _utc_seconds(value: Any, field: str) -> datetime:
    """UTC, truncated to the second: what the JSON form holds, so parse(to_json(p)) == p."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise _fail(field, "must be a timezone-aware datetime")
    return value.astimezone(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class CredanchorProof:
    """A parsed ``CredanchorMerkleProof2026``: hash, root, Merkle path and anchor."""

    credential_hash: bytes
    merkle_root: bytes
    merkle_proof: tuple[bytes, ...]
    anchor: AnchorRef
    created: datetime
    #: The id of the issuer's signature that precedes this proof (None: an unsigned badge).
    previous_proof: str | None = None

    def __post_init__(self) -> None:
        for field, value in (
            ("credentialHash", self.credential_hash),
            ("merkleRoot", self.merkle_root),
        ):
            if not isinstance(value, bytes) or len(value) != 32:
                raise _fail(field, "must be 32 bytes")
        object.__setattr__(self, "merkle_proof", tuple(self.merkle_proof))
        if len(self.merkle_proof) > MAX_PROOF_LENGTH:
            raise _fail("merkleProof", f"has more than {MAX_PROOF_LENGTH} elements")
        for i, node in enumerate(self.merkle_proof):
            if not isinstance(node, bytes) or len(node) != 32:
                raise _fail(f"merkleProof[{i}]", "must be 32 bytes")
        if not isinstance(self.anchor, AnchorRef):
            raise _fail("anchor", "must be an AnchorRef")
        object.__setattr__(self, "created", _utc_seconds(self.created, "created"))
        if self.previous_proof is not None and (
            type(self.previous_proof) is not str or not self.previous_proof
        ):
            raise _fail("previousProof", "must be the id of the preceding proof")

    def to_json(self) -> dict[str, Any]:
        """The JSON object placed in the credential's ``proof`` array."""
        previous = {} if self.previous_proof is None else {"previousProof": self.previous_proof}
        return {
            "type": PROOF_TYPE,
            "created": format_datetime(self.created),
            "proofPurpose": PROOF_PURPOSE,
            **previous,
            "credentialHash": to_hex(self.credential_hash),
            "merkleRoot": to_hex(self.merkle_root),
            "merkleProof": [to_hex(p) for p in self.merkle_proof],
            "anchor": self.anchor.to_json(),
        }


def parse_proof(obj: Any, *, where: str = "proof") -> CredanchorProof:
    """Strictly parse one ``CredanchorMerkleProof2026`` object; ProofFormatError names the field
    (prefixed with ``where``, e.g. ``proof[0].merkleProof[3]``).

    Unknown members are refused rather than ignored: the proof is unhashed, so anything extra
    in it is unverifiable and must not be displayed as if it were part of the credential.
    """
    w = where + "."
    if not isinstance(obj, Mapping):
        raise ProofFormatError(f"{where} must be a JSON object", field=where)
    if not obj.keys() <= _ALL_PROOF_KEYS:
        unknown = sorted(set(obj) - _ALL_PROOF_KEYS)
        raise _fail(w + unknown[0], "is not a member of a CredanchorMerkleProof2026")
    if not obj.keys() >= _PROOF_KEYS:
        missing = sorted(_PROOF_KEYS - set(obj))
        raise _fail(w + missing[0], "is missing")
    if obj["type"] != PROOF_TYPE:
        raise _fail(w + "type", f"must be {PROOF_TYPE!r}")
    if obj["proofPurpose"] != PROOF_PURPOSE:
        raise _fail(w + "proofPurpose", f"must be {PROOF_PURPOSE!r}")
    path = obj["merkleProof"]
    if not isinstance(path, list):
        raise _fail(w + "merkleProof", "must be an array of 0x hashes")
    if len(path) > MAX_PROOF_LENGTH:
        raise _fail(w + "merkleProof", f"has more than {MAX_PROOF_LENGTH} elements")
    anchor = obj["anchor"]
    if not isinstance(anchor, Mapping):
        raise _fail(w + "anchor", "must be a JSON object")
    if anchor.keys() != _ANCHOR_KEYS:
        unknown = sorted(set(anchor) - _ANCHOR_KEYS)
        if unknown:
            raise _fail(f"{w}anchor.{unknown[0]}", "is not a member of an anchor")
        missing = sorted(_ANCHOR_KEYS - set(anchor))
        raise _fail(f"{w}anchor.{missing[0]}", "is missing")
    anchor_ref = _anchor_ref(anchor, w)  # first, as before: its errors are reported first
    return _checked_proof(
        _hex32(obj["credentialHash"], w + "credentialHash"),
        _hex32(obj["merkleRoot"], w + "merkleRoot"),
        _hex32_list(path, w + "merkleProof"),
        anchor_ref,
        _time(obj["created"], w + "created"),
        _previous(obj.get("previousProof"), w + "previousProof"),
    )


def _checked_proof(credential_hash: bytes, merkle_root: bytes, merkle_proof: tuple[bytes, ...],
                   anchor: AnchorRef, created: datetime, previous_proof: str | None,
                   ) -> CredanchorProof:
    """A CredanchorProof of values that parse_proof has checked just as ``__post_init__``
    would (two 32-byte hashes, a tuple of at most MAX_PROOF_LENGTH 32-byte nodes, an
    AnchorRef, a UTC time, the previous proof's id), made without checking them twice: ~3 µs
    of every verification. ``created`` is truncated to the second here, as there.
    tests/core/test_proof.py holds it equal to the checked constructor's result, field by field.
    """
    proof = object.__new__(CredanchorProof)
    put = object.__setattr__
    put(proof, "credential_hash", credential_hash)
    put(proof, "merkle_root", merkle_root)
    put(proof, "merkle_proof", merkle_proof)
    put(proof, "anchor", anchor)
    put(proof, "created", created.replace(microsecond=0) if created.microsecond else created)
    put(proof, "previous_proof", previous_proof)
    return proof


# Parsed anchors by their members' values: every file of a batch names the same anchor, and a
# bulk verification meets a handful of batches. AnchorRef is immutable, so one is shared.
_ANCHORS: dict[tuple[Any, ...], AnchorRef] = {}
_ANCHORS_SIZE = 256


def _anchor_ref(anchor: Mapping[str, Any], w: str) -> AnchorRef:
    key = tuple([anchor[k] for k in _ANCHOR_ORDER])
    # Exact types only: True == 1 in a dict key, and JSON true is not a number.
    cacheable = all(type(v) is str or type(v) is int for v in key)
    if cacheable:
        cached = _ANCHORS.get(key)
        if cached is not None:
            return cached
    contract, issuer_account = anchor["contract"], anchor["issuerAccount"]
    try:
        contract = to_checksum_address(contract)
    except InvalidInput as exc:
        raise _fail(w + "anchor.contract", exc.detail) from exc
    try:
        issuer_account = to_checksum_address(issuer_account)
    except InvalidInput as exc:
        raise _fail(w + "anchor.issuerAccount", exc.detail) from exc
    ref = AnchorRef(
        chain_id=_uint(anchor["chainId"], w + "anchor.chainId", minimum=1),
        contract=contract,
        transaction_hash=_hex_str(anchor["transactionHash"], w + "anchor.transactionHash"),
        block_number=_uint(anchor["blockNumber"], w + "anchor.blockNumber"),
        anchored_at=_time(anchor["anchoredAt"], w + "anchor.anchoredAt"),
        issuer_account=issuer_account,
    )
    if cacheable:
        if len(_ANCHORS) >= _ANCHORS_SIZE:
            _ANCHORS.clear()
        _ANCHORS[key] = ref
    return ref


def _previous(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if type(value) is not str or not value or len(value) > 512:
        raise _fail(field, "must be the id of the preceding proof (a string)")
    return value


def _hex_str(value: Any, field: str) -> str:
    _hex32(value, field)
    return value


def _our_proofs(credential: Mapping[str, Any]) -> list[tuple[int, Any]]:
    proofs = credential.get("proof")
    if not isinstance(proofs, list):
        return []
    return [
        (i, p)
        for i, p in enumerate(proofs)
        if (type(p) is dict or isinstance(p, Mapping)) and p.get("type") == PROOF_TYPE
    ]


def has_proof(credential: Mapping[str, Any]) -> bool:
    """True if the credential carries a CredanchorMerkleProof2026 (well-formed or not)."""
    return isinstance(credential, Mapping) and bool(_our_proofs(credential))


def extract_proof(credential: Mapping[str, Any]) -> CredanchorProof:
    """The credential's one CredanchorMerkleProof2026, strictly parsed.

    Other proof types in the array (a wallet's own signature, say) are ignored; none or more
    than one of ours is a ProofFormatError, since two anchors for one credential would leave the
    verifier to choose which to believe.
    """
    if not isinstance(credential, Mapping):
        raise ProofFormatError("a credential must be a JSON object", field="proof")
    if "proof" not in credential:
        raise ProofFormatError("the credential has no proof (not anchored yet?)", field="proof")
    if not isinstance(credential["proof"], list):
        raise ProofFormatError("proof must be an array of proof objects (OB 3.0)", field="proof")
    ours = _our_proofs(credential)
    if not ours:
        raise ProofFormatError(f"the credential has no {PROOF_TYPE} proof", field="proof")
    return _parse_ours(ours)


def find_proof(credential: Mapping[str, Any]) -> CredanchorProof | None:
    """``extract_proof(credential)`` if ``has_proof(credential)``, else None, looking through
    the proofs once: what a verifier asks of every file. ProofFormatError as extract_proof's
    (a proof of ours that is damaged, or two of them)."""
    if not isinstance(credential, Mapping):
        return None
    ours = _our_proofs(credential)
    return _parse_ours(ours) if ours else None


def _parse_ours(ours: list[tuple[int, Any]]) -> CredanchorProof:
    if len(ours) > 1:
        raise ProofFormatError(f"the credential has {len(ours)} {PROOF_TYPE} proofs", field="proof")
    index, obj = ours[0]
    return parse_proof(obj, where=f"proof[{index}]")


def attach_proof(
    credential: Mapping[str, Any], proof: CredanchorProof, *, check: bool = False
) -> dict[str, Any]:
    """A new dict: the credential with ``proof`` set to its other proofs plus this one.

    An earlier CredanchorMerkleProof2026 is replaced (re-anchoring must not leave two). With
    ``check=True`` the credential's hash is recomputed and must equal ``proof.credential_hash``
    (about 20 µs); batch issuance, which has just computed it, leaves it off.
    """
    if not isinstance(credential, Mapping):
        raise InvalidInput("a credential must be a JSON object")
    if not isinstance(proof, CredanchorProof):
        raise InvalidInput("proof must be a CredanchorProof")
    if check and credential_hash(credential) != proof.credential_hash:
        raise ProofFormatError(
            "the proof's credentialHash is not this credential's hash", field="credentialHash"
        )
    existing = credential.get("proof")
    # ``proof`` may hold one proof object or a list of them (VC Data Integrity): another
    # issuer proof (a signature) is kept either way, only an earlier anchor proof is replaced.
    if isinstance(existing, Mapping):
        existing = [existing]
    others: Sequence[Any] = (
        [p for p in existing if not (isinstance(p, Mapping) and p.get("type") == PROOF_TYPE)]
        if isinstance(existing, list)
        else []
    )
    out = {k: v for k, v in credential.items() if k != "proof"}
    out["proof"] = [*others, proof.to_json()]
    return out
