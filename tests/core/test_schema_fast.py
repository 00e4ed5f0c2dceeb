"""The compiled schema validator (jsonschema-rs) against the reference (jsonschema).

validate_credential takes jsonschema-rs's word that a credential is valid and asks jsonschema
about everything else (and about a sample of the valid ones, in production). These tests show
that the two agree on every shape credanchor makes and on invalid variants of them, that
where they are known to differ jsonschema decides, and that the production sample runs and
wins a disagreement. The tamper corpus (tests/reliability/test_rel_tamper.py), the bad request
bodies (tests/reliability/test_rel_bad_input.py) and a granted qualification
(tests/usecases/test_stack_service.py) are cross-checked where they are built.
"""

from __future__ import annotations

import copy
import json
import logging
import multiprocessing
from collections import OrderedDict
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credanchor.core import credentials
from credanchor.core.credentials import (
    AchievementSpec,
    IssuerProfile,
    Recipient,
    build_credential,
    validate_credential,
)
from credanchor.core.multikey import Ed25519KeyPair, did_key
from credanchor.errors import SchemaInvalid
from credanchor.issuing.items import build_rows, parse_csv
from credanchor.issuing.signing import Issuance
from kit.credentials import VECTORS, anchor_batch, make_credential
from kit.ob3 import ob3_credentials
from kit.schema import reference_errors, same_verdict
from kit.settings import EXAMPLES as EXAMPLES_DIR

SAMPLES = sorted((VECTORS / "ob3").glob("*.json"))


def _signed() -> list[dict[str, Any]]:
    """Signed badges (eddsa-rdfc-2022, did:key) of the worked example, as issuing makes them."""
    seed = bytes(range(32))
    key = Ed25519KeyPair.from_seed(seed)
    profile = IssuerProfile(address="0x" + "11" * 20, chain_id=31337, name="Northwind Academy",
                            url="https://northwind.example", did=did_key(key.public_key))
    issuance = Issuance(profile=profile, issuer_id=7, seed=seed,
                        verification_method=key.verification_method,
                        status_base="http://127.0.0.1:8000", created=None)
    items = parse_csv((EXAMPLES_DIR / "badges.csv").read_bytes())
    rows = build_rows(items, issuance, slots=[(1, i) for i in range(len(items))])
    return [json.loads(r[2]) for r in rows]


def _shapes() -> dict[str, dict[str, Any]]:
    minimal = build_credential(
        issuer=IssuerProfile(address="0x" + "11" * 20, chain_id=1, name="Minimal Org"),
        recipient=Recipient(name="Only A Name"),
        achievement=AchievementSpec(name="N", description="D", criteria_url="https://c.example"),
    )
    full = make_credential()
    shapes = {
        "full": full,
        "clear identity, no validUntil, no evidence": make_credential(
            1, clear_identity=True, valid_until=None, evidence=()),
        "minimal": minimal,
        "anchored": anchor_batch([make_credential(i) for i in range(3)])[0],
    }
    for i, signed in enumerate(_signed()):
        shapes[f"signed {i}"] = signed
    signed_anchored = anchor_batch(_signed()[:2])
    shapes["signed and anchored"] = signed_anchored[0]
    for sample in SAMPLES:
        shapes[sample.stem] = json.loads(sample.read_text())
    return shapes


SHAPES = _shapes()


