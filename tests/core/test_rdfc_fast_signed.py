"""The fast canonicaliser on what credanchor signs: credentials with their status entry, the
status list credential, and the proof options of their signatures (with ``id`` and
``previousProof``), all built by the real builders and byte-identical to the reference; and
the production cross-check of the fast path against the reference (credanchor.core.rdfc)."""

from __future__ import annotations

import copy
import json
import multiprocessing
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credanchor.core import dataintegrity, rdfc, rdfc_fast, statuslist
from credanchor.core.credentials import IssuerProfile
from credanchor.core.jsonld import CREDENTIALS_V2, OPEN_BADGES_V3_0_3
from credanchor.core.multikey import Ed25519KeyPair, did_key
from credanchor.errors import RdfCanonicalizationError
from credanchor.issuing.items import build_rows, parse_csv
from credanchor.issuing.signing import Issuance
from kit.ob3 import ob3_credentials
from kit.settings import EXAMPLES as EXAMPLES_DIR

SEED = bytes(range(32))
KEY = Ed25519KeyPair.from_seed(SEED)
DID = did_key(KEY.public_key)
CREATED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EXAMPLES = parse_csv((EXAMPLES_DIR / "badges.csv").read_bytes())


def _issuance(vm: str | None = None, base: str = "http://127.0.0.1:8000") -> Issuance:
    profile = IssuerProfile(
        address="0x" + "11" * 20,
        chain_id=31337,
        name="Northwind Academy",
        url="https://northwind.example",
        did=DID,
    )
    return Issuance(
        profile=profile,
        issuer_id=7,
        seed=SEED,
        verification_method=vm or KEY.verification_method,
        status_base=base,
        created=CREATED,
    )


