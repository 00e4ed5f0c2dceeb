"""A did:web DID document built by credanchor (core.did_document, from a real key ring) is
accepted by the two third-party verifiers (tests/interop/verifiers.mjs, docs/interop.md), for
badges signed by credanchor's own Data Integrity signer.

What they do with a retired key is pinned too: neither reads ``revoked``. A retired key
dropped from ``assertionMethod`` (what credanchor publishes) is refused by both, whenever it
signed; the same key left under ``assertionMethod`` with ``revoked`` set would be accepted
by both even for a signature made after its retirement. That is why credanchor removes it.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from credanchor.core import dataintegrity
from credanchor.core.did_document import (
    AnchorAccount,
    issuer_did_document,
    key_method_id,
    parse_did_document,
)
from credanchor.core.multikey import Ed25519KeyPair
from credanchor.issuing.issuer_keys import IssuerKeyRing
from interop import verifiers
from interop.test_interop_harness import make_badge
from interop.verifiers import Verdict

pytestmark = pytest.mark.interop

DID = "did:web:badges.northwind.example"
ACCOUNT = AnchorAccount(31337, "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266")
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
RETIRED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PASSWORD = "interop ring"


def sign(key: Ed25519KeyPair, created: datetime) -> dict[str, Any]:
    return dataintegrity.add_proof(
        make_badge(DID),
        key,
        verification_method=key_method_id(DID, key.public_multibase),
        created=created,
    )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("did-interop")
    now = [T0]
    ring = IssuerKeyRing(tmp / "keys", "northwind", work_factor=2**4, clock=lambda: now[0])
    ring.create(PASSWORD)
    old = ring.load_current(PASSWORD)
    now[0] = RETIRED
    ring.rotate(PASSWORD)
    new = ring.load_current(PASSWORD)
    document = issuer_did_document(DID, ring.issuer_keys(), [ACCOUNT])
    naive = copy.deepcopy(document)  # the retired key left under assertionMethod
    naive["assertionMethod"].append(key_method_id(DID, old.public_multibase))
    paths = {}
    for name, doc in {"published": document, "naive": naive}.items():
        paths[name] = tmp / f"{name}.json"
        paths[name].write_text(json.dumps(doc), encoding="utf-8")
    badges = {
        "current": sign(new, RETIRED + timedelta(days=1)),
        "retired_before": sign(old, RETIRED - timedelta(days=1)),
        "retired_after": sign(old, RETIRED + timedelta(days=1)),
    }
    return {
        "document": document,
        "old": old,
        "badges": badges,
        "published": verifiers.verify_documents(
            badges, tmp / "published", did_docs={DID: paths["published"]}
        ),
        "naive": verifiers.verify_documents(badges, tmp / "naive", did_docs={DID: paths["naive"]}),
    }


def test_document_shape_is_what_we_publish(setup: dict[str, Any]) -> None:
    doc = setup["document"]
    old_id = key_method_id(DID, setup["old"].public_multibase)
    assert [vm["type"] for vm in doc["verificationMethod"]] == [
        "Multikey",
        "Multikey",
        "EcdsaSecp256k1RecoveryMethod2020",
    ]
    assert doc["verificationMethod"][0]["revoked"] == "2026-03-01T12:00:00Z"
    assert old_id not in doc["assertionMethod"]


def test_current_key_accepted_by_both_verifiers(setup: dict[str, Any]) -> None:
    v: Verdict = setup["published"]["current"]
    assert v.offline_complete, v.refused
    assert v.core_valid, v.verifier_core
    assert v.db_valid, v.db_vc
    assert dataintegrity.verify(setup["badges"]["current"], resolver=setup["document"]).verified


@pytest.mark.parametrize("case", ["retired_before", "retired_after"])
def test_retired_key_refused_by_both_verifiers(setup: dict[str, Any], case: str) -> None:
    v: Verdict = setup["published"][case]
    assert v.offline_complete, v.refused
    assert v.core_signature is False
    assert [e["name"] for e in v.verifier_core["errors"]] == ["invalid_signature"]
    assert not v.db_valid
    assert "not authorized by controller" in v.db_vc["error"]


def test_our_verifier_accepts_a_retired_key_only_before_its_retirement(
    setup: dict[str, Any],
) -> None:
    parsed = parse_did_document(setup["document"], DID)
    badges = setup["badges"]
    before, after = RETIRED - timedelta(hours=1), RETIRED + timedelta(hours=1)
    # the anchor time (here: a time either side of the retirement) decides, not `created`
    assert dataintegrity.verify(
        badges["retired_before"], resolver=parsed.assertion_view(before)
    ).verified
    assert not dataintegrity.verify(
        badges["retired_before"], resolver=parsed.assertion_view(after)
    ).verified
    assert not dataintegrity.verify(badges["retired_before"], resolver=setup["document"]).verified


@pytest.mark.parametrize("case", ["current", "retired_before", "retired_after"])
def test_neither_verifier_reads_revoked(setup: dict[str, Any], case: str) -> None:
    """Left under assertionMethod, a revoked key passes both, even after its revocation."""
    v: Verdict = setup["naive"][case]
    assert v.offline_complete and v.accepted, (v.verifier_core, v.db_vc)


def test_document_file_round_trips(setup: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "did.json"
    path.write_text(json.dumps(setup["document"]))
    parsed = parse_did_document(json.loads(path.read_text()), DID)
    assert parsed.anchor_accounts == (ACCOUNT,)
