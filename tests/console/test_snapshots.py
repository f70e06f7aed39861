"""Snapshots of the board and the riders screen at 80x24 and 160x48: a store filled by hand,
a frozen clock, no network.

Update after an intended change of looks with `pytest tests/console/test_snapshots.py
--snapshot-update`, and look at the new SVGs before committing them.
"""

from __future__ import annotations

import pytest

from tests.console.conftest import until
from tests.console.rider_samples import riders_app
from tests.console.sample_apps import board_app, queue_app


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_board(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(board_app(), terminal_size=size)


def test_board_late_only_at_160x48(snap_compare) -> None:
    assert snap_compare(board_app(), terminal_size=(160, 48), press=["l"])


def test_board_compact_on_the_delivering_lane_with_marks(snap_compare) -> None:
    keys = ["right", "right", "right", "space", "space"]
    assert snap_compare(board_app(), terminal_size=(80, 24), press=keys)


def test_keys_at_80x24(snap_compare) -> None:
    assert snap_compare(board_app(), terminal_size=(80, 24), press=["question_mark"])


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_exception_queue(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(queue_app(), terminal_size=size, press=["2"])


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_riders_screen(snap_compare, size: tuple[int, int]) -> None:
    """The demo city's zones and warehouses, 24 riders in every state, the first (late) one
    selected with the route to its two stops."""
    assert snap_compare(riders_app(client=False), terminal_size=size, press=["3"])


def test_riders_screen_filtered_on_the_third_rider(snap_compare) -> None:
    keys = ["3", "slash", *"gang", "enter", "down", "down"]
    assert snap_compare(riders_app(client=False), terminal_size=(160, 48), press=keys)


def test_track_replay_in_the_middle_of_a_stop(snap_compare) -> None:
    """Order 5000's ride, 11 minutes in: standing still half way, after its exception."""

    async def eleven_minutes_in(pilot) -> None:  # type: ignore[no-untyped-def]
        app = pilot.app
        await until(pilot, lambda: bool(app.screen_stack) and app.screen.is_mounted, "the board")
        app.open_track(5000)
        await until(pilot, lambda: getattr(app.screen, "track", None) is not None, "the track")
        await pilot.press(*["right"] * 44)
        await until(pilot, lambda: getattr(app.screen, "index", 0) == 44, "44 fixes on")
        await pilot.pause()

    assert snap_compare(riders_app(), terminal_size=(120, 36), run_before=eleven_minutes_in)
