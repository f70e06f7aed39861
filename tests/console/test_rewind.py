"""The rewound board (Pilot, a real backend): a console rewound to a moment shows the board a
live console showed at that moment, read-only, and esc is the live board again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from backend_client.models import Topic
from console.app import FreshlineApp
from console.rewind_log import read_log
from console.store import Lane, Store
from console.store.rewind import Tape
from screens.board import BoardScreen
from screens.order_detail import OrderDetailScreen
from screens.rewind import READ_ONLY, RewindScreen, TimeDialog, moment_of
from tests.console.conftest import until
from tests.console.test_console_live import console, live, notes_of
from tests.stream_support import Actors, LiveServer, live_server

pytestmark = pytest.mark.slow  # consoles against a real backend

SIZE = (160, 48)


def picture(store: Store, moment: datetime) -> dict[str, Any]:
    """What a board shows at `moment`: each lane's orders in order, each with its state,
    version, rider and urgency, and the riders' states and the queue."""
    return {
        "lanes": {
            lane.value: [
                (i, c.status, c.version, c.rider_id, store.urgency(c, moment))
                for i in store.lane_ids(lane)
                for c in [store.orders[i]]
            ]
            for lane in Lane
        },
        "riders": {r.id: r.status for r in store.riders.values()},
        "alerts": store.alerts.queue(),
    }


async def caught_up(pilot: Any, app: FreshlineApp, backend: LiveServer) -> None:
    head = backend.last_seq()
    await until(
        pilot,
        lambda: live(app) and (app.store.last_seq or 0) >= head,
        f"the console at seq {head}",
    )


async def test_the_board_rewound_to_a_moment_is_the_board_a_live_console_showed_then(
    backend: LiveServer, actors: Actors
) -> None:
    await actors.online(1, 2)
    await actors.paid()
    cancelled = await actors.create()
    carried = await actors.assign(await actors.picking(), 1)
    token = await actors.token("dispatcher")
    dispatcher = await actors("dispatcher")

    # A live console, and what it showed at a moment: the `at` of the last event it applied.
    first = console(backend, token)
    async with first.run_test(size=SIZE) as pilot:
        await caught_up(pilot, first, backend)
        last = first.store.last_seq
        assert last is not None
        batch = await dispatcher.events(last - 1, [Topic.ORDERS, Topic.RIDERS])
        moment = batch.events[-1].at
        then = picture(first.store, moment)
        # The city moves on: the board after it is another.
        await dispatcher.orders.transition(carried.id, "dispatch", carried.version)
        channel = await actors("channel-app")
        await channel.orders.transition(cancelled.id, "cancel", cancelled.version, reason="left")
        await actors.paid()
        await actors.online(3)
        await caught_up(pilot, first, backend)
        now = picture(first.store, first.store.clock.now())
    assert now != then
    assert then["lanes"]["picking"][0][3] == 1  # the carried order, with its rider then

    # Another console, started later, rewound to that moment by typing it.
    second = console(backend, token)
    notes = notes_of(second)
    async with second.run_test(size=SIZE) as pilot:
        await caught_up(pilot, second, backend)
        await pilot.press("R")
        await until(pilot, lambda: isinstance(second.screen, RewindScreen), "the rewind")
        rewind = second.screen
        assert isinstance(rewind, RewindScreen)
        await until(pilot, lambda: rewind.loaded, "the log read")
        # Typed in one burst, as a fast typist does: the text lands in the dialog's box.
        typed = moment.astimezone(None).strftime("%Y-%m-%d %H:%M:%S.%f")
        await pilot.press("g", *typed)
        await until(
            pilot,
            lambda: (
                isinstance(second.screen, TimeDialog)
                and second.screen.query_one(Input).value == typed
            ),
            "the time typed",
        )
        await pilot.press("enter")
        await until(
            pilot,
            lambda: rewind.moment == moment and rewind.store.clock.now() == moment,
            "the board at the moment",
        )
        assert picture(rewind.store, moment) == then
        shown = {lane.value: rewind.lane_view(lane).ids for lane in Lane}
        assert shown == {lane: [row[0] for row in rows] for lane, rows in then["lanes"].items()}
        assert "REWOUND" in rewind.banner and f"seq {last}" in rewind.banner
        # The queue as it stood, and the KPI tiles' hour up to the moment (from the backend).
        await until(pilot, lambda: "the hour before" in rewind.figures, "the KPIs of the hour")
        assert rewind.figures.startswith("queue: 0 standing")
        assert "the hour before: 3 orders" in rewind.figures

        # Read-only: acting and opening are refused with the reason.
        await pilot.press("right")  # new -> picking, with the carried order
        assert rewind.current == Lane.PICKING
        await pilot.press("t", "enter", "space", "c")
        await until(pilot, lambda: sum(READ_ONLY in n for n in notes) == 4, "four refusals")
        assert not any(isinstance(s, OrderDetailScreen) for s in second.screen_stack)
        assert not rewind.marks
        # Saved views and what the desk has looked at stay the live board's.
        assert second.views.board is not rewind
        assert all(rewind.lane_view(lane).looked is None for lane in Lane)

        # A minute back and forward; forward past now stops at now.
        await pilot.press("left_square_bracket", "right_square_bracket", "right_curly_bracket")
        await until(pilot, lambda: rewind.moment > moment, "forward to now")
        assert any("That is now" in n for n in notes)

        # esc: the live board, as it is now.
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(second.screen, BoardScreen), "the live board")
        assert not isinstance(second.screen, RewindScreen)
        assert second.views.board is second.screen
        assert picture(second.store, second.store.clock.now())["lanes"] == now["lanes"]


