"""RDF Dataset Canonicalization (RDFC-1.0) of JSON-LD documents: the reference path.

``canonical_nquads(document)`` is the JSON-LD document converted to RDF (JSON-LD 1.1 toRdf,
contexts served only from the bundled files, see credanchor.core.jsonld), canonicalised and
serialised as canonical N-Quads — the bytes the ``eddsa-rdfc-2022`` cryptosuite hashes.
:func:`reference` does the work with pyld (toRdf and its URDNA2015 implementation, which is
RDFC-1.0 for everything this module lets through); it is what the fast path for credanchor's
own documents (credanchor.core.rdfc_fast) must match byte for byte, and its cross-check.

What a signature covers is the RDF, not the JSON, so anything JSON-LD silently drops would be
unsigned. Like jsonld.js's "safe mode" (which Data Integrity libraries use), this module refuses
a document instead of dropping part of it:

* a property that no context defines (no ``@vocab`` catches it);
* an ``@id``, ``@type``, property or datatype that is not an absolute IRI or a blank node (a
  relative one yields no triple), or an IRI with characters that N-Quads would have to escape;
* ``null`` values and ``@direction`` (both produce no triple).

It also refuses the few values on which pyld 3.3 and the RDFC-1.0 / jsonld.js serialisation
disagree, rather than sign bytes another verifier would compute differently:

* strings with control characters other than TAB, LF and CR (pyld writes them raw; RDFC-1.0's
  canonical N-Quads escapes them as ``\\b``, ``\\f`` or ``\\u00XX``), or with unpaired
  surrogates (not encodable in UTF-8);
* integers beyond ±(2^53 - 1) (a JavaScript verifier cannot even read them exactly), and the
  rare doubles whose 16-significant-digit rounding is an exact tie (jsonld.js rounds ties up,
  Python to even). Integral floats such as ``5.0`` are read as the integer 5, as JavaScript does.

A dataset crafted so that canonicalisation takes exponential time ("dataset poisoning",
RDFC-1.0 §4.4.3) is refused after a bounded amount of work.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

from credanchor.core.hashing import MAX_SAFE_INTEGER  # what a JavaScript verifier reads exactly
from credanchor.core.jsonld import ContextLoader, default_loader
from credanchor.core.sampling import ProcessSampler
from credanchor.errors import RdfCanonicalizationError, UnknownContext

__all__ = ["CROSS_CHECK_EVERY", "MAX_DEPTH", "Canonicalizer", "canonical_nquads", "reference"]

#: Canonicalisation of a JSON-LD document to RDFC-1.0 N-Quads; the signature of any drop-in
#: replacement for the reference path.
Canonicalizer = Callable[..., str]

#: One fast canonicalisation in this many, with the one after it (a signature's document and
#: its proof options come in pairs), is also computed by the reference (:func:`canonical_nquads`).
CROSS_CHECK_EVERY = 10_007
#: Deepest nesting accepted (an OB 3.0 credential with its proof needs about 8).
MAX_DEPTH = 64
# Calls of the N-degree hash allowed before a dataset counts as poisoned. credanchor's own
# documents never need the N-degree hash (every blank node has a distinct first-degree hash);
# a poisoned dataset needs many thousands.
_MAX_NDEGREE_CALLS = 2_000

# Characters pyld 3.3 leaves raw in literals where RDFC-1.0 writes an escape (TAB, LF, CR are
# escaped alike by both), plus unpaired surrogates.
_BAD_STRING_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# An absolute IRI whose N-Quads form needs no escaping: characters rdf-canonize would write as
# \u00XX (controls, space, <>"{}|^`\) are refused rather than serialised differently.
_ABSOLUTE_IRI = re.compile(r'[A-Za-z][A-Za-z0-9+.\-]*:[^\x00-\x20<>"{}|^`\\]*')
_BLANK_NODE = re.compile(r"_:[^\x00-\x20<>\"{}|^`\\]+")
_KEYWORD = re.compile(r"@[a-z]+")
_SIXTEEN_DIGITS = Decimal("1e-15")


def _fail(path: str, why: str) -> RdfCanonicalizationError:
    return RdfCanonicalizationError(f"{path}: {why}", path=path)


def _is_tie(x: float) -> bool:
    """Whether x's mantissa to 15 decimals is an exact tie (half-even and half-up differ)."""
    d = abs(Decimal(x))
    mantissa = d.scaleb(-d.adjusted())
    return mantissa.quantize(_SIXTEEN_DIGITS, ROUND_HALF_EVEN) != mantissa.quantize(
        _SIXTEEN_DIGITS, ROUND_HALF_UP
    )


def _check_string(s: str, path: str) -> str:
    m = _BAD_STRING_CHARS.search(s)
    if m is not None:
        raise _fail(path, f"character U+{ord(m.group()):04X} cannot be canonicalised here")
    return s


