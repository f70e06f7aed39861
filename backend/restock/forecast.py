"""The forecast behind a restock suggestion: pure arithmetic over hourly demand, no database.

The model is the Poisson log-linear model with main effects for weekday and hour of day (the
independence model of a weekday x hour table), fitted to the warehouse's demand over whole
weeks, and split between SKUs by each SKU's share of the units ("top-down" proportions):

    expected units of SKU s in hour t = share[s] * level * weekday[t] * hour[t]

Its maximum-likelihood fit has a closed form (the table's margins), so it needs no solver and
no library; fitted to the warehouse's total it rests on every unit sold, where a profile per
SKU and cell (168 cells, a handful of sales each over a fortnight) would mostly fit noise.
With less than a week of history the weekday effect is left out (hour of day over whole days);
with less than a day, a flat rate over the hours seen.

The error's spread is each SKU's Pearson dispersion (squared residuals over the fitted values,
at least 1: never tighter than Poisson), so a SKU bought three at a time gets the wider band
it needs; over the lead time + review period the variance is the dispersion times the
forecast (hours taken as independent). The safety stock is `z * sigma` with `z` the standard
normal quantile of the service level (`statistics.NormalDist`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from statistics import NormalDist

HOURS_PER_WEEK = 7 * 24
HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Window:
    """Hours of history (local hour slots, oldest first), and how the profile may use them."""

    start: datetime
    """The first hour's start (UTC)."""
    hours: int
    weeks: int
    """Whole weeks among them (the weekday effect needs at least one)."""


def history_window(first: datetime | None, now: datetime, weeks: int) -> Window:
    """The whole hours before `now` the forecast reads: at most `weeks` weeks, and none before
    the first demand seen (`first`), as hours before anything was sold would read as zeros."""
    end = now.replace(minute=0, second=0, microsecond=0)
    longest = weeks * HOURS_PER_WEEK
    if first is None or first >= end:
        return Window(end, 0, 0)
    seen = math.ceil((end - first) / HOUR)
    hours = min(longest, seen)
    if hours >= HOURS_PER_WEEK:
        hours -= hours % HOURS_PER_WEEK  # whole weeks: each weekday x hour cell equally often
    elif hours >= 24:
        hours -= hours % 24  # whole days: each hour of day equally often
    return Window(end - hours * HOUR, hours, hours // HOURS_PER_WEEK)


@dataclass(frozen=True, slots=True)
class Profile:
    """The warehouse's expected units per hour, by (weekday, hour of day)."""

    rate: Mapping[tuple[int, int], float]
    by_weekday: bool

    def at(self, local: datetime) -> float:
        key = (local.weekday() if self.by_weekday else 0, local.hour)
        return self.rate.get(key, 0.0)


def fit_profile(totals: Sequence[float], window: Window, zone: tzinfo) -> Profile:
    """Fit the main-effects profile to the warehouse's units per history hour (`totals[i]` for
    the hour starting `window.start + i hours`)."""
    if window.hours == 0:
        return Profile({}, by_weekday=False)
    cells = [_cell(window.start + i * HOUR, zone) for i in range(window.hours)]
    grand = sum(totals)
    if window.hours < 24:
        flat = grand / window.hours
        return Profile({(0, h): flat for h in range(24)}, by_weekday=False)
    by_weekday = window.weeks >= 1
    day_sum: dict[int, float] = {}
    hour_sum: dict[int, float] = {}
    day_n: dict[int, int] = {}
    hour_n: dict[int, int] = {}
    for (weekday, hour), units in zip(cells, totals, strict=True):
        day = weekday if by_weekday else 0
        day_sum[day] = day_sum.get(day, 0.0) + units
        day_n[day] = day_n.get(day, 0) + 1
        hour_sum[hour] = hour_sum.get(hour, 0.0) + units
        hour_n[hour] = hour_n.get(hour, 0) + 1
    mean = grand / window.hours
    rate: dict[tuple[int, int], float] = {}
    if mean > 0:
        for day in day_sum:
            day_factor = (day_sum[day] / day_n[day]) / mean
            for hour in hour_sum:
                hour_factor = (hour_sum[hour] / hour_n[hour]) / mean
                rate[day, hour] = mean * day_factor * hour_factor
    return Profile(rate, by_weekday=by_weekday)


def window_demand(profile: Profile, now: datetime, hours: float, zone: tzinfo) -> float:
    """The warehouse's expected units from `now` over the next `hours`, hour slot by hour slot
    (the slots cut by either end counted by the part inside)."""
    end = now + timedelta(hours=hours)
    slot = now.replace(minute=0, second=0, microsecond=0)
    total = 0.0
    while slot < end:
        inside = (min(slot + HOUR, end) - max(slot, now)) / HOUR
        total += profile.at(slot.astimezone(zone)) * inside
        slot += HOUR
    return total


@dataclass(frozen=True, slots=True)
class SkuForecast:
    """One SKU's forecast over the lead time + review period, and its spread."""

    forecast: float
    sigma: float
    dispersion: float


def sku_forecasts(
    by_sku: Mapping[str, Sequence[float]],
    totals: Sequence[float],
    window: Window,
    profile: Profile,
    ahead: float,
    zone: tzinfo,
) -> dict[str, SkuForecast]:
    """Each SKU's share of `ahead` (the warehouse's expected units over the coming window), and
    its error's spread from its Pearson dispersion over the history's fitted values."""
    grand = sum(totals)
    if grand <= 0 or window.hours == 0:
        return {sku: SkuForecast(0.0, 0.0, 1.0) for sku in by_sku}
    fitted_total = [profile.at(_local(window.start + i * HOUR, zone)) for i in range(window.hours)]
    result: dict[str, SkuForecast] = {}
    for sku, series in by_sku.items():
        share = sum(series) / grand
        forecast = share * ahead
        expected = sum(share * f for f in fitted_total)
        if expected > 0:
            pearson = sum(
                (y - share * f) ** 2 / (share * f)
                for y, f in zip(series, fitted_total, strict=True)
                if f > 0
            )
            dispersion = max(1.0, pearson / window.hours)
        else:
            dispersion = 1.0
        result[sku] = SkuForecast(forecast, math.sqrt(dispersion * forecast), dispersion)
    return result


def z_of(service_level: float) -> float:
    """The standard normal quantile of the service level (the cycle service level)."""
    return NormalDist().inv_cdf(service_level)


def suggested_quantity(target: float, position: int) -> int:
    """Units to order to bring the position up to the target (none when it is there already)."""
    return max(0, math.ceil(target - position - 1e-9))


def _local(at: datetime, zone: tzinfo) -> datetime:
    return at.astimezone(zone)


def _cell(at: datetime, zone: tzinfo) -> tuple[int, int]:
    local = at.astimezone(zone)
    return local.weekday(), local.hour
