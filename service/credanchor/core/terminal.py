"""Terminal-safe text: what a file says is shown, never obeyed by the terminal.

Every command prints text that came from a file someone else wrote: a credential's members, a
proof's member names (quoted in check messages), file names, a ledger export, a TOML value,
an error detail quoting a CSV header. A terminal *interprets* some characters: a carriage
return or an escape sequence can rewrite a line already printed (``"\\r\\x1b[2KVALID …"`` turned
an INVALID line into a VALID one), a newline can add a line, and bidi overrides (U+202E) or
zero-width characters can make text read differently from what it is. :func:`printable`
replaces each such character with a visible escape (``\\r``, ``\\x1b``, ``\\u202e``), so
the reader sees that something odd is there and nothing else.

Rule for print sites: a line that contains anything file-derived is printed as
``click.echo(printable(line))`` (our own text never contains such characters, so escaping
the whole line is the same as escaping its file-derived parts). JSON output is already safe
(``json.dumps`` escapes non-ASCII by default). File text is never handed to ``rich`` (which
would also read ``[bold red]…`` as markup): rich only draws progress bars with fixed labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["printable", "printable_data"]


_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(ch: str) -> str:
    if ch in _SHORT:
        return _SHORT[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(value: object) -> str:
    """``value`` as text with every character Python deems non-printable escaped.

    That is exactly what ``str.isprintable`` refuses: C0 and C1 controls and DEL (including
    tab, newline and carriage return), format characters (bidi embeddings, overrides and
    isolates, zero-width spaces and joiners, the BOM, the soft hyphen), line and paragraph
    separators, spaces other than U+0020, surrogates, private-use and unassigned code points.
    Backslashes are left alone, so escaping twice changes nothing.
    """
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():  # the common case: one C-level scan
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def printable_data(value: Any) -> Any:
    """A copy of JSON-like data with every string (keys too) passed through :func:`printable`:
    for renderers that lay file-derived values out over several lines (the audit summary)."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, Mapping):
        return {printable_data(k): printable_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable_data(v) for v in value]
    return value