def _json_literal_members(document: Mapping[str, Any]) -> frozenset[str]:
    """Top-level members the document's own inline contexts declare JSON literals
    (``"@type": "@json"``): JSON-LD keeps such a value whole (JCS), nulls included."""
    ctx = document.get("@context")
    out: set[str] = set()
    for c in ctx if isinstance(ctx, list) else [ctx]:
        if isinstance(c, Mapping):
            out.update(t for t, d in c.items()
                       if isinstance(d, Mapping) and d.get("@type") == "@json")
    return frozenset(out)


def _plain_json(value: Any, path: str = "$", depth: int = 0, *,
                literals: frozenset[str] = frozenset(), nulls: bool = False) -> Any:
    """A copy of ``value`` as plain JSON data, refusing what cannot be canonicalised safely.
    ``literals``: top-level members that are JSON literals, inside which null is kept
    (``nulls``) rather than refused: a literal is signed as it is, not dropped."""
    if depth > MAX_DEPTH:
        raise _fail(path, f"nested deeper than {MAX_DEPTH} levels")
    t = type(value)
    if t is str:
        return _check_string(value, path)
    if t is dict or isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                raise _fail(path, "object keys must be strings")
            _check_string(k, f"{path} (key)")
            out[k] = _plain_json(v, f"{path}.{k}", depth + 1,
                                 nulls=nulls or (depth == 0 and k in literals))
        return out
    if t is list or t is tuple:
        return [_plain_json(v, f"{path}[{i}]", depth + 1, nulls=nulls)
                for i, v in enumerate(value)]
    if t is bool:
        return value
    if t is int:
        if abs(value) > MAX_SAFE_INTEGER:
            raise _fail(path, f"integer beyond ±{MAX_SAFE_INTEGER} cannot be read exactly")
        return value
    if t is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise _fail(path, "not a finite number")
        if value.is_integer():
            return _plain_json(int(value), path, depth, nulls=nulls)
        if _is_tie(value):
            raise _fail(path, f"{value!r} has no unambiguous xsd:double canonical form")
        return value
    if value is None and nulls:
        return None
    if value is None:
        raise _fail(path, "null is dropped by JSON-LD, so it would not be signed")
    raise _fail(path, f"{t.__name__} is not a JSON value")


class _DroppedProperty(Exception):
    def __init__(self, prop: str | None) -> None:
        super().__init__(prop)
        self.prop = prop


def _on_property_dropped(prop: str | None) -> None:
    raise _DroppedProperty(prop)


def _iri_ok(value: object, *, blank: bool) -> bool:
    if type(value) is not str:
        return False
    if _ABSOLUTE_IRI.fullmatch(value) and not value.startswith("_:"):
        return True
    return blank and _BLANK_NODE.fullmatch(value) is not None