def _parts(signed: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two documents a signature canonicalises, as dataintegrity builds them: the
    unsecured document and the proof configuration (captured from proof_configuration)."""
    unsecured = {k: v for k, v in signed.items() if k != "proof"}
    seen: list[dict[str, Any]] = []

    def capture(doc: dict[str, Any], *, loader: Any = None) -> str:
        seen.append(doc)
        return ""

    dataintegrity.proof_configuration(unsecured, signed["proof"][0], canonicalize=capture)
    return unsecured, seen[0]


def _same_as_reference(doc: dict[str, Any]) -> str:
    fast = rdfc_fast.canonical_nquads(doc)
    assert fast is not None, "a document credanchor signs was not recognised"
    assert fast == rdfc.reference(doc)
    return fast


@pytest.mark.parametrize("vm", [None, "did:web:issuer.example#key-1"])
@pytest.mark.parametrize("base", ["http://127.0.0.1:8000", "https://badges.example/api/"])
def test_signed_rows_of_the_example_file_are_fast_and_byte_identical(vm, base):
    issuance = _issuance(vm, base)
    rows = build_rows(EXAMPLES, issuance, slots=[(3, 131_071 - i) for i in range(len(EXAMPLES))])
    assert len(rows) == len(EXAMPLES) >= 4
    for row in rows:
        signed = json.loads(row[2])
        unsecured, config = _parts(signed)
        out = _same_as_reference(unsecured)
        assert "<https://www.w3.org/ns/credentials/status#BitstringStatusListEntry>" in out
        assert _same_as_reference(config).startswith(f"<{signed['proof'][0]['id']}> ")
        if vm is None:
            assert dataintegrity.verify(signed).verified


def test_credentials_built_without_a_status_entry_still_take_the_fast_path():
    (row,) = build_rows(
        EXAMPLES[:1], IssuerProfile(address="0x" + "11" * 20, chain_id=1, name="Legacy")
    )
    _same_as_reference(json.loads(row[2]))


@pytest.mark.parametrize("revoked", [[], [0], [3, 5, 131_071], list(range(0, 4000, 7))])
@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/status/1/1", "https://badges.example/status/12/3"]
)
def test_the_status_list_credential_and_its_proof_options(revoked, url):
    doc = statuslist.status_list_credential(
        list_url=url, issuer=DID, valid_from=datetime(2026, 1, 1, tzinfo=UTC), revoked=revoked
    )
    out = _same_as_reference(doc)
    assert (
        f'"{doc["credentialSubject"]["encodedList"]}"^^<https://w3id.org/security#multibase>' in out
    )
    # Signed like a credential: its proof options carry the VC 2.0 context only.
    signed = _issuance().sign(doc)
    unsecured, config = _parts(signed)
    assert config["@context"] == [CREDENTIALS_V2]
    _same_as_reference(unsecured)
    _same_as_reference(config)
    assert dataintegrity.verify(signed).verified


def test_a_status_list_subject_without_id_is_a_blank_node():
    doc = statuslist.status_list_credential(
        list_url="https://badges.example/status/1/1",
        issuer=DID,
        valid_from=datetime(2026, 1, 1, tzinfo=UTC),
        revoked=[1],
    )
    del doc["credentialSubject"]["id"]
    assert "_:c14n0 <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>" in _same_as_reference(doc)


@pytest.mark.parametrize("context", [[CREDENTIALS_V2, OPEN_BADGES_V3_0_3], [CREDENTIALS_V2]])
@pytest.mark.parametrize(
    "previous",
    [
        None,
        "urn:uuid:0b8c43c4-fb4c-4b0e-9a4c-6f0d4c1d5e01",
        ["urn:uuid:1", "urn:uuid:2", "urn:uuid:1"],
    ],
)
@pytest.mark.parametrize("proof_id", [None, "urn:uuid:8cc9022b-6b14-4cf3-8571-74972c5feb54"])
def test_proof_options_with_id_and_previous_proof(context, previous, proof_id):
    options: dict[str, Any] = {
        "@context": context,
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-01-15T09:00:00Z",
        "verificationMethod": KEY.verification_method,
        "proofPurpose": "assertionMethod",
    }
    if proof_id:
        options["id"] = proof_id
    if previous:
        options["previousProof"] = previous
    out = _same_as_reference(options)
    # twice: the second answer comes from the options cache and must not differ
    assert rdfc_fast.canonical_nquads(copy.deepcopy(options)) == out
    if previous:
        assert out.count("<https://w3id.org/security#previousProof>") == (
            1 if isinstance(previous, str) else 2
        )


def test_a_chained_signature_verifies_through_the_fast_options():
    issuance = _issuance()
    (row,) = build_rows(EXAMPLES[:1], issuance, slots=[(1, 9)])
    first = json.loads(row[2])
    second = dataintegrity.add_proof(
        first,
        KEY,
        created="2026-03-02T00:00:00Z",
        proof_id="urn:uuid:2",
        previous_proof=first["proof"][0]["id"],
    )
    result = dataintegrity.verify(second)
    assert result.verified and len(result.proofs) == 2


def _status_credential(base: dict[str, Any], **entry: Any) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    doc["credentialStatus"] = {**_issuance().status_entry((1, 5)), **entry}
    return doc


_SIGNED = json.loads(build_rows(EXAMPLES[:1], _issuance(), slots=[(1, 5)])[0][2])
_UNSECURED = {k: v for k, v in _SIGNED.items() if k != "proof"}
_LIST = statuslist.status_list_credential(
    list_url="https://badges.example/status/1/1",
    issuer=DID,
    valid_from=datetime(2026, 1, 1, tzinfo=UTC),
    revoked=[1],
)
_OPTIONS = _parts(_SIGNED)[1]


@pytest.mark.parametrize(
    "doc",
    [
        _status_credential(_UNSECURED, statusSize=1),
        _status_credential(_UNSECURED, statusListIndex=5),
        _status_credential(_UNSECURED, statusMessage=[{"status": "0x0", "message": "ok"}]),
        _status_credential(_UNSECURED, type="StatusList2021Entry"),
        _status_credential(_UNSECURED, statusListCredential="relative/list"),
        _status_credential(_UNSECURED, id="https://ex.org/a b"),
        {**_UNSECURED, "credentialStatus": [_UNSECURED["credentialStatus"]]},
        {**_UNSECURED, "credentialStatus": "http://127.0.0.1:8000/status/7/1#5"},
        {**_LIST, "@context": [CREDENTIALS_V2, OPEN_BADGES_V3_0_3]},
        {**_LIST, "type": ["VerifiableCredential", "BitstringStatusListCredential", "X"]},
        {**_LIST, "issuer": {"id": DID}},
        {**_LIST, "name": "not a member the builder writes"},
        {**_LIST, "credentialSubject": {**_LIST["credentialSubject"], "ttl": 500}},
        {**_LIST, "credentialSubject": {**_LIST["credentialSubject"], "type": "StatusList2021"}},
        {**_LIST, "credentialSubject": {**_LIST["credentialSubject"], "encodedList": 0}},
        {**_OPTIONS, "previousProof": []},
        {**_OPTIONS, "previousProof": 5},
        {**_OPTIONS, "previousProof": ["urn:uuid:1", {"id": "urn:uuid:2"}]},
        {**_OPTIONS, "previousProof": "#proof-1"},
        {**_OPTIONS, "id": "proof-1"},
        {**_OPTIONS, "created": 20260115},
        {**_OPTIONS, "challenge": "abc"},
        {**_OPTIONS, "@context": [CREDENTIALS_V2, OPEN_BADGES_V3_0_3, CREDENTIALS_V2]},
    ],
)
def test_look_alikes_of_the_signed_shapes_are_declined(doc):
    assert rdfc_fast.canonical_nquads(doc) is None


def test_the_options_cache_does_not_confuse_a_tuple_with_a_list():
    fast = rdfc_fast.canonical_nquads({**_OPTIONS, "previousProof": ["urn:uuid:1"]})
    assert fast is not None
    assert rdfc_fast.canonical_nquads({**_OPTIONS, "previousProof": ("urn:uuid:1",)}) is None


# --- Hypothesis ---------------------------------------------------------------------------------

_bases = st.sampled_from(
    [
        "http://127.0.0.1:8000",
        "https://badges.example",
        "https://badges.example/a/b/",
        "http://[::1]:8080",
    ]
)
_slots = st.tuples(st.integers(1, 10**6), st.integers(0, statuslist.MAX_LENGTH - 1))
_created = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ob3_credentials(credits=False), _bases, _slots, _created)
def test_generated_signed_credentials_are_byte_identical(credential, base, slot, created):
    issuance = _issuance(base=base)
    signed = issuance.finish(credential, slot, created.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert signed["credentialStatus"]["statusListIndex"] == str(slot[1])
    unsecured, config = _parts(signed)
    _same_as_reference(unsecured)
    _same_as_reference(config)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sets(st.integers(0, statuslist.MIN_LENGTH - 1), max_size=50),
    _bases,
    st.integers(1, 999),
    _created,
)
def test_generated_status_list_credentials_are_byte_identical(revoked, base, list_no, created):
    doc = statuslist.status_list_credential(
        list_url=f"{base.rstrip('/')}/status/1/{list_no}",
        issuer=DID,
        valid_from=created,
        revoked=revoked,
    )
    _same_as_reference(doc)


# --- the production cross-check -----------------------------------------------------------------


def _wrong(document: object) -> str | None:
    # A fake, and only for this fault: a fast path that answers with other bytes than the
    # reference cannot be produced with the real one (which the tests above prove identical).
    out = _real_fast(document)
    return None if out is None else out.replace("Excel", "Exce1")


_real_fast = rdfc_fast.canonical_nquads


def test_the_cross_check_refuses_to_sign_when_the_fast_path_disagrees(monkeypatch):
    monkeypatch.setattr(rdfc, "_SAMPLER", rdfc._Sampler())  # a fresh process: first is checked
    monkeypatch.setattr(rdfc_fast, "canonical_nquads", _wrong)
    with pytest.raises(RdfCanonicalizationError, match="disagrees with the reference"):
        rdfc.canonical_nquads(_UNSECURED)
    monkeypatch.setattr(rdfc, "_SAMPLER", rdfc._Sampler())
    with pytest.raises(RdfCanonicalizationError, match="disagrees with the reference"):
        build_rows(EXAMPLES[:1], _issuance(), slots=[(1, 1)])


def test_the_cross_check_samples_the_first_two_and_two_in_every_n(monkeypatch):
    calls: list[int] = []
    real_reference = rdfc.reference

    def counting_reference(doc: Any, *, loader: Any = None) -> str:
        calls.append(n)
        return real_reference(doc, loader=loader)

    monkeypatch.setattr(rdfc, "_SAMPLER", rdfc._Sampler())
    monkeypatch.setattr(rdfc, "CROSS_CHECK_EVERY", 7)
    monkeypatch.setattr(rdfc, "reference", counting_reference)
    for n in range(30):
        assert rdfc.canonical_nquads(_UNSECURED if n % 2 else _OPTIONS)
    assert calls == [0, 1, 7, 8, 14, 15, 21, 22, 28, 29]
    assert rdfc.CROSS_CHECK_EVERY == 7 and rdfc_fast.canonical_nquads(_UNSECURED) is not None


def _child(queue: Any) -> None:
    try:
        rdfc.canonical_nquads(_UNSECURED)
        queue.put("signed")
    except RdfCanonicalizationError:
        queue.put("refused")


def test_a_forked_worker_checks_its_own_first_results(monkeypatch):
    sampler = rdfc._Sampler()
    monkeypatch.setattr(rdfc, "_SAMPLER", sampler)
    rdfc.canonical_nquads(_OPTIONS)
    rdfc.canonical_nquads(_UNSECURED)  # the parent's two checked results are used up
    monkeypatch.setattr(rdfc_fast, "canonical_nquads", _wrong)
    assert "Exce1" in rdfc.canonical_nquads(_UNSECURED)  # third: not sampled in the parent
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    worker = ctx.Process(target=_child, args=(queue,))
    worker.start()
    worker.join(60)
    assert queue.get(timeout=5) == "refused"
