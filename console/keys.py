"""Where a typed key goes: to the state the keys before it left, in order, and never to a
decision that came up after it was typed.

Textual reads a burst of keys from the terminal, queues them on the app, and the app forwards
each one to the widget focused *at that moment*. Bindings only run once the key has bubbled
back up from that widget, so a whole burst is forwarded before the first key has done anything:
`/Sun` sent `S`, `u`, `n` to the lane (lost) while `/` was still on its way to opening the
search box, and `/lt` toggled "late only" and opened the action dialog. Under load the gap
grows, and a key can even be read against a dialog that came up while it was travelling.

A fast dispatcher types ahead: each key is meant for the screen and the focus that the keys
before it produce. So the `KeyGate` hands Textual one key at a time:

1. A key from the terminal joins a queue. The first key in the queue is given to Textual's own
   path (priority bindings, then the focused widget), and the next one waits.
2. Unless the focused text box takes the key as text (that changes no focus and no screen,
   and the box reads its keys in order), a probe follows the key up the same chain of message
   queues it bubbles through (focused widget, its parents, the screen, the app), so when the
   probe reaches the app the key's binding has run. Then the gate waits for the app and the
   screen on top to work through what that key set off (a focus change, a pushed screen
   mounting, a message posted to the screen), until a round changes neither the screen nor
   the focus. Only then does the next key go, so it lands where the previous one left the
   focus: in the search box. Text typed into a box goes on at once, but the first key after
   it that is not text (`enter`) waits until the text has been dealt with, including the
   palette's search for it: `ctrl+p riders enter` opens the riders, not what was highlighted
   before "riders" was read.
3. Screens that ask for a decision (dialogs, confirmations, the sign-in form: anything but the
   console's own views, its help and its palette) never take a key typed before they came up:
   such a screen can appear late (after a fetch) or by itself (a session ending), and a key
   typed for the screen below must not confirm it. Those keys are dropped, and a notification
   names them. One exception: a dialog with a text box that came up while the key asking for
   it was settling (`a` opens the note at once) takes the text typed after that key into its
   box; the `enter` typed with it is still dropped, so the note is read before it is sent.
   The console's views (the board, the queue, the map, an order's detail) take keys typed
   ahead: they only come up because an earlier key of the same burst asked for them (`2 n`,
   `Esc 2`, `Enter m`), which is what the typist meant.
4. A key that was on its way when the screen on top changed under it is dropped for the same
   reason, instead of being read against the new screen's bindings.
5. `Esc` and a key typed within the terminal's escape delay arrive as one `alt+key` (the bytes
   are the same). The console binds no `alt+` key, so an unbound `alt+key` is read as `Esc`
   and then the key: a fast `Esc 2` backs out, then switches screens.

The app's priority keys (quit) skip the queue. A key that seems never to settle (a handler stuck
on the network) releases the next one after `HOLD_LIMIT`, so the console cannot go deaf.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from textual import constants, events
from textual._time import get_time  # the clock of events.Key.time (perf_counter on Windows)
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import WorkerState

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode

log = logging.getLogger(__name__)

HOLD_LIMIT = 3.0
"""Seconds a key may take to settle before the next one goes anyway (a stall guard, not a
pace: keys normally settle in milliseconds)."""

MOST_ROUNDS = 12
"""At most this many rounds of "every queue has caught up" after a key. At least as many as the
key's widget is deep, plus one: a message it posts (a lane's "open this order") moves up one
parent per round at the slowest, and must reach the screen that acts on it."""

ESCAPE_DELAY_LOCAL_MS = 25
"""How long after `Esc` the terminal's next byte still belongs to it (vim's `ttimeoutlen`)."""
ESCAPE_DELAY_REMOTE_MS = 100
"""Over SSH an arrow key's bytes can be split across packets: Textual's own default there."""

# WezTerm on macOS sends Option+digit as ESC+digit, and Textual turns those into "™", "£" and
# the like. A console nobody types those in reads ESC+digit as Esc, then the digit (`alt+2`
# below), which is what `Esc 2` typed quickly sends everywhere else.
OPTION_DIGITS = tuple(f"\x1b{c}" for c in "§1234567890-=")


def set_escape_delay(environ: dict[str, str] | os._Environ[str] = os.environ) -> float:
    """Shorten Textual's wait after `Esc` (ESCDELAY, in ms, wins if set); returns seconds.

    Textual reads `constants.ESCAPE_DELAY` each time it sees an `Esc`, so this works at any time
    before or after the app starts.
    """
    try:  # the parser's table is not public API: without it, Esc+digit stays a symbol
        from textual._ansi_sequences import ANSI_SEQUENCES_KEYS
    except ImportError:  # pragma: no cover - a Textual that moved it
        log.warning("cannot read Esc+digit as Esc, digit: Textual moved its key table")
    else:
        if isinstance(ANSI_SEQUENCES_KEYS, dict):  # typed a Mapping; a dict it is
            for sequence in OPTION_DIGITS:
                ANSI_SEQUENCES_KEYS.pop(sequence, None)
    if environ.get("ESCDELAY", "").strip().isdigit():
        milliseconds = max(1, int(environ["ESCDELAY"]))
    elif environ.get("SSH_CONNECTION") or environ.get("SSH_TTY"):
        milliseconds = ESCAPE_DELAY_REMOTE_MS
    else:
        milliseconds = ESCAPE_DELAY_LOCAL_MS
    constants.ESCAPE_DELAY = milliseconds / 1000  # type: ignore[misc]
    return constants.ESCAPE_DELAY


def unalt(event: events.Key) -> list[events.Key]:
    """`alt+x` as the two keys it was typed as: `Esc`, then `x` (with the time it came)."""
    character = event.character
    # Letters and digits are their own key names ("S", not "shift+s"); the rest keep theirs.
    single = character is not None and len(character) == 1 and character.isalnum()
    rest = character if single and character else event.key.removeprefix("alt+")
    escape, key = events.Key("escape", "\x1b"), events.Key(rest, character)
    escape.time = key.time = event.time
    return [escape, key]


class KeyGate:
    """Hands the app's keys to Textual one at a time (see the module's docstring)."""

    def __init__(
        self,
        app: App[Any],
        accepts_type_ahead: Callable[[Screen[Any]], bool],
        waits_for_work: Callable[[Screen[Any]], bool] = lambda screen: False,
    ) -> None:
        self.app = app
        self.accepts_type_ahead = accepts_type_ahead
        """Screens that may take keys typed before they came up."""
        self.waits_for_work = waits_for_work
        """Screens whose workers answer what was typed (a palette's search): the next key
        waits for them, so `enter` picks from the answer to what was typed, not an older one."""
        self.waiting: deque[events.Key] = deque()
        self.in_flight: tuple[events.Key | None, Screen[Any]] | None = None
        """The key Textual is handling now, and the screen it was given to."""
        self.came_up: WeakKeyDictionary[Screen[Any], float] = WeakKeyDictionary()
        """When each screen last came to the top (the same clock as `events.Key.time`)."""
        self.opened_by_key: WeakKeyDictionary[Screen[Any], bool] = WeakKeyDictionary()
        """Whether it came up while a key was settling: that key asked for it (`a` for a note)."""
        self.dropped: list[str] = []
        self._turn = 0
        """Which key a probe belongs to: a late probe of a released key does nothing."""
        self._least = 2
        """Rounds the key in flight needs at least (see `MOST_ROUNDS`)."""
        self._stall: Timer | None = None
        self._text_sent = False
        """Text went to a box without settling: settle before the next key that is not text."""
        self._parked: int | None = None
        """The turn whose settling waits for the screen's workers."""

    # --- what the app tells us ----------------------------------------------------------------

    def screen_changed(self, screen: Screen[Any]) -> None:
        """A screen came to the top (the app's `screen_change_signal`, called synchronously)."""
        self.came_up[screen] = get_time()  # the clock Textual stamps keys with
        self.opened_by_key[screen] = self.in_flight is not None and self.in_flight[0] is not None

    async def take(self, event: events.Key) -> bool:
        """A key from the terminal: True if the gate has it (queued, sent on, or dropped)."""
        active = self.app.screen.active_bindings.get(event.key)
        if active is not None and active.binding.priority and active.node is self.app:
            return False  # quit goes now, whatever is queued
        if event.key.startswith("alt+") and active is None:
            self.waiting.extend(unalt(event))
        else:
            self.waiting.append(event)
        await self.release()
        return True

    def stray(self, event: events.Key) -> bool:
        """A key bubbling back to the app: True if the screen changed under it (drop it)."""
        if self.in_flight is None or event is not self.in_flight[0]:
            return False
        screen = self.in_flight[1]
        if self.app.screen is screen:
            return False
        event.stop()
        self._note_dropped(event)
        self._tell_dropped()
        return True

    # --- one key at a time --------------------------------------------------------------------

    async def release(self) -> None:
        """Give Textual the next key if none is being handled."""
        from textual.app import App

        while self.in_flight is None and self.waiting and self.app.screen_stack:
            key = self.waiting[0]
            screen = self.app.screen
            came_up = self.came_up.get(screen)
            target: DOMNode = self.app.focused or screen
            text = target is self.app.focused and target.check_consume_key(key.key, key.character)
            early = came_up is not None and key.time < came_up
            # Text typed after the key that opened this box goes into it (`a` then the note);
            # anything else typed before a dialog came up decides nothing on it.
            opened_for_it = text and self.opened_by_key.get(screen, False)
            if early and not self.accepts_type_ahead(screen) and not opened_for_it:
                self._note_dropped(self.waiting.popleft())
                continue
            if not text and self._text_sent:
                # Text went to a box without waiting: let what it set off (a palette's search)
                # finish before a key that is not text (enter) is read against it.
                self._text_sent = False
                self._begin(None, screen, target)
                self._settle(self._turn, 0, self._state())
                break
            self.waiting.popleft()
            self._begin(key, screen, target)
            await App.on_event(self.app, key)  # Textual's own path for a key from the terminal
            if text:
                # Text for the focused box: it changes no focus and no screen, and the box
                # reads its keys in order, so the next key need not wait for this one.
                self._text_sent = True
                self._done(self._turn, release=False)
            else:
                self._follow(target, self._turn)
        self._tell_dropped()

    def _begin(self, key: events.Key | None, screen: Screen[Any], target: DOMNode) -> None:
        """A new turn: `key` (None: only settling) is in flight."""
        self._turn += 1
        turn = self._turn
        self.in_flight = (key, screen)
        self._least = 1 + sum(1 for _ in target.ancestors_with_self)
        self._stall = self.app.set_timer(HOLD_LIMIT, lambda: self._stalled(turn))

    def worker_changed(self) -> None:
        """A worker changed state (the app's handler): a parked settle may go on."""
        if self._parked is not None and self._parked == self._turn:
            self._parked = None
            self._settle(self._turn, 0, self._state())

    def _busy(self) -> bool:
        """Work the key started is not under way yet (a worker about to open a dialog), or the
        screen on top is still answering what was typed (a palette's search)."""
        screen = self.app.screen
        waits = self.waits_for_work(screen)
        for worker in self.app.workers:
            if worker.state == WorkerState.PENDING:
                return True
            if waits and worker.node is screen and worker.state == WorkerState.RUNNING:
                return True
        return False

    def _follow(self, node: DOMNode, turn: int) -> None:
        """Post the probe behind the key in `node`'s queue (or straight to the app)."""
        if node is self.app or not node.call_later(self._passed, node, turn):
            self.app.call_later(self._passed, self.app, turn)

    def _passed(self, node: DOMNode, turn: int) -> None:
        """The key has been through `node`: follow it to the parent, or settle at the app."""
        if turn != self._turn:
            return
        if node is self.app:
            self._settle(turn, 0, self._state())
        else:
            self._follow(node.parent or self.app, turn)

    def _state(self) -> tuple[object, object]:
        return (self.app.screen_stack[-1:], self.app.focused)

    def _settle(self, turn: int, rounds: int, before: tuple[object, object]) -> None:
        """One round: every running queue of the app and the screen on top catches up."""
        if turn != self._turn:
            return
        if not self.app.screen_stack:  # closing: nothing left to settle
            self._done(turn)
            return
        after = self._state()
        if rounds >= MOST_ROUNDS or (rounds >= self._least and after == before):
            if self._busy():
                self._parked = turn  # `worker_changed` goes on from here
                return
            self._done(turn)
            return
        nodes = [self.app, *self.app.screen.walk_children(with_self=True)]
        waiting = 0

        def caught_up() -> None:
            nonlocal waiting
            waiting -= 1
            if waiting == 0:
                self._settle(turn, rounds + 1, after)

        for node in nodes:
            if node.is_running and node.call_later(caught_up):
                waiting += 1
        if waiting == 0:
            self._done(turn)

    def _done(self, turn: int, release: bool = True) -> None:
        if turn != self._turn or self.in_flight is None:
            return
        self.in_flight = None
        self._parked = None
        if self._stall is not None:
            self._stall.stop()
            self._stall = None
        if release:
            self.app.call_later(self.release)

    def _stalled(self, turn: int) -> None:
        if turn == self._turn and self.in_flight is not None:
            key = self.in_flight[0]
            log.warning("%r did not settle in %.0f s: the next key goes", key, HOLD_LIMIT)
            self._done(turn)

    # --- keys that were not used --------------------------------------------------------------

    def _note_dropped(self, key: events.Key) -> None:
        self.dropped.append(key.character if key.is_printable and key.character else key.key)

    def _tell_dropped(self) -> None:
        if not self.dropped:
            return
        keys, self.dropped = self.dropped, []
        count = "1 key" if len(keys) == 1 else f"{len(keys)} keys"
        log.info("dropped keys typed before %s came up: %s", self.app.screen, keys)
        self.app.notify(
            f"{count} typed before this screen came up went unused: {' '.join(keys)}. "
            "Type again what you meant here.",
            title="Keys not used",
            severity="warning",
        )
