"""The CredanchorMerkleProof2026 a holder carries: shape, round trip, strict parsing."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from credanchor.core.credentials import validate_credential
from credanchor.core.hashing import credential_hash, leaf_hash, to_hex
from credanchor.core.merkle import verify_proof
from credanchor.core.proof import (
    PROOF_TYPE,
    AnchorRef,
    CredanchorProof,
    attach_proof,
    extract_proof,
    find_proof,
    has_proof,
    parse_proof,
)
from credanchor.errors import InvalidInput, ProofFormatError
from kit.credentials import CONTRACT, make_credential

ISSUER_ACCOUNT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # ISSUER.address, EIP-55


def test_attached_proof_shape(anchored):
    c = anchored[1]
    (p,) = c["proof"]
    assert list(p) == [
        "type",
        "created",
        "proofPurpose",
        "credentialHash",
        "merkleRoot",
        "merkleProof",
        "anchor",
    ]
    assert p["type"] == "CredanchorMerkleProof2026"
    assert p["created"] == "2026-01-15T09:06:00Z"
    assert p["proofPurpose"] == "assertionMethod"
    assert p["credentialHash"] == to_hex(credential_hash(c))
    assert p["anchor"] == {
        "chainId": 31337,
        "contract": CONTRACT,
        "issuerAccount": ISSUER_ACCOUNT,
        "transactionHash": "0x" + "ab" * 32,
        "blockNumber": 42,
        "anchoredAt": "2026-01-15T09:05:00Z",
    }
    # Five leaves fill tree indexes 4..8: index 4 is two levels deep, 5..8 three.
    assert len(p["merkleProof"]) in (2, 3)
    validate_credential(c)  # the OB 3.0 schema accepts the proof array


def test_extract_round_trips(anchored):
    for c in anchored:
        proof = extract_proof(c)
        assert proof.credential_hash == credential_hash(c)
        assert verify_proof(proof.merkle_root, leaf_hash(proof.credential_hash), proof.merkle_proof)
        assert proof.to_json() == c["proof"][0]
        assert parse_proof(proof.to_json()) == proof
        assert attach_proof(c, proof) == c


@pytest.mark.parametrize("created", ["2026-01-15T09:06:00Z", "2026-01-15T09:06:00.987654321Z"])
@pytest.mark.parametrize("previous", [None, "urn:uuid:1b0f4b9e-0000-4000-8000-000000000001"])
def test_a_parsed_proof_is_what_the_checked_constructor_makes(anchored, created, previous):
    # parse_proof builds its result without running __post_init__ again (core.proof
    # _checked_proof): every field, with its type, must be what the checking constructor makes.
    obj = copy.deepcopy(anchored[2]["proof"][0])
    obj["created"] = created
    if previous is not None:
        obj["previousProof"] = previous
    parsed = parse_proof(obj)
    checked = CredanchorProof(parsed.credential_hash, parsed.merkle_root,
                              list(parsed.merkle_proof), parsed.anchor,
                              datetime.fromisoformat(created[:26].rstrip("Z") + "+00:00"),
                              previous)
    assert dataclasses.astuple(parsed) == dataclasses.astuple(checked)
    for field in dataclasses.fields(CredanchorProof):
        got, want = getattr(parsed, field.name), getattr(checked, field.name)
        assert type(got) is type(want), field.name
    assert parsed.created == datetime(2026, 1, 15, 9, 6, tzinfo=UTC)
    assert parsed.created.utcoffset() == timedelta(0)
    assert type(parsed.merkle_proof) is tuple and all(len(n) == 32 for n in parsed.merkle_proof)
    assert parsed.to_json() == {**obj, "created": "2026-01-15T09:06:00Z"}


def test_the_proof_is_outside_the_hash(anchored):
    c = anchored[0]
    edited = copy.deepcopy(c)
    edited["proof"][0]["merkleRoot"] = "0x" + "00" * 32
    edited["proof"][0]["anchor"]["chainId"] = 1
    assert credential_hash(edited) == credential_hash(c)  # hence: checked against the chain
    unproved = {k: v for k, v in c.items() if k != "proof"}
    assert credential_hash(unproved) == credential_hash(c)


def test_attach_returns_a_new_dict_and_keeps_foreign_proofs():
    c = make_credential()
    foreign = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "proofValue": "z1"}
    c["proof"] = [foreign]
    before = copy.deepcopy(c)
    p = _proof(credential_hash(c))
    out = attach_proof(c, p)
    assert c == before
    assert out["proof"] == [foreign, p.to_json()]
    again = attach_proof(out, _proof(credential_hash(c), block=7))  # re-anchoring replaces ours
    assert [x["type"] for x in again["proof"]] == ["DataIntegrityProof", PROOF_TYPE]
    assert extract_proof(again).anchor.block_number == 7


def test_attach_keeps_a_single_foreign_proof_object():
    # VC Data Integrity allows `proof` to be one object: a signature given that way must stay
    # (it was dropped), before the anchor proof, so that the result is a proof set.
    c = make_credential()
    signature = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
                 "proofValue": "z1"}
    c["proof"] = signature
    p = _proof(credential_hash(c))
    out = attach_proof(c, p, check=True)
    assert out["proof"] == [signature, p.to_json()]
    assert extract_proof(out) == p


def test_attach_with_check_refuses_a_foreign_hash():
    c = make_credential()
    with pytest.raises(ProofFormatError, match="not this credential's hash"):
        attach_proof(c, _proof(b"\x01" * 32), check=True)
    assert attach_proof(c, _proof(b"\x01" * 32))["proof"]  # unchecked by default


def _proof(h: bytes, *, block: int = 1) -> CredanchorProof:
    anchor = AnchorRef(
        31337, CONTRACT.lower(), "0x" + "CD" * 32, block, datetime(2026, 2, 1, tzinfo=UTC),
        ISSUER_ACCOUNT,
    )
    return CredanchorProof(
        h, b"\x02" * 32, [b"\x03" * 32], anchor, datetime(2026, 2, 1, tzinfo=UTC)
    )


def test_values_are_normalised():
    cet = timezone(timedelta(hours=1))
    p = CredanchorProof(
        b"\x01" * 32,
        b"\x02" * 32,
        [b"\x03" * 32],
        AnchorRef(
            1, CONTRACT.lower(), "0x" + "CD" * 32, 1, datetime(2026, 2, 1, 10, 0, 0, 999, cet),
            ISSUER_ACCOUNT.lower(),
        ),
        datetime(2026, 2, 1, 10, 0, 1, 500_000, cet),
    )
    assert p.created == datetime(2026, 2, 1, 9, 0, 1, tzinfo=UTC)
    assert p.anchor.anchored_at == datetime(2026, 2, 1, 9, 0, 0, tzinfo=UTC)
    assert parse_proof(p.to_json()) == p
    assert p.anchor.contract == CONTRACT  # EIP-55 spelling
    assert p.anchor.issuer_account == ISSUER_ACCOUNT
    assert p.anchor.transaction_hash == "0x" + "cd" * 32  # lowercase
    assert p.merkle_proof == (b"\x03" * 32,)


@pytest.mark.parametrize(
    "factory,field",
    [
        (lambda: CredanchorProof(b"x", b"\x02" * 32, (), _anchor(), _t()), "credentialHash"),
        (
            lambda: CredanchorProof(b"\x01" * 32, b"\x02" * 32, (b"x",), _anchor(), _t()),
            "merkleProof[0]",
        ),
        (lambda: CredanchorProof(b"\x01" * 32, b"\x02" * 32, (), "anchor", _t()), "anchor"),
        (
            lambda: CredanchorProof(
                b"\x01" * 32, b"\x02" * 32, (), _anchor(), datetime(2026, 1, 1)
            ),
            "created",
        ),
        (lambda: AnchorRef(0, CONTRACT, "0x" + "00" * 32, 1, _t(), ISSUER_ACCOUNT),
         "anchor.chainId"),
        (lambda: AnchorRef(1, "0x1234", "0x" + "00" * 32, 1, _t(), ISSUER_ACCOUNT),
         "anchor.contract"),
        (lambda: AnchorRef(1, CONTRACT, "0x00", 1, _t(), ISSUER_ACCOUNT),
         "anchor.transactionHash"),
        (lambda: AnchorRef(1, CONTRACT, "0x" + "00" * 32, -1, _t(), ISSUER_ACCOUNT),
         "anchor.blockNumber"),
        (lambda: AnchorRef(1, CONTRACT, "0x" + "00" * 32, 1, _t(), "did:pkh:x"),
         "anchor.issuerAccount"),
    ],
)
def test_constructors_validate(factory, field):
    with pytest.raises(ProofFormatError) as exc:
        factory()
    assert exc.value.extra["field"] == field


def _t():
    return datetime(2026, 1, 1, tzinfo=UTC)


def _anchor():
    return AnchorRef(1, CONTRACT, "0x" + "00" * 32, 1, _t(), ISSUER_ACCOUNT)


def _mutated(c, fn):
    c = copy.deepcopy(c)
    fn(c["proof"][0])
    return c


@pytest.mark.parametrize(
    "mutate,field",
    [
        (lambda p: p.update(credentialHash="0x1234"), "proof[0].credentialHash"),
        (lambda p: p.update(credentialHash=p["credentialHash"][2:]), "proof[0].credentialHash"),
        (lambda p: p.update(merkleRoot=None), "proof[0].merkleRoot"),
        (lambda p: p.update(merkleProof="0x" + "00" * 32), "proof[0].merkleProof"),
        (lambda p: p["merkleProof"].__setitem__(1, "0xzz"), "proof[0].merkleProof[1]"),
        (lambda p: p.update(merkleProof=["0x" + "00" * 32] * 65), "proof[0].merkleProof"),
        (lambda p: p.update(proofPurpose="authentication"), "proof[0].proofPurpose"),
        (lambda p: p.update(created="2026-01-15 09:06:00"), "proof[0].created"),
        (lambda p: p.update(created="2026-01-15T09:06:00+01:00"), "proof[0].created"),
        (lambda p: p.update(created="2026-13-15T09:06:00Z"), "proof[0].created"),
        (lambda p: p.update(issuerName="Totally Legit University"), "proof[0].issuerName"),
        (lambda p: p.pop("merkleRoot"), "proof[0].merkleRoot"),
        (lambda p: p.update(anchor=[]), "proof[0].anchor"),
        (lambda p: p["anchor"].pop("transactionHash"), "proof[0].anchor.transactionHash"),
        (lambda p: p["anchor"].update(explorer="x"), "proof[0].anchor.explorer"),
        (lambda p: p["anchor"].update(chainId=True), "proof[0].anchor.chainId"),
        (lambda p: p["anchor"].update(chainId="31337"), "proof[0].anchor.chainId"),
        (lambda p: p["anchor"].update(chainId=0), "proof[0].anchor.chainId"),
        (lambda p: p["anchor"].update(blockNumber=1.5), "proof[0].anchor.blockNumber"),
        (
            lambda p: p["anchor"].update(contract=CONTRACT.lower()[:-1] + "A"),
            "proof[0].anchor.contract",
        ),
        (lambda p: p["anchor"].update(contract=5), "proof[0].anchor.contract"),
        (lambda p: p["anchor"].pop("issuerAccount"), "proof[0].anchor.issuerAccount"),
        (lambda p: p["anchor"].update(issuerAccount=None), "proof[0].anchor.issuerAccount"),
        (
            lambda p: p["anchor"].update(issuerAccount=ISSUER_ACCOUNT[:-1] + "c"),
            "proof[0].anchor.issuerAccount",
        ),
        (lambda p: p["anchor"].update(anchoredAt=1768468500), "proof[0].anchor.anchoredAt"),
    ],
)
def test_extract_names_the_bad_field(anchored, mutate, field):
    with pytest.raises(ProofFormatError) as exc:
        extract_proof(_mutated(anchored[0], mutate))
    assert exc.value.extra["field"] == field
    assert exc.value.detail.startswith(field + ":")


def test_lowercase_contract_is_accepted_and_normalised(anchored):
    c = _mutated(anchored[0], lambda p: p["anchor"].update(contract=CONTRACT.lower()))
    assert extract_proof(c).anchor.contract == CONTRACT


@pytest.mark.parametrize(
    "proof,problem",
    [
        (None, "no proof"),
        ({"type": PROOF_TYPE}, "must be an array"),
        ([], f"no {PROOF_TYPE} proof"),
        ([{"type": "DataIntegrityProof"}], f"no {PROOF_TYPE} proof"),
    ],
)
def test_extract_without_our_proof(proof, problem):
    c = make_credential()
    if proof is not None:
        c["proof"] = proof
    with pytest.raises(ProofFormatError, match=problem):
        extract_proof(c)


def test_two_of_our_proofs_are_refused(anchored):
    c = copy.deepcopy(anchored[0])
    c["proof"].append(copy.deepcopy(c["proof"][0]))
    with pytest.raises(ProofFormatError, match="has 2"):
        extract_proof(c)


def test_has_proof(anchored):
    assert has_proof(anchored[0])
    assert not has_proof(make_credential())
    assert not has_proof({"proof": [{"type": "DataIntegrityProof"}]})
    assert has_proof({"proof": [{"type": PROOF_TYPE}]})  # present, even if malformed
    assert not has_proof("not a credential")  # type: ignore[arg-type]


def test_find_proof_is_extract_proof_when_there_is_one(anchored):
    assert find_proof(anchored[0]) == extract_proof(anchored[0])
    assert find_proof(make_credential()) is None
    assert find_proof({"proof": [{"type": "DataIntegrityProof"}]}) is None
    assert find_proof({"proof": {"type": PROOF_TYPE}}) is None  # not an array: none of ours
    assert find_proof("not a credential") is None  # type: ignore[arg-type]
    with pytest.raises(ProofFormatError) as exc:
        find_proof({"proof": [{"type": PROOF_TYPE}]})  # present, but malformed
    assert exc.value.extra["field"] == "proof[0].anchor"
    two = copy.deepcopy(anchored[0])
    two["proof"].append(copy.deepcopy(two["proof"][0]))
    with pytest.raises(ProofFormatError, match="has 2"):
        find_proof(two)


_NODE = "0x" + "ab" * 32


@pytest.mark.parametrize(
    "path,bad",
    [
        # Each keeps the total length of two good nodes (132 characters) where it can, so that
        # only the per-element checks of the one-call decoding can tell them apart.
        (["0x" + "ab" * 32 + "0x" + "cd" * 32, ""], 0),  # two nodes in one string, then none
        (["0x" + "ab" * 31 + "a", "0x" + "cd" * 32 + "d"], 0),  # 65 and 67 characters
        ([_NODE, "0x" + "cd" * 31 + " c"], 1),  # a blank, which fromhex would skip
        ([_NODE, "0x" + "cd" * 30 + "0xcd"], 1),  # an 0x inside
        ([_NODE, "0X" + "cd" * 32], 1),
        ([_NODE, "00" + "cd" * 32], 1),
        ([_NODE, "cd" * 33], 1),
        ([_NODE, "0x" + "zz" * 32], 1),
        ([_NODE, "0x" + "cd" * 31], 1),
        ([_NODE, 5], 1),
        ([_NODE, None], 1),
        ([_NODE, ["0x" + "cd" * 32]], 1),
    ],
)
def test_every_irregular_merkle_path_is_refused_element_by_element(anchored, path, bad):
    c = _mutated(anchored[0], lambda p: p.update(merkleProof=path))
    with pytest.raises(ProofFormatError) as exc:
        extract_proof(c)
    assert exc.value.extra["field"] == f"proof[0].merkleProof[{bad}]"


def test_a_regular_merkle_path_decodes_node_by_node(anchored):
    nodes = [bytes([i]) * 32 for i in range(1, 21)]
    c = _mutated(anchored[0], lambda p: p.update(merkleProof=[to_hex(n) for n in nodes]))
    assert extract_proof(c).merkle_proof == tuple(nodes)
    c = _mutated(anchored[0], lambda p: p.update(merkleProof=[]))
    assert extract_proof(c).merkle_proof == ()
    upper = _mutated(anchored[0], lambda p: p.update(merkleProof=["0x" + "AB" * 32]))
    assert extract_proof(upper).merkle_proof == (b"\xab" * 32,)


def test_attach_checks_its_arguments():
    with pytest.raises(InvalidInput):
        attach_proof([], _proof(b"\x01" * 32))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        attach_proof(make_credential(), {"type": PROOF_TYPE})  # type: ignore[arg-type]


def test_a_parsed_anchor_is_shared_and_never_stands_in_for_a_bad_one(anchored):
    # Every file of a batch names the same anchor: it is parsed once and the (immutable)
    # AnchorRef shared. A look-alike that is only equal in Python (chainId true for 1, a
    # block number 1.0) must still be refused, and a changed member must not hit the cache.
    first, second = extract_proof(anchored[0]), extract_proof(anchored[1])
    assert first.anchor is second.anchor
    doc = copy.deepcopy(anchored[0])
    anchor = doc["proof"][0]["anchor"]
    assert anchor["blockNumber"] >= 1
    for member, value in (("blockNumber", float(anchor["blockNumber"])),
                          ("chainId", True if anchor["chainId"] == 1 else float(anchor["chainId"]))):
        with pytest.raises(ProofFormatError) as exc:
            extract_proof(_mutated(doc, lambda p, m=member, v=value: p["anchor"].update({m: v})))
        assert exc.value.extra["field"] == f"proof[0].anchor.{member}"
    moved = extract_proof(_mutated(doc, lambda p: p["anchor"].update(blockNumber=123456)))
    assert moved.anchor.block_number == 123456 and first.anchor.block_number != 123456
    anchor["blockNumber"] = 7  # the caller's dict changing afterwards changes nothing parsed
    assert extract_proof(anchored[0]).anchor == first.anchor
