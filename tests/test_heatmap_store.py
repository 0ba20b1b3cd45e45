"""Heat-map store (issue 11): range queries from the fewest aggregates equal brute force over
the raw seconds, across sessions, hours and days; refusals."""
from __future__ import annotations

import numpy as np
import pytest

from tinyheat.occupancy.activation import Activation
from tinyheat.occupancy.rollup import DAY, HOUR, plan, plan_size
from tinyheat.occupancy.store import HeatStore, StoreError

T0 = 1767571200  # 2026-01-05T00:00:00Z
H, W = 3, 4


def _activation(sec: np.ndarray, rng) -> Activation:
    """Sparse random activation of the given seconds (the store does not care how it was made)."""
    n = len(sec)
    act = np.where(rng.random((n, H, W)) < 0.3, rng.integers(1, 9, (n, H, W)) / 8, 0).astype(np.float32)
    cov = rng.random((n, H, W)) > 0.05
    act[~cov] = 0
    ms = sec * 1000 + 500
    z = np.zeros(n, np.int64)
    return Activation(sec, act, cov, ms, z, z, z, np.zeros((H, W)), np.zeros((H, W), np.int64))


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """Three sessions over ~2.6 days with gaps: bursts of seconds at random times."""
    rng = np.random.default_rng(11)
    secs = []
    for start in rng.integers(T0, T0 + int(2.6 * DAY), 80):
        secs.append(np.arange(start, start + rng.integers(20, 600)))
    sec = np.unique(np.concatenate(secs))
    cuts = [T0 + DAY + 7 * HOUR + 1234, T0 + 2 * DAY + 5]  # session ends inside a minute and a day
    root = tmp_path_factory.mktemp("store") / "s"
    st = HeatStore(root, create=True)
    raw = []
    for part in np.split(sec, np.searchsorted(sec, cuts)):
        a = _activation(part, rng)
        st.add("cam", a, f"part{len(raw)}")
        raw.append(a)
    all_sec = np.concatenate([a.sec for a in raw])
    all_act = np.concatenate([a.act for a in raw]).astype(np.float64)
    all_cov = np.concatenate([a.cov for a in raw]).astype(np.int64)
    return st, all_sec, all_act, all_cov


def test_plan_is_days_then_hours_then_minutes_and_minimal():
    t0, t1 = T0 + 3 * HOUR + 7 * 60, T0 + 2 * DAY + 5 * HOUR + 2 * 60
    runs = plan(t0, t1)
    assert [r[0] for r in runs] == ["minute", "hour", "day", "hour", "minute"]
    assert plan_size(runs) == 53 + 20 + 1 + 5 + 2
    assert plan(T0, T0 + 2 * DAY) == [("day", T0, T0 + 2 * DAY)]
    with pytest.raises(ValueError):
        plan(T0 + 1, T0 + 60)


