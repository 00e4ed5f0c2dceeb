"""Building, accepting and validating OB 3.0 credentials."""

from __future__ import annotations

import copy
import hashlib
import json
import random
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import pytest
from eth_utils import to_checksum_address as eth_checksum
from hypothesis import given, settings
from hypothesis import strategies as st

from credanchor.core.credentials import (
    ACHIEVEMENT_ID_NAMESPACE,
    CONTEXT,
    MAX_SCHEMA_ERRORS,
    AchievementSpec,
    Alignment,
    Evidence,
    IssuerProfile,
    Recipient,
    accept_credential,
    achievement_urn,
    build_credential,
    issuer_did,
    parse_datetime,
    parse_issuer_did,
    recipient_matches,
    to_checksum_address,
    validate_credential,
)
from credanchor.core.hashing import credential_hash
from credanchor.errors import CanonicalizationError, InvalidInput, SchemaInvalid
from kit.credentials import ACHIEVEMENT, ISSUER, VALID_FROM, VECTORS, make_credential

UUID4 = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
SAMPLES = sorted((VECTORS / "ob3").glob("*.json"))


def test_vendored_schema_is_the_reference_copy():
    data = resources.files("credanchor").joinpath(
        "schema", "ob_v3p0_achievementcredential_schema.json"
    )
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    assert digest == "5753fb3ecf7d024ed273dd364bd683f483eb47257e718e6618832cf89eb2083a"


def test_vendored_schema_is_a_valid_draft_2019_09_schema():
    """Checked here rather than at every start (it cost ~0.2 s of a one-file verification):
    the file is pinned by its digest above, so it cannot change without this test running."""
    from jsonschema import Draft201909Validator
    from jsonschema.exceptions import SchemaError

    schema = json.loads(resources.files("credanchor").joinpath(
        "schema", "ob_v3p0_achievementcredential_schema.json").read_text("utf-8"))
    assert schema["$schema"].rstrip("#") == "https://json-schema.org/draft/2019-09/schema"
    Draft201909Validator.check_schema(schema)
    broken = {**schema, "properties": {**schema["properties"], "type": {"type": "array-ish"}}}
    with pytest.raises(SchemaError):  # the check itself can fail
        Draft201909Validator.check_schema(broken)


