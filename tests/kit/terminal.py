"""What a terminal would show: enough of one to tell whether printed text can rewrite a line.

Used by the hardening tests (issue 12): a file's text printed raw could carry a carriage return
and an erase-line sequence that turn an INVALID line into a VALID one on screen.
"""

from __future__ import annotations

import re

_CSI = re.compile(r"\x1b\[([0-9;?]*)([@-~])")


def screen(output: str) -> list[str]:
    """The rows a terminal shows for ``output``: carriage return, backspace and the CSI
    erase-in-line sequences are obeyed (other escape sequences are swallowed)."""
    rows = []
    for raw in output.split("\n"):
        row: list[str] = []
        col = 0
        i = 0
        while i < len(raw):
            m = _CSI.match(raw, i)
            if m:
                if m.group(2) == "K":
                    arg = m.group(1) or "0"
                    if arg == "2":
                        row = [" "] * len(row)
                    elif arg == "0":
                        del row[col:]
                    else:
                        row[:col] = [" "] * min(col, len(row))
                i = m.end()
                continue
            ch = raw[i]
            if ch == "\r":
                col = 0
            elif ch == "\b":
                col = max(0, col - 1)
            elif ch != "\x1b":
                row.extend(" " * (col - len(row)))
                if col < len(row):
                    row[col] = ch
                else:
                    row.append(ch)
                col += 1
            i += 1
        rows.append("".join(row).rstrip())
    return rows


def raw_controls(output: str) -> list[str]:
    """Every character of ``output`` a terminal would act on or that could disguise text
    (anything ``str.isprintable`` refuses), except the newlines between lines."""
    return [ch for ch in output if ch != "\n" and not ch.isprintable()]


def assert_terminal_safe(output: str) -> None:
    found = raw_controls(output)
    assert found == [], f"raw control characters reach the terminal: {found!r}"
