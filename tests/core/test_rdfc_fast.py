"""The fast canonicaliser for credanchor's own documents: byte-identical to the reference (pyld)
on every shape it accepts, and None (so callers fall back) for everything else."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings

from credanchor.core import rdfc, rdfc_fast
from credanchor.core.credentials import (
    AchievementSpec,
    Alignment,
    Evidence,
    Recipient,
    build_credential,
)
from credanchor.core.jsonld import CREDENTIALS_V2, OPEN_BADGES_V3_0_3, ContextLoader
from credanchor.core.rdfc import canonical_nquads, reference
from kit.credentials import ACHIEVEMENT, ISSUER, VALID_FROM, make_credential
from kit.ob3 import ob3_credentials

OPTIONS = {
    "@context": [CREDENTIALS_V2, OPEN_BADGES_V3_0_3],
    "type": "DataIntegrityProof",
    "cryptosuite": "eddsa-rdfc-2022",
    "created": "2026-01-15T09:00:00Z",
    "verificationMethod": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
    "proofPurpose": "assertionMethod",
}


def _same_as_reference(doc: dict) -> str:
    fast = rdfc_fast.canonical_nquads(doc)
    assert fast is not None, "a credanchor document was not recognised"
    assert fast == reference(doc)
    return fast


@pytest.mark.parametrize("i", range(6))
def test_the_example_badges(i):
    _same_as_reference(make_credential(i))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ob3_credentials(credits=False))
def test_generated_credentials_are_byte_identical_to_the_reference(credential):
    _same_as_reference(credential)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ob3_credentials(credits=True))
def test_whatever_the_fast_path_declines_the_reference_answers(credential):
    fast = rdfc_fast.canonical_nquads(credential)
    if "creditsAvailable" in credential["credentialSubject"]["achievement"]:
        assert fast is None
    assert canonical_nquads(credential) == reference(credential)


def _lookalikes(*, clear: bool) -> dict:
    alignment = Alignment("same skill", "https://frameworks.example/s", target_code="S1")
    evidence = Evidence(name="same evidence", narrative="done twice")
    return build_credential(
        issuer=ISSUER,
        recipient=Recipient(
            name="Twin",
            email="twin@example.org",
            identifier="twin@example.org",
            identifier_type="emailAddress",
        ),
        achievement=AchievementSpec(
            name="Twins",
            description="d",
            criteria_narrative="n",
            alignments=(alignment, alignment, alignment),
            achievement_id="https://example.org/achievements/twins",
        ),
        evidence=(evidence, evidence),
        valid_from=VALID_FROM,
        clear_identity=clear,
        rng=__import__("random").Random(1),
    )


@pytest.mark.parametrize("clear", [True, False])
def test_blank_nodes_with_equal_content(clear):
    doc = _lookalikes(clear=clear)
    out = _same_as_reference(doc)
    assert out.count("<https://schema.org/AlignmentObject>") == 3
    assert out.count('"same evidence"') == 2
    if clear:  # the two identity objects are look-alikes too
        assert out.count('<https://purl.imsglobal.org/spec/vc/ob/vocab.html#identityType> "emailAddress"') == 2  # fmt: skip


def test_duplicate_nodes_with_the_same_id_merge_as_in_rdf():
    doc = make_credential()
    doc["evidence"] = doc["evidence"] * 2  # the same IRI node twice: one set of quads
    out = _same_as_reference(doc)
    assert out.count("<https://portfolio.example/0> <https://schema.org/name>") == 1


@pytest.mark.parametrize("with_id", [False, True])
@pytest.mark.parametrize("context", [[CREDENTIALS_V2, OPEN_BADGES_V3_0_3]])
def test_proof_options(with_id, context):
    options = {**OPTIONS, "@context": context}
    if with_id:
        options["id"] = "urn:uuid:8cc9022b-6b14-4cf3-8571-74972c5feb54"
    _same_as_reference(options)
    _same_as_reference({k: v for k, v in options.items() if k != "created"})


def _edit(doc: dict, path: tuple, value) -> dict:
    doc = copy.deepcopy(doc)
    target = doc
    for p in path[:-1]:
        target = target[p]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


BADGE = make_credential()


@pytest.mark.parametrize(
    "doc",
    [
        _edit(BADGE, ("@context",), [CREDENTIALS_V2]),
        _edit(BADGE, ("@context",), [OPEN_BADGES_V3_0_3, CREDENTIALS_V2]),
        _edit(BADGE, ("description",), "not a member the builder writes"),
        _edit(BADGE, ("credentialStatus",), {"id": "https://status.example/1#5"}),
        _edit(BADGE, ("type",), ["VerifiableCredential"]),
        _edit(BADGE, ("id",), "relative-id"),
        _edit(BADGE, ("id",), "_:b0"),
        _edit(BADGE, ("id",), "mailto:someone@example.org"),
        _edit(BADGE, ("name",), "bell\x07"),
        _edit(BADGE, ("name",), ["two", "names"]),
        _edit(BADGE, ("issuer",), "did:key:z6Mk"),
        _edit(BADGE, ("issuer", "type"), ["Profile", "Organization"]),
        _edit(BADGE, ("issuer", "email"), "x@example.org"),
        _edit(BADGE, ("credentialSubject", "id"), "did:example:holder"),
        _edit(BADGE, ("credentialSubject", "identifier"), []),
        _edit(BADGE, ("credentialSubject", "identifier", 0, "hashed"), "true"),
        _edit(BADGE, ("credentialSubject", "identifier", 0, "type"), "Identity"),
        _edit(BADGE, ("credentialSubject", "achievement", "criteria"), "https://ex.org/c"),
        _edit(BADGE, ("credentialSubject", "achievement", "creditsAvailable"), 3),
        _edit(BADGE, ("credentialSubject", "achievement", "alignment"), {"type": "Alignment"}),
        _edit(BADGE, ("credentialSubject", "achievement", "image", "caption"), "c"),
        _edit(BADGE, ("evidence",), {"id": "https://portfolio.example/0"}),
        _edit(BADGE, ("evidence", 0, "id"), "https://ex.org/a b"),
        _edit(BADGE, ("validFrom",), 20260115),
        {**BADGE, "proof": {"type": "DataIntegrityProof"}},
        {**OPTIONS, "previousProof": "relative-proof-id"},
        {**OPTIONS, "proofPurpose": "authentication"},
        {**OPTIONS, "cryptosuite": "ecdsa-rdfc-2019"},
        {**OPTIONS, "type": ["DataIntegrityProof"]},
        {**OPTIONS, "verificationMethod": "#key-1"},
        {**OPTIONS, "@context": [OPEN_BADGES_V3_0_3]},  # not a shape credanchor makes
    ],
)
def test_anything_else_is_declined(doc):
    assert rdfc_fast.canonical_nquads(doc) is None


def test_non_dict_inputs_are_declined():
    from types import MappingProxyType

    assert rdfc_fast.canonical_nquads(MappingProxyType(BADGE)) is None
    assert rdfc_fast.canonical_nquads([BADGE]) is None
    assert rdfc_fast.canonical_nquads(None) is None


def test_look_alikes_that_are_not_interchangeable_are_declined():
    # _:p1 and _:p2 look alike and so do their children _:c1 and _:c2, but which child belongs
    # to which parent only the N-degree hash can settle.
    quads = {
        ("<urn:x>", "<urn:p>", "_:p1"),
        ("<urn:x>", "<urn:p>", "_:p2"),
        ("_:p1", "<urn:q>", "_:c1"),
        ("_:p2", "<urn:q>", "_:c2"),
        ("_:c1", "<urn:r>", '"v"'),
        ("_:c2", "<urn:r>", '"v"'),
    }
    assert rdfc_fast._canonicalise(quads) is None


def test_canonical_nquads_takes_the_fast_path_for_badges(monkeypatch):
    expected = reference(BADGE)

    def no_reference(*args, **kwargs):
        raise AssertionError("the reference was used")

    # Outside the production cross-check's sample (test_rdfc_fast_signed.py tests it).
    monkeypatch.setattr(rdfc._SAMPLER, "due", lambda: False)
    monkeypatch.setattr(rdfc, "reference", no_reference)
    assert canonical_nquads(BADGE) == expected
    with pytest.raises(AssertionError, match="reference was used"):
        canonical_nquads(_edit(BADGE, ("description",), "x"))


def test_extra_contexts_cannot_replace_the_ones_the_fast_path_assumes():
    with pytest.raises(ValueError, match="bundled"):
        ContextLoader({OPEN_BADGES_V3_0_3: {"@context": {"name": "https://evil.example/name"}}})


def test_achievement_of_the_support_badge_is_unchanged_by_canonicalisation():
    before = copy.deepcopy(BADGE)
    rdfc_fast.canonical_nquads(BADGE)
    assert before == BADGE
    assert ACHIEVEMENT.name in canonical_nquads(BADGE)


def test_a_remembered_achievement_follows_every_change_to_the_document():
    """The fast path keeps the quads of an achievement seen twice in a row (a batch names one).
    Whatever the caller then changes in place, at any depth, the next answer is the reference's
    for the document as it is now."""
    spec = AchievementSpec(
        name="Excel Modelling", description="Builds financial models.",
        criteria_narrative="Passed the final assessment.", image_url="https://img.example/x.png",
        alignments=(Alignment(target_name="use spreadsheets software",
                              target_url="https://esco.example/s5.6.1", target_code="S5.6.1"),),
        achievement_id="https://skills.example/achievements/excel")
    doc = build_credential(issuer=ISSUER, recipient=Recipient(name="Ada"), achievement=spec,
                           valid_from=VALID_FROM)
    first = _same_as_reference(doc)
    assert _same_as_reference(copy.deepcopy(doc)) == first  # the second sight: now remembered
    ach = doc["credentialSubject"]["achievement"]
    edits = [
        lambda: ach.__setitem__("name", "Excel Modelling II"),
        lambda: ach["criteria"].__setitem__("narrative", "Passed two assessments."),
        lambda: ach["alignment"][0].__setitem__("targetName", "analyse data"),
        lambda: ach["alignment"][0]["type"].__setitem__(0, "Alignment"),  # unchanged value
        lambda: ach["image"].__setitem__("id", "https://img.example/y.png"),
        lambda: ach["alignment"].append({"type": ["Alignment"], "targetName": "present data",
                                         "targetUrl": "https://esco.example/present"}),
        # Two look-alike alignment nodes, both with remembered first-degree hashes.
        lambda: ach["alignment"].append(copy.deepcopy(ach["alignment"][1])),
    ]
    seen = {first}
    for edit in edits:
        _same_as_reference(doc)  # remembered as it stands before the edit
        edit()
        seen.add(_same_as_reference(doc))
    assert len(seen) == 7  # six edits changed the quads; one set a type already there
    # An edit the fast path declines is declined, not answered from memory.
    ach["alignment"][0]["type"].append("https://types.example/Other")
    assert rdfc_fast.canonical_nquads(doc) is None
    assert canonical_nquads(doc) == reference(doc)
