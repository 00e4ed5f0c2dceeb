"""Verification without any network: what the credential file alone can prove.

:func:`offline_checks` returns, in this order, the checks ``schema``, ``integrity``,
``signature``, ``merkle`` and ``validity`` (see credanchor.core.report for names and the status
precedence). The chain-backed verifier appends its own checks to these; :func:`verify_offline`
wraps them in a Report.

The ``signature`` check (credanchor.verify.signatures) needs the issuer's DID document. Both
functions take an optional ``resolver`` (DID -> DID document, e.g.
credanchor.verify.did_resolver.DidDocumentResolver). Without one — the default, so that an
offline check never touches the network — a did:key issuer is still checked (its document is
derived from the DID), while a did:web issuer's check is SKIPPED with ``data["reason"] =
"needs-network"`` and ``data["advisory"]``: the status is unchanged, and only the chain-backed
verifier, which always resolves, says whether the signature holds.

A credential without a CredanchorMerkleProof2026 may not be anchored yet, or may be made up:
its ``integrity`` and ``merkle`` checks are SKIPPED with ``data["pending"] = True``, so the
status is PENDING, and ``integrity`` says plainly that nothing about the file is confirmed
(``data["reason"] = "no-proof"``). The ``integrity`` check always carries the recomputed ``credentialHash`` (hex) in
its data when the document could be hashed, so callers need not hash it again.

Speed: the schema check costs about 15 µs for a valid credential (jsonschema-rs decides; see
credanchor.core.credentials.validate_credential) and about 0.5 ms for an invalid one, which
jsonschema words; hashing the file and the Merkle fold cost more than the schema check now.
``python bench/micro.py offline --bench 20000`` prints the rates with and without it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from credanchor.core.credentials import format_datetime, parse_datetime, validate_credential
from credanchor.core.dataintegrity import DidResolver
from credanchor.core.hashing import credential_hash, leaf_hash, loads_plain, to_hex
from credanchor.core.merkle import fold_proof
from credanchor.core.proof import CredanchorProof, find_proof
from credanchor.core.report import (
    CHECK_INTEGRITY,
    CHECK_MERKLE,
    CHECK_SCHEMA,
    CHECK_VALIDITY,
    REASON_EXPIRED,
    REASON_NO_PROOF,
    REASON_NOT_YET_VALID,
    Check,
    Outcome,
    Report,
    overall_status,
)
from credanchor.errors import CanonicalizationError, InvalidInput, ProofFormatError, SchemaInvalid
from credanchor.verify.signatures import signature_check

__all__ = ["offline_checks", "offline_checks_and_proof", "verify_offline"]


@functools.lru_cache(maxsize=1024)
def _human_time(dt: datetime) -> str:
    """ "1 March 2027", with the time only when it is not midnight UTC."""
    text = f"{dt.day} {dt:%B %Y}"
    if (dt.hour, dt.minute, dt.second) != (0, 0, 0):
        text += f" {dt:%H:%M} UTC"
    return text


def _schema_check(credential: Mapping[str, Any], enabled: bool, from_json: bool = False) -> Check:
    """``from_json``: the credential is, unchanged, what the strict parser made of a file."""
    if not enabled:
        return Check(CHECK_SCHEMA, Outcome.SKIPPED, "Not checked: format validation is off.")
    try:
        validate_credential(credential, from_json=from_json)
    except SchemaInvalid as exc:
        return Check(
            CHECK_SCHEMA,
            Outcome.FAIL,
            f"The badge does not follow the Open Badges 3.0 standard ({exc.detail}).",
            {"errors": exc.extra.get("errors", [])},
        )
    return Check(CHECK_SCHEMA, Outcome.PASS, "The badge follows the Open Badges 3.0 standard.")


def _proof_checks(credential: Mapping[str, Any], parsed: CredanchorProof | None = None,
                  plain: bool = False) -> tuple[Check, Check, Any]:
    """(integrity, merkle, parsed proof or None). ``parsed``: ``extract_proof(credential)``
    already made by the caller; ``plain``: see credanchor.core.hashing.loads_plain."""
    computed: bytes | None
    try:
        computed = credential_hash(credential, plain=plain)
        hash_data: dict[str, Any] = {"credentialHash": to_hex(computed)}
    except (CanonicalizationError, InvalidInput) as exc:
        computed, hash_data = None, {"problem": exc.detail}

    try:
        proof = parsed if parsed is not None else find_proof(credential)
    except ProofFormatError as exc:
        field = exc.extra.get("field")
        return (
            Check(
                CHECK_INTEGRITY,
                Outcome.FAIL,
                f"The badge's proof is damaged or in an unknown format ({exc.detail}).",
                {**hash_data, "field": field},
            ),
            Check(
                CHECK_MERKLE,
                Outcome.FAIL,
                "The badge's membership in a recorded batch cannot be checked: its proof is "
                "damaged.",
                {"field": field},
            ),
            None,
        )
    if proof is None:
        # Plain words: anyone can type a file like this one. PENDING only says it may yet be
        # recorded; nothing in it is confirmed, and the reader must not be told otherwise.
        note = "Not checked: the file carries no blockchain proof."
        if computed is None:  # then it never can be: PENDING would promise what cannot come
            return (
                Check(
                    CHECK_INTEGRITY,
                    Outcome.FAIL,
                    "The badge contains data that cannot be fingerprinted, so it can never be "
                    f"recorded on the blockchain ({hash_data['problem']}).",
                    hash_data,
                ),
                Check(CHECK_MERKLE, Outcome.SKIPPED, note, {"pending": True}),
                None,
            )
        return (
            Check(
                CHECK_INTEGRITY,
                Outcome.SKIPPED,
                "Nothing about this file is confirmed: it carries no blockchain proof, so "
                "neither its content nor its issuer can be checked. Anyone can write a file "
                "like this; trust it only once its issuer has recorded it.",
                {**hash_data, "pending": True, "reason": REASON_NO_PROOF},
            ),
            Check(CHECK_MERKLE, Outcome.SKIPPED, note, {"pending": True}),
            None,
        )
    if computed is None:
        integrity = Check(
            CHECK_INTEGRITY,
            Outcome.FAIL,
            "The badge contains data that cannot be fingerprinted, so it cannot be the badge "
            f"that was issued ({hash_data['problem']}).",
            {**hash_data, "expected": to_hex(proof.credential_hash)},
        )
    elif computed == proof.credential_hash:
        integrity = Check(
            CHECK_INTEGRITY,
            Outcome.PASS,
            "The badge has not been altered: its content matches the fingerprint in its proof.",
            hash_data,
        )
    else:
        integrity = Check(
            CHECK_INTEGRITY,
            Outcome.FAIL,
            "The badge has been altered since it was issued: its content no longer matches "
            "its fingerprint.",
            {**hash_data, "expected": to_hex(proof.credential_hash)},
        )

    # Folded from the proof's own credentialHash, so this check answers a separate question
    # (does that hash belong to that root?) from integrity (is this document that hash?).
    root = fold_proof(leaf_hash(proof.credential_hash), proof.merkle_proof)
    data = {"merkleRoot": to_hex(proof.merkle_root), "proofLength": len(proof.merkle_proof)}
    if root == proof.merkle_root:
        merkle = Check(
            CHECK_MERKLE,
            Outcome.PASS,
            "The badge is part of the batch its issuer recorded: its Merkle proof leads to the "
            "batch fingerprint.",
            data,
        )
    else:
        merkle = Check(
            CHECK_MERKLE,
            Outcome.FAIL,
            "The badge's proof does not lead to the batch fingerprint it names: the proof was "
            "altered or belongs to another badge.",
            {**data, "computedRoot": to_hex(root)},
        )
    return integrity, merkle, proof


def _validity_check(credential: Mapping[str, Any], now: datetime) -> Check:
    raw_from, raw_until = credential.get("validFrom"), credential.get("validUntil")
    data: dict[str, Any] = {
        "validFrom": raw_from,
        "validUntil": raw_until,
        "checkedAt": format_datetime(now),
    }
    try:
        valid_from = parse_datetime(raw_from)
    except ValueError:
        return Check(
            CHECK_VALIDITY,
            Outcome.FAIL,
            "The badge has no readable start date (validFrom), so its validity is unknown.",
            {**data, "reason": "bad-date"},
        )
    valid_until = None
    if raw_until is not None:
        try:
            valid_until = parse_datetime(raw_until)
        except ValueError:
            return Check(
                CHECK_VALIDITY,
                Outcome.FAIL,
                "The badge's end date (validUntil) is unreadable, so its validity is unknown.",
                {**data, "reason": "bad-date"},
            )
    if now < valid_from:
        return Check(
            CHECK_VALIDITY,
            Outcome.FAIL,
            f"This badge is not valid yet: it only becomes valid on {_human_time(valid_from)}.",
            {**data, "reason": REASON_NOT_YET_VALID},
        )
    if valid_until is not None and now >= valid_until:
        return Check(
            CHECK_VALIDITY,
            Outcome.FAIL,
            f"This badge expired on {_human_time(valid_until)}.",
            {**data, "reason": REASON_EXPIRED},
        )
    until = f" until {_human_time(valid_until)}" if valid_until else ", with no expiry date"
    return Check(
        CHECK_VALIDITY,
        Outcome.PASS,
        f"The badge is within its validity period: from {_human_time(valid_from)}{until}.",
        data,
    )


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise InvalidInput("now must be a timezone-aware datetime")
    return now


def _checks_and_proof(
    credential: Mapping[str, Any], now: datetime | None, schema: bool,
    resolver: DidResolver | None, parsed: CredanchorProof | None = None, plain: bool = False,
) -> tuple[list[Check], CredanchorProof | None]:
    if not isinstance(credential, Mapping):
        raise InvalidInput("a credential must be a JSON object")
    when = _now(now)
    integrity, merkle, proof = _proof_checks(credential, parsed, plain)
    # The issuer's keys as they stood when the badge was recorded (a key retired since still
    # vouches for it); with no anchor yet, as they stand now.
    at = when if proof is None else proof.anchor.anchored_at
    return [
        _schema_check(credential, schema, plain),
        integrity,
        signature_check(credential, at=at, resolver=resolver),
        merkle,
        _validity_check(credential, when),
    ], proof


def offline_checks(
    credential: Mapping[str, Any], *, now: datetime | None = None, schema: bool = True,
    resolver: DidResolver | None = None,
) -> list[Check]:
    """The checks ``schema``, ``integrity``, ``signature``, ``merkle``, ``validity``, in that
    order. ``resolver``: DID -> DID document for the signature (None: did:key only, offline).
    A resolver's DidUnreachable makes ``signature`` ERROR."""
    return _checks_and_proof(credential, now, schema, resolver)[0]


