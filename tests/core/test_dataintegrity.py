"""Data Integrity proofs (eddsa-rdfc-2022): the spec's test vectors byte for byte, proof sets and
chains, what each failure reports, and sign -> verify on generated Open Badges 3.0 credentials."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credanchor.core.dataintegrity import (
    MAX_PROOFS,
    DataIntegrityResult,
    Failure,
    add_proof,
    create_proof,
    hash_data,
    proof_configuration,
    transform,
    verify,
)
from credanchor.core.jsonld import CREDENTIALS_V2, DID_V1, MULTIKEY_V1, ContextLoader
from credanchor.core.multikey import Ed25519KeyPair, multibase_decode, multibase_encode
from credanchor.errors import (
    InvalidInput,
    ProofGenerationError,
    ProofInputError,
    RdfCanonicalizationError,
    UnknownContext,
)
from kit.credentials import VECTORS, make_credential
from kit.ob3 import ob3_credentials

EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"
LOADER = ContextLoader(
    {EXAMPLES_V2: json.loads((VECTORS / "di-eddsa" / "credentials-examples-v2.jsonld").read_text())}
)

# ---------------------------------------------------------------------------------------------
# Published values from Data Integrity EdDSA Cryptosuites v1.0, W3C Recommendation 15 May 2025
# (https://www.w3.org/TR/2025/REC-vc-di-eddsa-20250515/), Appendix B, transcribed by hand.
# ---------------------------------------------------------------------------------------------

# B.1 Example 7: Private and Public keys for Signature.
SPEC_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
SPEC_SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
SPEC_VM = f"did:key:{SPEC_PUBLIC}#{SPEC_PUBLIC}"
# B.1 Example 8: Credential without Proof.
ALUMNI = {
    "@context": [CREDENTIALS_V2, EXAMPLES_V2],
    "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
    "type": ["VerifiableCredential", "AlumniCredential"],
    "name": "Alumni Credential",
    "description": "A minimum viable example of an Alumni Credential.",
    "issuer": "https://vc.example/issuers/5678",
    "validFrom": "2023-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
}
# B.1 Example 10: Hash of Canonical Credential without Proof (hex).
ALUMNI_SHA256 = "517744132ae165a5349155bef0bb0cf2258fff99dfe1dbd914b938d775a36017"
# B.1 Example 11: Proof Options Document (its @context is the credential's).
SPEC_OPTIONS = {
    "type": "DataIntegrityProof",
    "cryptosuite": "eddsa-rdfc-2022",
    "created": "2023-02-24T23:36:38Z",
    "verificationMethod": SPEC_VM,
    "proofPurpose": "assertionMethod",
}
# B.1 Example 12: Canonical Proof Options Document.
SPEC_OPTIONS_NQUADS = (
    '_:c14n0 <http://purl.org/dc/terms/created> "2023-02-24T23:36:38Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .\n'
    "_:c14n0 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/security#DataIntegrityProof> .\n"
    '_:c14n0 <https://w3id.org/security#cryptosuite> "eddsa-rdfc-2022"^^<https://w3id.org/security#cryptosuiteString> .\n'
    "_:c14n0 <https://w3id.org/security#proofPurpose> <https://w3id.org/security#assertionMethod> .\n"
    f"_:c14n0 <https://w3id.org/security#verificationMethod> <{SPEC_VM}> .\n"
)
# B.1 Example 13: Hash of Canonical Proof Options Document (hex).
SPEC_OPTIONS_SHA256 = "bea7b7acfbad0126b135104024a5f1733e705108f42d59668b05c0c50004c6b0"
# B.1 Example 14: Combine hashes of Proof Options and Credential (hex).
SPEC_HASH_DATA = SPEC_OPTIONS_SHA256 + ALUMNI_SHA256
# B.1 Example 15: Signature of Combined Hashes (hex).
SPEC_SIGNATURE_HEX = (
    "4d8e53c2d5b3f2a7891753eb16ca993325bdb0d3cfc5be1093d0a18426f5ef85"
    "78cadc0fd4b5f4dd0d1ce0aefd15ab120b7a894d0eb094ffda4e6553cd1ed50d"
)
# B.1 Example 16: Signature of Combined Hashes base58-btc (the proofValue).
SPEC_PROOF_VALUE = (
    "z2YwC8z3ap7yx1nZYCg4L3j3ApHsF8kgPdSb5xoS1VR7vPG3F561B52hYnQF9iseabecm3ijx4K1FBTQsCZahKZme"
)
# B.1 Example 17: Signed Credential = Example 8 with this proof.
SPEC_SIGNED = {**ALUMNI, "proof": {**SPEC_OPTIONS, "proofValue": SPEC_PROOF_VALUE}}

# B.5 Example 51: Public and Private Key Pairs (proof sets and chains).
CHAIN_KEYS = [
    ("z6MktgKTsu1QhX6QPbyqG6geXdw6FQCZBPq7uQpieWbiQiG7", "z3u2W4YnTstS1nSSBAgZcYSJF43JuZ9uLV6bF38B1Bf8NugW"),
    ("z6MkhWqdDBPojHA7cprTGTt5yHv5yUi1B8cnXn8ReLumkw6E", "z3u2cfp4Q17kMGhNCh348a3yw3cUBiWK6RXRzyJE54sixMFn"),
    ("z6MkmEq87wkHCYnWnNZkigeDMGTN7oUw1upkhzd77KuXERS1", "z3u2Zr3tcDLBDQKGxVa9SRDFNLqNqPWsa8p9rWPvCEH6bADB"),
    ("z6Mkm1S51iPHJvDEkJ9MRtxJmT8Pqo6wHipAFwBAjN83vntT", "z3u2ZTWiFwM17veUR7sXniY66Gf14SqMdpMLy7SW9x4EDdmw"),
]  # fmt: skip
# B.5.1 Examples 53 and 54/55: the starting proof (keyPair1) and the proof-set proof (keyPair2).
SET_ID_1 = "urn:uuid:26329423-bec9-4b2e-88cb-a7c7d9dc4544"
SET_VALUE_1 = (
    "z66vWyqwAghu52WbpRkCwFRTu6Msn92ArtjpJ3gGMSVoU5RADwBfszoDt1QWY8owqLPz4nTj7hAwV7xFti1p93zdr"
)
SET_ID_2 = "urn:uuid:8cc9022b-6b14-4cf3-8571-74972c5feb54"
SET_VALUE_2 = (
    "z2scr94SNNrGpP2bE7ajvKWeUHm7HJ2edDkxpARvFAQ8V3USzwEzibqrXKaLHBrWostswsfvg82twQR88BgtnsrXY"
)
# B.5.2 Examples 58 and 60: a proof chained to both (keyPair3, previousProof as a list).
CHAIN_ID_3 = "urn:uuid:d94f792a-c546-4d06-b38a-da070ab56c23"
CHAIN_VALUE_3 = (
    "zWaPeEvBAkhQpNQj8pknuvg5STcKnt3cvM9t4kAYeJETFjvVMSXEEjadC4uxC9fKCn6JHbjt6fj2fhoaVNynBm6J"
)
# B.5.3 Examples 63 and 65: a proof without id chained to the third (keyPair4, a string).
CHAIN_VALUE_4 = "z4b5uUtxNiV4E541LiR8qLvA21xM1Vt4Hfn6nLmmDePdFvLB3jFj3HyEEJyRMbpJzv4Gfdr8ABeuRTxAvZv6KWRRh"  # fmt: skip


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _chain_key(n: int) -> Ed25519KeyPair:
    public, secret = CHAIN_KEYS[n - 1]
    key = Ed25519KeyPair.from_secret_multibase(secret)
    assert key.public_multibase == public
    return key


# --- B.1: one proof -----------------------------------------------------------------------------


def test_spec_b1_intermediate_values():
    config = proof_configuration(ALUMNI, SPEC_OPTIONS, loader=LOADER)
    assert config == SPEC_OPTIONS_NQUADS
    assert _sha256(config) == SPEC_OPTIONS_SHA256
    document = transform(ALUMNI, loader=LOADER)
    assert _sha256(document) == ALUMNI_SHA256
    assert hash_data(config, document).hex() == SPEC_HASH_DATA
    key = Ed25519KeyPair.from_secret_multibase(SPEC_SECRET)
    assert key.sign(bytes.fromhex(SPEC_HASH_DATA)).hex() == SPEC_SIGNATURE_HEX
    assert multibase_encode(bytes.fromhex(SPEC_SIGNATURE_HEX)) == SPEC_PROOF_VALUE


def test_spec_b1_signing_yields_the_published_proof_value():
    key = Ed25519KeyPair.from_secret_multibase(SPEC_SECRET)
    proof = create_proof(ALUMNI, key, created="2023-02-24T23:36:38Z", loader=LOADER)
    assert proof == SPEC_SIGNED["proof"]
    assert list(proof) == list(SPEC_SIGNED["proof"])  # the spec's member order, too
    secured = add_proof(
        ALUMNI, key, created=datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC), loader=LOADER
    )
    assert secured == SPEC_SIGNED


def test_spec_b1_signed_credential_verifies():
    # The spec's issuer is an https URL, not the key's DID: only without the VC issuer rule.
    result = verify(SPEC_SIGNED, loader=LOADER, check_issuer=False)
    assert result.verified
    (proof,) = result.proofs
    assert proof.verified and proof.failure is None
    assert proof.verification_method == SPEC_VM
    assert proof.controller == f"did:key:{SPEC_PUBLIC}"
    assert result.ignored == ()


def test_the_vc_issuer_rule_refuses_a_key_the_issuer_does_not_control():
    result = verify(SPEC_SIGNED, loader=LOADER)
    assert not result.verified
    assert result.proofs[0].failure is Failure.ISSUER_MISMATCH
    assert "https://vc.example/issuers/5678" in result.proofs[0].detail


@pytest.mark.parametrize("issuer", [{"name": "No Id"}, 42])
def test_an_issuer_without_an_id_matches_no_key(issuer):
    key = Ed25519KeyPair.from_secret_multibase(SPEC_SECRET)
    secured = add_proof({**ALUMNI, "issuer": issuer}, key, loader=LOADER)
    (proof,) = verify(secured, loader=LOADER).proofs
    assert proof.failure is Failure.ISSUER_MISMATCH and "no id" in proof.detail


@pytest.mark.parametrize(
    "path, value",
    [
        (("name",), "Alumni Credentiak"),
        (("credentialSubject", "alumniOf"), "The School of Examplez"),
        (("validFrom",), "2023-01-01T00:00:01Z"),
        (("proof", "created"), "2023-02-24T23:36:39Z"),
        (("proof", "verificationMethod"), f"did:key:{SPEC_PUBLIC}#{SPEC_PUBLIC}"),
    ],
)
def test_flipping_one_character_breaks_the_signature(path, value):
    doc = copy.deepcopy(SPEC_SIGNED)
    target = doc
    for p in path[:-1]:
        target = target[p]
    if target[path[-1]] == value:  # the verificationMethod case: flip one character instead
        value = value[:-1] + ("3" if value[-1] != "3" else "4")
    assert sum(a != b for a, b in zip(target[path[-1]], value, strict=True)) == 1
    target[path[-1]] = value
    result = verify(doc, loader=LOADER, check_issuer=False)
    assert not result.verified
    assert result.proofs[0].failure in (Failure.BAD_SIGNATURE, Failure.METHOD_NOT_FOUND)


def test_flipping_a_character_of_the_proof_value_breaks_it():
    doc = copy.deepcopy(SPEC_SIGNED)
    value = doc["proof"]["proofValue"]
    doc["proof"]["proofValue"] = value[:10] + ("A" if value[10] != "A" else "B") + value[11:]
    result = verify(doc, loader=LOADER, check_issuer=False)
    assert result.proofs[0].failure in (Failure.BAD_SIGNATURE, Failure.MALFORMED_PROOF_VALUE)
    assert not result.verified


# --- B.5: proof sets and chains -------------------------------------------------------------


@pytest.fixture(scope="module")
def spec_chain() -> list[dict]:
    """The documents of B.5, rebuilt by signing: Examples 53, 56, 61 and 66."""
    created = "2023-02-24T23:36:38Z"
    d1 = add_proof(ALUMNI, _chain_key(1), proof_id=SET_ID_1, created=created, loader=LOADER)
    d2 = add_proof(d1, _chain_key(2), proof_id=SET_ID_2, created=created, loader=LOADER)
    d3 = add_proof(
        d2,
        _chain_key(3),
        proof_id=CHAIN_ID_3,
        created="2023-02-26T22:06:38Z",
        previous_proof=[SET_ID_1, SET_ID_2],
        loader=LOADER,
    )
    d4 = add_proof(
        d3, _chain_key(4), created="2023-02-26T22:16:38Z", previous_proof=CHAIN_ID_3, loader=LOADER
    )
    return [d1, d2, d3, d4]


def test_spec_b5_proof_values(spec_chain):
    d1, d2, d3, d4 = spec_chain
    assert isinstance(d1["proof"], dict) and d1["proof"]["proofValue"] == SET_VALUE_1
    assert [p["proofValue"] for p in d2["proof"]] == [SET_VALUE_1, SET_VALUE_2]
    assert d3["proof"][2]["proofValue"] == CHAIN_VALUE_3
    assert d3["proof"][2]["previousProof"] == [SET_ID_1, SET_ID_2]
    assert d4["proof"][3]["proofValue"] == CHAIN_VALUE_4
    assert d4["proof"][3]["previousProof"] == CHAIN_ID_3
    assert "id" not in d4["proof"][3]
    assert [p["proofValue"] for p in d4["proof"][:3]] == [
        SET_VALUE_1,
        SET_VALUE_2,
        CHAIN_VALUE_3,
    ]


def test_spec_b5_extended_chain_verifies(spec_chain):
    result = verify(spec_chain[3], loader=LOADER, check_issuer=False)
    assert result.verified
    assert [p.index for p in result.proofs] == [0, 1, 2, 3]
    assert [p.id for p in result.proofs] == [SET_ID_1, SET_ID_2, CHAIN_ID_3, None]


def test_a_chained_proof_covers_the_proofs_it_names_and_only_those(spec_chain):
    doc = copy.deepcopy(spec_chain[3])
    # Proof 2 (id CHAIN_ID_3) chains to proofs 0 and 1; proof 3 chains to proof 2.
    doc["proof"][1]["created"] = "2023-02-24T23:36:39Z"
    result = verify(doc, loader=LOADER, check_issuer=False)
    failures = {p.index: p.failure for p in result.failures}
    # proof 1 itself, proof 2 which signed proof 1's old content, and proof 3 (its own
    # signature is intact, but it depends on proof 2)
    assert failures == {
        1: Failure.BAD_SIGNATURE,
        2: Failure.BAD_SIGNATURE,
        3: Failure.PREVIOUS_PROOF_FAILED,
    }
    assert result.proofs[0].verified


def test_a_missing_previous_proof_is_reported(spec_chain):
    doc = copy.deepcopy(spec_chain[2])
    del doc["proof"][0]
    result = verify(doc, loader=LOADER, check_issuer=False)
    (chained,) = [p for p in result.proofs if p.id == CHAIN_ID_3]
    assert chained.failure is Failure.PREVIOUS_PROOF_MISSING
    assert SET_ID_1 in chained.detail
    assert not result.verified


def test_previous_proof_must_name_existing_proofs_when_signing():
    key = Ed25519KeyPair.from_secret_multibase(SPEC_SECRET)
    with pytest.raises(ProofGenerationError, match="not a proof of this document"):
        create_proof(ALUMNI, key, previous_proof="urn:uuid:nope", loader=LOADER)


# --- credanchor's shape: a signature, then an anchor proof of another type ------------------


def _anchor_proof() -> dict:
    """Stands in for credanchor's CredanchorMerkleProof2026 object (its exact fields do not
    matter here: a proof of another type is never evaluated)."""
    return {
        "type": "CredanchorMerkleProof2026",
        "credentialHash": "0x" + "11" * 32,
        "merkleRoot": "0x" + "22" * 32,
        "merklePath": ["0x" + "33" * 32],
    }


@pytest.fixture(scope="module")
def issuer_key() -> Ed25519KeyPair:
    return Ed25519KeyPair.from_seed(bytes(range(32)))


def _badge(key: Ed25519KeyPair, i: int = 0) -> dict:
    badge = make_credential(i)
    badge["issuer"]["id"] = key.did
    return badge


def test_a_signed_badge_with_an_anchor_proof_after_the_signature_verifies(issuer_key):
    secured = add_proof(_badge(issuer_key), issuer_key, created="2026-01-15T09:00:00Z")
    secured["proof"] = [secured["proof"], _anchor_proof()]
    result = verify(secured)
    assert result.verified
    assert result.ignored == (1,)
    assert result.proofs[0].controller == issuer_key.did
    # what follows the signature takes no part in it
    secured["proof"][1]["merkleRoot"] = "0x" + "44" * 32
    assert verify(secured).verified
    # but the badge does
    secured["credentialSubject"]["name"] = "Someone Else"
    bad = verify(secured)
    assert not bad.verified and bad.proofs[0].failure is Failure.BAD_SIGNATURE


def test_a_document_whose_only_proofs_are_of_other_types_is_not_verified():
    doc = {**make_credential(), "proof": _anchor_proof()}
    result = verify(doc)
    assert not result.verified and result.proofs == () and result.ignored == (0,)


# --- failures are reported, not raised --------------------------------------------------------


def _signed(key: Ed25519KeyPair, **options) -> dict:
    return add_proof(_badge(key), key, created="2026-01-15T09:00:00Z", **options)


def _resign_proof(doc: dict, key: Ed25519KeyPair, **changes) -> dict:
    """``doc`` with its proof options changed and validly re-signed (so only the change can
    make verification fail)."""
    proof = {k: v for k, v in doc["proof"].items() if k != "proofValue"}
    proof.update(changes)
    unsecured = {k: v for k, v in doc.items() if k != "proof"}
    data = hash_data(proof_configuration(unsecured, proof), transform(unsecured))
    return {**unsecured, "proof": {**proof, "proofValue": multibase_encode(key.sign(data))}}


def test_unknown_cryptosuite(issuer_key):
    doc = _signed(issuer_key)
    doc["proof"]["cryptosuite"] = "ecdsa-rdfc-2019"
    (p,) = verify(doc).proofs
    assert p.failure is Failure.UNKNOWN_CRYPTOSUITE and "ecdsa-rdfc-2019" in p.detail


def test_wrong_proof_purpose(issuer_key):
    doc = _signed(issuer_key, proof_purpose="authentication")
    result = verify(doc)
    assert result.proofs[0].failure is Failure.WRONG_PURPOSE
    assert verify(doc, expected_purpose="authentication").verified


def test_method_not_listed_for_the_purpose(issuer_key):
    did = "did:web:issuer.example"
    vm = f"{did}#key-1"
    did_doc = {
        "@context": [DID_V1, MULTIKEY_V1],
        "id": did,
        "verificationMethod": [
            {
                "id": vm,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": issuer_key.public_multibase,
            }
        ],
        "authentication": ["#key-1"],
    }
    badge = make_credential()
    badge["issuer"]["id"] = did
    doc = add_proof(badge, issuer_key, verification_method=vm, created="2026-01-15T09:00:00Z")
    (p,) = verify(doc, resolver=did_doc).proofs
    assert p.failure is Failure.METHOD_NOT_AUTHORIZED and "assertionMethod" in p.detail
    # listed (by a relative reference) under assertionMethod: verified, through did:web
    did_doc["assertionMethod"] = ["#key-1"]
    result = verify(doc, resolver=did_doc)
    assert result.verified and result.proofs[0].controller == did
    # the same through a resolver callable
    assert verify(doc, resolver={did: did_doc}.get).verified


def test_method_controlled_by_another_did_is_refused(issuer_key):
    did = "did:web:issuer.example"
    vm = f"{did}#key-1"
    method = {
        "id": vm,
        "type": "Multikey",
        "controller": "did:web:attacker.example",
        "publicKeyMultibase": issuer_key.public_multibase,
    }
    did_doc = {"id": did, "verificationMethod": [method], "assertionMethod": [vm]}
    badge = make_credential()
    badge["issuer"]["id"] = did
    doc = add_proof(badge, issuer_key, verification_method=vm)
    (p,) = verify(doc, resolver=did_doc).proofs
    assert p.failure is Failure.METHOD_NOT_AUTHORIZED and "controlled" in p.detail


@pytest.mark.parametrize(
    "method_type, key_value, failure",
    [
        ("JsonWebKey", None, Failure.BAD_KEY),
        ("Multikey", "zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169", Failure.BAD_KEY),
        ("Multikey", "not multibase", Failure.BAD_KEY),
    ],
)
def test_unusable_verification_keys(issuer_key, method_type, key_value, failure):
    did = "did:web:issuer.example"
    vm = f"{did}#key-1"
    method = {"id": vm, "type": method_type, "controller": did}
    if key_value is not None:
        method["publicKeyMultibase"] = key_value
    did_doc = {"id": did, "assertionMethod": [method]}
    badge = make_credential()
    badge["issuer"]["id"] = did
    doc = add_proof(badge, issuer_key, verification_method=vm)
    assert verify(doc, resolver=did_doc).proofs[0].failure is failure


def test_another_key_of_the_same_did_does_not_verify(issuer_key):
    other = Ed25519KeyPair.generate()
    did = "did:web:issuer.example"
    did_doc = {
        "id": did,
        "assertionMethod": [
            {
                "id": f"{did}#key-1",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": other.public_multibase,
            }
        ],
    }
    badge = make_credential()
    badge["issuer"]["id"] = did
    doc = add_proof(badge, issuer_key, verification_method=f"{did}#key-1")
    assert verify(doc, resolver=did_doc).proofs[0].failure is Failure.BAD_SIGNATURE


@pytest.mark.parametrize(
    "vm, fragment",
    [
        ("did:web:nowhere.example#key-1", "no DID document"),
        ("https://issuer.example/keys/1", "not a DID URL"),
        ("did:key:z6MkBROKEN#z6MkBROKEN", "cannot resolve"),
    ],
)
def test_verification_method_not_found(issuer_key, vm, fragment):
    doc = _resign_proof(_signed(issuer_key), issuer_key, verificationMethod=vm)
    (p,) = verify(doc, resolver={"id": "did:web:issuer.example"}).proofs
    assert p.failure is Failure.METHOD_NOT_FOUND and fragment in p.detail


def test_a_resolver_that_cannot_reach_the_did_document_raises(issuer_key):
    def unreachable(did: str):
        raise ConnectionError(f"cannot fetch {did}")

    doc = _signed(issuer_key, verification_method="did:web:issuer.example#key-1")
    with pytest.raises(ConnectionError):  # an error for the caller, never "bad signature"
        verify(doc, resolver=unreachable)


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("u" + "A" * 86, "base58btc"),
        ("z" + "0" * 87, "base58btc character"),
        (multibase_encode(bytes(63)), "64-byte"),
        (None, "non-empty string"),
        (12345, "non-empty string"),
    ],
)
def test_malformed_proof_value(issuer_key, value, fragment):
    doc = _signed(issuer_key)
    doc["proof"]["proofValue"] = value
    (p,) = verify(doc).proofs
    assert p.failure is Failure.MALFORMED_PROOF_VALUE and fragment in p.detail


@pytest.mark.parametrize(
    "change",
    [
        {"verificationMethod": None},
        {"proofPurpose": None},
        {"created": "yesterday"},
        {"created": "2026-02-30T00:00:00Z"},
        {"previousProof": 7},
    ],
)
def test_malformed_proof_options(issuer_key, change):
    doc = _signed(issuer_key)
    for k, v in change.items():
        if v is None:
            del doc["proof"][k]
        else:
            doc["proof"][k] = v
    assert verify(doc).proofs[0].failure is Failure.MALFORMED_PROOF


def test_an_undefined_term_in_the_proof_is_a_malformed_proof_not_an_exception(issuer_key):
    doc = _signed(issuer_key)
    doc["proof"]["undefinedTerm"] = "x"
    (p,) = verify(doc).proofs
    assert p.failure is Failure.MALFORMED_PROOF and "not defined" in p.detail


def test_results_are_frozen(issuer_key):
    result = verify(_signed(issuer_key))
    assert isinstance(result, DataIntegrityResult) and result.verified
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.verified = False  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.proofs[0].verified = False  # type: ignore[misc]
    assert result.failures == ()


# --- what cannot be evaluated raises ----------------------------------------------------------


@pytest.mark.parametrize(
    "doc",
    [
        ["not", "an", "object"],
        {"@context": [CREDENTIALS_V2]},  # no proof
        {"@context": [CREDENTIALS_V2], "proof": []},
        {"@context": [CREDENTIALS_V2], "proof": "z123"},
        {"@context": [CREDENTIALS_V2], "proof": [{"type": "DataIntegrityProof"}, 3]},
        {"@context": [CREDENTIALS_V2], "proof": [_anchor_proof()] * (MAX_PROOFS + 1)},
    ],
)
def test_unevaluable_documents_raise_a_proof_input_error(doc):
    with pytest.raises(ProofInputError) as err:
        verify(doc)
    assert isinstance(err.value, InvalidInput) and err.value.status == 422


def test_an_unknown_context_raises_rather_than_fails(issuer_key):
    doc = _signed(issuer_key)
    doc["@context"] = [*doc["@context"], "https://evil.example/context.jsonld"]
    with pytest.raises(UnknownContext):
        verify(doc)


def test_an_uncanonicalisable_document_raises(issuer_key):
    doc = _signed(issuer_key)
    doc["credentialSubject"]["smuggled"] = "not in any context"
    with pytest.raises(RdfCanonicalizationError):
        verify(doc)
    with pytest.raises(RdfCanonicalizationError):
        add_proof({k: v for k, v in doc.items() if k != "proof"}, issuer_key)


def test_signing_refuses_bad_options(issuer_key):
    badge = _badge(issuer_key)
    with pytest.raises(ProofGenerationError):
        create_proof(badge, issuer_key, created=datetime(2026, 1, 1))  # naive
    with pytest.raises(ProofGenerationError):
        create_proof(badge, issuer_key, created="2026-01-01")
    with pytest.raises(ProofGenerationError):
        create_proof(badge, issuer_key, proof_purpose="")
    with pytest.raises(ProofGenerationError):
        create_proof(badge, "not a key")  # type: ignore[arg-type]
    tz = timezone(timedelta(hours=2))
    proof = create_proof(badge, issuer_key, created=datetime(2026, 1, 1, 2, 0, tzinfo=tz))
    assert proof["created"] == "2026-01-01T00:00:00Z"
    assert len(multibase_decode(proof["proofValue"])) == 64


def test_add_proof_appends_to_an_existing_proof_set(issuer_key):
    other = Ed25519KeyPair.generate()
    once = add_proof(_badge(issuer_key), issuer_key)
    twice = add_proof(once, other)
    assert isinstance(twice["proof"], list) and len(twice["proof"]) == 2
    assert twice["proof"][0] == once["proof"]
    result = verify(twice, check_issuer=False)
    assert result.verified and [p.controller for p in result.proofs] == [
        issuer_key.did,
        other.did,
    ]
    # the issuer rule applies to each proof: the second key is not the issuer's
    result = verify(twice)
    assert [p.failure for p in result.proofs] == [None, Failure.ISSUER_MISMATCH]


# --- Hypothesis: sign -> verify on generated OB 3.0 credentials -------------------------------


def _leaves(value, path=()):
    """(path, value) of every scalar in a JSON value."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    else:
        yield path, value


def _edited(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    return value + "x"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(credential=ob3_credentials(), data=st.data())
def test_generated_credentials_round_trip_and_any_edit_fails(issuer_key, credential, data):
    credential["issuer"]["id"] = issuer_key.did
    secured = add_proof(credential, issuer_key, created="2026-01-15T09:00:00Z")
    secured["proof"] = [secured["proof"], _anchor_proof()]
    assert verify(secured).verified

    # Edit one scalar anywhere outside the proofs: the signature must no longer hold (or the
    # edited document must not even be canonicalisable, e.g. an edited context URL).
    leaves = [(p, v) for p, v in _leaves(secured) if p[0] != "proof"]
    path, value = data.draw(st.sampled_from(leaves), label="edited leaf")
    tampered = copy.deepcopy(secured)
    target = tampered
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = _edited(value)
    try:
        result = verify(tampered)
    except (RdfCanonicalizationError, UnknownContext):
        return
    assert not result.verified
    assert result.proofs[0].failure in (Failure.BAD_SIGNATURE, Failure.ISSUER_MISMATCH)