def test_built_credential_shape(credential):
    c = credential
    assert c["@context"] == list(CONTEXT)
    assert c["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert UUID4.fullmatch(c["id"])
    assert c["name"] == ACHIEVEMENT.name
    assert c["issuer"] == {
        "id": "did:pkh:eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "type": ["Profile"],
        "name": "Northwind Skills Academy",
        "url": "https://skills.northwind.example",
    }
    assert c["validFrom"] == "2026-01-15T09:00:00Z"
    assert c["validUntil"] == "2029-01-15T09:00:00Z"
    subject = c["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    assert subject["name"] == "Learner 0"
    email, student = subject["identifier"]
    assert email["identityType"] == "emailAddress" and student["identityType"] == "identifier"
    for ident in (email, student):
        assert ident["type"] == "IdentityObject" and ident["hashed"] is True
        assert re.fullmatch(r"[0-9a-f]{32}", ident["salt"])
    assert email["salt"] != student["salt"]
    # E-mail addresses are trimmed and lower-cased before hashing.
    assert (
        email["identityHash"]
        == "sha256$" + hashlib.sha256(("learner0@example.org" + email["salt"]).encode()).hexdigest()
    )
    assert (
        student["identityHash"]
        == "sha256$" + hashlib.sha256(("S0000000" + student["salt"]).encode()).hexdigest()
    )
    assert subject["achievement"] == {
        "id": "https://skills.northwind.example/achievements/spreadsheet-modelling",
        "type": ["Achievement"],
        "name": "Spreadsheet Modelling",
        "description": "Builds, tests and documents financial models in spreadsheets.",
        "criteria": {
            "id": "https://skills.northwind.example/criteria/spreadsheet-modelling",
            "narrative": "Passed a supervised three-hour practical assessment.",
        },
        "image": {
            "id": "https://skills.northwind.example/badges/spreadsheet-modelling.png",
            "type": "Image",
        },
        "alignment": [
            {
                "type": ["Alignment"],
                "targetName": "use spreadsheets software",
                "targetUrl": "https://frameworks.example/esco/use-spreadsheets-software",
                "targetCode": "S5.6.1",
                "targetFramework": "ESCO",
            }
        ],
    }
    assert c["evidence"] == [
        {"id": "https://portfolio.example/0", "type": ["Evidence"], "name": "Final model"}
    ]
    assert "proof" not in c


def test_built_credentials_validate_against_the_schema():
    validate_credential(make_credential())
    validate_credential(make_credential(1, clear_identity=True, valid_until=None, evidence=()))
    minimal = build_credential(
        issuer=IssuerProfile(address="0x" + "11" * 20, chain_id=1, name="Minimal Org"),
        recipient=Recipient(name="Only A Name"),
        achievement=AchievementSpec(name="N", description="D", criteria_url="https://c.example"),
    )
    validate_credential(minimal)
    # No id given: the one derived from the issuer and the definition (tested below).
    assert minimal["credentialSubject"]["achievement"]["id"].startswith("urn:uuid:")
    assert "validUntil" not in minimal and "evidence" not in minimal
    now = datetime.now(UTC)
    assert abs(parse_datetime(minimal["validFrom"]) - now) < timedelta(seconds=5)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_published_ob3_samples_validate(sample):
    validate_credential(json.loads(sample.read_text()))


def test_both_published_samples_are_present():
    assert [p.name for p in SAMPLES] == [
        "ob3_basic_1edtech_spec.json",
        "ob3_educredentials_microcredential_minimal.json",
    ]


def test_fresh_ids_and_salts_make_every_hash_unique():
    a = make_credential(rng=None)
    b = make_credential(rng=None)
    a.pop("id"), b.pop("id")
    assert a != b  # salts differ as well
    assert make_credential(7) == make_credential(7)  # a seeded rng reproduces exactly
    assert credential_hash(make_credential(rng=random.Random(1))) != credential_hash(
        make_credential(rng=random.Random(2))
    )


def test_datetimes_are_utc_to_the_second():
    cet = timezone(timedelta(hours=1))
    c = make_credential(
        valid_from=datetime(2026, 3, 1, 10, 30, 15, 999_999, tzinfo=cet), valid_until=None
    )
    assert c["validFrom"] == "2026-03-01T09:30:15Z"


@pytest.mark.parametrize(
    "kw,problem",
    [
        ({"valid_from": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"valid_until": VALID_FROM}, "later than"),
        ({"valid_until": VALID_FROM - timedelta(days=1)}, "later than"),
        ({"credential_id": ""}, "credential id"),
        ({"evidence": ["https://not-an-evidence-object"]}, "Evidence values"),
        ({"issuer": "did:pkh:eip155:1:0x" + "11" * 20}, "IssuerProfile"),
    ],
)
def test_build_refuses_bad_arguments(kw, problem):
    with pytest.raises(InvalidInput, match=problem):
        make_credential(**kw)


@pytest.mark.parametrize(
    "factory,problem",
    [
        (lambda: Recipient(), "needs a name, an email address or an identifier"),
        (lambda: Recipient(email="no-at-sign"), "not an email address"),
        (lambda: Recipient(identifier="x", identifier_type="studentNumber"), "identityType"),
        (lambda: Recipient(name="  "), "non-empty"),
        (lambda: AchievementSpec(name="N", description="D"), "criteria"),
        (lambda: AchievementSpec(name="", description="D", criteria_url="u"), "name"),
        (lambda: Alignment(target_name="x", target_url=""), "target_url"),
        (lambda: Evidence(genre="Essay"), "at least an id"),
        (lambda: IssuerProfile(address="0x1234", chain_id=1, name="X"), "Ethereum address"),
        (lambda: IssuerProfile(address="0x" + "11" * 20, chain_id=0, name="X"), "chain id"),
        (lambda: IssuerProfile(address="0x" + "11" * 20, chain_id=True, name="X"), "chain id"),
    ],
)
def test_value_types_validate_their_fields(factory, problem):
    with pytest.raises(InvalidInput, match=problem):
        factory()


def test_ext_identity_types_are_allowed():
    r = Recipient(identifier="12345", identifier_type="ext:eduID")
    c = make_credential(recipient=r)
    validate_credential(c)
    assert c["credentialSubject"]["identifier"][0]["identityType"] == "ext:eduID"


# --- identities ------------------------------------------------------------------------------


def test_recipient_matches_hashed_identities(credential):
    assert recipient_matches(credential, "learner0@example.org")
    assert recipient_matches(credential, "  LEARNER0@Example.ORG ")
    assert recipient_matches(credential, "S0000000")
    assert not recipient_matches(credential, "s0000000")  # only e-mail is case-insensitive
    assert not recipient_matches(credential, "learner1@example.org")
    assert not recipient_matches(credential, "Learner 0")  # the display name is not an identity
    assert not recipient_matches(credential, "")
    assert not recipient_matches({"credentialSubject": "x"}, "S0000000")


def test_name_only_recipient_gets_a_hashed_name_identity():
    c = make_credential(recipient=Recipient(name="Grace Hopper"))
    (ident,) = c["credentialSubject"]["identifier"]
    assert ident["identityType"] == "name" and ident["hashed"] is True
    assert recipient_matches(c, "Grace Hopper")
    validate_credential(c)


def test_clear_identity(credential):
    c = make_credential(clear_identity=True)
    email, student = c["credentialSubject"]["identifier"]
    assert email == {
        "type": "IdentityObject",
        "hashed": False,
        "identityHash": "learner0@example.org",
        "identityType": "emailAddress",
    }
    assert student["identityHash"] == "S0000000" and "salt" not in student
    assert recipient_matches(c, "Learner0@example.org")
    assert not recipient_matches(c, "someone@else.org")
    validate_credential(c)


def test_recipient_matches_third_party_md5_and_subject_id():
    salt = "pepper"
    md5 = hashlib.md5(b"Bob@Example.org" + salt.encode()).hexdigest()
    c = {
        "credentialSubject": {
            "id": "did:example:bob",
            "identifier": [
                {
                    "type": "IdentityObject",
                    "hashed": True,
                    "identityHash": "md5$" + md5,
                    "identityType": "emailAddress",
                    "salt": salt,
                },
                "junk",
                {"identityHash": 5},
            ],
        }
    }
    assert recipient_matches(c, "Bob@Example.org")  # the issuer did not lower-case: raw tried
    assert recipient_matches(c, "did:example:bob")
    assert not recipient_matches(c, "bob@example.org")


# --- DIDs and addresses ----------------------------------------------------------------------


def test_checksum_matches_eth_utils():
    rng = random.Random(5)
    for _ in range(200):
        addr = "0x" + rng.randbytes(20).hex()
        assert to_checksum_address(addr) == eth_checksum(addr)
        assert to_checksum_address(addr.upper().replace("0X", "0x")) == eth_checksum(addr)


def test_bad_checksum_is_refused():
    good = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    with pytest.raises(InvalidInput, match="checksum"):
        to_checksum_address(good[:-1] + "c")


def test_issuer_did_round_trip():
    did = issuer_did(11155111, "0x70997970c51812dc3a010c7d01b50e0d17dc79c8")
    assert did == "did:pkh:eip155:11155111:0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    assert parse_issuer_did(did) == (11155111, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
    assert ISSUER.did == issuer_did(31337, ISSUER.address)


@pytest.mark.parametrize(
    "did",
    [
        "did:pkh:eip155:0:0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "did:pkh:eip155:01:0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "did:pkh:eip155:1:0x70997970C51812dc3A010C7d01b50e0d17dc79",
        "did:pkh:solana:1:0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "did:web:skills.northwind.example",
        "did:pkh:eip155:1:0x70997970C51812dc3A010C7d01b50e0d17dc79c8",  # bad checksum
        None,
    ],
)
def test_parse_issuer_did_refuses(did):
    with pytest.raises(InvalidInput):
        parse_issuer_did(did)


# --- validation errors -----------------------------------------------------------------------


def test_schema_error_names_the_path(credential):
    broken = copy.deepcopy(credential)
    del broken["credentialSubject"]["achievement"]["criteria"]
    with pytest.raises(SchemaInvalid) as exc:
        validate_credential(broken)
    assert exc.value.detail == (
        "$.credentialSubject.achievement: 'criteria' is a required property"
    )
    assert exc.value.extra["errors"] == [
        {
            "path": "$.credentialSubject.achievement",
            "message": "'criteria' is a required property",
        }
    ]
    assert exc.value.status == 422


def test_schema_errors_are_all_listed_and_capped(credential):
    broken = copy.deepcopy(credential)
    broken["validFrom"] = "15/01/2026"
    broken["credentialSubject"]["identifier"][0]["hashed"] = "yes"
    broken["credentialSubject"]["achievement"]["image"]["type"] = "Picture"
    with pytest.raises(SchemaInvalid) as exc:
        validate_credential(broken)
    paths = [e["path"] for e in exc.value.extra["errors"]]
    assert paths == [
        "$.credentialSubject.achievement.image.type",
        "$.credentialSubject.identifier[0].hashed",
        "$.validFrom",
    ]
    assert exc.value.extra["errorCount"] == 3
    many = copy.deepcopy(credential)
    many["evidence"] = [{"type": "not-an-array"} for _ in range(50)]
    with pytest.raises(SchemaInvalid) as exc:
        validate_credential(many)
    assert len(exc.value.extra["errors"]) == MAX_SCHEMA_ERRORS
    assert exc.value.extra["errorCount"] == 50


@pytest.mark.parametrize(
    "value", ["2026-01-15", "2026-01-15T09:00:00", "2026-02-30T00:00:00Z", "tomorrow"]
)
def test_date_time_format_is_enforced(credential, value):
    with pytest.raises(SchemaInvalid, match=r"\$\.validFrom"):
        validate_credential({**credential, "validFrom": value})


def test_schema_needs_ob_context_and_types(credential):
    with pytest.raises(SchemaInvalid, match=r"\$\['@context'\]"):
        validate_credential({**credential, "@context": ["https://www.w3.org/ns/credentials/v2"]})
    with pytest.raises(SchemaInvalid, match=r"\$\.type"):
        validate_credential({**credential, "type": ["VerifiableCredential"]})


# --- accepting issuer-written credentials ----------------------------------------------------


def _issuer_written():
    doc = json.loads(
        (VECTORS / "ob3" / "ob3_educredentials_microcredential_minimal.json").read_text()
    )
    doc["issuer"]["id"] = ISSUER.did
    doc["proof"] = [{"type": "DataIntegrityProof", "proofValue": "z123"}]
    return doc


def test_accept_credential_returns_a_clean_copy():
    doc = _issuer_written()
    original = copy.deepcopy(doc)
    accepted = accept_credential(doc, issuer=ISSUER)
    assert doc == original  # input untouched
    assert "proof" not in accepted
    assert {k: v for k, v in doc.items() if k != "proof"} == accepted
    assert accepted["credentialSubject"]["achievement"]["ECTS"] == 3.0
    accepted["credentialSubject"]["achievement"]["name"] = "changed"
    assert doc["credentialSubject"]["achievement"]["name"] != "changed"  # deep copy


def test_accept_credential_issuer_checks():
    doc = _issuer_written()
    doc["issuer"]["id"] = doc["issuer"]["id"].lower().replace("did:pkh:eip155", "did:pkh:eip155")
    assert accept_credential(doc, issuer=ISSUER)["issuer"]["id"] == doc["issuer"]["id"]
    doc["issuer"] = ISSUER.did  # ProfileRef may be a bare string
    assert accept_credential(doc, issuer=ISSUER)["issuer"] == ISSUER.did
    other = IssuerProfile(address="0x" + "22" * 20, chain_id=31337, name="Other")
    with pytest.raises(InvalidInput, match="issuer must be did:pkh:eip155:31337:0x2222") as exc:
        accept_credential(_issuer_written(), issuer=other)
    assert exc.value.extra["expected"] == other.did
    wrong_chain = IssuerProfile(address=ISSUER.address, chain_id=1, name="X")
    with pytest.raises(InvalidInput, match="issuer must be"):
        accept_credential(_issuer_written(), issuer=wrong_chain)
    doc = _issuer_written()
    doc["issuer"]["id"] = "https://example.com/issuers/876543"
    with pytest.raises(InvalidInput, match="issuer must be"):
        accept_credential(doc, issuer=ISSUER)


def test_accept_credential_refuses_invalid_and_unhashable():
    doc = _issuer_written()
    del doc["id"]  # no id is added: what the issuer wrote is what gets anchored
    with pytest.raises(SchemaInvalid, match="'id' is a required property"):
        accept_credential(doc, issuer=ISSUER)
    doc = _issuer_written()
    doc["credentialSubject"]["creditsEarned"] = 2**60
    with pytest.raises(CanonicalizationError, match="cannot be hashed"):
        accept_credential(doc, issuer=ISSUER)
    doc = _issuer_written()
    doc["extra"] = {1, 2}
    with pytest.raises(InvalidInput, match=r"\$\.extra: set is not a JSON value"):
        accept_credential(doc, issuer=ISSUER)
    with pytest.raises(InvalidInput):
        accept_credential(["not", "a", "credential"], issuer=ISSUER)  # type: ignore[arg-type]


# --- dates that exist in their own zone but not in UTC (issue 12) ------------------------------

UNREPRESENTABLE = ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-23:59"]


@pytest.mark.parametrize("text", UNREPRESENTABLE)
def test_a_date_outside_utc_years_is_a_value_error_like_a_malformed_one(text):
    # Before: datetime.astimezone raised OverflowError, which every caller let through.
    with pytest.raises(ValueError, match="outside the years 1 to 9999"):
        parse_datetime(text)
    with pytest.raises(ValueError, match="outside the years 1 to 9999"):
        parse_datetime(text, lenient=True)
    with pytest.raises(ValueError, match="not a date-time that exists"):
        parse_datetime("2026-02-30T00:00:00Z")
    # the edges themselves are fine
    assert parse_datetime("0001-01-01T00:00:00Z").year == 1
    assert parse_datetime("9999-12-31T23:59:59Z").year == 9999


def test_lenient_dates_take_a_missing_zone_as_utc():
    assert parse_datetime("2026-03-01", lenient=True) == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_datetime("2026-03-01T10:00+02:00", lenient=True) == \
        datetime(2026, 3, 1, 8, tzinfo=UTC)
    with pytest.raises(ValueError, match="not an ISO 8601 date-time"):
        parse_datetime("soon", lenient=True)
    with pytest.raises(ValueError):
        parse_datetime("2026-03-01")  # strict: RFC 3339 with a zone only


@pytest.mark.parametrize("field", ["validFrom", "validUntil"])
@pytest.mark.parametrize("text", UNREPRESENTABLE)
def test_the_schema_refuses_an_unrepresentable_date(field, text):
    c = make_credential()
    c[field] = text
    with pytest.raises(SchemaInvalid, match=field):
        validate_credential(c)


@settings(max_examples=500)
@given(st.binary(min_size=16, max_size=16))
def test_urn_uuid_is_the_standard_library_version_4_uuid_of_the_same_bytes(raw):

    from credanchor.core.credentials import urn_uuid

    got = urn_uuid(lambda n: raw)
    assert got == "urn:uuid:" + str(uuid.UUID(bytes=raw, version=4))
    assert uuid.UUID(got[9:]).version == 4


@settings(max_examples=300)
@given(st.binary(min_size=16, max_size=16), st.integers(min_value=0, max_value=2**48 - 1))
def test_urn_uuid_v7_is_the_standard_version_7_layout(raw, ms):

    from credanchor.core.credentials import urn_uuid_v7

    got = urn_uuid_v7(ms, lambda n: raw)
    u = uuid.UUID(got[9:])
    assert got.startswith("urn:uuid:")
    assert u.version == 7
    assert u.variant == uuid.RFC_4122
    assert u.int >> 80 == ms  # the 48-bit time comes first
    # every bit outside the time, version and variant is the random input's
    mask = (1 << 80) - 1 & ~(0xF << 76) & ~(0x3 << 62)
    assert u.int & mask == int.from_bytes(raw, "big") & mask


def test_urn_uuid_v7_refuses_a_time_outside_48_bits():
    from credanchor.core.credentials import urn_uuid_v7

    with pytest.raises(ValueError, match="48-bit"):
        urn_uuid_v7(2**48)
    with pytest.raises(ValueError, match="48-bit"):
        urn_uuid_v7(-1)


def test_credential_ids_are_time_ordered_version_7_unless_an_rng_is_given():
    import time

    before = time.time_ns() // 1_000_000
    ids = [make_credential(i, rng=None)["id"] for i in range(50)]
    after = time.time_ns() // 1_000_000
    stamps = [uuid.UUID(i[9:]).int >> 80 for i in ids]
    assert all(uuid.UUID(i[9:]).version == 7 for i in ids)
    assert all(before <= t <= after for t in stamps)
    assert stamps == sorted(stamps)
    assert len(set(ids)) == 50
    assert uuid.UUID(make_credential(0)["id"][9:]).version == 4  # seeded: reproducible


# --- achievement ids derived from the issuer and the definition -------------------------------


def _no_id(**changes):
    fields = {"name": "Excel Modelling", "description": "Builds financial models.",
              "criteria_narrative": "Passed the final assessment.",
              "alignments": (Alignment(target_name="use spreadsheets software",
                                       target_url="http://data.europa.eu/esco/skill/1973c966",
                                       target_code="S5.6.1", target_framework="ESCO"),)}
    return AchievementSpec(**{**fields, **changes})


def _achievement_id(issuer, spec, n=0):
    c = build_credential(issuer=issuer, recipient=Recipient(name=f"Learner {n}"),
                         achievement=spec, valid_from=VALID_FROM)
    return c["credentialSubject"]["achievement"]["id"]


def test_an_achievement_without_an_id_gets_the_same_derived_one_in_every_badge():
    other = IssuerProfile(address="0x" + "22" * 20, chain_id=1, name="Other Org")
    first = _achievement_id(ISSUER, _no_id(), 0)
    # Another learner, another process's cache (a fresh spec object): the same achievement id.
    assert _achievement_id(ISSUER, _no_id(), 1) == first
    achievement_urn.cache_clear()
    assert _achievement_id(ISSUER, _no_id(), 2) == first
    # UUID version 5 of the RFC 8785 text of the issuer and the definition without its id,
    # recomputed here with the standard library.
    name = json.dumps({"achievement": {k: v for k, v in _no_id().to_json("").items() if k != "id"},
                       "issuer": ISSUER.did}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    assert first == f"urn:uuid:{uuid.uuid5(ACHIEVEMENT_ID_NAMESPACE, name)}"
    assert uuid.UUID(first.removeprefix("urn:uuid:")).version == 5
    # docs/proof-format.md gives the namespace for anyone recomputing it without credanchor.
    doc = (Path(__file__).resolve().parents[2] / "docs" / "proof-format.md").read_text()
    assert f"in namespace `{ACHIEVEMENT_ID_NAMESPACE}`" in doc
    # Another issuer, or any edit of the definition, gives another achievement.
    assert _achievement_id(other, _no_id()) != first
    for change in ({"name": "Excel Modelling II"}, {"description": "Builds models."},
                   {"criteria_narrative": None, "criteria_url": "https://c.example"},
                   {"image_url": "https://img.example/badge.png"}, {"alignments": ()}):
        assert _achievement_id(ISSUER, _no_id(**change)) != first, change
    # An explicit id is kept as given.
    assert _achievement_id(ISSUER, _no_id(achievement_id="https://a.example/excel")) == \
        "https://a.example/excel"
