"""A fast RDFC-1.0 canonicaliser for the documents credanchor itself produces.

General JSON-LD processing (pyld, credanchor.core.rdfc.reference) spends milliseconds per badge
processing contexts. For the few document shapes credanchor builds — the Open Badges 3.0
credential of credanchor.core.credentials.build_credential, with or without the
BitstringStatusListEntry a signing issuer adds (credanchor.issuing.signing), the
BitstringStatusListCredential of credanchor.core.statuslist (VC 2.0 context only), and the proof
options of a Data Integrity proof over either (with ``id`` and ``previousProof``) — the RDF is
known in advance: this module maps those shapes straight to quads, using the IRIs the bundled
VC 2.0 and OB 3.0.3 contexts give their terms, and then runs RDFC-1.0 (first-degree hashes,
canonical labels, sorted canonical N-Quads) on the handful of blank nodes.

:func:`canonical_nquads` returns ``None`` for anything it does not recognise exactly (another
context, an unknown member, a value of an unexpected type, a string or IRI the reference would
refuse, blank nodes that only the N-degree hash could order) so the caller falls back to the
reference. It must be byte-identical to the reference wherever it answers: tests/core/
test_rdfc_fast.py and test_rdfc_fast_signed.py cross-check every shape the builders make,
Hypothesis-generated content and look-alike blank nodes against it, and
credanchor.core.rdfc.canonical_nquads recomputes a sample of its answers with the reference in
production.

A batch's badges name one achievement: once the same achievement id comes twice in a row, its
quads are kept (with a deep copy of the achievement, compared by value) and reused while the
achievement stays equal to it.
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
_VC2_CONTEXT = [CREDENTIALS_V2]

_VC = "https://www.w3.org/2018/credentials#"
_OB = "https://purl.imsglobal.org/spec/vc/ob/vocab.html#"
_SCHEMA = "https://schema.org/"
_SEC = "https://w3id.org/security#"
_STATUS = "https://www.w3.org/ns/credentials/status#"
_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
_DATETIME = "<http://www.w3.org/2001/XMLSchema#dateTime>"
# The OB 3.0 context spells these XML Schema datatypes with https.
_ANYURI = "<https://www.w3.org/2001/XMLSchema#anyURI>"
_BOOLEAN = "<https://www.w3.org/2001/XMLSchema#boolean>"
_MULTIBASE = "<https://w3id.org/security#multibase>"
# Predicates and classes as N-Quads terms, built once (the shapes below run per document).
_OB_Achievement = f"<{_OB}Achievement>"
_OB_AchievementSubject = f"<{_OB}AchievementSubject>"
_OB_Criteria = f"<{_OB}Criteria>"
_OB_Evidence = f"<{_OB}Evidence>"
_OB_IdentityObject = f"<{_OB}IdentityObject>"
_OB_Image = f"<{_OB}Image>"
_OB_OpenBadgeCredential = f"<{_OB}OpenBadgeCredential>"
_OB_Profile = f"<{_OB}Profile>"
_OB_achievement = f"<{_OB}achievement>"
_OB_alignment = f"<{_OB}alignment>"
_OB_hashed = f"<{_OB}hashed>"
_OB_identifier = f"<{_OB}identifier>"
_OB_identityHash = f"<{_OB}identityHash>"
_OB_identityType = f"<{_OB}identityType>"
_OB_image = f"<{_OB}image>"
_OB_narrative = f"<{_OB}narrative>"
_OB_salt = f"<{_OB}salt>"
_OB_targetCode = f"<{_OB}targetCode>"
_SCHEMA_AlignmentObject = f"<{_SCHEMA}AlignmentObject>"
_SCHEMA_audience = f"<{_SCHEMA}audience>"
_SCHEMA_description = f"<{_SCHEMA}description>"
_SCHEMA_genre = f"<{_SCHEMA}genre>"
_SCHEMA_name = f"<{_SCHEMA}name>"
_SCHEMA_targetFramework = f"<{_SCHEMA}targetFramework>"
_SCHEMA_targetName = f"<{_SCHEMA}targetName>"
_SCHEMA_targetUrl = f"<{_SCHEMA}targetUrl>"
_SCHEMA_url = f"<{_SCHEMA}url>"
_SEC_DataIntegrityProof = f"<{_SEC}DataIntegrityProof>"
_SEC_assertionMethod = f"<{_SEC}assertionMethod>"
_SEC_cryptosuite = f"<{_SEC}cryptosuite>"
_SEC_previousProof = f"<{_SEC}previousProof>"
_SEC_proofPurpose = f"<{_SEC}proofPurpose>"
_SEC_verificationMethod = f"<{_SEC}verificationMethod>"
_STATUS_BitstringStatusList = f"<{_STATUS}BitstringStatusList>"
_STATUS_BitstringStatusListCredential = f"<{_STATUS}BitstringStatusListCredential>"
_STATUS_BitstringStatusListEntry = f"<{_STATUS}BitstringStatusListEntry>"
_STATUS_encodedList = f"<{_STATUS}encodedList>"
_STATUS_statusListCredential = f"<{_STATUS}statusListCredential>"
_STATUS_statusListIndex = f"<{_STATUS}statusListIndex>"
_STATUS_statusPurpose = f"<{_STATUS}statusPurpose>"
_VC_VerifiableCredential = f"<{_VC}VerifiableCredential>"
_VC_credentialStatus = f"<{_VC}credentialStatus>"
_VC_credentialSubject = f"<{_VC}credentialSubject>"
_VC_evidence = f"<{_VC}evidence>"
_VC_issuer = f"<{_VC}issuer>"
_VC_validFrom = f"<{_VC}validFrom>"
_VC_validUntil = f"<{_VC}validUntil>"

# IRIs taken as they are: schemes no bundled context defines as a prefix (so no compact-IRI
# expansion can apply) and no character N-Quads would need to escape.
_IRI = re.compile(r'(?:https?|urn|did):[^\x00-\x20<>"{}|^`\\]*')
# Characters a literal must escape or that the reference refuses (a superset of both).
_SPECIAL = re.compile(r'[\x00-\x1f"\\\x7f\ud800-\udfff]')
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


class _Unrecognised(Exception):
    """The document is not one of the shapes this module knows; use the reference."""


def _text(value: object) -> str:
    if type(value) is not str or _BAD_STRING_CHARS.search(value):
        raise _Unrecognised
    return value


def _literal(value: object, datatype: str = "") -> str:
    if type(value) is not str:
        raise _Unrecognised
    # One scan for the common case: nothing to escape and nothing to refuse.
    if _SPECIAL.search(value) is not None:
        value = _text(value).translate(_ESCAPES)
    return f'"{value}"^^{datatype}' if datatype else f'"{value}"'


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
    """Quads of the default graph, kept in three kinds so that RDFC-1.0 needs no second pass:

    * ``ground``: quads without blank nodes, as finished N-Quads lines;
    * ``tails``: for each blank node, the quads whose subject it is and whose object is not a
      blank node, as their ``"predicate object .\\n"`` tails: its first-degree line of such
      a quad is ``"_:a " + tail`` (RDFC-1.0 §4.6), its canonical line ``label + " " + tail``;
    * ``links``: quads whose object is a blank node, as (subject, predicate, object) terms.

    Each is a set, so that a quad stated twice counts once, as in RDF. A term is a blank node
    exactly when it starts with ``_`` (IRIs start with ``<``, literals with ``"``); blank
    nodes carry temporary labels until canonical ones are issued, and every one in the graph
    is a key of ``tails``.

    ``known`` holds first-degree hashes already computed for some blank nodes: those of a
    remembered achievement, which no quad outside it mentions (see :func:`_replay`)."""

    __slots__ = ("_blank", "ground", "known", "links", "tails")

    def __init__(self) -> None:
        self.ground: set[str] = set()
        self.tails: dict[str, set[str]] = {}
        self.links: set[tuple[str, str, str]] = set()
        self.known: dict[str, str] = {}
        self._blank = 0

    def blank(self) -> str:
        self._blank += 1
        label = f"_:t{self._blank}"
        self.tails[label] = set()
        return label

    def add(self, s: str, p: str, o: str) -> None:
        if o[0] == "_":
            self.links.add((s, p, o))
        elif s[0] == "_":
            self.tails[s].add(f"{p} {o} .\n")
        else:
            self.ground.add(f"{s} {p} {o} .\n")

    def node(self, value: Mapping[str, Any]) -> str:
        return _iri(value["id"]) if "id" in value else self.blank()


# --- shapes -------------------------------------------------------------------------------------

_CREDENTIAL = frozenset(
    {"@context", "id", "type", "name", "issuer", "validFrom", "validUntil",
     "credentialSubject", "evidence", "credentialStatus"}
)  # fmt: skip
_STATUS_ENTRY = frozenset(
    {"id", "type", "statusPurpose", "statusListIndex", "statusListCredential"}
)
_STATUS_LIST_CREDENTIAL = frozenset(
    {"@context", "id", "type", "issuer", "validFrom", "validUntil", "credentialSubject"}
)
_STATUS_LIST = frozenset({"id", "type", "statusPurpose", "encodedList"})
_PROFILE = frozenset({"id", "type", "name", "url"})
_SUBJECT = frozenset({"type", "name", "identifier", "achievement"})
_IDENTITY = frozenset({"type", "hashed", "identityHash", "identityType", "salt"})
_ACHIEVEMENT = frozenset({"id", "type", "name", "description", "criteria", "image", "alignment"})
_CRITERIA = frozenset({"id", "narrative"})
_IMAGE = frozenset({"id", "type"})
_ALIGNMENT = frozenset({"type", "targetName", "targetUrl", "targetCode", "targetFramework"})
_EVIDENCE = frozenset({"id", "type", "name", "description", "narrative", "genre", "audience"})
_PROOF_OPTIONS = frozenset(
    {"@context", "id", "type", "cryptosuite", "created", "verificationMethod", "proofPurpose",
     "previousProof"}
)  # fmt: skip


# The quads every badge states, as their lines' fixed ends: " predicate object .\n" after a
# ground subject, and "predicate object .\n" tails of a blank one (see _Graph).
_IS_VC = f" {_TYPE} {_VC_VerifiableCredential} .\n"
_IS_OBC = f" {_TYPE} {_OB_OpenBadgeCredential} .\n"
_IS_PROFILE = f" {_TYPE} {_OB_Profile} .\n"
_IS_ACHIEVEMENT = f" {_TYPE} {_OB_Achievement} .\n"
_TAIL_SUBJECT = f"{_TYPE} {_OB_AchievementSubject} .\n"
_TAIL_IDENTITY = f"{_TYPE} {_OB_IdentityObject} .\n"
_TAIL_HASHED = {
    True: f'{_OB_hashed} "true"^^{_BOOLEAN} .\n',
    False: f'{_OB_hashed} "false"^^{_BOOLEAN} .\n',
}
_TAIL_ALIGNMENT = f"{_TYPE} {_SCHEMA_AlignmentObject} .\n"


def _credential(doc: Mapping[str, Any], g: _Graph) -> None:
    _object(doc, _CREDENTIAL)
    if doc.get("type") != ["VerifiableCredential", "OpenBadgeCredential"]:
        raise _Unrecognised
    s = _iri(doc.get("id"))
    ground = g.ground.add
    ground(s + _IS_VC)
    ground(s + _IS_OBC)
    if "name" in doc:
        ground(f"{s} {_SCHEMA_name} {_literal(doc['name'])} .\n")
    issuer = _object(doc.get("issuer"), _PROFILE)
    _single_type(issuer.get("type"), "Profile")
    i = _iri(issuer.get("id"))
    ground(f"{s} {_VC_issuer} {i} .\n")
    ground(i + _IS_PROFILE)
    ground(f"{i} {_SCHEMA_name} {_literal(issuer.get('name'))} .\n")
    if "url" in issuer:
        ground(f"{i} {_SCHEMA_url} {_literal(issuer['url'], _ANYURI)} .\n")
    ground(f"{s} {_VC_validFrom} {_literal(doc.get('validFrom'), _DATETIME)} .\n")
    if "validUntil" in doc:
        ground(f"{s} {_VC_validUntil} {_literal(doc['validUntil'], _DATETIME)} .\n")
    g.links.add((s, _VC_credentialSubject, _subject(doc.get("credentialSubject"), g)))
    if "evidence" in doc:
        evidence = doc["evidence"]
        if type(evidence) is not list:
            raise _Unrecognised
        for item in evidence:
            g.add(s, _VC_evidence, _evidence(item, g))
    if "credentialStatus" in doc:
        g.add(s, _VC_credentialStatus, _status_entry(doc["credentialStatus"], g))


def _status_entry(value: object, g: _Graph) -> str:
    """A BitstringStatusListEntry (VC 2.0 context: the entry's type-scoped terms). Only the
    members statuslist.StatusEntry writes; statusSize (an xsd:integer) and statusMessage are
    left to the reference."""
    entry = _object(value, _STATUS_ENTRY)
    _single_type(entry.get("type"), "BitstringStatusListEntry")
    e = g.node(entry)
    g.add(e, _TYPE, _STATUS_BitstringStatusListEntry)
    g.add(e, _STATUS_statusPurpose, _literal(entry.get("statusPurpose")))
    # A plain string literal: the spec writes the index as a decimal string (a JSON number
    # would be an xsd:integer, which this module does not produce).
    g.add(e, _STATUS_statusListIndex, _literal(entry.get("statusListIndex")))
    g.add(e, _STATUS_statusListCredential, _iri(entry.get("statusListCredential")))
    return e


def _status_list_credential(doc: Mapping[str, Any], g: _Graph) -> None:
    """The BitstringStatusListCredential of credanchor.core.statuslist (VC 2.0 context only)."""
    _object(doc, _STATUS_LIST_CREDENTIAL)
    if doc.get("type") != ["VerifiableCredential", "BitstringStatusListCredential"]:
        raise _Unrecognised
    s = _iri(doc.get("id"))
    g.add(s, _TYPE, _VC_VerifiableCredential)
    g.add(s, _TYPE, _STATUS_BitstringStatusListCredential)
    g.add(s, _VC_issuer, _iri(doc.get("issuer")))
    g.add(s, _VC_validFrom, _literal(doc.get("validFrom"), _DATETIME))
    if "validUntil" in doc:
        g.add(s, _VC_validUntil, _literal(doc["validUntil"], _DATETIME))
    subject = _object(doc.get("credentialSubject"), _STATUS_LIST)
    _single_type(subject.get("type"), "BitstringStatusList")
    b = g.node(subject)
    g.add(s, _VC_credentialSubject, b)
    g.add(b, _TYPE, _STATUS_BitstringStatusList)
    g.add(b, _STATUS_statusPurpose, _literal(subject.get("statusPurpose")))
    g.add(b, _STATUS_encodedList, _literal(subject.get("encodedList"), _MULTIBASE))


def _subject(value: object, g: _Graph) -> str:
    """The AchievementSubject: a blank node (no id), as are its IdentityObjects."""
    subject = _object(value, _SUBJECT)
    _single_type(subject.get("type"), "AchievementSubject")
    s = g.blank()
    tails = g.tails[s]
    tails.add(_TAIL_SUBJECT)
    if "name" in subject:
        tails.add(f"{_SCHEMA_name} {_literal(subject['name'])} .\n")
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
        g.links.add((s, _OB_identifier, o))
        o_tails = g.tails[o]
        o_tails.add(_TAIL_IDENTITY)
        o_tails.add(_TAIL_HASHED[hashed])
        o_tails.add(f"{_OB_identityHash} {_literal(ident.get('identityHash'))} .\n")
        o_tails.add(f"{_OB_identityType} {_literal(ident.get('identityType'))} .\n")
        if "salt" in ident:
            o_tails.add(f"{_OB_salt} {_literal(ident['salt'])} .\n")
    tails.add(f"{_OB_achievement} {_achievement(subject.get('achievement'), g)} .\n")
    return s


# The last achievement's quads, kept once the same achievement id comes twice in a row: a
# batch's badges name one achievement (credanchor.core.credentials.achievement_urn), and a bulk
# verification meets them one after the other. (value copy or None, its quads, its IRI, the
# id last seen). A copy, compared by value: the caller may change its dict afterwards.
_AchievementMemo = tuple[dict[str, Any] | None, "_Graph | None", str, object]
_ACHIEVEMENT_MEMO: _AchievementMemo = (None, None, "", None)


def _achievement(value: object, g: _Graph) -> str:
    global _ACHIEVEMENT_MEMO
    copy, quads, iri, last_id = _ACHIEVEMENT_MEMO
    if quads is not None and type(value) is dict and value == copy:
        _replay(quads, g)
        return iri
    this_id = value.get("id") if type(value) is dict else None
    if this_id is None or this_id != last_id:
        _ACHIEVEMENT_MEMO = (None, None, "", this_id)
        return _achievement_quads(value, g)
    quads = _Graph()
    iri = _achievement_quads(value, quads)
    assert type(value) is dict  # _achievement_quads accepted it
    # Its blank nodes (criteria, alignments) are mentioned by its own quads only, so their
    # first-degree hashes in any badge are the ones they have here.
    quads.known = {b: h for h, group in _first_degree_hashes(quads).items() for b in group}
    _ACHIEVEMENT_MEMO = (_achievement_copy(value), quads, iri, this_id)
    _replay(quads, g)
    return iri


def _achievement_copy(value: Any) -> Any:
    """A copy of ``value`` that no change to it can reach (dicts and lists copied all the way
    down; an achievement :func:`_achievement_quads` accepted holds nothing else but strings)."""
    if type(value) is dict:
        return {k: _achievement_copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_achievement_copy(v) for v in value]
    return value


def _replay(quads: _Graph, g: _Graph) -> None:
    """Add ``quads`` (a graph of its own) to ``g``, its blank nodes under fresh labels of g's."""
    g.ground |= quads.ground
    labels = {}
    known = g.known
    for b, tails in quads.tails.items():
        labels[b] = label = g.blank()
        g.tails[label] = set(tails)
        if b in quads.known:
            known[label] = quads.known[b]
    for s, p, o in quads.links:
        g.links.add((labels.get(s, s), p, labels.get(o, o)))


def _achievement_quads(value: object, g: _Graph) -> str:
    achievement = _object(value, _ACHIEVEMENT)
    _single_type(achievement.get("type"), "Achievement")
    a = _iri(achievement.get("id"))
    ground = g.ground.add
    ground(a + _IS_ACHIEVEMENT)
    ground(f"{a} {_SCHEMA_name} {_literal(achievement.get('name'))} .\n")
    ground(f"{a} {_SCHEMA_description} {_literal(achievement.get('description'))} .\n")
    criteria = _object(achievement.get("criteria"), _CRITERIA)
    c = g.node(criteria)
    # The OB 3.0 context maps the "criteria" property to the IRI of the Criteria class.
    g.add(a, _OB_Criteria, c)
    if "narrative" in criteria:
        g.add(c, _OB_narrative, _literal(criteria["narrative"]))
    if "image" in achievement:
        image = _object(achievement["image"], _IMAGE)
        _single_type(image.get("type"), "Image")
        m = _iri(image.get("id"))
        g.add(a, _OB_image, m)
        g.add(m, _TYPE, _OB_Image)
    if "alignment" in achievement:
        alignments = achievement["alignment"]
        if type(alignments) is not list:
            raise _Unrecognised
        for item in alignments:
            alignment = _object(item, _ALIGNMENT)
            _single_type(alignment.get("type"), "Alignment")
            n = g.blank()
            g.links.add((a, _OB_alignment, n))
            tails = g.tails[n]
            tails.add(_TAIL_ALIGNMENT)
            tails.add(f"{_SCHEMA_targetName} {_literal(alignment.get('targetName'))} .\n")
            tails.add(
                f"{_SCHEMA_targetUrl} {_literal(alignment.get('targetUrl'), _ANYURI)} .\n")
            if "targetCode" in alignment:
                tails.add(f"{_OB_targetCode} {_literal(alignment['targetCode'])} .\n")
            if "targetFramework" in alignment:
                tails.add(
                    f"{_SCHEMA_targetFramework} {_literal(alignment['targetFramework'])} .\n")
    return a


_EVIDENCE_TERMS = (
    ("name", _SCHEMA_name),
    ("description", _SCHEMA_description),
    ("narrative", _OB_narrative),
    ("genre", _SCHEMA_genre),
    ("audience", _SCHEMA_audience),
)


def _evidence(value: object, g: _Graph) -> str:
    evidence = _object(value, _EVIDENCE)
    _single_type(evidence.get("type"), "Evidence")
    e = g.node(evidence)
    g.add(e, _TYPE, _OB_Evidence)
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
    g.add(s, _TYPE, _SEC_DataIntegrityProof)
    g.add(s, _SEC_cryptosuite, f'"eddsa-rdfc-2022"^^<{_SEC}cryptosuiteString>')
    g.add(s, _SEC_proofPurpose, _SEC_assertionMethod)
    g.add(s, _SEC_verificationMethod, _iri(doc.get("verificationMethod")))
    if "created" in doc:
        g.add(s, "<http://purl.org/dc/terms/created>", _literal(doc["created"], _DATETIME))
    if "previousProof" in doc:
        previous = doc["previousProof"]
        for p in previous if type(previous) is list and previous else [previous]:
            g.add(s, _SEC_previousProof, _iri(p))


# --- RDFC-1.0 on the resulting graph ------------------------------------------------------------


def _canonicalise(quads: set[tuple[str, str, str]]) -> str | None:
    """RDFC-1.0 §4.4 of any set of (subject, predicate, object) N-Quads terms (see
    :func:`_label`)."""
    g = _Graph()
    for s, p, o in quads:
        for term in (s, o):
            if term[0] == "_" and term not in g.tails:
                g.tails[term] = set()
        g.add(s, p, o)
    return _label(g)


def _line(s: str, p: str, o: str, b: str, names: Mapping[str, str]) -> str:
    """A quad's N-Quads line with blank node ``b`` as ``_:a`` and every other blank node by
    its canonical name in ``names``."""
    if s[0] == "_":
        s = "_:a" if s == b else names[s]
    if o[0] == "_":
        o = "_:a" if o == b else names[o]
    return f"{s} {p} {o} .\n"


def _first_degree_hashes(g: _Graph) -> dict[str, list[str]]:
    """RDFC-1.0 §4.6: the blank nodes of ``g`` by first-degree hash (those in ``g.known``
    as recorded there)."""
    tails, known = g.tails, g.known
    # Each blank node's first-degree lines of its links (§4.6: the node itself as _:a, any
    # other blank node as _:z); those of its tails are "_:a " + tail.
    linked: dict[str, list[str]] = {}
    for s, p, o in g.links:
        if s[0] != "_":
            linked.setdefault(o, []).append(f"{s} {p} _:a .\n")
        elif o == s:
            linked.setdefault(s, []).append(f"_:a {p} _:a .\n")
        else:
            linked.setdefault(s, []).append(f"_:a {p} _:z .\n")
            linked.setdefault(o, []).append(f"_:z {p} _:a .\n")
    by_hash: dict[str, list[str]] = {}
    sha256 = hashlib.sha256
    for b, ts in tails.items():
        if b in known:
            by_hash.setdefault(known[b], []).append(b)
            continue
        lines = [f"_:a {t}" for t in ts]
        if b in linked:
            lines += linked[b]
        if not lines:
            continue  # a node no quad mentions is not in the graph
        lines.sort()
        by_hash.setdefault(sha256("".join(lines).encode("utf-8")).hexdigest(), []).append(b)
    return by_hash


def _label(g: _Graph) -> str | None:
    """RDFC-1.0 §4.4 for graphs whose look-alike blank nodes (equal first-degree hashes) are
    interchangeable; None when only the N-degree hash could order them."""
    tails = g.tails
    by_hash = _first_degree_hashes(g)
    canonical: dict[str, str] = {}
    shared = []
    for h in sorted(by_hash):
        group = by_hash[h]
        if len(group) == 1:
            canonical[group[0]] = f"_:c14n{len(canonical)}"
        else:
            shared.append(group)
    if shared:
        mentions: dict[str, list[tuple[str, str, str]]] = {}
        for quad in g.links:
            s, _, o = quad
            if s[0] == "_":
                mentions.setdefault(s, []).append(quad)
            if o != s:
                mentions.setdefault(o, []).append(quad)
        for group in shared:
            # Look-alike nodes are interchangeable when every other blank node they touch
            # already has its canonical label and their quads are then identical: RDFC-1.0
            # gives them the next labels in some order, and every order yields the same
            # N-Quads.
            shapes = set()
            for b in group:
                links = mentions.get(b, [])
                for s, _, o in links:
                    if (s[0] == "_" and s != b and s not in canonical) or (
                        o != b and o not in canonical
                    ):
                        return None
                shapes.add(tuple(sorted(
                    [f"_:a {t}" for t in tails[b]]
                    + [_line(s, p, o, b, canonical) for s, p, o in links])))
            if len(shapes) != 1:
                return None
            for b in group:
                canonical[b] = f"_:c14n{len(canonical)}"
    lines = list(g.ground)
    for b, ts in tails.items():
        if ts:
            label = canonical[b]
            lines += [f"{label} {t}" for t in ts]
    append = lines.append
    for s, p, o in g.links:
        append(f"{canonical[s] if s[0] == '_' else s} {p} {canonical[o]} .\n")
    lines.sort()
    return "".join(lines)


# Proof options differ from one signature to the next only in their id: their canonical lines
# all begin with it, so their order is fixed by the rest. The rest is kept per set of other
# members (a handful per process: one per key, creation time and context).
_OPTIONS_CACHE: dict[tuple[tuple[str, str | tuple[str, ...]], ...], tuple[str, ...]] = {}
_OPTIONS_CACHE_SIZE = 64
_PLACEHOLDER = "urn:credanchor:proof"


def _options_key(doc: Mapping[str, Any]) -> tuple[tuple[str, str | tuple[str, ...]], ...] | None:
    """The members other than ``id`` as a hashable key; None unless they are all strings or
    lists of strings (anything else is not cached)."""
    key: list[tuple[str, str | tuple[str, ...]]] = []
    for k, v in doc.items():
        if k == "id":
            continue
        if type(v) is str:
            key.append((k, v))
        elif type(v) is list and all(type(x) is str for x in v):
            key.append((k, tuple(v)))
        else:
            return None
    return tuple(key)


def _proof_options_nquads(doc: Mapping[str, Any]) -> str | None:
    key = _options_key(doc) if "id" in doc else None
    if key is None:
        g = _Graph()
        _proof_options(doc, g)
        return _label(g)
    subject = _iri(doc["id"])
    rest = _OPTIONS_CACHE.get(key)
    if rest is None:
        g = _Graph()
        _proof_options({**doc, "id": _PLACEHOLDER}, g)
        if g.links or any(g.tails.values()):
            raise _Unrecognised
        start = len(_PLACEHOLDER) + 3  # "<" placeholder "> "
        rest = tuple(sorted(line[start:] for line in g.ground))
        if len(_OPTIONS_CACHE) >= _OPTIONS_CACHE_SIZE:
            _OPTIONS_CACHE.clear()
        _OPTIONS_CACHE[key] = rest
    return "".join([f"{subject} {line}" for line in rest])


def canonical_nquads(document: object) -> str | None:
    """RDFC-1.0 canonical N-Quads of a credanchor document — an OB 3.0 credential (with or
    without its status entry), a BitstringStatusListCredential, or the proof options of an
    eddsa-rdfc-2022 proof over either; None for any other document."""
    if type(document) is not dict:
        return None
    context = document.get("@context")
    g = _Graph()
    try:
        if context == _OB_CONTEXT:
            if "credentialSubject" not in document:
                return _proof_options_nquads(document)
            _credential(document, g)
        elif context == _VC2_CONTEXT:
            if "credentialSubject" not in document:
                return _proof_options_nquads(document)
            _status_list_credential(document, g)
        else:
            return None
    except _Unrecognised:
        return None
    return _label(g)
