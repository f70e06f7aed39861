"""The edges mypy pointed at, held to what they do there: an event not numbered yet, a run of
events with a gap, a time read back as text, a rider with no standing-still anchor, an alert
whose condition cleared. (The code was right at each; these keep it so as it is retyped.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from backend.alerts.findings import Finding
from backend.alerts.reconcile import Standing, Step, reconcile
from backend.alerts.rules import Rules
from backend.realtime.feed import EventFeed
from backend.realtime.outbox import LoggedEvent
from backend.riders.models import RiderRow
from backend.riders.progress import _track_stillness
from backend_client.models import AlertRule, AlertSeverity, AlertState, PositionPoint

T0 = datetime(2026, 12, 4, 3, 30, tzinfo=UTC)


def logged(seq: int | None) -> LoggedEvent:
    return LoggedEvent(
        seq, "order.transition", 7, None, "wh-1", "created", "paid", "meituan-gateway",
        "channel", None, T0, None, {},
    )  # fmt: skip


def test_the_feed_takes_a_run_that_follows_on_and_leaves_gaps_to_the_log() -> None:
    feed = EventFeed(cast(Any, None), ring_size=10, poll_seconds=1)
    # Not numbered yet (PostgreSQL before its round), or already had: nothing happens.
    feed.offer([logged(None), logged(0)])
    assert feed.last_seq == 0 and not feed._wake.is_set()

    feed.offer([logged(1), logged(2)])
    assert feed.last_seq == 2 and [item.seq for item in feed.ring] == [1, 2]
    assert not feed._wake.is_set()

    # 3 is missing, or a number comes twice: the reader fetches what lies between from the log.
    feed.offer([logged(4)])
    feed.offer([logged(3), logged(3)])
    assert feed.last_seq == 2 and len(feed.ring) == 2
    assert feed._wake.is_set()


def test_an_event_read_back_from_sqlite_keeps_its_time_in_utc() -> None:
    row = (
        "order.transition", 7, None, "wh-1", "created", "paid", "meituan-gateway", "channel",
        None, "2026-12-04 03:30:00.000000", None, "{}",
    )  # fmt: skip
    event = LoggedEvent.of_row((5, *row))
    assert event.seq == 5 and event.at == T0 and event.at.tzinfo is not None


def fix(lat: float, lng: float, minutes: int) -> PositionPoint:
    return PositionPoint(lat=lat, lng=lng, at=T0 + timedelta(minutes=minutes))


def test_a_rider_without_an_anchor_is_anchored_at_the_first_fix_and_moves_it_when_far() -> None:
    rider = RiderRow(still_lat=None, still_lng=None, still_since=None)
    _track_stillness(rider, [fix(39.9, 116.4, 0)], radius_m=50)
    assert (rider.still_lat, rider.still_lng, rider.still_since) == (39.9, 116.4, T0)

    # A few metres away: still standing there, since the first fix.
    _track_stillness(rider, [fix(39.9001, 116.4, 5)], radius_m=50)
    assert (rider.still_lat, rider.still_since) == (39.9, T0)

    # A kilometre on: the anchor moves with the rider.
    _track_stillness(rider, [fix(39.91, 116.4, 9)], radius_m=50)
    assert (rider.still_lat, rider.still_since) == (39.91, T0 + timedelta(minutes=9))


def standing(subject: str) -> Standing:
    return Standing(
        id=1, rule=str(AlertRule.RIDER_STATIONARY), subject=subject,
        severity=str(AlertSeverity.WARNING), state=str(AlertState.OPEN), title="standing still",
        rider_id=3, version=4, attention_since=T0, snoozed_until=None, escalated_at=None,
        parent_id=None,
    )  # fmt: skip


def test_an_alert_whose_condition_cleared_resolves_and_a_new_finding_opens() -> None:
    found = Finding(
        AlertRule.GPS_SILENT, "rider:5", AlertSeverity.WARNING, "no fix for 3 min", rider_id=5
    )
    changes = reconcile([standing("rider:3")], {found.key: found}, Rules(), T0)
    assert [(c.step, c.finding, c.alert_id, c.version) for c in changes] == [
        (Step.OPEN, found, None, None),
        (Step.RESOLVE, None, 1, 4),
    ]
