"""The top line shows every screen's tab whole at any size; where there is room, the name, the
account and the badge's long words too."""

from __future__ import annotations

import time

import pytest

from tests.console.sample_apps import board_app
from tests.console.test_console_live import text_of
from widgets.connection_badge import ConnectionBadge
from widgets.top_bar import TopBar

TABS = ["1 ", "Board", "2 ", "Exc", "3 Riders", "4 KPIs"]


@pytest.mark.parametrize(
    ("size", "long"), [((80, 24), False), ((120, 40), False), ((200, 50), True)], ids=str
)
async def test_every_tab_fits_whole(size: tuple[int, int], long: bool) -> None:
    app = board_app()
    app.store.last_event_at = time.monotonic()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        bar = app.screen.query_one(TopBar)
        title_widget = bar.query_one("#title")
        title = text_of(title_widget).rstrip()
        for words in TABS:
            assert words in title
        # Nothing cut: the title fits the room the clock and the badge leave it.
        assert len(title) + 2 <= title_widget.size.width
        badge = text_of(bar.query_one(ConnectionBadge)).strip()
        assert badge.startswith("● LIVE")
        assert ("Freshline" in title, "dispatcher" in title, "event" in badge) == (long,) * 3
        assert ("2 Exceptions" in title) == long
