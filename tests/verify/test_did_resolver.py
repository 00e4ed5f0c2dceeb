"""did:web resolution against a real HTTPS server on 127.0.0.1 with a certificate made here.

The DIDs name ``localhost`` (``did:web:localhost%3APORT``): the did:web method, and
core.multikey with it, accepts only DNS names, not IP addresses; /etc/hosts maps localhost
to 127.0.0.1, where the server listens. Each outcome the verifier relies on is produced for
real: a document, a cache hit (the server counts requests), 404, 500, a server that accepts
and never answers, an oversized document, a document for another DID, and a certificate the
client does not trust.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from credanchor.core.did_document import IssuerKey, issuer_did_document
from credanchor.core.multikey import Ed25519KeyPair, did_key_document
from credanchor.errors import (
    ChainError,
    DidDocumentInvalid,
    DidError,
    DidNotFound,
    DidUnreachable,
    InvalidInput,
)
from credanchor.verify.did_resolver import DidDocumentResolver

KEY = Ed25519KeyPair.from_seed(hashlib.sha256(b"resolver test key").digest())


def make_cert(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1: (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Site:
    """What the server answers: path -> (status, body bytes); counts the requests per path."""

    routes: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    port: int = 0

    @property
    def did(self) -> str:
        return f"did:web:localhost%3A{self.port}"

    def sub_did(self, *segments: str) -> str:
        return ":".join([self.did, *segments])

    def put(self, path: str, document: Any, status: int = 200) -> None:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.routes[path] = (status, body)


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.hits[self.path] = site.hits.get(self.path, 0) + 1
            if self.path == "/drip/did.json":  # headers at once, then a byte every 0.1 s
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                for _ in range(100):
                    try:
                        self.wfile.write(b" ")
                        self.wfile.flush()
                    except (ConnectionError, ssl.SSLError):
                        return  # the client gave up (its timeout): stop, quietly
                    time.sleep(0.1)
                return
            status, body = site.routes.get(self.path, (404, b"not found"))
            self.send_response(status)
            if 300 <= status < 400 and body:  # a redirect: the body is its Location
                self.send_header("Location", body.decode())
                body = b""
            self.send_header("Content-Type", "application/did+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    directory = tmp_path_factory.mktemp("certs")
    return {"good": make_cert(directory, "good"), "other": make_cert(directory, "other")}


@pytest.fixture
def site(certs: dict[str, tuple[Path, Path]]) -> Iterator[Site]:
    state = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certs["good"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    # server_close() waits for the request threads, so that none outlives its test and writes
    # a traceback into a later test's captured output (seen with the dripping response).
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def resolver_for(certs: dict[str, tuple[Path, Path]], which: str = "good", **kw: Any):
    return DidDocumentResolver(cafile=certs[which][0], **kw)


def doc_for(did: str) -> dict[str, Any]:
    return issuer_did_document(did, [IssuerKey(KEY.public_multibase)])


def test_resolves_well_known_and_path(site: Site, certs: dict) -> None:
    site.put("/.well-known/did.json", doc_for(site.did))
    acme = site.sub_did("issuers", "acme")
    site.put("/issuers/acme/did.json", doc_for(acme))
    resolver = resolver_for(certs)
    assert resolver(site.did) == doc_for(site.did)
    assert resolver.resolve(acme) == doc_for(acme)
    parsed = resolver.document(acme)
    assert parsed.is_assertion_method(f"{acme}#{KEY.public_multibase}")


def test_positive_answers_are_cached_until_the_ttl(site: Site, certs: dict) -> None:
    site.put("/.well-known/did.json", doc_for(site.did))
    now = [1000.0]
    resolver = resolver_for(certs, ttl=60, clock=lambda: now[0])
    first = resolver(site.did)
    first["id"] = "tampered by the caller"  # callers get copies: the cache is unaffected
    assert resolver(site.did) == doc_for(site.did)
    assert site.hits["/.well-known/did.json"] == 1
    now[0] += 61
    assert resolver(site.did) == doc_for(site.did)
    assert site.hits["/.well-known/did.json"] == 2


def test_404_is_did_not_found_and_cached_briefly(site: Site, certs: dict) -> None:
    now = [0.0]
    resolver = resolver_for(certs, negative_ttl=30, clock=lambda: now[0])
    for _ in range(2):
        with pytest.raises(DidNotFound, match="HTTP 404"):
            resolver(site.did)
    assert site.hits["/.well-known/did.json"] == 1
    site.put("/.well-known/did.json", doc_for(site.did))
    now[0] += 31
    assert resolver(site.did)["id"] == site.did
    assert issubclass(DidNotFound, InvalidInput) and issubclass(DidNotFound, DidError)


def test_500_is_unreachable_never_invalid(site: Site, certs: dict) -> None:
    site.put("/.well-known/did.json", b"oops", status=500)
    with pytest.raises(DidUnreachable, match="HTTP 500") as info:
        resolver_for(certs)(site.did)
    assert isinstance(info.value, ChainError) and not isinstance(info.value, ValueError)


def test_unreachable_answers_are_cached_briefly(site: Site, certs: dict) -> None:
    site.put("/.well-known/did.json", b"oops", status=503)
    now = [0.0]
    resolver = resolver_for(certs, error_ttl=10, clock=lambda: now[0])
    for _ in range(3):
        with pytest.raises(DidUnreachable):
            resolver(site.did)
    assert site.hits["/.well-known/did.json"] == 1
    site.put("/.well-known/did.json", doc_for(site.did))
    now[0] += 11
    assert resolver(site.did)["id"] == site.did


def test_a_server_that_never_answers_times_out_quickly(certs: dict) -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (backlog), never answers
    port = listener.getsockname()[1]
    try:
        resolver = resolver_for(certs, timeout=0.5)
        started = time.monotonic()
        with pytest.raises(DidUnreachable, match=r"within 0\.5 s"):
            resolver(f"did:web:localhost%3A{port}")
        assert time.monotonic() - started < 3
    finally:
        listener.close()


def test_a_slow_drip_cannot_stretch_the_deadline(site: Site, certs: dict) -> None:
    """Every read succeeds well within the timeout, but the whole fetch may not exceed it."""
    resolver = resolver_for(certs, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(DidUnreachable, match=r"within 0\.5 s"):
        resolver(site.sub_did("drip"))
    assert time.monotonic() - started < 1.5


def test_connection_refused_is_unreachable(certs: dict) -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    with pytest.raises(DidUnreachable, match="cannot fetch"):
        resolver_for(certs)(f"did:web:localhost%3A{port}")


def test_oversized_document_is_refused(site: Site, certs: dict) -> None:
    big = doc_for(site.did)
    big["padding"] = "x" * 300_000
    site.put("/.well-known/did.json", big)
    with pytest.raises(DidDocumentInvalid, match="at most 262144"):
        resolver_for(certs)(site.did)
    small = resolver_for(certs, max_bytes=100)
    site.put("/.well-known/did.json", doc_for(site.did))
    with pytest.raises(DidDocumentInvalid, match="at most 100"):
        small(site.did)


def test_document_for_another_did_is_invalid(site: Site, certs: dict) -> None:
    site.put("/.well-known/did.json", doc_for("did:web:elsewhere.example"))
    with pytest.raises(DidDocumentInvalid, match="elsewhere"):
        resolver_for(certs)(site.did)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"id": "a", "id": "b"}', "not valid JSON"),  # duplicate keys are ambiguous
        (b"[]", "JSON object"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_malformed_documents_are_invalid(site: Site, certs: dict, body: bytes, match: str) -> None:
    site.put("/.well-known/did.json", body)
    with pytest.raises(DidDocumentInvalid, match=match):
        resolver_for(certs)(site.did)


def test_untrusted_certificate_is_unreachable(site: Site, certs: dict) -> None:
    site.put("/.well-known/did.json", doc_for(site.did))
    with pytest.raises(DidUnreachable, match="TLS failure"):
        resolver_for(certs, "other")(site.did)  # trusts another CA
    with pytest.raises(DidUnreachable, match="TLS failure"):
        DidDocumentResolver()(site.did)  # the system CAs do not know ours
    assert "/.well-known/did.json" not in site.hits  # nothing was sent over a bad channel


def test_redirects_only_to_https(site: Site, certs: dict) -> None:
    site.put("/moved/did.json", doc_for(site.did))
    site.routes["/.well-known/did.json"] = (301, b"/moved/did.json")
    assert resolver_for(certs)(site.did) == doc_for(site.did)
    plain = f"http://localhost:{site.port}/moved/did.json"
    site.routes["/.well-known/did.json"] = (302, plain.encode())
    with pytest.raises(DidDocumentInvalid, match="non-https"):
        resolver_for(certs)(site.did)
    site.routes["/.well-known/did.json"] = (307, b"/.well-known/did.json")  # a loop
    with pytest.raises(DidDocumentInvalid, match="more than 3 redirects"):
        resolver_for(certs)(site.did)
    site.routes["/.well-known/did.json"] = (302, b"")
    with pytest.raises(DidUnreachable, match="without a Location"):
        resolver_for(certs)(site.did)


def test_did_key_resolves_offline_and_bad_dids_are_invalid(certs: dict) -> None:
    resolver = resolver_for(certs)
    assert resolver(KEY.did) == did_key_document(KEY.did)
    for bad in ("did:web:127.0.0.1", "did:web:exa mple.com", "did:example:123", "did:key:zzz"):
        with pytest.raises(DidError):
            resolver(bad)


def test_concurrent_callers_share_one_fetch(site: Site, certs: dict) -> None:
    site.put("/.well-known/did.json", doc_for(site.did))
    resolver = resolver_for(certs)
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(resolver(site.did)))
               for _ in range(8)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == [doc_for(site.did)] * 8
    assert site.hits["/.well-known/did.json"] == 1


def test_with_the_data_integrity_verifier(site: Site, certs: dict) -> None:
    """Through core.dataintegrity.verify: a document verifies, a missing DID is a failed proof
    (INVALID), and an unreachable one raises out of verify (ERROR), never a failed proof."""
    from credanchor.core import dataintegrity

    signed = dataintegrity.add_proof(
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "issuer": site.did,
            "credentialSubject": {"id": "did:example:holder"},
        },
        KEY,
        verification_method=f"{site.did}#{KEY.public_multibase}",
    )
    site.put("/.well-known/did.json", doc_for(site.did))
    assert dataintegrity.verify(signed, resolver=resolver_for(certs)).verified
    site.routes.pop("/.well-known/did.json")
    result = dataintegrity.verify(signed, resolver=resolver_for(certs))
    assert result.proofs[0].failure == dataintegrity.Failure.METHOD_NOT_FOUND
    site.put("/.well-known/did.json", b"down", status=502)
    with pytest.raises(DidUnreachable):
        dataintegrity.verify(signed, resolver=resolver_for(certs))
