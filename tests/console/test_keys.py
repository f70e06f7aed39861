"""Keys go where the person meant (Pilot): 1-4 land on a screen's root with a cursor on a row
that exists now, a key read late never answers a dialog that came up after it was typed, and
nothing opens behind the sign-in form."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from console.app import FreshlineApp
from console.keys import set_escape_delay, unalt
from screens.board import BoardScreen
from screens.dialogs import NoteDialog
from screens.exceptions import ExceptionsScreen
from screens.login import LoginScreen
from screens.order_detail import OrderDetailScreen
from tests.console.conftest import until
from tests.console.test_console_live import notes_of
from tests.console.test_snapshots import queue_app
from widgets.alert_list import AlertList


class Question(ModalScreen[bool]):
    """A yes/no like the console's confirmations: `y` says yes."""

    BINDINGS = [Binding("y", "yes", "Yes"), Binding("escape", "no", "No")]

    def compose(self) -> ComposeResult:
        yield Label("Approve the claim of 18.90 for order 1004?")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)


def queue(app: FreshlineApp) -> AlertList:
    return app.screen.query_one(AlertList)


async def test_2_lands_on_the_queue_itself_with_its_cursor_on_a_row_that_is_there_now() -> None:
    app = queue_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: getattr(app.screen, "ready", False), "the queue")
        await until(pilot, lambda: queue(app).current is not None, "the queue drawn")
        # Down to the scooter crash (alert 3, order 1003) and open its order.
        for _ in range(len(queue(app).ids)):
            if queue(app).current == 3:
                break
            await pilot.press("down")
        assert queue(app).current == 3
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, OrderDetailScreen), "the order")
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the board")
        # Meanwhile the crash is resolved and leaves the queue.
        app.store.alerts.alerts.pop(3)
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, ExceptionsScreen), "the queue itself")
        assert len(app.screen_stack) == 1
        shown = app.store.alerts.queue(app.screen.alert_filter)
        assert queue(app).ids == shown  # drawn from the store as it is now
        assert queue(app).current in shown and queue(app).current != 3


async def test_1_comes_back_to_the_board_itself_not_to_an_order_left_open_on_it() -> None:
    app = queue_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: getattr(app.screen, "ready", False), "the board")
        await pilot.press("enter")  # the order under the cursor
        await until(pilot, lambda: isinstance(app.screen, OrderDetailScreen), "the order")
        await pilot.press("2", "1")
        await until(pilot, lambda: app.current_mode == "board", "the board's mode")
        await until(pilot, lambda: isinstance(app.screen, BoardScreen), "the board itself")
        assert len(app.screen_stack) == 1


async def test_a_key_read_after_a_dialog_came_up_but_typed_before_does_not_answer_it() -> None:
    app = queue_app()
    answers: list[bool | None] = []
    async with app.run_test(size=(120, 40)) as pilot:
        notes = notes_of(app)
        await until(pilot, lambda: getattr(app.screen, "ready", False), "the board")
        # The terminal has read `y` (meant for the board) but the console is busy: by the time
        # it reads the key, a question has come up.
        typed = events.Key("y", "y")
        app.push_screen(Question(), answers.append)
        app.post_message(typed)
        await until(pilot, lambda: notes, "a word about the unused key")
        assert isinstance(app.screen, Question) and answers == []
        assert "went unused: y" in notes[0]
        # A `y` typed now, with the question on screen, answers it.
        await pilot.press("y")
        await until(pilot, lambda: answers == [True], "the answer")


async def test_nothing_opens_behind_the_sign_in_form() -> None:
    app = FreshlineApp(server="http://127.0.0.1:9", live=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LoginScreen), "the sign-in form")
        await until(pilot, lambda: app.focused is not None, "the form's focus")
        await pilot.press("ctrl+p")
        await app.run_action("app.switch_mode('exceptions')")  # what the palette would run
        await app.run_action("command_palette")
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        assert not any(isinstance(s, CommandPalette) for s in app.screen_stack)
        assert app.current_mode == "board"


async def test_keys_typed_ahead_act_on_the_screen_the_keys_before_them_brought_up() -> None:
    app = queue_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: getattr(app.screen, "ready", False), "the board")
        # `2 n` in one burst: to the queue, then down to the next alert nobody has taken.
        for key in (events.Key("2", "2"), events.Key("n", "n")):
            app.post_message(key)
        await until(pilot, lambda: isinstance(app.screen, ExceptionsScreen), "the queue")
        alerts = app.store.alerts.alerts
        await until(pilot, lambda: queue(app).cursor > 0, "the cursor moved on by n")
        first = queue(app).ids[0]
        assert alerts[first].state == "open" and alerts[queue(app).current].state == "open"


def test_esc_and_a_key_read_as_alt_key_are_esc_then_the_key() -> None:
    assert [k.key for k in unalt(events.Key("alt+2", "2"))] == ["escape", "2"]
    assert [k.key for k in unalt(events.Key("alt+shift+s", "S"))] == ["escape", "S"]
    assert [k.key for k in unalt(events.Key("alt+slash", "/"))] == ["escape", "slash"]


def test_the_escape_delay_is_short_here_longer_over_ssh_and_escdelay_wins() -> None:
    try:
        assert set_escape_delay({}) == 0.025
        assert set_escape_delay({"SSH_CONNECTION": "10.0.0.1 5 10.0.0.2 22"}) == 0.1
        assert set_escape_delay({"ESCDELAY": "40", "SSH_TTY": "/dev/pts/1"}) == 0.04
    finally:
        set_escape_delay()


async def test_text_typed_after_the_key_that_opens_a_note_goes_into_it_and_decides_nothing() -> (
    None
):
    app = queue_app()
    async with app.run_test(size=(160, 48)) as pilot:
        notes = notes_of(app)
        await pilot.press("2")
        await until(pilot, lambda: getattr(app.screen, "ready", False), "the queue")
        # `a`, a note and enter in one burst: the note dialog opens at once on `a`.
        for key in ("a", *"on it", "enter"):
            name = {" ": "space"}.get(key, key)
            app.post_message(events.Key(name, "\r" if key == "enter" else key))
        await until(pilot, lambda: isinstance(app.screen, NoteDialog), "the note dialog")
        box = app.screen.query_one(Input)
        await until(pilot, lambda: box.value == "on it", "the note typed into its box")
        await until(pilot, lambda: notes, "a word about the unused enter")
        assert "went unused: enter" in notes[0]
        assert isinstance(app.screen, NoteDialog)  # nothing sent: enter, now, sends it
