"""Cross-checking the two JSON Schema validators of credanchor.core.credentials.

validate_credential lets jsonschema-rs decide that a credential is valid and jsonschema decide
everything else; these helpers compare the two verdicts on one document, so that every corpus
of the suite (builders, tamper, bad input, Hypothesis) can say they agree.
"""

from __future__ import annotations

from typing import Any

from credanchor.core import credentials
from credanchor.errors import SchemaInvalid


def reference_errors(doc: Any) -> list[Any]:
    """jsonschema's errors for ``doc`` (the reference verdict: valid when empty)."""
    return list(credentials._validator().iter_errors(doc))


def same_verdict(doc: Any, what: object = "") -> bool:
    """Assert that jsonschema-rs, where it decides, agrees with jsonschema, and that
    validate_credential gives jsonschema's verdict; return that verdict (True: valid)."""
    valid = not reference_errors(doc)
    fast = credentials._fast_verdict(doc)
    assert fast is None or fast is valid, (what, "jsonschema-rs", fast, "jsonschema", valid)
    try:
        credentials.validate_credential(doc)
    except SchemaInvalid:
        assert not valid, what
    else:
        assert valid, what
    return valid
