"""Resolve a DID to its DID document: did:key offline, did:web over HTTPS (standard library).

Outcomes, and what the verifier makes of them (docs/dids.md, "Resolution"):

* a document: validated (``credanchor.core.did_document.parse_did_document``), its ``id``
  equal to the DID; cached for ``ttl`` seconds;
* ``DidError`` (a malformed or unsupported DID), ``DidDocumentInvalid`` (not JSON, not a DID
  document, another ``id``, larger than ``max_bytes``, a redirect to a non-https URL) and
  ``DidNotFound`` (HTTP 404/410): the DID does not give a usable key — INVALID. Cached for
  ``negative_ttl`` seconds;
* ``DidUnreachable`` (connection refused, DNS failure, timeout, TLS failure — including a
  certificate that does not verify —, HTTP 5xx, 408, 429 and any other status that says
  nothing about the document): nothing is known about the credential — ERROR, never
  INVALID. Cached for ``error_ttl`` seconds, so a bulk run over thousands of badges from one
  unreachable issuer waits for the timeout once, not once per badge.

Why http.client rather than urllib.request: the whole fetch (connect, TLS, request, every
read) runs against one deadline, which urllib's per-operation timeout cannot express, and
redirects are followed only to https URLs (urllib follows an https -> http redirect). No
proxy is used: the document is fetched from the host the DID names. The host name lookup
itself (getaddrinfo) is not bounded by the timeout; the resolver on the machine bounds it.

The resolver is a callable ``DID -> DID document`` as ``core.dataintegrity.verify`` expects,
thread-safe, and fetches a DID at most once at a time (concurrent callers wait for the first).
"""

from __future__ import annotations

import copy
import functools
import http.client
import logging
import ssl
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from credanchor.core.did_document import DidDocument, parse_did_document
from credanchor.core.hashing import loads_strict
from credanchor.core.multikey import did_key_document, did_web_url
from credanchor.errors import (
    CredanchorError,
    DidDocumentInvalid,
    DidError,
    DidNotFound,
    DidUnreachable,
    InvalidInput,
)

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_TIMEOUT", "DidDocumentResolver"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0
#: A DID document with a few keys is a few KiB; anything near this is not one.
DEFAULT_MAX_BYTES = 256 * 1024
DEFAULT_TTL = 300.0
DEFAULT_NEGATIVE_TTL = 30.0
DEFAULT_ERROR_TTL = 10.0
MAX_REDIRECTS = 3
_CHUNK = 16 * 1024
_USER_AGENT = "credanchor-did-resolver"


@dataclass(frozen=True)
class _Entry:
    expires: float
    document: DidDocument | None
    error: CredanchorError | None


@functools.lru_cache(maxsize=1024)
def _did_key_document(did: str) -> DidDocument:
    """The parsed document of a did:key, derived from the DID alone: made once per DID (a bulk
    run meets the same issuer's DID in every file; ~0.1 ms each). Shared, like the cached
    did:web documents: :meth:`DidDocumentResolver.resolve` hands out copies."""
    return parse_did_document(did_key_document(did), did)


