"""UTC timestamps as text: the one ``YYYY-MM-DDTHH:MM:SSZ`` formatter of the package.

Credentials, the HTTP API, audit reports and ledger exports all write times through it, so
they agree to the second (fractions are dropped, never rounded: a time is never written
later than it happened).
"""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime

from credanchor.errors import InvalidInput

#: The format: RFC 3339 in UTC, whole seconds, ``Z``.
UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_datetime(dt: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC; naive datetimes are refused (their zone is a guess)."""
    if not isinstance(dt, datetime) or dt.tzinfo is None or dt.utcoffset() is None:
        raise InvalidInput("datetimes must be timezone-aware (e.g. datetime.now(UTC))")
    return _format_utc(dt)


# A run writes the same few times over and over (a cohort's validFrom, the check time of a
# bulk verification). Equal aware datetimes are the same instant, hence the same UTC text, so
# remembering them by value is exact (~2 µs a call saved).
@functools.lru_cache(maxsize=1024)
def _format_utc(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime(UTC_FORMAT)


def utc_text(ts: float | None = None) -> str:
    """Seconds since the epoch (now when None) as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return time.strftime(UTC_FORMAT, time.gmtime(time.time() if ts is None else ts))


def utc_text_or_none(ts: float | None) -> str | None:
    """:func:`utc_text` of a timestamp that may be missing (None stays None)."""
    return None if ts is None else utc_text(ts)