def _check_expanded(node: Any, path: str = "$") -> None:
    """Refuse what toRdf would silently drop (see the module docstring)."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            _check_expanded(item, f"{path}[{i}]")
        return
    if not isinstance(node, dict):
        return
    is_value = "@value" in node
    for key, value in node.items():
        if key == "@id":
            if not _iri_ok(value, blank=True):
                raise _fail(path, f"@id {value!r:.80} is not an absolute IRI")
        elif key == "@type":
            if is_value:
                if value != "@json" and not _iri_ok(value, blank=False):
                    raise _fail(path, f"datatype {value!r:.80} is not an absolute IRI")
            else:
                for t in value if isinstance(value, list) else [value]:
                    if not _iri_ok(t, blank=True):
                        raise _fail(path, f"type {t!r:.80} is not defined as an absolute IRI")
        elif key == "@direction":
            raise _fail(path, "@direction is not represented in RDF, so it would not be signed")
        elif key == "@value":
            continue  # a literal (or an @json value, canonicalised as a whole)
        elif _KEYWORD.fullmatch(key):
            _check_expanded(value, f"{path}.{key}")
        else:
            if not _iri_ok(key, blank=False):
                raise _fail(path, f"property {key!r:.80} is not an absolute IRI")
            _check_expanded(value, f"{path}.<{key}>")


def _unknown_context_in(exc: BaseException) -> UnknownContext | None:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, UnknownContext):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


# pyld keeps unlocked LRU caches inside processed contexts (cachetools, not thread-safe), and
# one loader's contexts are shared by every request thread: one pyld run at a time.
_PYLD_LOCK = threading.Lock()


# pyld is imported on first use (it is heavy, and credanchor's own documents seldom need it);
# the subclasses are built once.
@functools.cache
def _urdna2015_class() -> Any:
    from pyld.canon import URDNA2015

    class _BoundedURDNA2015(URDNA2015):  # type: ignore[misc]
        """pyld's URDNA2015 with RDFC-1.0's guard against poisoned datasets (§4.4.3)."""

        def __init__(self) -> None:
            super().__init__()
            self._ndegree_calls = 0

        def hash_n_degree_quads(self, id_: Any, issuer: Any) -> Any:
            self._ndegree_calls += 1
            if self._ndegree_calls > _MAX_NDEGREE_CALLS:
                raise RdfCanonicalizationError(
                    "the document's blank nodes would take too long to canonicalise "
                    "(RDFC-1.0 dataset poisoning)"
                )
            return super().hash_n_degree_quads(id_, issuer)

    return _BoundedURDNA2015


@functools.cache
def _safe_processor_class() -> Any:
    from pyld.jsonld import JsonLdProcessor

    class _SafeProcessor(JsonLdProcessor):  # type: ignore[misc]
        """pyld's processor, refusing to drop data (see the module docstring). toRdf expands
        through ``self.expand``, so the checks run on the one expansion toRdf does anyway."""

        def __init__(self) -> None:
            super().__init__(on_property_dropped=_on_property_dropped)

        def expand(self, input_: Any, options: Any) -> Any:
            expanded = super().expand(input_, options)
            _check_expanded(expanded)
            return expanded

    return _SafeProcessor


def reference(document: Mapping[str, Any], *, loader: ContextLoader | None = None) -> str:
    """RDFC-1.0 canonical N-Quads of ``document`` through pyld (see the module docstring).

    Raises UnknownContext for a context URL the loader does not serve (nothing is fetched) and
    RdfCanonicalizationError for anything else that cannot be canonicalised without loss.
    """
    from pyld.jsonld import JsonLdError

    if not isinstance(document, Mapping):
        raise RdfCanonicalizationError("a JSON-LD document must be a JSON object")
    loader = loader or default_loader()
    doc = _plain_json(document, literals=_json_literal_members(document))
    try:
        with _PYLD_LOCK:
            dataset = _safe_processor_class()().to_rdf(doc, loader.options())
            result: str = _urdna2015_class()().main(dataset, {"format": "application/n-quads"})
    except _DroppedProperty as exc:
        raise RdfCanonicalizationError(
            f"term {exc.prop!r:.120} is not defined by the document's contexts, "
            "so it would not be signed"
        ) from None
    except JsonLdError as exc:
        unknown = _unknown_context_in(exc)
        if unknown is not None:
            raise unknown from None
        root: BaseException = exc
        while isinstance(root.__cause__, JsonLdError):
            root = root.__cause__
        message = root.args[0] if root.args else "invalid JSON-LD"
        code = getattr(root, "code", None)
        raise RdfCanonicalizationError(
            f"not valid JSON-LD: {message}" + (f" ({code})" if code else "")
        ) from exc
    return result


def _Sampler() -> ProcessSampler:
    """The first two fast results of a process and two in every CROSS_CHECK_EVERY after (a
    signature canonicalises its proof options and then its document)."""
    return ProcessSampler(lambda: CROSS_CHECK_EVERY, per_round=2)


_SAMPLER = _Sampler()


def _cross_check(document: Mapping[str, Any], fast: str, loader: ContextLoader | None) -> None:
    try:
        expected = reference(document, loader=loader)
    except (RdfCanonicalizationError, UnknownContext) as exc:
        raise RdfCanonicalizationError(
            "the fast canonicaliser answered for a document the reference refuses "
            f"({exc.detail}); refusing to sign or verify it (a credanchor bug: please report it)"
        ) from exc
    if expected != fast:
        raise RdfCanonicalizationError(
            "the fast canonicaliser disagrees with the reference; refusing to sign or verify "
            "the document (a credanchor bug: please report it)"
        )


def canonical_nquads(document: Mapping[str, Any], *, loader: ContextLoader | None = None) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document (UTF-8 text, one quad per line).

    credanchor's own document shapes go through credanchor.core.rdfc_fast (byte-identical to
    the reference, about a hundred times faster); everything else, and anything it does
    not recognise exactly, through :func:`reference`. Any loader serves the same bundled
    contexts (extra contexts cannot replace them), so the fast path holds whatever ``loader``
    is.

    The fast path is also checked in production, on a sample: the first two fast results of
    every process (a signature canonicalises its proof options and then its document) and two
    in every :data:`CROSS_CHECK_EVERY` after that are recomputed by the reference, and a
    difference raises RdfCanonicalizationError, so that a fast-path bug stops issuing instead
    of signing bytes other verifiers would not compute. The sample costs about
    2 × 5 ms / CROSS_CHECK_EVERY per canonicalisation (~1 µs; at 2,001 it was ~5 µs, about
    3 % of signing or verifying a badge).
    """
    from credanchor.core import rdfc_fast

    fast = rdfc_fast.canonical_nquads(document)
    if fast is None:
        return reference(document, loader=loader)
    if _SAMPLER.due():
        _cross_check(document, fast, loader)
    return fast
