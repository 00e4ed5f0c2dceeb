"""core.timefmt: the one UTC formatter that credentials, the API, audit reports and exports share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from credanchor.core.timefmt import format_datetime, utc_text, utc_text_or_none
from credanchor.errors import InvalidInput


def test_one_format_everywhere_fractions_dropped_not_rounded():
    ts = 1_767_225_599.999  # 2025-12-31T23:59:59.999Z
    assert utc_text(ts) == "2025-12-31T23:59:59Z"
    assert utc_text_or_none(ts) == "2025-12-31T23:59:59Z"
    assert utc_text_or_none(None) is None
    dt = datetime.fromtimestamp(ts, UTC)
    assert format_datetime(dt) == utc_text(ts)
    plus2 = dt.astimezone(timezone(timedelta(hours=2)))
    assert format_datetime(plus2) == "2025-12-31T23:59:59Z"


def test_now_and_naive_datetimes():
    assert len(utc_text()) == 20 and utc_text().endswith("Z")
    with pytest.raises(InvalidInput, match="timezone-aware"):
        format_datetime(datetime(2026, 1, 1))  # naive on purpose
