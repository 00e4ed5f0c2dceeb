"""A JSON-LD document loader that serves only bundled contexts and never touches the network.

JSON-LD processing dereferences every ``@context`` URL a document names. A verifier that fetched
them would let the document's author choose what its terms mean (and make verification depend
on a web server being up), so credanchor serves the few contexts it needs from files bundled in
``credanchor/core/contexts/`` (see the README there for their sources) and refuses every other
URL with :class:`UnknownContext`.

Each :class:`ContextLoader` keeps its own cache of processed contexts. pyld's default is a
process-wide cache keyed by URL alone, so a context served by one loader (say, a test loader
with an extra context) would later be served to another loader that must refuse it.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Mapping
from importlib import resources
from typing import Any

from credanchor.errors import UnknownContext

__all__ = [
    "BUNDLED_CONTEXTS",
    "CREDENTIALS_V2",
    "DATA_INTEGRITY_V2",
    "DID_V1",
    "MULTIKEY_V1",
    "OPEN_BADGES_V3_0_3",
    "ContextLoader",
    "bundled_context",
    "default_loader",
]

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
OPEN_BADGES_V3_0_3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DID_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"

#: URL -> file name in credanchor/core/contexts/. Matched exactly: no normalisation, no
#: trailing-slash or http/https variants (a variant is another, unknown, URL).
BUNDLED_CONTEXTS: Mapping[str, str] = {
    CREDENTIALS_V2: "credentials-v2.jsonld",
    OPEN_BADGES_V3_0_3: "ob-v3p0-context-3.0.3.json",
    DID_V1: "did-v1.jsonld",
    MULTIKEY_V1: "multikey-v1.jsonld",
    DATA_INTEGRITY_V2: "data-integrity-v2.jsonld",
}

# Processed contexts a loader keeps: the bundled and extra URLs plus the inline context objects
# it has met. Inline contexts come from documents (attacker-chosen), so the cache is bounded.
_MAX_CACHED_CONTEXTS = 256


@functools.cache
def _bundled_text(url: str) -> str:
    name = BUNDLED_CONTEXTS[url]
    return resources.files("credanchor.core").joinpath("contexts", name).read_text("utf-8")


def bundled_context(url: str) -> dict[str, Any]:
    """A fresh parsed copy of the bundled context document at ``url``; UnknownContext otherwise."""
    if url not in BUNDLED_CONTEXTS:
        raise UnknownContext(f"JSON-LD context {url!r:.200} is not bundled", url=url[:200])
    loaded: dict[str, Any] = json.loads(_bundled_text(url))
    return loaded


class _BoundedCache:
    """The ``get``/``[]=`` mapping pyld's ContextResolver wants as its shared cache: locked,
    because one loader serves every request thread, and emptied when full rather than grown."""

    def __init__(self, maxsize: int) -> None:
        self._data: dict[str, Any] = {}
        self._maxsize = maxsize
        self._lock = threading.Lock()

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            return self._data.get(key, default)

    def __getitem__(self, key: str) -> Any:
        with self._lock:
            return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        with self._lock:
            if len(self._data) >= self._maxsize:
                self._data.clear()
            self._data[key] = value

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)


class ContextLoader:
    """A pyld ``documentLoader``: serves the bundled contexts, plus ``extra`` ones if given.

    ``extra`` maps exact URLs to context documents (``{"@context": ...}``), e.g. the W3C
    examples context the spec's test vectors use; it cannot replace a bundled URL. Call :meth:`options` to get the keyword
    options for a pyld call; they include a context resolver bound to this loader's own cache.
    """

    def __init__(self, extra: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        texts: dict[str, str] = {}
        for url, document in (extra or {}).items():
            if not isinstance(url, str) or not isinstance(document, Mapping):
                raise TypeError("extra contexts must map URL strings to JSON objects")
            if url in BUNDLED_CONTEXTS:
                # A bundled URL always means the bundled document (the fast canonicaliser
                # relies on it, and so does everyone reading a signed credential).
                raise ValueError(f"{url} is bundled and cannot be replaced")
            # Kept as text so every load hands pyld a fresh copy it may modify freely.
            texts[url] = json.dumps(document)
        self._extra = texts
        self._cache = _BoundedCache(_MAX_CACHED_CONTEXTS)

    @property
    def urls(self) -> frozenset[str]:
        """Every context URL this loader serves."""
        return frozenset(BUNDLED_CONTEXTS) | frozenset(self._extra)

    def load(self, url: str) -> dict[str, Any]:
        """The parsed context document at ``url``; UnknownContext if it is not served."""
        if url in self._extra:
            loaded: dict[str, Any] = json.loads(self._extra[url])
            return loaded
        return bundled_context(url)

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        # pyld's RemoteDocument. tag "static" lets the resolver cache the processed context
        # (in this loader's own cache, see options()).
        return {
            "contextUrl": None,
            "documentUrl": url,
            "document": self.load(url),
            "contentType": "application/ld+json",
            "tag": "static",
        }

    def options(self) -> dict[str, Any]:
        """Options for one pyld operation: this loader, a resolver on this loader's cache, and
        no base IRI.

        A resolver holds per-operation state, so a new one is made for every call. Without an
        explicit ``base: None``, pyld 3.3 resolves relative IRIs against a made-up
        ``http://example.org/base/``, where JSON-LD (and jsonld.js) leaves them relative: the
        document would then be signed with IRIs no other verifier computes.
        """
        from pyld.context_resolver import ContextResolver

        return {
            "documentLoader": self,
            "contextResolver": ContextResolver(self._cache, self),
            "base": None,
        }


@functools.cache
def default_loader() -> ContextLoader:
    """The process-wide loader for the bundled contexts only."""
    return ContextLoader()