def _invalid_variants(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The invalid cases of tests/core/test_credentials.py and others like them."""
    out: dict[str, dict[str, Any]] = {}

    def variant(what: str, path: tuple[Any, ...], value: Any = ...) -> None:
        c = copy.deepcopy(doc)
        node: Any = c
        try:
            for p in path[:-1]:
                node = node[p]
            if value is ...:
                del node[path[-1]]
            else:
                node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            return  # a shape without that part (the published samples differ)
        out[what] = c

    subject = ("credentialSubject",)
    variant("no criteria", (*subject, "achievement", "criteria"))
    variant("no id", ("id",))
    variant("no issuer", ("issuer",))
    variant("one context", ("@context",), ["https://www.w3.org/ns/credentials/v2"])
    variant("context 3.1.x", ("@context",), ["https://www.w3.org/ns/credentials/v2",
                                             "https://purl.imsglobal.org/spec/ob/v3p0/"
                                             "context-3.1.0.json"])
    variant("type without OpenBadgeCredential", ("type",), ["VerifiableCredential"])
    variant("type a string", ("type",), "OpenBadgeCredential")
    variant("name a number", ("name",), 5)
    variant("name null", ("name",), None)
    variant("issuer a number", ("issuer",), 5)
    variant("hashed a string", (*subject, "identifier", 0, "hashed"), "yes")
    variant("identityType unknown", (*subject, "identifier", 0, "identityType"), "shoeSize")
    variant("identityType ext:", (*subject, "identifier", 0, "identityType"), "ext:shoeSize")
    variant("creditsAvailable a string", (*subject, "achievement", "creditsAvailable"), "3")
    variant("creditsAvailable true", (*subject, "achievement", "creditsAvailable"), True)
    variant("creditsAvailable 2.5", (*subject, "achievement", "creditsAvailable"), 2.5)
    variant("creditsAvailable 1e300", (*subject, "achievement", "creditsAvailable"), 1e300)
    variant("creditsAvailable 2**70", (*subject, "achievement", "creditsAvailable"), 2**70)
    variant("evidence not an array", ("evidence",), {"type": ["Evidence"]})
    variant("50 bad evidence", ("evidence",), [{"type": "not-an-array"}] * 50)
    variant("credentialSchema empty", ("credentialSchema",), [])
    variant("proof a string", ("proof",), "z123")
    variant("proof an object", ("proof",), {"type": "DataIntegrityProof"})
    variant("extra member", ("tampered",), {"deep": [1, {"x": None}]})
    for value in ["2026-01-15", "2026-01-15T09:00:00", "2026-02-30T00:00:00Z", "tomorrow",
                  "15/01/2026", "2026-13-01T00:00:00Z", "2026-01-15T09:00:00Z\n",
                  "2026-01-15T24:00:00Z", "2026-01-15T09:00:00+24:00", "0001-01-01T00:00:00+00:01",
                  "9999-12-31T23:59:59-23:59", "99999-01-01T00:00:00Z", "2026-01-15 09:00:00Z",
                  "2026-01-15T09:00:00.123456789Z", "2026-01-15t09:00:00z",
                  "2026-12-31T23:59:60Z", "2026-01-15T09:00Z", "", "２０２６-01-15T09:00:00Z"]:
        variant(f"validFrom {value!r}", ("validFrom",), value)
        variant(f"validUntil {value!r}", ("validUntil",), value)
    for value in ["2026-01-15", "2026-02-30", "2026-1-15", "20260115", "2026-01-15T00:00:00Z"]:
        variant(f"awardedDate {value!r}", ("awardedDate",), value)
    return out


# --- agreement ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SHAPES)
def test_both_validators_find_every_shape_credanchor_makes_valid(name):
    assert credentials._fast_verdict(SHAPES[name]) is True
    assert same_verdict(SHAPES[name], name)


def test_both_validators_agree_on_invalid_variants_of_every_shape():
    valid = invalid = 0
    for name, doc in SHAPES.items():
        for what, variant in _invalid_variants(doc).items():
            if same_verdict(variant, (name, what)):
                valid += 1
            else:
                invalid += 1
                # jsonschema-rs decided too: these are not the inputs it hands over
                assert credentials._fast_verdict(variant) is False, (name, what)
    # Most are invalid; a few are valid (a date-only awardedDate, "ext:" identity types, an
    # extra member…), so both sides of the verdict are compared.
    assert invalid > 40 * len(SHAPES) and valid > 3 * len(SHAPES)


def test_a_bad_date_time_is_refused_with_the_same_report_as_before():
    c = make_credential()
    c["validFrom"] = "2026-02-30T00:00:00Z"
    assert credentials._fast_verdict(c) is False
    with pytest.raises(SchemaInvalid) as exc:
        validate_credential(c)
    assert exc.value.detail == "$.validFrom: '2026-02-30T00:00:00Z' is not a 'date-time'"
    assert exc.value.extra == {
        "errors": [{"path": "$.validFrom",
                    "message": "'2026-02-30T00:00:00Z' is not a 'date-time'"}],
        "errorCount": 1,
    }


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
    | st.sampled_from(["2026-01-15T09:00:00Z", "2026-01-15", "Achievement", "IdentityObject",
                       "urn:uuid:4e1b2c9e-1111-4222-8333-944455556666", "ext:x"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=6,
)


def _paths(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*path, i))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ob3_credentials(), st.data())
def test_both_validators_agree_on_generated_credentials_and_mutations(credential, data):
    assert same_verdict(credential)
    for _ in range(3):
        mutated = copy.deepcopy(credential)
        path = data.draw(st.sampled_from(_paths(mutated)))
        node = mutated
        for p in path[:-1]:
            node = node[p]
        if data.draw(st.booleans()):
            node[path[-1]] = data.draw(_json_values)
        elif isinstance(node, dict):
            del node[path[-1]]
        else:
            node.append(copy.deepcopy(node[path[-1]]))
        same_verdict(mutated, path)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,10})?)?([Zz]|[+-]\d{2}:"
                     r"\d{2})?", fullmatch=True) | st.text(max_size=30))
def test_both_validators_read_date_times_alike(text):
    c = make_credential()
    c["validFrom"] = text
    same_verdict(c, text)


# --- where they differ, jsonschema decides ------------------------------------------------------


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    c = copy.deepcopy(SHAPES["full"])
    node: Any = c
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return c


class _Str(str):
    pass


class _Int(int):
    pass


CREDITS = ("credentialSubject", "achievement", "creditsAvailable")
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DIFFERENCES = {
    # Regular expressions: the schema's patterns are ECMA-262 to jsonschema-rs, Python's re to
    # jsonschema (\d matches any Unicode digit, $ matches before a final newline).
    "Arabic-Indic digit in the context version": (
        ("@context", 1), OB_CONTEXT.replace("3.0.3", "3.\u0663.3"), False, True),
    "newline after the context": (("@context", 1), OB_CONTEXT + "\n", False, True),
    # Numbers jsonschema takes as numbers and jsonschema-rs does not.
    "credits NaN": (CREDITS, float("nan"), False, True),
    "credits infinity": (CREDITS, float("inf"), False, True),
    "credits an int subclass": (CREDITS, _Int(3), False, True),
    # Types orjson does not write: jsonschema-rs is not asked, jsonschema decides.
    "credits a Fraction": (CREDITS, Fraction(1, 3), None, True),
    "credits a Decimal": (CREDITS, Decimal("1.5"), None, True),
    # Types jsonschema-rs cannot read: it raises, jsonschema decides.
    "name a str subclass": (("name",), _Str("Excel"), None, True),
    "validFrom a str subclass": (("validFrom",), _Str("2026-01-15T09:00:00Z"), None, False),
    "type a set": (("type",), {"VerifiableCredential", "OpenBadgeCredential"}, None, False),
    "a non-string key": (("issuer", 1), "x", None, True),
    "an OrderedDict issuer": (("issuer",), OrderedDict(SHAPES["full"]["issuer"]), True, True),
}


@pytest.mark.parametrize("what", DIFFERENCES)
def test_where_the_validators_differ_jsonschema_decides(what):
    path, value, fast, valid = DIFFERENCES[what]
    doc = _with(path, value)
    assert credentials._fast_verdict(doc) is fast
    assert (not reference_errors(doc)) is valid
    if valid:
        validate_credential(doc)
    else:
        with pytest.raises(SchemaInvalid):
            validate_credential(doc)


TUPLES = {
    "type": (("type",), ("VerifiableCredential", "OpenBadgeCredential"), True),
    "type without VerifiableCredential": (("type",), ("OpenBadgeCredential",), False),
    "identifier": (("credentialSubject", "identifier"),
                   tuple(SHAPES["full"]["credentialSubject"]["identifier"]), True),
    "where anything goes": (("extra",), (1, 2), True),
}


@pytest.mark.parametrize("what", TUPLES)
def test_a_tuple_is_an_array_to_both_validators(what):
    """A credential built in Python may hold a tuple; every serialiser credanchor uses writes
    it as an array (the bytes hashed and stored are those), and both validators read it so:
    the compiled one decides, and agrees with jsonschema and with the same document as JSON."""
    path, value, valid = TUPLES[what]
    doc = _with(path, value)
    assert credentials._fast_verdict(doc) is valid
    assert same_verdict(doc, what) is valid
    assert same_verdict(json.loads(json.dumps(doc)), what) is valid


def test_a_deeply_nested_document_is_not_given_to_the_compiled_validator():
    # jsonschema-rs recurses on the native stack: nested deep enough (about 100,000 levels)
    # it crashes the process rather than raise. Documents nested deeper than orjson
    # serialises (254 objects or arrays, the credential's own included) go to jsonschema, and
    # so do cycles.
    nested: Any = "leaf"
    for _ in range(credentials._FAST_MAX_DEPTH):  # with the credential: one level too many
        nested = {"n": nested}
    assert credentials._fast_verdict(_with(("extra",), nested)) is None
    assert credentials._fast_verdict(_with(("extra",), nested["n"])) is True
    validate_credential(_with(("extra",), nested))
    cyclic = _with(("extra",), {})
    cyclic["extra"]["self"] = cyclic["extra"]  # a Python-built cycle where anything goes
    assert credentials._fast_verdict(cyclic) is None
    validate_credential(cyclic)


# --- the production cross-check ----------------------------------------------------------------


class _Counting:
    """The real jsonschema validator, counting the documents it validates."""

    def __init__(self) -> None:
        self.real = credentials._validator()
        self.calls = 0

    def iter_errors(self, doc: Any) -> Any:
        self.calls += 1
        return self.real.iter_errors(doc)


def test_the_first_valid_verdict_and_one_in_every_n_are_recomputed_by_jsonschema(monkeypatch):
    counting = _Counting()
    monkeypatch.setattr(credentials, "_validator", lambda: counting)
    monkeypatch.setattr(credentials, "_SAMPLER", credentials._Sampler())
    monkeypatch.setattr(credentials, "SCHEMA_CROSS_CHECK_EVERY", 7)
    for _ in range(30):
        validate_credential(SHAPES["full"])
    assert credentials._SAMPLER.checked == 5  # the 1st, 8th, 15th, 22nd and 29th
    assert counting.calls == 5
    broken = _with(("validFrom",), "tomorrow")
    with pytest.raises(SchemaInvalid):
        validate_credential(broken)  # an invalid one is always worded by jsonschema
    assert counting.calls == 6 and credentials._SAMPLER.checked == 5


class _AcceptsEverything:
    # A fake, and only for this fault: a compiled validator that finds valid what jsonschema
    # refuses. The real one never does on any corpus above (the tuple it would accept is never
    # given to it), so the disagreement cannot be produced otherwise.
    def is_valid(self, doc: Any) -> bool:
        return True


class _RefusesEverything:
    # A fake for the opposite fault, which jsonschema settles on every call anyway.
    def is_valid(self, doc: Any) -> bool:
        return False


def test_a_disagreement_in_the_sample_is_logged_and_jsonschema_refuses(monkeypatch, caplog):
    broken = copy.deepcopy(SHAPES["full"])
    del broken["credentialSubject"]["achievement"]["criteria"]
    with pytest.raises(SchemaInvalid) as expected:
        validate_credential(broken)
    monkeypatch.setattr(credentials, "_fast_validator", _AcceptsEverything)
    monkeypatch.setattr(credentials, "_SAMPLER", credentials._Sampler())  # a fresh process
    with caplog.at_level(logging.ERROR, logger="credanchor.core.credentials"), \
            pytest.raises(SchemaInvalid) as exc:
        validate_credential(broken)
    assert exc.value.detail == expected.value.detail == (
        "$.credentialSubject.achievement: 'criteria' is a required property")
    assert exc.value.extra == expected.value.extra
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert "jsonschema-rs found a credential valid that jsonschema refuses" in record.message
    assert "'$.credentialSubject.achievement'" in record.message
    # The verifier shows jsonschema's report too.
    from credanchor.verify.offline import offline_checks

    monkeypatch.setattr(credentials, "_SAMPLER", credentials._Sampler())
    schema = offline_checks(broken)[0]
    assert schema.name == "schema" and schema.outcome.value == "fail"
    assert "'criteria' is a required property" in schema.message
    # Outside the sample the fault would go unseen: that is what sampling means.
    validate_credential(broken)


def test_a_compiled_validator_refusing_valid_credentials_changes_nothing(monkeypatch, caplog):
    monkeypatch.setattr(credentials, "_fast_validator", _RefusesEverything)
    with caplog.at_level(logging.DEBUG, logger="credanchor.core.credentials"):
        for doc in SHAPES.values():
            validate_credential(doc)
    assert caplog.records == []


def _child(queue: Any, broken: dict[str, Any]) -> None:
    try:
        validate_credential(broken)
        queue.put("accepted")
    except SchemaInvalid:
        queue.put("refused")


def test_a_forked_worker_checks_its_own_first_verdict(monkeypatch):
    monkeypatch.setattr(credentials, "_SAMPLER", credentials._Sampler())
    validate_credential(SHAPES["full"])  # the parent's first verdict is used up
    monkeypatch.setattr(credentials, "_fast_validator", _AcceptsEverything)
    broken = _with(("validFrom",), "tomorrow")
    validate_credential(broken)  # second: not sampled in the parent
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    worker = ctx.Process(target=_child, args=(queue, broken))
    worker.start()
    worker.join(60)
    assert queue.get(timeout=5) == "refused"
