"""Track replay (`m` on an order's detail, or the palette): the order's path from pick-up to
sign-off on the map with a moving marker, its timeline beside it, the event of the moment
highlighted. Step with left and right, play and pause with space, 2x to 20x with [ and ].

Playing advances a replay clock on a timer; the map redraws at its bounded rate, and the
timeline only moves its cursor when the current event changes.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import DataTable, Footer

from backend_client import FreshlineError, NotFound
from backend_client.models import Track, TrackPoint
from console.store import Changes
from screens.guard import LiveScreen
from screens.order_detail import event_words
from widgets.live_text import LiveText
from widgets.rider_map import Pin, Place, RiderMap, Zone
from widgets.top_bar import TopBar

SPEEDS = (2, 5, 10, 20)
"""Replay speeds: simulated seconds per real second."""
FRAME_S = 0.25
"""How often the replay clock moves while playing (the map redraws at most this often)."""


def position_at(points: list[TrackPoint], at: datetime) -> tuple[float, float, int]:
    """Where the rider was at `at` (between two fixes: on the straight line between them), and
    the index of the last fix at or before it."""
    times = [p.at for p in points]
    i = max(0, bisect.bisect_right(times, at) - 1)
    a = points[i]
    if i + 1 >= len(points) or at <= a.at:
        return a.lat, a.lng, i
    b = points[i + 1]
    share = (at - a.at) / (b.at - a.at)
    return a.lat + (b.lat - a.lat) * share, a.lng + (b.lng - a.lng) * share, i


class TrackReplayScreen(LiveScreen):
    """One order's track, replayed."""

    DEFAULT_CSS = """
    TrackReplayScreen #replay-body { height: 1fr; }
    TrackReplayScreen #replay-map-side { width: 1fr; }
    TrackReplayScreen #replay-status { height: 1; padding: 0 1; }
    TrackReplayScreen #replay-events { width: 56; border: round $panel-lighten-2; }
    TrackReplayScreen.-compact #replay-events { width: 30; }
    """
    # Priority: the timeline table would take left, right and home for itself.
    BINDINGS = [
        Binding("escape,backspace", "back", "Back", id="replay.back"),
        Binding("space", "play", "Play/pause", priority=True, id="replay.play"),
        Binding("left", "step(-1)", "Step", key_display="←", priority=True, id="replay.back_step"),
        Binding(
            "right", "step(1)", "Step", key_display="→", show=False, priority=True, id="replay.step"
        ),
        Binding(
            "left_square_bracket",
            "speed(-1)",
            "Slower",
            key_display="[",
            id="replay.slower",
        ),
        Binding(
            "right_square_bracket",
            "speed(1)",
            "Faster",
            key_display="]",
            id="replay.faster",
        ),
        Binding("home", "jump(0)", "Start", show=False, priority=True, id="replay.start"),
        Binding("end", "jump(-1)", "End", show=False, priority=True, id="replay.end"),
        Binding("plus,equals_sign", "zoom(1)", "Zoom", key_display="+", id="replay.zoom_in"),
        Binding("minus", "zoom(-1)", "Zoom out", show=False, id="replay.zoom_out"),
        Binding("0", "zoom(0)", "Fit", show=False, id="replay.fit"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="replay.reload"),
    ]

    def __init__(self, order_id: int) -> None:
        super().__init__()
        self.order_id = order_id
        self.track: Track | None = None
        self.at: datetime | None = None
        """The replay clock: where on the track we are."""
        self.index = 0
        """The last fix at or before the replay clock."""
        self.speed = SPEEDS[1]
        self.playing = False
        self.event_index: int | None = None
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield TopBar(f"order {self.order_id} track")
        with Horizontal(id="replay-body"):
            with Vertical(id="replay-map-side"):
                yield RiderMap(max_hz=1 / FRAME_S, id="replay-map")
                yield LiveText(f"Loading the track of order {self.order_id}…", id="replay-status")
            yield DataTable(id="replay-events", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#replay-events", DataTable)
        table.add_columns("time", "what")
        table.border_title = "Timeline"
        self.query_one(RiderMap).can_focus = False  # the arrows step through the track here
        table.focus()
        self.load()
        self.ready = True

    def on_resize(self) -> None:
        self.set_class(self.size.width < 120, "-compact")

    def show_changes(self, changes: Changes) -> None:
        """The replay does not follow the live store (a track is history)."""

    @work(group="replay", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        client = self.host.client
        status = self.query_one("#replay-status", LiveText)
        if client is None:
            status.show("No server: nothing to replay.")
            return
        try:
            track = await client.orders.track(self.order_id)
        except NotFound:
            status.show(f"Order {self.order_id} has no track (no such order, or not yours).")
            return
        except FreshlineError as exc:
            status.show(f"Could not load the track: {exc}")
            return
        self.show_track(track)

    def show_track(self, track: Track) -> None:
        self.track = track
        table = self.query_one("#replay-events", DataTable)
        table.clear()
        for event in track.events:
            table.add_row(
                f"{event.at.astimezone(self.zone):%H:%M:%S}", event_words(event, self.store)
            )
        rider_map = self.query_one(RiderMap)
        points = [(p.lat, p.lng) for p in track.points]
        card = self.store.orders.get(self.order_id)
        if card is not None:
            points.append((card.lat, card.lng))
        rider_map.fit_points = points
        store = self.store
        rider_map.set_geography(
            [Zone(name, polygon) for name, polygon in store.zones],
            [Place(name, lat, lng) for name, lat, lng in store.warehouses],
        )
        rider_map.show(paths=[([(p.lat, p.lng) for p in track.points], "track")])
        if not track.points:
            self.query_one("#replay-status", LiveText).show(
                "No fixes on this track yet (ctrl+r fetches it again)."
            )
            return
        # Fetched again (ctrl+r): stay where we were if the track still reaches there.
        first, last = track.points[0].at, track.points[-1].at
        self.at = self.at if self.at is not None and first <= self.at <= last else first
        self.event_index = None
        self._moved()

    # --- where we are -------------------------------------------------------------------------

    def _moved(self) -> None:
        track = self.track
        if track is None or not track.points or self.at is None:
            return
        lat, lng, self.index = position_at(track.points, self.at)
        pins = [Pin(s.lat, s.lng, "s", "stop") for s in track.stops]
        card = self.store.orders.get(self.order_id)
        if card is not None:
            pins.append(Pin(card.lat, card.lng, "C", "stop"))
        pins.append(Pin(lat, lng, "@", "here"))
        self.query_one(RiderMap).show(pins=pins, now=not self.playing)
        self._highlight_event()
        self._draw_status()

    def _highlight_event(self) -> None:
        track = self.track
        assert track is not None and self.at is not None
        times = [e.at for e in track.events]
        found = bisect.bisect_right(times, self.at) - 1
        current = found if found >= 0 else None
        if current == self.event_index:
            return
        self.event_index = current
        table = self.query_one("#replay-events", DataTable)
        if current is not None:
            table.move_cursor(row=current)

    def _draw_status(self) -> None:
        track = self.track
        assert track is not None and self.at is not None
        point = track.points[self.index]
        text = Text()
        text.append("▶ playing" if self.playing else "‖ paused", style="bold")
        text.append(f" {self.speed}x  ")
        text.append(f"{self.at.astimezone(self.zone):%H:%M:%S}", style="bold")
        text.append(f"  fix {self.index + 1}/{len(track.points)}")
        if point.speed_kmh is not None:
            text.append(f"  {point.speed_kmh:.0f} km/h")
        for stop in track.stops:
            if stop.start <= self.at <= stop.end:
                text.append(f"  stopped {stop.minutes:.0f} min", style="bold")
        if self.event_index is not None:
            event = track.events[self.event_index]
            text.append(f"  · {event_words(event, self.store)}", style="italic")
        self.query_one("#replay-status", LiveText).show(text)

    # --- keys ---------------------------------------------------------------------------------

    def action_step(self, step: int) -> None:
        track = self.track
        if track is None or not track.points or self.at is None:
            return
        self._pause()
        on_fix = track.points[self.index].at == self.at
        # Between two fixes, a step back goes to the fix before.
        target = self.index if step < 0 and not on_fix else self.index + step
        target = max(0, min(target, len(track.points) - 1))
        self.at = track.points[target].at
        self._moved()

    def action_jump(self, where: int) -> None:
        track = self.track
        if track is None or not track.points:
            return
        self._pause()
        self.at = track.points[where].at
        self._moved()

    def action_play(self) -> None:
        track = self.track
        if track is None or not track.points or self.at is None:
            return
        if self.playing:
            self._pause()
            self._draw_status()
            return
        if self.at >= track.points[-1].at:
            self.at = track.points[0].at  # at the end: play again from the start
        self.playing = True
        self._timer = self.set_interval(FRAME_S, self._frame, name="replay")
        self._moved()

    def _pause(self) -> None:
        self.playing = False
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _frame(self) -> None:
        track = self.track
        if track is None or self.at is None:
            return
        self.at += timedelta(seconds=FRAME_S * self.speed)
        if self.at >= track.points[-1].at:
            self.at = track.points[-1].at
            self._pause()
        self._moved()

    def action_speed(self, step: int) -> None:
        index = SPEEDS.index(self.speed) + step
        self.speed = SPEEDS[max(0, min(index, len(SPEEDS) - 1))]
        if self.track is not None and self.at is not None:
            self._draw_status()

    def action_reload(self) -> None:
        self._pause()
        self.load()

    def action_zoom(self, direction: int) -> None:
        self.query_one(RiderMap).zoom(direction)

    def action_back(self) -> None:
        self._pause()
        self.app.pop_screen()
