"""Since I looked, with Pilot: what changed is marked on the board and in the queue and
counted, `n`/`N` go to it in a burst of keys, `c` catches up, and a restart shows what changed
while the console was closed (the desk's book in a file)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from backend_client.models import Alert, AlertState, Event, OrderState
from console.app import FreshlineApp
from console.looked import Kind
from console.store import Lane, Store
from screens.board import BoardScreen
from screens.exceptions import ExceptionsScreen
from tests.console.conftest import drawn, redrawn, until
from tests.console.samples import NOW, moved
from tests.console.test_snapshots import queue_app
from widgets.cursor_list import CursorList


def desk(tmp_path: Path, store: Store | None = None) -> FreshlineApp:
    """The sample desk (orders 1000-1015, alerts 1-6) keeping its book under `tmp_path`."""
    sample = queue_app()
    return FreshlineApp(
        store=store or sample.store,
        zone=sample.zone,
        live=False,
        me=sample.me,
        looked_dir=tmp_path,
    )


def row(view: CursorList, item_id: int) -> str:
    """The row of `item_id` as drawn (it must be on screen)."""
    y = view.ids.index(item_id) - view.scroll_offset.y
    return "".join(segment.text for segment in view.render_line(y))


def alert_event(seq: int, alert: Alert) -> Event:
    return Event(
        seq=seq,
        kind="alert.opened" if alert.version == 1 else "alert.acknowledged",
        order_id=alert.order_id,
        rider_id=alert.rider_id,
        warehouse_id=alert.warehouse_id,
        from_state=None,
        to_state=None,
        actor="system",
        role="system",
        client_addr=None,
        at=NOW + timedelta(seconds=seq),
        reason=None,
        payload=alert.model_dump(mode="json"),
    )


async def test_changed_orders_are_marked_counted_stepped_through_and_kept_across_a_restart(
    tmp_path: Path,
) -> None:
    app = desk(tmp_path)
    async with app.run_test(size=(200, 50)) as pilot:
        await drawn(pilot)
        await redrawn(pilot)  # the desk's first look: everything on the board is looked at
        board = app.screen
        assert isinstance(board, BoardScreen)
        store = app.store
        news, delivering = board.lane_view(Lane.NEW), board.lane_view(Lane.DELIVERING)
        assert "new" not in news.header[0] and "•" not in row(news, 1000)
        # A rider leaves with 1004; order 1000 is paid. Neither is under the cursor.
        assert store.apply(moved(store, 501, 1004, OrderState.DELIVERING))
        assert store.apply(moved(store, 502, 1000, OrderState.PAID))
        await redrawn(pilot)
        assert news.header[0] == "New  4 · 1 new" and "1 new" in delivering.header[0]
        assert row(news, 1000)[3] == "•" and row(news, 1003)[3] == " "
        assert row(delivering, 1004)[3] == "•"
        assert "•1" in str(board.query_one("#strip").render())
        # A fast typist: both changes in one burst; the cursor lands on each in turn.
        await pilot.press("n", "n")
        await until(pilot, lambda: board.current == Lane.DELIVERING, "the delivering lane")
        assert delivering.current == 1004 and app.focused is delivering
        await redrawn(pilot)
        assert "new" not in news.header[0] and "new" not in delivering.header[0]
        assert row(delivering, 1004)[3] == " "
        await pilot.press("n")  # nothing left
        assert delivering.current == 1004
    # While the console is closed, 1008 is signed: the next start shows it as new.
    closed = queue_app().store
    assert closed.apply(moved(closed, 501, 1008, OrderState.SIGNED))
    again = desk(tmp_path, closed)
    async with again.run_test(size=(200, 50)) as pilot:
        await drawn(pilot)
        await redrawn(pilot)
        board = again.screen
        assert isinstance(board, BoardScreen)
        signed = board.lane_view(Lane.SIGNED)
        assert "1 new" in signed.header[0] and row(signed, 1008)[3] == "•"
        assert "new" not in board.lane_view(Lane.DELIVERING).header[0]
        # N goes back round to it; c would have done as well.
        await pilot.press("N")
        await until(pilot, lambda: board.current == Lane.SIGNED, "the signed lane")
        assert signed.current == 1008
        assert again.looked.seen[Kind.ORDER][1008] == 4


async def test_the_queue_marks_and_counts_changed_alerts_n_goes_to_them_and_c_catches_up(
    tmp_path: Path,
) -> None:
    app = desk(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await drawn(pilot)
        await redrawn(pilot)
        store = app.store
        held = store.alerts.alerts
        opened = held[3].model_copy(update={"id": 7, "order_id": 1012, "title": "Order 1012"})
        acknowledged = held[4].model_copy(update={"version": 2, "state": AlertState.ACKNOWLEDGED})
        assert store.apply(alert_event(501, opened))
        assert store.apply(alert_event(502, acknowledged))
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, ExceptionsScreen), "the queue")
        await drawn(pilot)
        screen = app.screen
        assert isinstance(screen, ExceptionsScreen)
        queue = screen.queue
        assert "2 new" in queue.header[0]
        assert row(queue, 7)[3] == "•" and row(queue, 4)[3] == "•" and row(queue, 1)[3] == " "
        await pilot.press("n")
        await until(pilot, lambda: queue.current == 7, "the new alert")
        await redrawn(pilot)
        assert "1 new" in queue.header[0] and row(queue, 7)[3] == " "
        await pilot.press("c")
        await redrawn(pilot)
        assert "new" not in queue.header[0] and row(queue, 4)[3] == " "
        assert queue.current == 7  # catching up moves nothing
        # Nothing new: n goes on to the next open alert, as it always did.
        await pilot.press("n")
        await until(pilot, lambda: queue.current != 7, "the next open alert")
        assert queue.current is not None and held[queue.current].state == AlertState.OPEN