def test_random_range_queries_equal_brute_force_over_raw_seconds(stored):
    st, sec, act, cov = stored
    rng = np.random.default_rng(5)
    lo, hi = st.span("cam")
    for _ in range(25):
        a, b = np.sort(rng.integers(lo // 60, hi // 60 + 60, 2)) * 60
        if a == b:
            b += 60
        q = st.query("cam", int(a), int(b))
        m = (sec >= a) & (sec < b)
        np.testing.assert_allclose(q.act, act[m].sum(0), rtol=1e-12, atol=1e-9)
        np.testing.assert_array_equal(q.cov, cov[m].sum(0))
        assert q.aggregates == plan_size(plan(int(a), int(b)))
    whole = st.query("cam")
    np.testing.assert_allclose(whole.act, act.sum(0), rtol=1e-12)
    assert whole.aggregates < 200  # ~2.6 days answered from days + hours + edge minutes, not 3,700 minutes


def test_store_refuses_duplicates_overlaps_and_an_ambiguous_sensor(stored, tmp_path):
    st, *_ = stored
    rng = np.random.default_rng(1)
    again = _activation(np.arange(T0 + DAY + 7 * HOUR, T0 + DAY + 7 * HOUR + 30), rng)
    with pytest.raises(StoreError, match="overlaps"):
        st.add("cam", again)
    other = HeatStore(tmp_path / "o", create=True)
    a = _activation(np.arange(T0, T0 + 100), rng)
    other.add("x", a)
    with pytest.raises(StoreError, match="already in the store"):
        other.add("x", a)
    other.add("y", _activation(np.arange(T0, T0 + 10), rng))  # another sensor may overlap in time
    with pytest.raises(StoreError, match="choose one with --sensor"):
        other.query()
    with pytest.raises(StoreError, match="not a heat-map store"):
        HeatStore(tmp_path / "nothing")


def _utc(text: str) -> int:
    from datetime import datetime, timezone
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp())


def test_plan_uses_iso_weeks_and_calendar_months_when_they_fit_whole():
    # 2026-01-01 (Thu) .. 2026-03-09: January + February, Sunday 1 March, the ISO week Mon 2 .. Sun 8 March
    runs = plan(_utc("2026-01-01T00:00"), _utc("2026-03-09T00:00"))
    assert runs == [("month", _utc("2026-01-01T00:00"), _utc("2026-03-01T00:00")),
                    ("day", _utc("2026-03-01T00:00"), _utc("2026-03-02T00:00")),
                    ("week", _utc("2026-03-02T00:00"), _utc("2026-03-09T00:00"))]
    assert plan_size(runs) == 4
    # ISO week 2026-W01 is Mon 2025-12-29 .. Sun 2026-01-04 (it crosses the year and a month boundary)
    assert plan(_utc("2025-12-29T00:00"), _utc("2026-01-05T00:00")) == [
        ("week", _utc("2025-12-29T00:00"), _utc("2026-01-05T00:00"))]
    # weeks and months do not nest: 3 days + January + February beat a week across New Year + 8 weeks
    runs = plan(_utc("2025-12-29T00:00"), _utc("2026-03-01T00:00"))
    assert [r[0] for r in runs] == ["day", "month"] and plan_size(runs) == 5
    # a store without week/month rollups is planned from days
    legacy = plan(_utc("2026-01-01T00:00"), _utc("2026-03-09T00:00"), ("minute", "hour", "day"))
    assert legacy == [("day", _utc("2026-01-01T00:00"), _utc("2026-03-09T00:00"))] and plan_size(legacy) == 67


@pytest.fixture(scope="module")
def long_stored(tmp_path_factory):
    """Sparse bursts over ~11 weeks (2025-12-18 .. 2026-03-05: a year, ISO weeks and 3 month
    boundaries), in two sessions; coverage only where recorded."""
    rng = np.random.default_rng(21)
    lo = _utc("2025-12-18T00:00")
    starts = np.sort(rng.integers(lo, lo + 77 * DAY, 36))
    sec = np.unique(np.concatenate([np.arange(s, s + rng.integers(5, 200)) for s in starts]))
    st = HeatStore(tmp_path_factory.mktemp("long") / "s", create=True)
    raw = []
    for part in np.split(sec, [np.searchsorted(sec, _utc("2026-01-20T13:00"))]):
        a = _activation(part, rng)
        st.add("cam", a, f"part{len(raw)}")
        raw.append(a)
    return (st, np.concatenate([a.sec for a in raw]), np.concatenate([a.act for a in raw]).astype(np.float64),
            np.concatenate([a.cov for a in raw]).astype(np.int64))


def test_ranges_over_weeks_and_months_equal_brute_force(long_stored):
    st, sec, act, cov = long_stored
    rng = np.random.default_rng(8)
    lo, hi = st.span("cam")
    used = set()
    for i in range(20):
        a = int(rng.integers(lo // 60, hi // 60)) * 60
        b = min(a + int(rng.integers(8 * DAY // 60, 75 * DAY // 60)) * 60, hi + DAY) if i % 4 else hi + 3600
        q = st.query("cam", a, b)
        m = (sec >= a) & (sec < b)
        np.testing.assert_allclose(q.act, act[m].sum(0), rtol=1e-12, atol=1e-9)
        np.testing.assert_array_equal(q.cov, cov[m].sum(0))
        used |= {r[0] for r in q.runs}
    assert {"week", "month"} <= used
    whole = st.query("cam", _utc("2026-01-01T00:00"), _utc("2026-03-01T00:00"))
    assert whole.aggregates == 2 and whole.rows == 2  # two months, compacted: January's row sums both sessions
    m = (sec >= whole.t0) & (sec < whole.t1)
    np.testing.assert_allclose(whole.act, act[m].sum(0), rtol=1e-12)
    # the same store read as one written before week/month rollups: planned from days, same sums
    st.manifest.pop("levels")
    try:
        old = st.query("cam", _utc("2026-01-01T00:00"), _utc("2026-03-01T00:00"))
    finally:
        st.manifest["levels"] = ["minute", "hour", "day", "week", "month"]
    assert {r[0] for r in old.runs} == {"day"} and old.aggregates == 59
    np.testing.assert_allclose(old.act, whole.act, rtol=1e-12)