def test_a_typed_time_is_read_on_the_day_shown_or_refused_with_the_reason() -> None:
    from datetime import UTC, timedelta, timezone

    beijing = timezone(timedelta(hours=8))
    shown = datetime(2026, 12, 5, 4, 30, tzinfo=UTC)  # 12:30 in Beijing
    assert moment_of("12:14", shown, beijing) == datetime(2026, 12, 5, 4, 14, tzinfo=UTC)
    assert moment_of(" 12:14:30 ", shown, beijing).second == 30
    assert moment_of("2026-12-04 23:59", shown, beijing) == datetime(
        2026, 12, 4, 15, 59, tzinfo=UTC
    )
    for wrong in ("", "25:00", "noon", "12-14", "2026-13-01 10:00"):
        with pytest.raises(ValueError, match="not a time"):
            moment_of(wrong, shown, beijing)


async def test_the_log_is_read_from_the_oldest_point_the_server_still_replays(
    tmp_path: Path, demo_template: Path
) -> None:
    async with (
        live_server(tmp_path, demo_template, stream_replay_limit=5) as server,
        Actors(server.base_url) as actors,
    ):
        for _ in range(4):
            await actors.paid()  # eight events: the first three are beyond the replay window
        dispatcher = await actors("dispatcher")
        head = server.last_seq()
        tape = Tape(Store())
        assert await read_log(dispatcher, tape, [Topic.ORDERS]) == 5
        assert tape.first_seq == head - 5
        assert list(tape.seqs) == list(range(head - 4, head + 1))
        # The next read takes only what came since.
        for _ in range(2):
            await actors.paid()
        assert await read_log(dispatcher, tape, [Topic.ORDERS]) == 4
        assert list(tape.seqs) == list(range(head - 4, server.last_seq() + 1))
        # Left further behind than the server replays: read again from what it still has,
        # never with a hole in the middle.
        for _ in range(3):
            await actors.paid()
        head = server.last_seq()
        assert await read_log(dispatcher, tape, [Topic.ORDERS]) == 5
        assert tape.first_seq == head - 5
        assert list(tape.seqs) == list(range(head - 4, head + 1))
        # Of the three orders, the first was created beyond the window: not known (docs say so).
        assert len(tape.at(datetime.now(UTC)).orders) == 2
