"""Shift boundaries: the local times shifts begin (setting `shift_starts`) in the business
time zone, turned into the instants the shift under way and the one before it began.

Pure: no database; the times are parsed where the setting is (`backend.settings`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from backend.settings import parse_shift_starts

__all__ = ["Shift", "parse_shift_starts", "shift_at", "shift_before"]


@dataclass(frozen=True, slots=True)
class Shift:
    """One shift: [start, end) in UTC; `end` is the next boundary (in the future while the
    shift is under way)."""

    start: datetime
    end: datetime


def _boundaries(around: datetime, starts: tuple[time, ...], zone: tzinfo) -> list[datetime]:
    """Every boundary from two local days before `around` to one after, in UTC, ordered.
    A local time a DST change skips or repeats counts once, at its first reading."""
    local_day = around.astimezone(zone).date()
    moments = {
        datetime.combine(local_day + timedelta(days=offset), start, zone).astimezone(UTC)
        for offset in (-2, -1, 0, 1)
        for start in starts
    }
    return sorted(moments)


def shift_at(moment: datetime, starts: tuple[time, ...], zone: tzinfo) -> Shift:
    """The shift under way at `moment`: it began at the last boundary at or before it."""
    boundaries = _boundaries(moment, starts, zone)
    index = max(i for i, b in enumerate(boundaries) if b <= moment)
    return Shift(start=boundaries[index], end=boundaries[index + 1])


def shift_before(shift: Shift, starts: tuple[time, ...], zone: tzinfo) -> Shift:
    """The shift that ended when `shift` began."""
    return shift_at(shift.start - timedelta(microseconds=1), starts, zone)
