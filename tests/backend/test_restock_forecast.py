"""The restock forecast's arithmetic alone (no database): the history window, the weekday x
hour fit recovering a known profile, the shorter-history fallbacks, the quantile, the rounding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.restock.forecast import (
    HOUR,
    fit_profile,
    history_window,
    sku_forecasts,
    suggested_quantity,
    window_demand,
    z_of,
)

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)
WEEKDAY = (1.0, 0.9, 0.9, 1.0, 1.2, 1.5, 1.4)
HOURLY = tuple(0.2 if h < 7 else 1.0 + (h % 5) / 4 for h in range(24))


def known(at: datetime) -> float:
    local = at.astimezone(ZONE)
    return 10 * WEEKDAY[local.weekday()] * HOURLY[local.hour]


def test_the_window_is_whole_weeks_days_or_hours_and_never_before_the_first_sale() -> None:
    end = NOW.replace(minute=0)
    assert history_window(None, NOW, 4).hours == 0
    assert history_window(NOW + HOUR, NOW, 4).hours == 0
    short = history_window(NOW - timedelta(hours=5), NOW, 4)
    assert (short.hours, short.weeks) == (5, 0)
    days = history_window(NOW - timedelta(hours=50), NOW, 4)
    assert (days.hours, days.weeks, days.start) == (48, 0, end - timedelta(hours=48))
    weeks = history_window(NOW - timedelta(days=17), NOW, 4)
    assert (weeks.hours, weeks.weeks) == (336, 2)
    capped = history_window(NOW - timedelta(days=90), NOW, 4)
    assert (capped.hours, capped.weeks) == (672, 4)


def test_the_fit_recovers_a_weekday_by_hour_profile_and_its_window_sum() -> None:
    window = history_window(NOW - timedelta(days=14), NOW, 4)
    totals = [known(window.start + i * HOUR) for i in range(window.hours)]
    profile = fit_profile(totals, window, ZONE)
    assert profile.by_weekday
    for i in range(window.hours):
        at = window.start + i * HOUR
        assert profile.at(at.astimezone(ZONE)) == pytest.approx(known(at), rel=1e-9)
    ahead = window_demand(profile, NOW, 48, ZONE)
    # The two cut slots count by the half inside the window.
    slots = [NOW.replace(minute=0) + i * HOUR for i in range(49)]
    expected = sum(known(s) for s in slots[1:48]) + 0.5 * known(slots[0]) + 0.5 * known(slots[48])
    assert ahead == pytest.approx(expected, rel=1e-9)


def test_less_than_a_week_drops_the_weekday_and_less_than_a_day_is_flat() -> None:
    days = history_window(NOW - timedelta(days=3), NOW, 4)
    profile = fit_profile([known(days.start + i * HOUR) for i in range(days.hours)], days, ZONE)
    assert not profile.by_weekday
    assert window_demand(profile, NOW, 24, ZONE) > 0
    hours = history_window(NOW - timedelta(hours=6), NOW, 4)
    flat = fit_profile([3.0] * hours.hours, hours, ZONE)
    assert window_demand(flat, NOW, 10, ZONE) == pytest.approx(30.0)


def test_each_sku_gets_its_share_and_a_spread_never_tighter_than_poisson() -> None:
    window = history_window(NOW - timedelta(days=7), NOW, 4)
    steady = [1000.0] * window.hours  # about as fitted: little residual, Poisson's floor
    # Six at a time every seventh hour: not a weekday or hour-of-day effect the fit absorbs.
    lumpy = [6.0 if i % 7 == 0 else 0.0 for i in range(window.hours)]
    totals = [a + b for a, b in zip(steady, lumpy, strict=True)]
    profile = fit_profile(totals, window, ZONE)
    got = sku_forecasts({"A": steady, "B": lumpy}, totals, window, profile, 100.0, ZONE)
    share = sum(lumpy) / sum(totals)
    assert got["B"].forecast == pytest.approx(100 * share)
    assert got["A"].forecast == pytest.approx(100 * (1 - share))
    assert got["A"].dispersion == 1.0
    assert got["B"].dispersion == pytest.approx(6 - 6 / 7, rel=0.05)  # var / mean of the lumps
    assert got["B"].sigma == pytest.approx((got["B"].dispersion * got["B"].forecast) ** 0.5)


def test_the_quantile_and_the_rounding() -> None:
    assert z_of(0.95) == pytest.approx(1.6449, abs=1e-4)
    assert z_of(0.5) == pytest.approx(0.0, abs=1e-12)
    assert suggested_quantity(10.2, 3) == 8
    assert suggested_quantity(10.0, 3) == 7
    assert suggested_quantity(2.0, 5) == 0
