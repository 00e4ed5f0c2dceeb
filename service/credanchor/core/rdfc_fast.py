"""A fast RDFC-1.0 canonicaliser for the documents credanchor itself produces.

General JSON-LD processing (pyld, credanchor.core.rdfc.reference) spends milliseconds per badge
processing contexts. For the few document shapes credanchor builds — the Open Badges 3.0
credential of credanchor.core.credentials.build_credential and the proof options of a Data Integrity
proof over it — the RDF is known in advance: this module maps those shapes straight to quads,
using the IRIs the bundled VC 2.0 and OB 3.0.3 contexts give their terms, and then runs RDFC-1.0
(first-degree hashes, canonical labels, sorted canonical N-Quads) on the handful of blank nodes.

:func:`canonical_nquads` returns ``None`` for anything it does not recognise exactly (another
context, an unknown member, a value of an unexpected type, a string or IRI the reference would
refuse, blank nodes that only the N-degree hash could order) so the caller falls back to the
reference. It must be byte-identical to the reference wherever it answers: tests/core/
test_rdfc_fast.py cross-checks every shape, Hypothesis-generated content and look-alike blank
nodes against it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from credanchor.core.jsonld import CREDENTIALS_V2, OPEN_BADGES_V3_0_3
from credanchor.core.rdfc import (
    _BAD_STRING_CHARS,  # declined here too, so that the reference reports them
)

__all__ = ["canonical_nquads"]

_OB_CONTEXT = [CREDENTIALS_V2, OPEN_BADGES_V3_0_3]

_VC = "https://www.w3.org/2018/credentials#"
_OB = "https://purl.imsglobal.org/spec/vc/ob/vocab.html#"
_SCHEMA = "https://schema.org/"
_SEC = "https://w3id.org/security#"
_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
_DATETIME = "<http://www.w3.org/2001/XMLSchema#dateTime>"
# The OB 3.0 context spells these XML Schema datatypes with https.
_ANYURI = "<https://www.w3.org/2001/XMLSchema#anyURI>"
_BOOLEAN = "<https://www.w3.org/2001/XMLSchema#boolean>"

# IRIs taken as they are: schemes no bundled context defines as a prefix (so no compact-IRI
# expansion can apply) and no character N-Quads would need to escape.
_IRI = re.compile(r'(?:https?|urn|did):[^\x00-\x20<>"{}|^`\\]*')
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


class _Unrecognised(Exception):
    """The document is not one of the shapes this module knows; use the reference."""


def _text(value: object) -> str:
    if type(value) is not str or _BAD_STRING_CHARS.search(value):
        raise _Unrecognised
    return value


def _literal(value: object, datatype: str = "") -> str:
    return '"' + _text(value).translate(_ESCAPES) + '"' + (f"^^{datatype}" if datatype else "")


def _iri(value: object) -> str:
    if type(value) is not str or not _IRI.fullmatch(value):
        raise _Unrecognised
    return f"<{value}>"


def _object(value: object, allowed: frozenset[str]) -> dict[str, Any]:
    if type(value) is not dict or not value.keys() <= allowed:
        raise _Unrecognised
    return value


def _single_type(value: object, name: str) -> None:
    if value != name and value != [name]:
        raise _Unrecognised


class _Graph:
    """Quads of the default graph as (subject, predicate, object) N-Quads terms; blank nodes
    carry temporary labels until canonical ones are issued."""

    def __init__(self) -> None:
        self.quads: set[tuple[str, str, str]] = set()
        self._blank = 0

    def blank(self) -> str:
        self._blank += 1
        return f"_:t{self._blank}"

    def add(self, s: str, p: str, o: str) -> None:
        self.quads.add((s, p, o))

    def node(self, value: Mapping[str, Any]) -> str:
        return _iri(value["id"]) if "id" in value else self.blank()


# --- shapes -------------------------------------------------------------------------------------

_CREDENTIAL = frozenset(
    {"@context", "id", "type", "name", "issuer", "validFrom", "validUntil",
     "credentialSubject", "evidence"}
)  # fmt: skip
_PROFILE = frozenset({"id", "type", "name", "url"})
_SUBJECT = frozenset({"type", "name", "identifier", "achievement"})
_IDENTITY = frozenset({"type", "hashed", "identityHash", "identityType", "salt"})
_ACHIEVEMENT = frozenset({"id", "type", "name", "description", "criteria", "image", "alignment"})
_CRITERIA = frozenset({"id", "narrative"})
_IMAGE = frozenset({"id", "type"})
_ALIGNMENT = frozenset({"type", "targetName", "targetUrl", "targetCode", "targetFramework"})
_EVIDENCE = frozenset({"id", "type", "name", "description", "narrative", "genre", "audience"})
_PROOF_OPTIONS = frozenset(
    {"@context", "id", "type", "cryptosuite", "created", "verificationMethod", "proofPurpose"}
)


def _credential(doc: Mapping[str, Any], g: _Graph) -> None:
    _object(doc, _CREDENTIAL)
    if doc.get("type") != ["VerifiableCredential", "OpenBadgeCredential"]:
        raise _Unrecognised
    s = _iri(doc.get("id"))
    g.add(s, _TYPE, f"<{_VC}VerifiableCredential>")
    g.add(s, _TYPE, f"<{_OB}OpenBadgeCredential>")
    if "name" in doc:
        g.add(s, f"<{_SCHEMA}name>", _literal(doc["name"]))
    issuer = _object(doc.get("issuer"), _PROFILE)
    _single_type(issuer.get("type"), "Profile")
    i = _iri(issuer.get("id"))
    g.add(s, f"<{_VC}issuer>", i)
    g.add(i, _TYPE, f"<{_OB}Profile>")
    g.add(i, f"<{_SCHEMA}name>", _literal(issuer.get("name")))
    if "url" in issuer:
        g.add(i, f"<{_SCHEMA}url>", _literal(issuer["url"], _ANYURI))
    g.add(s, f"<{_VC}validFrom>", _literal(doc.get("validFrom"), _DATETIME))
    if "validUntil" in doc:
        g.add(s, f"<{_VC}validUntil>", _literal(doc["validUntil"], _DATETIME))
    g.add(s, f"<{_VC}credentialSubject>", _subject(doc.get("credentialSubject"), g))
    if "evidence" in doc:
        evidence = doc["evidence"]
        if type(evidence) is not list:
            raise _Unrecognised
        for item in evidence:
            g.add(s, f"<{_VC}evidence>", _evidence(item, g))


def _subject(value: object, g: _Graph) -> str:
    subject = _object(value, _SUBJECT)
    _single_type(subject.get("type"), "AchievementSubject")
    s = g.blank()
    g.add(s, _TYPE, f"<{_OB}AchievementSubject>")
    if "name" in subject:
        g.add(s, f"<{_SCHEMA}name>", _literal(subject["name"]))
    identities = subject.get("identifier")
    if type(identities) is not list or not identities:
        raise _Unrecognised
    for item in identities:
        ident = _object(item, _IDENTITY)
        _single_type(ident.get("type"), "IdentityObject")
        hashed = ident.get("hashed")
        if type(hashed) is not bool:
            raise _Unrecognised
        o = g.blank()
        g.add(s, f"<{_OB}identifier>", o)
        g.add(o, _TYPE, f"<{_OB}IdentityObject>")
        g.add(o, f"<{_OB}hashed>", f'"{"true" if hashed else "false"}"^^{_BOOLEAN}')
        g.add(o, f"<{_OB}identityHash>", _literal(ident.get("identityHash")))
        g.add(o, f"<{_OB}identityType>", _literal(ident.get("identityType")))
        if "salt" in ident:
            g.add(o, f"<{_OB}salt>", _literal(ident["salt"]))
    g.add(s, f"<{_OB}achievement>", _achievement(subject.get("achievement"), g))
    return s


def _achievement(value: object, g: _Graph) -> str:
    achievement = _object(value, _ACHIEVEMENT)
    _single_type(achievement.get("type"), "Achievement")
    a = _iri(achievement.get("id"))
    g.add(a, _TYPE, f"<{_OB}Achievement>")
    g.add(a, f"<{_SCHEMA}name>", _literal(achievement.get("name")))
    g.add(a, f"<{_SCHEMA}description>", _literal(achievement.get("description")))
    criteria = _object(achievement.get("criteria"), _CRITERIA)
    c = g.node(criteria)
    # The OB 3.0 context maps the "criteria" property to the IRI of the Criteria class.
    g.add(a, f"<{_OB}Criteria>", c)
    if "narrative" in criteria:
        g.add(c, f"<{_OB}narrative>", _literal(criteria["narrative"]))
    if "image" in achievement:
        image = _object(achievement["image"], _IMAGE)
        _single_type(image.get("type"), "Image")
        m = _iri(image.get("id"))
        g.add(a, f"<{_OB}image>", m)
        g.add(m, _TYPE, f"<{_OB}Image>")
    if "alignment" in achievement:
        alignments = achievement["alignment"]
        if type(alignments) is not list:
            raise _Unrecognised
        for item in alignments:
            alignment = _object(item, _ALIGNMENT)
            _single_type(alignment.get("type"), "Alignment")
            n = g.blank()
            g.add(a, f"<{_OB}alignment>", n)
            g.add(n, _TYPE, f"<{_SCHEMA}AlignmentObject>")
            g.add(n, f"<{_SCHEMA}targetName>", _literal(alignment.get("targetName")))
            g.add(n, f"<{_SCHEMA}targetUrl>", _literal(alignment.get("targetUrl"), _ANYURI))
            if "targetCode" in alignment:
                g.add(n, f"<{_OB}targetCode>", _literal(alignment["targetCode"]))
            if "targetFramework" in alignment:
                g.add(n, f"<{_SCHEMA}targetFramework>", _literal(alignment["targetFramework"]))
    return a


_EVIDENCE_TERMS = (
    ("name", f"<{_SCHEMA}name>"),
    ("description", f"<{_SCHEMA}description>"),
    ("narrative", f"<{_OB}narrative>"),
    ("genre", f"<{_SCHEMA}genre>"),
    ("audience", f"<{_SCHEMA}audience>"),
)


def _evidence(value: object, g: _Graph) -> str:
    evidence = _object(value, _EVIDENCE)
    _single_type(evidence.get("type"), "Evidence")
    e = g.node(evidence)
    g.add(e, _TYPE, f"<{_OB}Evidence>")
    for key, predicate in _EVIDENCE_TERMS:
        if key in evidence:
            g.add(e, predicate, _literal(evidence[key]))
    return e


def _proof_options(doc: Mapping[str, Any], g: _Graph) -> None:
    _object(doc, _PROOF_OPTIONS)
    if (
        doc.get("type") != "DataIntegrityProof"
        or doc.get("cryptosuite") != "eddsa-rdfc-2022"
        or doc.get("proofPurpose") != "assertionMethod"
    ):
        raise _Unrecognised
    s = g.node(doc)
    g.add(s, _TYPE, f"<{_SEC}DataIntegrityProof>")
    g.add(s, f"<{_SEC}cryptosuite>", f'"eddsa-rdfc-2022"^^<{_SEC}cryptosuiteString>')
    g.add(s, f"<{_SEC}proofPurpose>", f"<{_SEC}assertionMethod>")
    g.add(s, f"<{_SEC}verificationMethod>", _iri(doc.get("verificationMethod")))
    if "created" in doc:
        g.add(s, "<http://purl.org/dc/terms/created>", _literal(doc["created"], _DATETIME))


# --- RDFC-1.0 on the resulting graph ------------------------------------------------------------


def _blank_nodes(quad: tuple[str, str, str]) -> tuple[str, ...]:
    return tuple(t for t in (quad[0], quad[2]) if t.startswith("_:"))


def _canonicalise(quads: set[tuple[str, str, str]]) -> str | None:
    """RDFC-1.0 §4.4 for graphs whose look-alike blank nodes (equal first-degree hashes) are
    interchangeable; None when only the N-degree hash could order them."""
    mentions: dict[str, list[tuple[str, str, str]]] = {}
    for quad in quads:
        for b in _blank_nodes(quad):
            mentions.setdefault(b, []).append(quad)

    def serialise(quad: tuple[str, str, str], name: Any) -> str:
        s, p, o = quad
        s = name(s) if s.startswith("_:") else s
        o = name(o) if o.startswith("_:") else o
        return f"{s} {p} {o} .\n"

    def first_degree(b: str) -> str:
        lines = sorted(serialise(q, lambda t: "_:a" if t == b else "_:z") for q in mentions[b])
        return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()

    by_hash: dict[str, list[str]] = {}
    for b in mentions:
        by_hash.setdefault(first_degree(b), []).append(b)
    canonical: dict[str, str] = {}
    for h in sorted(by_hash):
        if len(by_hash[h]) == 1:
            canonical[by_hash[h][0]] = f"_:c14n{len(canonical)}"
    for h in sorted(by_hash):
        group = by_hash[h]
        if len(group) == 1:
            continue
        # Look-alike nodes are interchangeable when every other blank node they touch already
        # has its canonical label and their quads are then identical: RDFC-1.0 gives them the
        # next labels in some order, and every order yields the same N-Quads.
        shapes = set()
        for b in group:
            others = {x for q in mentions[b] for x in _blank_nodes(q)} - {b}
            if not others <= canonical.keys():
                return None

            def name(t: str, b: str = b) -> str:
                return "_:a" if t == b else canonical[t]

            shapes.add(tuple(sorted(serialise(q, name) for q in mentions[b])))
        if len(shapes) != 1:
            return None
        for b in group:
            canonical[b] = f"_:c14n{len(canonical)}"
    lines = sorted(serialise(q, canonical.__getitem__) for q in quads)
    return "".join(lines)


def canonical_nquads(document: object) -> str | None:
    """RDFC-1.0 canonical N-Quads of a credanchor OB 3.0 credential or of the proof options of
    an eddsa-rdfc-2022 proof over one; None for any other document."""
    if type(document) is not dict or document.get("@context") != _OB_CONTEXT:
        return None
    g = _Graph()
    try:
        if "credentialSubject" in document:
            _credential(document, g)
        else:
            _proof_options(document, g)
    except _Unrecognised:
        return None
    return _canonicalise(g.quads)
