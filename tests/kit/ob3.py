"""Hypothesis strategies for Open Badges 3.0 credentials as credanchor builds them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from credanchor.core.credentials import (
    AchievementSpec,
    Alignment,
    Evidence,
    IssuerProfile,
    Recipient,
    build_credential,
)

# Characters canonicalisation refuses (see credanchor.core.rdfc); surrogates are excluded by
# the "Cs" category.
_REFUSED = "".join(map(chr, [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]))
_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=_REFUSED),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() != "")
_escapes = st.sampled_from(['"quoted"', "back\\slash", "tab\there", "line\nbreak", "cr\rlf"])
_names = st.one_of(_text, _escapes, st.builds(lambda a, b: a + b, _text, _escapes))
_moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)
# Whole numbers and numbers with two decimals (the doubles whose 16-digit rounding is an exact
# tie are refused by canonicalisation, test_rdfc.py; these are never ties).
_credits = st.one_of(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=1, max_value=10**8).filter(lambda n: n % 100).map(lambda n: n / 100),
)


_optional = st.none() | _names
_urls = st.sampled_from(
    [
        "https://example.org/a",
        "https://example.org/b?x=1&y=%20",
        "urn:uuid:4e1b2c9e-1111-4222-8333-944455556666",
    ]
)
_identifier_types = st.sampled_from(["identifier", "sisSourcedId", "emailAddress", "ext:badgeNumber"])


@st.composite
def ob3_credentials(draw, *, credits: bool = True) -> dict:
    """A credential as credanchor.core.credentials.build_credential makes it, over its whole range of
    options: optional fields present or not, every escape JSON and N-Quads know, look-alike
    objects (equal alignments, equal evidence without ids, equal clear identities) whose blank
    nodes only an N-degree-aware canonicaliser can tell apart or prove interchangeable.
    ``credits`` adds OB 3.0's ``creditsAvailable`` (a number), which the builder never sets."""
    valid_from = draw(_moments)
    alignment = st.builds(
        Alignment,
        target_name=_names,
        target_url=_urls,
        target_code=_optional,
        target_framework=_optional,
    )
    alignments = draw(st.lists(alignment, max_size=3))
    if alignments and draw(st.booleans()):
        alignments.append(alignments[0])  # a look-alike
    criteria_url = draw(st.none() | _urls)
    achievement = AchievementSpec(
        name=draw(_names),
        description=draw(_names),
        criteria_narrative=draw(_names if criteria_url is None else _optional),
        criteria_url=criteria_url,
        image_url=draw(st.none() | _urls),
        alignments=tuple(alignments),
        achievement_id=draw(st.none() | _urls),
    )
    email = draw(st.from_regex(r"[a-z]{1,8}@example\.org", fullmatch=True))
    identifier_type = draw(_identifier_types)
    name = draw(_optional)
    recipient = Recipient(
        name=name,
        email=draw(st.just(email) if name is None else st.none() | st.just(email)),
        # sometimes the same value as the e-mail address: with clear identities and the same
        # type, the two IdentityObjects are look-alikes
        identifier=draw(st.none() | _names | st.just(email)),
        identifier_type=identifier_type,
    )
    evidence_item = st.builds(
        Evidence,
        id=st.none() | st.sampled_from([f"https://portfolio.example/{i}" for i in range(3)]),
        name=_names,
        description=_optional,
        narrative=_optional,
        genre=_optional,
        audience=_optional,
    )
    evidence = draw(st.lists(evidence_item, max_size=3))
    if evidence and draw(st.booleans()):
        evidence.append(evidence[0])
    valid_until = draw(st.none() | st.integers(1, 4000))
    credential = build_credential(
        issuer=IssuerProfile(
            address="0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
            chain_id=draw(st.integers(1, 2**40)),
            name=draw(_names),
            url=draw(st.none() | _urls),
        ),
        recipient=recipient,
        achievement=achievement,
        valid_from=valid_from,
        valid_until=None if valid_until is None else valid_from + timedelta(days=valid_until),
        evidence=tuple(evidence),
        clear_identity=draw(st.booleans()),
    )
    amount = draw(st.none() | _credits) if credits else None
    if amount is not None:
        credential["credentialSubject"]["achievement"]["creditsAvailable"] = amount
    return credential
