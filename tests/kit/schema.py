"""Cross-checking the two JSON Schema validators of credanchor.core.credentials.

validate_credential lets jsonschema-rs decide that a credential is valid and jsonschema decide
everything else; these helpers compare the two verdicts on one document, so that every corpus
of the suite (builders, tamper, bad input, Hypothesis) can say they agree.
"""

from __future__ import annotations

import json
from typing import Any

from credanchor.core import credentials
from credanchor.core.hashing import loads_strict
from credanchor.errors import InvalidInput, SchemaInvalid


def reference_errors(doc: Any) -> list[Any]:
    """jsonschema's errors for ``doc`` (the reference verdict: valid when empty)."""
    return list(credentials._validator().iter_errors(doc))


def same_verdict(doc: Any, what: object = "") -> bool:
    """Assert that jsonschema-rs, where it decides, agrees with jsonschema, and that
    validate_credential gives jsonschema's verdict; return that verdict (True: valid)."""
    valid = not reference_errors(doc)
    fast = credentials._fast_verdict(doc)
    assert fast is None or fast is valid, (what, "jsonschema-rs", fast, "jsonschema", valid)
    _assert_verdict(doc, valid, what)
    parsed = _as_parsed(doc)
    if parsed is not None:  # as a verifier gets it: the strict parser's value of the file
        fast = credentials._fast_verdict(parsed, from_json=True)
        assert fast is None or fast is valid, (what, "parsed", fast, "jsonschema", valid)
        _assert_verdict(parsed, valid, what, from_json=True)
    return valid


def _assert_verdict(doc: Any, valid: bool, what: object, **kwargs: Any) -> None:
    try:
        credentials.validate_credential(doc, **kwargs)
    except SchemaInvalid:
        assert not valid, what
    else:
        assert valid, what


def _as_parsed(doc: Any) -> Any:
    """``doc`` written as JSON and read back by the strict parser, when that is ``doc`` again
    (None for what JSON cannot hold as it is: a tuple, a set, a Decimal, a cycle…)."""
    try:
        parsed = loads_strict(json.dumps(doc))
    except (TypeError, ValueError, RecursionError, InvalidInput):
        return None
    return parsed if parsed == doc and _same_types(parsed, doc) else None


def _same_types(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return list(a) == list(b) and all(_same_types(a[k], b[k]) for k in a)
    if type(a) is list:
        return all(_same_types(x, y) for x, y in zip(a, b, strict=True))
    return True