def offline_checks_and_proof(
    credential: Mapping[str, Any], *, now: datetime | None = None, schema: bool = True,
    resolver: DidResolver | None = None, proof: CredanchorProof | None = None,
    plain: bool = False,
) -> tuple[list[Check], CredanchorProof | None]:
    """:func:`offline_checks` and the proof they parsed (None: the file has none, or it is
    damaged), so that the chain checks need not parse it again (~0.06 ms a file). ``proof``:
    ``extract_proof(credential)``, when the caller has parsed it already. ``plain``: the
    credential is, unchanged, what ``credanchor.core.hashing.loads_plain`` parsed and called
    plain (it is then hashed without the canonical form's guard, ~15 µs a file)."""
    return _checks_and_proof(credential, now, schema, resolver, proof, plain)


def verify_offline(
    credential: Mapping[str, Any] | bytes | str, now: datetime | None = None, *,
    schema: bool = True, resolver: DidResolver | None = None,
) -> Report:
    """Offline checks folded into a Report. ``credential``: the parsed document, or the
    file's bytes (or text), which are parsed strictly here (InvalidInput if they are not
    JSON without ambiguity, see credanchor.core.hashing.loads_strict) and then hashed the
    fast way when their text allows (loads_plain).

    WARNING: VALID here means intact and self-consistent, not authentic — the root has not
    been looked up on chain. Use the chain-backed verifier to tell a genuine badge from one
    built by a forger around a root of their own.
    """
    document: Any = credential
    plain = False
    if isinstance(credential, bytes | bytearray | memoryview | str):
        document, plain = loads_plain(credential)
    checks, proof = _checks_and_proof(document, now, schema, resolver, plain=plain)
    integrity = checks[1]
    issuer = document.get("issuer")
    issuer_info: dict[str, Any] | None = None
    if isinstance(issuer, Mapping):
        issuer_info = {"id": issuer.get("id"), "name": issuer.get("name")}
    elif isinstance(issuer, str):
        issuer_info = {"id": issuer}
    cid = document.get("id")
    return Report(
        status=overall_status(checks),
        checks=tuple(checks),
        credential_id=cid if isinstance(cid, str) else None,
        credential_hash=integrity.data.get("credentialHash"),
        issuer=issuer_info,
        anchor=None if proof is None else proof.anchor.to_json(),
    )
