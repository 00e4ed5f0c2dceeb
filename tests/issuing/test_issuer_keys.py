"""An issuer's Ed25519 key ring on disk: real files, real Web3 Secret Storage encryption
(scrypt with a small work factor), rotation, and no secret in any repr, log or file in clear."""

from __future__ import annotations

import json
import logging
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from credanchor.core import dataintegrity
from credanchor.core.did_document import issuer_did_document, parse_did_document
from credanchor.core.multikey import Ed25519KeyPair
from credanchor.errors import Conflict, KeyUnavailable
from credanchor.issuing.issuer_keys import IssuerKeyRing

PASSWORD = "correct horse battery staple"
ISSUER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ring(tmp_path: Path, clock: Clock) -> IssuerKeyRing:
    return IssuerKeyRing(tmp_path / "keys", ISSUER, work_factor=2**4, clock=clock)


def secrets_of(key: Ed25519KeyPair) -> list[str]:
    secret = key.secret_multibase()
    from credanchor.core.multikey import decode_secret_multibase

    seed = decode_secret_multibase(secret)
    return [secret, seed.hex(), seed.hex().upper()]


def test_create_and_load(ring: IssuerKeyRing) -> None:
    key = Ed25519KeyPair.generate()
    info = ring.create(PASSWORD, key=key)
    assert info.public_multibase == key.public_multibase
    assert info.created == T0 and info.retired is None and info.current
    assert ring.list_keys() == (info,)
    assert ring.current() == info
    loaded = ring.load_current(PASSWORD)
    assert loaded.public_key == key.public_key
    assert loaded.sign(b"m") == key.sign(b"m")  # Ed25519 is deterministic: the same seed
    key_file = ring.directory / info.file
    for path in (key_file, ring.index_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(key_file.read_text())
    assert stored["crypto"]["kdf"] == "scrypt" and stored["version"] == 3
    assert "address" not in stored  # a secp256k1 address of an Ed25519 seed would mislead
    assert stored["credanchor"]["publicKeyMultibase"] == key.public_multibase


def test_create_twice_is_a_conflict(ring: IssuerKeyRing) -> None:
    ring.create(PASSWORD)
    with pytest.raises(Conflict, match="already has"):
        ring.create(PASSWORD)


def test_rotation_retires_the_old_key(ring: IssuerKeyRing, clock: Clock) -> None:
    old = ring.create(PASSWORD)
    clock.now = T0 + timedelta(days=30, microseconds=7)
    new = ring.rotate(PASSWORD)
    when = T0 + timedelta(days=30)
    assert [k.public_multibase for k in ring.list_keys()] == [
        old.public_multibase,
        new.public_multibase,
    ]
    retired, current = ring.list_keys()
    assert retired.retired == when and not retired.current
    assert current.created == when and current.current
    assert ring.load_current(PASSWORD).public_multibase == new.public_multibase
    # the retired key can still be opened (e.g. to re-sign), by its public key
    assert ring.load(old.public_multibase, PASSWORD).public_multibase == old.public_multibase
    # a second rotation at an explicit time
    third = ring.rotate(PASSWORD, at=when + timedelta(days=1))
    assert [k.retired for k in ring.list_keys()] == [when, when + timedelta(days=1), None]
    assert ring.current() == third


def test_rotation_needs_the_current_password(ring: IssuerKeyRing) -> None:
    ring.create(PASSWORD)
    with pytest.raises(KeyUnavailable, match="wrong password"):
        ring.rotate("not the password")
    assert len(ring.list_keys()) == 1  # nothing changed


def test_the_ring_feeds_the_did_document(ring: IssuerKeyRing, clock: Clock) -> None:
    did = "did:web:badges.northwind.example"
    first = ring.create(PASSWORD)
    old_key = ring.load_current(PASSWORD)
    clock.now = T0 + timedelta(days=30)
    second = ring.rotate(PASSWORD)
    doc = issuer_did_document(did, ring.issuer_keys())
    parsed = parse_did_document(doc, did)
    assert parsed.is_assertion_method(f"{did}#{second.public_multibase}")
    assert parsed.revoked(f"{did}#{first.public_multibase}") == clock.now
    signed = dataintegrity.add_proof(
        {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"],
         "issuer": did, "credentialSubject": {"id": "did:example:holder"}},
        ring.load_current(PASSWORD),
        verification_method=f"{did}#{second.public_multibase}",
    )  # fmt: skip
    assert dataintegrity.verify(signed, resolver=doc).verified
    assert old_key.public_multibase == first.public_multibase


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda ring: ring.index_path.unlink(), "no Ed25519 key ring"),
        (lambda ring: ring.index_path.write_text("{"), "not a credanchor key ring index"),
        (lambda ring: (ring.directory / ring.current().file).unlink(), "does not exist"),
        (lambda ring: (ring.directory / ring.current().file).write_text("[]"),
         "not a Web3 Secret Storage"),
    ],
)  # fmt: skip
def test_damaged_rings_are_key_unavailable(ring: IssuerKeyRing, damage, match: str) -> None:
    ring.create(PASSWORD)
    damage(ring)
    with pytest.raises(KeyUnavailable, match=match):
        ring.load_current(PASSWORD)


def test_wrong_password_and_swapped_files(ring: IssuerKeyRing, tmp_path: Path) -> None:
    info = ring.create(PASSWORD)
    with pytest.raises(KeyUnavailable, match="wrong password"):
        ring.load_current("nope")
    other = IssuerKeyRing(tmp_path / "other", "acme", work_factor=2**4)
    other_info = other.create(PASSWORD)
    # a key file replaced by another key's (same password): caught against the index
    (ring.directory / info.file).unlink()
    (ring.directory / info.file).write_bytes((other.directory / other_info.file).read_bytes())
    with pytest.raises(KeyUnavailable, match="another key than the index"):
        ring.load_current(PASSWORD)


def test_issuer_names_cannot_escape_the_directory(tmp_path: Path) -> None:
    from credanchor.errors import ConfigError

    for bad in ("../x", "a/b", "", ".hidden"):
        with pytest.raises(ConfigError):
            IssuerKeyRing(tmp_path, bad)


def test_secret_never_in_repr_logs_or_index(
    ring: IssuerKeyRing, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = Ed25519KeyPair.generate()
    ring.create(PASSWORD, key=key)
    loaded = ring.load_current(PASSWORD)
    clock.now = T0 + timedelta(days=1)
    new_key = Ed25519KeyPair.generate()
    ring.rotate(PASSWORD, key=new_key)
    with pytest.raises(KeyUnavailable) as failure:
        ring.load_current("wrong")
    shown = " ".join([
        repr(ring), str(ring), repr(loaded), str(loaded), repr(ring.list_keys()), str(failure.value),
        caplog.text, ring.index_path.read_text(),
        *((ring.directory / k.file).read_text() for k in ring.list_keys()),
    ])  # fmt: skip
    assert key.public_multibase in caplog.text  # the log does say what happened
    for secret in [*secrets_of(key), *secrets_of(new_key), PASSWORD]:
        assert secret not in shown
