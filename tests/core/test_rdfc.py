"""RDFC-1.0 canonicalisation (reference path): the spec's canonical forms, and refusals of
anything JSON-LD would silently drop (it would then not be signed)."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from credanchor.core.jsonld import CREDENTIALS_V2, ContextLoader
from credanchor.core.rdfc import MAX_DEPTH, canonical_nquads, reference
from credanchor.errors import RdfCanonicalizationError, UnknownContext
from kit.credentials import VECTORS, make_credential

EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"
LOADER = ContextLoader(
    {EXAMPLES_V2: json.loads((VECTORS / "di-eddsa" / "credentials-examples-v2.jsonld").read_text())}
)

# Data Integrity EdDSA Cryptosuites v1.0 (W3C REC 2025-05-15), Appendix B.1, Example 8:
# Credential without Proof.
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
# Appendix B.1, Example 9: Canonical Credential without Proof (one quad per line, each ending
# in a newline).
ALUMNI_NQUADS = (
    '<did:example:abcdefgh> <https://www.w3.org/ns/credentials/examples#alumniOf> "The School of Examples" .\n'
    "<urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://www.w3.org/2018/credentials#VerifiableCredential> .\n"
    "<urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://www.w3.org/ns/credentials/examples#AlumniCredential> .\n"
    '<urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33> <https://schema.org/description> "A minimum viable example of an Alumni Credential." .\n'
    '<urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33> <https://schema.org/name> "Alumni Credential" .\n'
    "<urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33> <https://www.w3.org/2018/credentials#credentialSubject> <did:example:abcdefgh> .\n"
    "<urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33> <https://www.w3.org/2018/credentials#issuer> <https://vc.example/issuers/5678> .\n"
    '<urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33> <https://www.w3.org/2018/credentials#validFrom> "2023-01-01T00:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .\n'
)
# Appendix B.1, Example 10: Hash of Canonical Credential without Proof (hex).
ALUMNI_SHA256 = "517744132ae165a5349155bef0bb0cf2258fff99dfe1dbd914b938d775a36017"


def test_spec_b1_canonical_credential_byte_for_byte():
    out = canonical_nquads(ALUMNI, loader=LOADER)
    assert out == ALUMNI_NQUADS
    assert hashlib.sha256(out.encode("utf-8")).hexdigest() == ALUMNI_SHA256


def test_key_order_and_whitespace_of_the_json_do_not_matter():
    shuffled = dict(reversed(list(ALUMNI.items())))
    shuffled["credentialSubject"] = dict(reversed(list(ALUMNI["credentialSubject"].items())))
    assert canonical_nquads(shuffled, loader=LOADER) == ALUMNI_NQUADS
    assert canonical_nquads(json.loads(json.dumps(ALUMNI, indent=7)), loader=LOADER) == (
        ALUMNI_NQUADS
    )


def test_any_change_to_a_value_changes_the_canonical_form():
    for key, value in [("name", "Alumni Credential!"), ("validFrom", "2023-01-01T00:00:01Z")]:
        assert canonical_nquads({**ALUMNI, key: value}, loader=LOADER) != ALUMNI_NQUADS


def test_a_credanchor_badge_has_the_expected_shape():
    out = reference(make_credential())
    lines = out.splitlines()
    assert out.endswith(" .\n") and lines == sorted(lines)
    assert len(lines) == 41
    # subject, its two identity objects and the alignment are the blank nodes
    assert {w for line in lines for w in line.split() if w.startswith("_:")} == {
        "_:c14n0",
        "_:c14n1",
        "_:c14n2",
        "_:c14n3",
    }
    assert '<https://purl.imsglobal.org/spec/vc/ob/vocab.html#identityType> "emailAddress" .' in out


def test_canonical_form_is_independent_of_the_input_object(credential):
    before = json.dumps(credential, sort_keys=True)
    canonical_nquads(credential)
    assert json.dumps(credential, sort_keys=True) == before  # not modified
    assert reference(credential) == canonical_nquads(credential)


# --- refusals ---------------------------------------------------------------------------------


def _vc(**extra):
    return {
        "@context": [CREDENTIALS_V2],
        "id": "urn:uuid:00000000-0000-4000-8000-000000000000",
        "type": ["VerifiableCredential"],
        **extra,
    }


@pytest.mark.parametrize(
    "doc, fragment",
    [
        # VC 2.0's context has no @vocab: an undefined term would be dropped, hence unsigned.
        (_vc(unsignedClaim="pay me"), "not defined"),
        (_vc(credentialSubject={"id": "relative/subject"}), "not an absolute IRI"),
        (_vc(issuer="issuer-without-scheme"), "not an absolute IRI"),
        (_vc(type=["VerifiableCredential", "UndefinedType"]), "not defined as an absolute IRI"),
        (_vc(issuer="https://ex.org/a b"), "not an absolute IRI"),
        (_vc(name=None), "null"),
        (_vc(name={"@value": "x", "@direction": "rtl"}), "@direction"),
        (_vc(name="bell\x07"), "U+0007"),
        (_vc(name="form feed\x0c"), "U+000C"),
        (_vc(name="delete\x7f"), "U+007F"),
        (_vc(name="lone \ud800 surrogate"), "U+D800"),
        (_vc(name=2**53), "integer beyond"),
        (_vc(name=float("nan")), "finite"),
        (_vc(name=1.0000152587890625), "unambiguous"),  # 1 + 2**-16: a tie at 16 digits
        (_vc(name=b"bytes"), "not a JSON value"),
        (_vc(**{"@context": [CREDENTIALS_V2, {"@version": 2}]}), "not valid JSON-LD"),
    ],
)
def test_documents_that_would_lose_data_are_refused(doc, fragment):
    with pytest.raises(RdfCanonicalizationError) as err:
        canonical_nquads(doc)
    assert fragment in err.value.detail


def test_refusal_is_an_input_error_with_a_problem_code():
    with pytest.raises(RdfCanonicalizationError) as err:
        canonical_nquads(_vc(unsignedClaim=1))
    assert err.value.status == 422
    assert err.value.to_problem()["code"] == "rdf-canonicalization"


def test_not_an_object_and_too_deep_are_refused():
    with pytest.raises(RdfCanonicalizationError):
        canonical_nquads(["not", "an", "object"])  # type: ignore[arg-type]
    deep: dict = {"name": "x"}
    for _ in range(MAX_DEPTH + 1):
        deep = {"credentialSubject": deep}
    with pytest.raises(RdfCanonicalizationError, match="deeper"):
        canonical_nquads(_vc(credentialSubject=deep))


def test_tab_newline_quote_and_backslash_are_escaped_as_rdfc_requires():
    out = canonical_nquads(_vc(name='a\tb\nc\rd"e\\f'))
    assert '"a\\tb\\nc\\rd\\"e\\\\f"' in out


def test_integral_floats_read_as_integers_like_javascript():
    ctx = [CREDENTIALS_V2, {"n": {"@id": "https://ex.org/n"}}]
    as_float = canonical_nquads(_vc(**{"@context": ctx}, credentialSubject={"n": 5.0}))
    as_int = canonical_nquads(_vc(**{"@context": ctx}, credentialSubject={"n": 5}))
    assert as_float == as_int
    assert '"5"^^<http://www.w3.org/2001/XMLSchema#integer>' in as_int
    doubles = canonical_nquads(_vc(**{"@context": ctx}, credentialSubject={"n": 0.1}))
    assert '"1.0E-1"^^<http://www.w3.org/2001/XMLSchema#double>' in doubles


def test_unknown_context_is_reported_as_such_not_as_invalid_json_ld():
    with pytest.raises(UnknownContext):
        canonical_nquads(_vc(**{"@context": [CREDENTIALS_V2, "https://evil.example/ctx"]}))


def test_a_poisoned_dataset_is_refused_quickly():
    # RDFC-1.0 §4.4.3: blank nodes that all look alike force the N-degree hash through every
    # permutation. Twelve mutually linked ones would take hours; the work bound stops it.
    n = 12
    graph = [
        {"@id": f"_:b{i}", "https://ex.org/p": [{"@id": f"_:b{j}"} for j in range(n) if j != i]}
        for i in range(n)
    ]
    started = time.monotonic()
    with pytest.raises(RdfCanonicalizationError, match="poisoning"):
        canonical_nquads({"@graph": graph})
    assert time.monotonic() - started < 20


def test_a_few_look_alike_blank_nodes_are_still_canonicalised():
    # Two identical evidence objects without ids: the N-degree hash is needed, and bounded work
    # is ample for it. Their order in the input does not matter.
    ctx = [CREDENTIALS_V2, {"p": {"@id": "https://ex.org/p"}, "q": {"@id": "https://ex.org/q"}}]
    a = {"p": "same"}
    b = {"p": "same"}
    one = canonical_nquads(_vc(**{"@context": ctx}, credentialSubject={"q": [a, b]}))
    assert one.count('<https://ex.org/p> "same"') == 2
    assert "_:c14n0" in one and "_:c14n2" in one


def test_concurrent_reference_canonicalisations_agree_with_sequential_ones():
    # One loader (and pyld's per-context caches) serves every request thread.
    from concurrent.futures import ThreadPoolExecutor

    docs = [make_credential(i) for i in range(16)]
    expected = [reference(d) for d in docs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(reference, docs * 2)) == expected * 2


def test_null_inside_a_json_literal_member_is_signed_and_null_elsewhere_refused():
    """A qualification's ``credanchorStack`` is a JSON literal (@json, inline context): JSON-LD
    keeps it whole, nulls included, so a null there is signed, not dropped."""
    literal = {"credanchorStack": {"@id": "https://credanchor.dev/ns#credanchorStack",
                                   "@type": "@json"}}
    doc = make_credential(0)
    doc["@context"] = [*doc["@context"], literal]
    doc["credanchorStack"] = {"rule": {"maxAgeDays": None}, "n": 1}
    nquads = reference(doc)
    assert (r'"{\"n\":1,\"rule\":{\"maxAgeDays\":null}}"'
            "^^<http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON>") in nquads
    changed = dict(doc, credanchorStack={"rule": {"maxAgeDays": 30}, "n": 1})
    assert reference(changed) != nquads
    with pytest.raises(RdfCanonicalizationError, match=r"^\$\.name: null is dropped"):
        reference(dict(doc, name=None))
