"""An issuer's DID document: built from real Ed25519 keys, read back, and used by the real
Data Integrity verifier (core.dataintegrity), including a retired key."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from credanchor.core import dataintegrity
from credanchor.core.did_document import (
    ACCOUNT_METHOD_TYPE,
    AnchorAccount,
    IssuerKey,
    account_method_id,
    issuer_did_document,
    key_method_id,
    parse_did_document,
)
from credanchor.core.jsonld import DID_V1, MULTIKEY_V1
from credanchor.core.multikey import Ed25519KeyPair, did_key_document
from credanchor.errors import DidDocumentInvalid, DidError, KeyFormatError

DID = "did:web:badges.northwind.example"
OLD = Ed25519KeyPair.from_seed(hashlib.sha256(b"did-doc old key").digest())
NEW = Ed25519KeyPair.from_seed(hashlib.sha256(b"did-doc new key").digest())
CREATED = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
RETIRED = datetime(2026, 5, 1, 12, 0, 30, 250000, tzinfo=UTC)
ACCOUNT = AnchorAccount(11155111, "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266")


def rotated() -> dict:
    keys = [
        IssuerKey(OLD.public_multibase, CREATED, RETIRED),
        IssuerKey(NEW.public_multibase, RETIRED),
    ]
    return issuer_did_document(DID, keys, [ACCOUNT])


def test_did_web_document_shape() -> None:
    doc = rotated()
    old_id, new_id = f"{DID}#{OLD.public_multibase}", f"{DID}#{NEW.public_multibase}"
    assert doc == {
        "@context": [DID_V1, MULTIKEY_V1],
        "id": DID,
        "verificationMethod": [
            {"id": old_id, "type": "Multikey", "controller": DID,
             "publicKeyMultibase": OLD.public_multibase, "revoked": "2026-05-01T12:00:30Z"},
            {"id": new_id, "type": "Multikey", "controller": DID,
             "publicKeyMultibase": NEW.public_multibase},
            {"id": f"{DID}#eip155-11155111-0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
             "type": ACCOUNT_METHOD_TYPE, "controller": DID,
             "blockchainAccountId": "eip155:11155111:0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"},
        ],
        "assertionMethod": [new_id],
        "authentication": [new_id],
    }  # fmt: skip
    assert key_method_id(DID, NEW.public_multibase) == new_id
    assert account_method_id(DID, ACCOUNT) == doc["verificationMethod"][2]["id"]


def test_did_key_document_delegates_to_multikey() -> None:
    keys = [IssuerKey(NEW.public_multibase), IssuerKey(OLD.public_multibase, retired=RETIRED)]
    assert issuer_did_document(NEW.did, keys) == did_key_document(NEW.did)
    assert issuer_did_document(NEW.did) == did_key_document(NEW.did)
    with pytest.raises(DidError, match="not a current key"):
        issuer_did_document(OLD.did, keys)  # retired
    with pytest.raises(DidError, match="cannot name an anchoring account"):
        issuer_did_document(NEW.did, keys, [ACCOUNT])


@pytest.mark.parametrize(
    ("did", "keys", "match"),
    [
        (DID, [], "at least one current"),
        (DID, [IssuerKey(OLD.public_multibase, retired=RETIRED)], "at least one current"),
        (DID, [IssuerKey(NEW.public_multibase)] * 2, "listed twice"),
        ("did:web:127.0.0.1", [IssuerKey(NEW.public_multibase)], "DNS name"),
        ("did:example:123", [IssuerKey(NEW.public_multibase)], "not a did:web"),
    ],
)
def test_build_refuses(did: str, keys: list[IssuerKey], match: str) -> None:
    with pytest.raises(DidError, match=match):
        issuer_did_document(did, keys)


def test_build_input_checks() -> None:
    with pytest.raises(KeyFormatError):
        IssuerKey("z6MkNotAKey")
    with pytest.raises(ValueError, match="aware"):
        IssuerKey(NEW.public_multibase, datetime(2026, 1, 1))  # naive on purpose
    with pytest.raises(ValueError, match="address"):
        AnchorAccount(1, "0x1234")
    with pytest.raises(ValueError, match="positive"):
        AnchorAccount(0, ACCOUNT.address)


def test_parse_lookups() -> None:
    parsed = parse_did_document(rotated(), DID)
    old_id, new_id = f"{DID}#{OLD.public_multibase}", f"{DID}#{NEW.public_multibase}"
    assert parsed.method(new_id) is not None
    assert parsed.method(f"#{NEW.public_multibase}") == parsed.method(new_id)
    assert parsed.method(f"{DID}#nothing") is None
    assert parsed.is_assertion_method(new_id) and not parsed.is_assertion_method(old_id)
    assert parsed.revoked(old_id) == RETIRED.replace(microsecond=0)
    assert parsed.revoked(new_id) is None
    assert parsed.is_revoked(old_id) and not parsed.is_revoked(new_id)
    assert not parsed.is_revoked(old_id, at=RETIRED - timedelta(days=1))
    assert parsed.is_revoked(old_id, at=RETIRED.replace(microsecond=0))  # "at or after"
    assert parsed.blockchain_account_ids == (
        "eip155:11155111:0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    )
    assert parsed.anchor_accounts == (ACCOUNT,)
    assert parsed.names_account(11155111, ACCOUNT.address.lower())
    assert not parsed.names_account(1, ACCOUNT.address)
    # the account and the key: each found from the other
    assert parsed.method(account_method_id(DID, ACCOUNT)).blockchain_account_id == ACCOUNT.caip10


def test_assertion_key_at_and_view() -> None:
    parsed = parse_did_document(rotated(), DID)
    old_id, new_id = f"{DID}#{OLD.public_multibase}", f"{DID}#{NEW.public_multibase}"
    before, after = RETIRED - timedelta(hours=1), RETIRED + timedelta(hours=1)
    assert parsed.assertion_key_at(old_id, before) == OLD.public_key
    assert parsed.assertion_key_at(old_id, after) is None
    assert parsed.assertion_key_at(new_id, after) == NEW.public_key
    assert parsed.assertion_key_at(account_method_id(DID, ACCOUNT), before) is None
    assert parsed.assertion_view(before)["assertionMethod"] == [old_id, new_id]
    assert parsed.assertion_view(after)["assertionMethod"] == [new_id]


def test_revoked_key_outside_every_relationship_only() -> None:
    """A revoked key that another relationship still lists was never a retired assertion key."""
    doc = rotated()
    old_id = f"{DID}#{OLD.public_multibase}"
    doc["authentication"].append(old_id)
    before = RETIRED - timedelta(hours=1)
    assert parse_did_document(doc, DID).assertion_key_at(old_id, before) is None


def badge(issuer: str) -> dict:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "validFrom": "2026-03-02T09:00:00Z",
        "credentialSubject": {"id": "did:example:holder"},
    }


def test_core_verifier_uses_the_document() -> None:
    doc = rotated()
    new_signed = dataintegrity.add_proof(
        badge(DID), NEW, verification_method=f"{DID}#{NEW.public_multibase}",
        created="2026-06-01T00:00:00Z",
    )  # fmt: skip
    assert dataintegrity.verify(new_signed, resolver=doc).verified
    old_signed = dataintegrity.add_proof(
        badge(DID), OLD, verification_method=f"{DID}#{OLD.public_multibase}",
        created="2026-04-01T00:00:00Z",
    )  # fmt: skip
    result = dataintegrity.verify(old_signed, resolver=doc)
    assert not result.verified
    assert result.proofs[0].failure == dataintegrity.Failure.METHOD_NOT_AUTHORIZED
    parsed = parse_did_document(doc, DID)
    anchored_before = RETIRED - timedelta(days=10)
    assert dataintegrity.verify(
        old_signed, resolver=parsed.assertion_view(anchored_before)
    ).verified
    anchored_after = RETIRED + timedelta(seconds=1)
    assert not dataintegrity.verify(
        old_signed, resolver=parsed.assertion_view(anchored_after)
    ).verified


def test_parse_accepts_relative_ids_and_embedded_methods() -> None:
    doc = {
        "id": DID,
        "verificationMethod": [],
        "assertionMethod": [{"id": "#k", "type": "Multikey", "controller": DID,
                             "publicKeyMultibase": NEW.public_multibase}],
    }  # fmt: skip
    parsed = parse_did_document(doc, DID)
    assert parsed.is_assertion_method(f"{DID}#k")
    assert parsed.method("#k").ed25519_public_key == NEW.public_key


def _broken(path: str, value: object) -> dict:
    doc = copy.deepcopy(rotated())
    target, key = doc, path
    if "." in path:
        index, key = path.split(".")
        target = doc["verificationMethod"][int(index)]
    if value is KeyError:
        del target[key]
    else:
        target[key] = value
    return doc


@pytest.mark.parametrize(
    ("document", "match"),
    [
        ([], "JSON object"),
        (_broken("id", "did:web:elsewhere.example"), "not 'did:web:badges"),
        (_broken("id", 5), "not a DID"),
        (_broken("verificationMethod", {}), "must be a list"),
        (_broken("0.id", "no-fragment"), "not a DID URL"),
        (_broken("0.type", KeyError), "has no type"),
        (_broken("0.controller", KeyError), "no controller"),
        (_broken("0.revoked", "2026-05-01T12:00:00"), "dateTimeStamp"),  # no time zone
        (_broken("0.revoked", "2026-13-01T12:00:00Z"), "not a valid date"),
        (_broken("1.id", f"{DID}#{OLD.public_multibase}"), "share an id"),
        (_broken("2.blockchainAccountId", "eip155:1:0x12"), "CAIP-10"),
        (_broken("assertionMethod", [7]), "not a method id"),
        (_broken("verificationMethod", [{"id": f"{DID}#{i}", "type": "Multikey",
                                         "controller": DID} for i in range(65)]), "more than 64"),
    ],
)  # fmt: skip
def test_parse_refuses(document: object, match: str) -> None:
    with pytest.raises(DidDocumentInvalid, match=match):
        parse_did_document(document, DID)
    assert issubclass(DidDocumentInvalid, DidError)  # INVALID family, never ERROR