class DidDocumentResolver:
    """did:key and did:web resolution with a bounded time, size and TTL cache.

    ``ssl_context`` (or ``cafile``, a PEM bundle of extra trusted CAs) lets tests and private
    deployments trust their own certificate authority; the default trusts the system's CAs
    with host name checking, TLS 1.2 or later. ``clock`` is monotonic seconds (tests pass a
    fake one to expire the cache without sleeping).
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        ttl: float = DEFAULT_TTL,
        negative_ttl: float = DEFAULT_NEGATIVE_TTL,
        error_ttl: float = DEFAULT_ERROR_TTL,
        max_entries: int = 1024,
        ssl_context: ssl.SSLContext | None = None,
        cafile: str | Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if timeout <= 0 or max_bytes <= 0 or max_entries <= 0:
            raise ValueError("timeout, max_bytes and max_entries must be positive")
        if ssl_context is not None and cafile is not None:
            raise ValueError("give ssl_context or cafile, not both")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.ttl, self.negative_ttl, self.error_ttl = ttl, negative_ttl, error_ttl
        self.max_entries = max_entries
        self._ssl = ssl_context or ssl.create_default_context(
            cafile=str(cafile) if cafile is not None else None
        )
        self._clock = clock
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._inflight: dict[str, threading.Lock] = {}

    # --- public -------------------------------------------------------------------------

    def __call__(self, did: str) -> dict[str, Any]:
        """The DID document of ``did`` (a copy: callers may modify it)."""
        return self.resolve(did)

    def resolve(self, did: str) -> dict[str, Any]:
        """The DID document of ``did`` as JSON (a fresh copy on each call)."""
        return copy.deepcopy(dict(self.document(did).raw))

    def document(self, did: str) -> DidDocument:
        """The parsed, validated DID document of ``did``."""
        if not isinstance(did, str):
            raise DidError("a DID must be a string")
        if did.startswith("did:key:"):
            return _did_key_document(did)
        if not did.startswith("did:web:"):
            raise DidError(f"unsupported DID method (did:key and did:web only): {did!r:.100}")
        url = did_web_url(did)  # DidError for a malformed did:web, before any cache entry
        cached = self._cached(did)
        if cached is not None:
            return self._answer(cached)
        with self._lock:
            gate = self._inflight.setdefault(did, threading.Lock())
        with gate:  # one fetch per DID at a time; the others find its answer in the cache
            cached = self._cached(did)
            if cached is None:
                cached = self._fetch_entry(did, url)
                self._store(did, cached)
        with self._lock:
            self._inflight.pop(did, None)
        return self._answer(cached)

    def clear(self) -> None:
        """Forget every cached answer."""
        with self._lock:
            self._cache.clear()

    # --- cache --------------------------------------------------------------------------

    def _cached(self, did: str) -> _Entry | None:
        with self._lock:
            entry = self._cache.get(did)
            if entry is None:
                return None
            if entry.expires <= self._clock():
                del self._cache[did]
                return None
            self._cache.move_to_end(did)
            return entry

    def _store(self, did: str, entry: _Entry) -> None:
        with self._lock:
            self._cache[did] = entry
            self._cache.move_to_end(did)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)

    @staticmethod
    def _answer(entry: _Entry) -> DidDocument:
        if entry.error is not None:
            # A fresh instance each time: re-raising one object would grow its traceback.
            raise type(entry.error)(entry.error.detail, **entry.error.extra)
        assert entry.document is not None
        return entry.document

    def _fetch_entry(self, did: str, url: str) -> _Entry:
        try:
            body = self._fetch(url)
            document = parse_did_document(_json(body), did)
        except DidUnreachable as exc:
            log.info("DID document of %s unreachable: %s", did, exc.detail)
            return _Entry(self._clock() + self.error_ttl, None, exc)
        except DidError as exc:
            log.info("DID %s does not resolve: %s", did, exc.detail)
            return _Entry(self._clock() + self.negative_ttl, None, exc)
        return _Entry(self._clock() + self.ttl, document, None)

    # --- HTTPS --------------------------------------------------------------------------

    def _fetch(self, url: str) -> bytes:
        deadline = time.monotonic() + self.timeout
        for _ in range(MAX_REDIRECTS + 1):
            status, location, body = self._get(url, deadline)
            if status is None:
                return body
            if location is None:
                raise DidUnreachable(f"{url} answered HTTP {status} without a Location")
            target = urllib.parse.urljoin(url, location)
            if urllib.parse.urlsplit(target).scheme != "https":
                raise DidDocumentInvalid(f"{url} redirects to a non-https URL; refused")
            url = target
        raise DidDocumentInvalid(f"more than {MAX_REDIRECTS} redirects fetching the DID document")

    def _remaining(self, deadline: float, url: str) -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise DidUnreachable(f"{url} did not answer within {self.timeout:g} s")
        return left

    def _get(self, url: str, deadline: float) -> tuple[int | None, str | None, bytes]:
        """One GET: (None, None, body) on 200, (status, Location, b"") on a redirect."""
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn = http.client.HTTPSConnection(
            host, parts.port or 443, timeout=self._remaining(deadline, url), context=self._ssl
        )
        try:
            conn.connect()
            sock = conn.sock
            conn.request(
                "GET", path or "/",
                headers={
                    "Accept": "application/did+json, application/json",
                    "Accept-Encoding": "identity",
                    "User-Agent": _USER_AGENT,
                },
            )  # fmt: skip
            sock.settimeout(self._remaining(deadline, url))
            response = conn.getresponse()
            status = response.status
            if status in (301, 302, 303, 307, 308):
                return status, response.getheader("Location"), b""
            if status in (404, 410):
                raise DidNotFound(f"{url} answered HTTP {status}: the DID does not exist")
            if status != 200:
                # 5xx, 408, 429, 401/403 (a firewall, a login page): none says anything about
                # the DID document, so none may make a credential INVALID.
                raise DidUnreachable(f"{url} answered HTTP {status}")
            return None, None, self._read(response, sock, deadline, url)
        except CredanchorError:
            raise
        except ssl.SSLError as exc:  # certificate, host name, protocol
            raise DidUnreachable(f"TLS failure fetching {url}: {exc.reason or exc}") from None
        except TimeoutError:
            raise DidUnreachable(f"{url} did not answer within {self.timeout:g} s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise DidUnreachable(f"cannot fetch {url}: {exc}") from None
        finally:
            conn.close()

    def _read(
        self, response: http.client.HTTPResponse, sock: Any, deadline: float, url: str
    ) -> bytes:
        length = response.getheader("Content-Length")
        if length is not None and length.strip().isdigit() and int(length) > self.max_bytes:
            raise DidDocumentInvalid(
                f"the DID document at {url} is {int(length)} bytes; at most {self.max_bytes}"
            )
        chunks: list[bytes] = []
        size = 0
        while True:
            sock.settimeout(self._remaining(deadline, url))
            chunk = response.read1(_CHUNK)  # one recv at most: the deadline holds
            if not chunk:
                break
            size += len(chunk)
            if size > self.max_bytes:
                raise DidDocumentInvalid(
                    f"the DID document at {url} is larger than {self.max_bytes} bytes"
                )
            chunks.append(chunk)
        return b"".join(chunks)


def _json(body: bytes) -> Any:
    try:
        return loads_strict(body)
    except InvalidInput as exc:
        raise DidDocumentInvalid(f"the DID document is not valid JSON: {exc.detail}") from None
