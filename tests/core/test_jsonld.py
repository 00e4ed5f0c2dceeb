"""The bundled-context loader: serves exactly the bundled contexts, never the network."""

from __future__ import annotations

import hashlib
import re
import socket
from importlib import resources

import pytest

from credanchor.core.credentials import CONTEXT
from credanchor.core.jsonld import (
    BUNDLED_CONTEXTS,
    CREDENTIALS_V2,
    OPEN_BADGES_V3_0_3,
    ContextLoader,
    bundled_context,
    default_loader,
)
from credanchor.core.rdfc import canonical_nquads
from credanchor.errors import CredanchorError, InvalidInput, UnknownContext
from kit.credentials import VECTORS

CONTEXTS_DIR = resources.files("credanchor.core").joinpath("contexts")
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to resolve a name or open a connection fails the test loudly."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_committed_files_match_the_readme_hashes():
    readme = CONTEXTS_DIR.joinpath("README.md").read_text("utf-8")
    listed = dict(
        (name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, re.M)
    )
    assert sorted(listed) == sorted(BUNDLED_CONTEXTS.values())
    for name, digest in listed.items():
        data = CONTEXTS_DIR.joinpath(name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name


def test_every_context_credentials_use_is_bundled():
    assert set(CONTEXT) <= set(BUNDLED_CONTEXTS)
    assert CONTEXT == (CREDENTIALS_V2, OPEN_BADGES_V3_0_3)


@pytest.mark.parametrize("url", sorted(BUNDLED_CONTEXTS))
def test_each_bundled_context_is_served_as_a_fresh_copy(url, no_network):
    loader = ContextLoader()
    remote = loader(url)
    assert remote["documentUrl"] == url
    assert isinstance(remote["document"]["@context"], dict)
    remote["document"]["@context"].clear()  # pyld may modify what it gets
    assert loader(url)["document"]["@context"] != {}
    assert bundled_context(url) == loader.load(url)


def test_vc2_context_defines_data_integrity_and_status_list_terms():
    terms = bundled_context(CREDENTIALS_V2)["@context"]
    assert terms["DataIntegrityProof"]["@id"] == "https://w3id.org/security#DataIntegrityProof"
    assert "BitstringStatusListEntry" in terms
    assert "BitstringStatusListCredential" in terms


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/contexts/evil.jsonld",
        "http://www.w3.org/ns/credentials/v2",  # http instead of https: another URL
        "https://www.w3.org/ns/credentials/v2/",  # trailing slash: another URL
        "https://purl.imsglobal.org/spec/ob/v3p0/context.json",  # another OB version
        EXAMPLES_V2,  # only served when a caller adds it
    ],
)
def test_an_unknown_url_is_refused_without_touching_the_network(url, no_network):
    with pytest.raises(UnknownContext) as err:
        ContextLoader()(url)
    assert err.value.extra["url"] == url
    doc = {"@context": [CREDENTIALS_V2, url], "type": ["VerifiableCredential"]}
    with pytest.raises(UnknownContext):
        canonical_nquads(doc)


def test_a_context_nested_in_a_term_definition_is_refused_too(no_network):
    doc = {
        "@context": [CREDENTIALS_V2, {"x": {"@id": "https://ex.org/x", "@context": EXAMPLES_V2}}],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"x": {"y": 1}},
    }
    with pytest.raises(UnknownContext):
        canonical_nquads(doc)


def test_unknown_context_is_a_credanchor_input_error():
    err = UnknownContext("nope", url="https://x.example/")
    assert isinstance(err, InvalidInput) and isinstance(err, CredanchorError)
    problem = err.to_problem()
    assert problem["status"] == 422 and problem["code"] == "unknown-context"


def test_extra_contexts_are_served_only_by_the_loader_that_has_them(no_network):
    examples = (VECTORS / "di-eddsa" / "credentials-examples-v2.jsonld").read_text()
    import json

    loader = ContextLoader({EXAMPLES_V2: json.loads(examples)})
    doc = {
        "@context": [CREDENTIALS_V2, EXAMPLES_V2],
        "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
        "type": ["VerifiableCredential", "AlumniCredential"],
    }
    assert "examples#AlumniCredential" in canonical_nquads(doc, loader=loader)
    assert EXAMPLES_V2 in loader.urls and EXAMPLES_V2 not in default_loader().urls
    # pyld's own cache is process-wide and keyed by URL: had the loader used it, the default
    # loader would now serve the examples context it must refuse.
    with pytest.raises(UnknownContext):
        canonical_nquads(doc)


def test_extra_contexts_must_be_json_objects():
    with pytest.raises(TypeError):
        ContextLoader({EXAMPLES_V2: "not a document"})  # type: ignore[dict-item]
