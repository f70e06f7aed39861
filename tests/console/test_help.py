"""`?` at 80x24: this screen's keys by task, read from its bindings, without Textual's own,
and the keys the footer had no room for."""

from __future__ import annotations

import io

from rich.console import Console

from console.app import FreshlineApp
from screens.board import BoardScreen
from screens.exceptions import ExceptionsScreen
from screens.help import HelpScreen, KeySheet
from tests.console.conftest import until
from tests.console.test_snapshots import queue_app


def text_of(sheet: KeySheet) -> str:
    console = Console(width=86, file=io.StringIO(), record=True)
    console.print(sheet.render())
    return console.export_text()


def footer_drawn(app: FreshlineApp) -> bool:
    """The footer shows the keys of the list in focus (`enter` opens), laid out: it rebuilds
    them a refresh after the focus moves."""
    keys = list(app.screen.query("FooterKey"))
    laid_out = bool(keys) and all(key.region.area > 0 for key in keys)
    return laid_out and any(getattr(key, "key", "") == "enter" for key in keys)


async def help_on(pilot, app: FreshlineApp) -> KeySheet:  # type: ignore[no-untyped-def]
    # As a dispatcher finds it: a list in focus, and the footer showing its keys.
    await until(pilot, lambda: footer_drawn(app), "the footer")
    await pilot.press("question_mark")
    await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the keys")
    sheet = app.screen.sheet
    assert sheet is not None
    return sheet


async def test_the_boards_keys_by_task_from_its_bindings_at_80x24() -> None:
    app = queue_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: getattr(app.screen, "ready", False), "the board")
        sheet = await help_on(pilot, app)
        text = text_of(sheet)
        tasks: dict[str, list[str]] = {}
        for task, row in sheet.rows():  # in the order shown
            tasks.setdefault(task, []).append(row.what)
        assert list(tasks) == ["Find and filter", "Move", "Act", "Back out, reload", "Anywhere"]
        # Every key the board declares is there, in its words, under its task.
        for binding in BoardScreen.BINDINGS:
            assert binding.tooltip or binding.description in text, binding
        assert "Filter as you type" in tasks["Find and filter"]
        assert "Next lane / Previous lane" in tasks["Move"]
        assert "Act on the order or the marked ones" in tasks["Act"]
        assert "Board / Exceptions / Riders / KPIs / Handover" in tasks["Anywhere"]
        # No framework noise.
        for noise in ("Focus Next", "Focus Previous", "Copy selected text", "super+c", "Scroll"):
            assert noise not in text
        # What the footer could not show at 80 columns, said at the top.
        assert {"t Act", "1 Board", "q Quit"} <= set(sheet.not_in_footer)
        assert "/ Search" not in sheet.not_in_footer  # that one is in the footer
        assert "Not in the footer at this width: " in text


async def test_the_queues_keys_follow_its_bindings_and_say_why_a_key_is_off() -> None:
    app = queue_app()  # the dispatcher: returns and claims are support's
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, ExceptionsScreen), "the queue")
        sheet = await help_on(pilot, app)
        rows = {row.keys: row for _, row in sheet.rows()}
        assert rows["p"].enabled is False and "support" in rows["p"].why_off
        assert rows["n / N"].what == "Next / Previous new"  # since I looked, then open ones
        assert "the phone" in rows["y"].what
        assert "a Ack" not in sheet.not_in_footer  # the first in the footer: it fits
