"""Builders shared by the core tests: real credentials, real trees, fixed clocks and seeds."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from credanchor.core.credentials import (
    AchievementSpec,
    Alignment,
    Evidence,
    IssuerProfile,
    Recipient,
    build_credential,
)
from credanchor.core.hashing import credential_hash
from credanchor.core.merkle import MerkleTree
from credanchor.core.proof import AnchorRef, CredanchorProof, attach_proof

VECTORS = Path(__file__).resolve().parent.parent / "vectors"

ISSUER = IssuerProfile(
    address="0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    chain_id=31337,
    name="Northwind Skills Academy",
    url="https://skills.northwind.example",
)
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ACHIEVEMENT = AchievementSpec(
    name="Spreadsheet Modelling",
    description="Builds, tests and documents financial models in spreadsheets.",
    criteria_narrative="Passed a supervised three-hour practical assessment.",
    criteria_url="https://skills.northwind.example/criteria/spreadsheet-modelling",
    image_url="https://skills.northwind.example/badges/spreadsheet-modelling.png",
    alignments=(
        Alignment(
            target_name="use spreadsheets software",
            target_url="https://frameworks.example/esco/use-spreadsheets-software",
            target_code="S5.6.1",
            target_framework="ESCO",
        ),
    ),
    achievement_id="https://skills.northwind.example/achievements/spreadsheet-modelling",
)
VALID_FROM = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
VALID_UNTIL = datetime(2029, 1, 15, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


_SEEDED = random.Random(0)  # sentinel: "seed from i"


def make_credential(i: int = 0, *, rng: random.Random | None = _SEEDED, **kw: Any) -> dict:
    """Credential number i; reproducible unless rng=None (then the OS CSPRNG is used)."""
    args: dict[str, Any] = {
        "issuer": ISSUER,
        "recipient": Recipient(
            name=f"Learner {i}", email=f"Learner{i}@Example.org", identifier=f"S{i:07d}"
        ),
        "achievement": ACHIEVEMENT,
        "valid_from": VALID_FROM,
        "valid_until": VALID_UNTIL,
        "evidence": (Evidence(id=f"https://portfolio.example/{i}", name="Final model"),),
        "rng": random.Random(i) if rng is _SEEDED else rng,
    }
    args.update(kw)
    return build_credential(**args)


def anchor_batch(credentials: list[dict], *, block: int = 42) -> list[dict]:
    """Hash, build the tree and attach proofs, as issuance would after anchoring."""
    hashes = [credential_hash(c) for c in credentials]
    tree = MerkleTree.from_credential_hashes(hashes)
    anchor = AnchorRef(
        chain_id=31337,
        contract=CONTRACT,
        transaction_hash="0x" + "ab" * 32,
        block_number=block,
        anchored_at=datetime(2026, 1, 15, 9, 5, tzinfo=UTC),
        issuer_account=ISSUER.address,
    )
    created = datetime(2026, 1, 15, 9, 6, tzinfo=UTC)
    return [
        attach_proof(c, CredanchorProof(h, tree.root, tuple(p), anchor, created), check=True)
        for c, h, p in zip(credentials, hashes, tree.iter_proofs(), strict=True)
    ]
