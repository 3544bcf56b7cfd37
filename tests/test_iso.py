"""`report.iso`: Wireshark's absolute UTC time with microseconds, cached by second."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from capfcap import report
from capfcap.report import _MAX_NS, _MIN_NS, iso

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _reference(ns: int) -> str:
    """datetime's own ISO text of the clamped time, truncated to microseconds."""
    ns = min(max(ns, _MIN_NS), _MAX_NS)
    dt = _EPOCH + timedelta(microseconds=ns // 1000)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f").rjust(26, "0") + "Z"


@settings(max_examples=500)
@given(st.one_of(st.integers(_MIN_NS - 10**12, _MAX_NS + 10**12),
                 st.integers(-10**19, 10**19)))
def test_iso_is_the_utc_time_to_the_microsecond(ns: int) -> None:
    assert iso(ns) == _reference(ns)
    assert iso(ns) == _reference(ns)  # the second time from the per-second cache


def test_the_per_second_cache_is_bounded_and_stays_right() -> None:
    start = 1_700_000_000 * 10**9 + 123_456_789
    for k in range(report._SECONDS_KEPT + 10):
        assert iso(start + k * 10**9) is not None
    assert len(report._SECONDS) <= report._SECONDS_KEPT
    assert iso(start) == _reference(start)
    assert iso(None) is None
