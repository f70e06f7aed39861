"""The riders screen (`3`): the city in the terminal with every rider on it, and the riders
beside it, the worst first. The cursor in the list selects a rider on the map (highlighted, with
the route to their next stops); `enter` lists their orders.

Redrawn from the store on the app's bounded tick, only when riders, their orders or the
viewport changed (and once a second, for the fix ages and riders falling silent). Narrow
terminals (under 120 columns) get a slimmer list and a smaller map.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input

from backend_client import FreshlineError
from backend_client.models.staffing import Staffing
from console.geo_view import LatLng, Markers
from console.roles import STAFFING_READ, may
from console.store import Changes, RiderCard, RiderState
from screens.guard import LiveScreen
from widgets.live_text import LiveText
from widgets.rider_list import STATE_RANK, RiderList
from widgets.rider_map import Pin, Place, RiderMap, Zone
from widgets.staffing_table import StaffingTable
from widgets.stale_banner import StaleBanner, picture_staleness
from widgets.top_bar import TopBar

log = logging.getLogger(__name__)

COMPACT_WIDTH = 120
STAFFING_HOURS = 6
"""Hours of the staffing table asked for; the narrow list shows fewer."""
STAFFING_EVERY_S = 60.0
"""How often the staffing table is read again (and after every move from this console)."""
LEGEND = "o idle  > delivering  ! late  ? silent  W warehouse  1 2 next stops"
SHORT_LEGEND = "o idle >deliv !late ?silent W wh"


def matches(rider: RiderCard, text: str) -> bool:
    """The list's filter: a name's part, or a rider id's digits."""
    needle = text.strip().lower()
    if not needle:
        return True
    return needle in rider.name.lower() or (needle.isdigit() and str(rider.id).startswith(needle))


class RidersScreen(LiveScreen):
    """The map and the riders; the list's cursor chooses the rider shown on the map."""

    DEFAULT_CSS = """
    RidersScreen #body { height: 1fr; }
    RidersScreen #map-side { width: 1fr; }
    RidersScreen #legend { height: 1; padding: 0 1; color: $text-muted; }
    RidersScreen #list-side { width: 64; }
    RidersScreen.-compact #list-side { width: 30; }
    RidersScreen #rider-search { display: none; height: 1; border: none; padding: 0 1; }
    RidersScreen #rider-search.-shown { display: block; }
    """
    BINDINGS = [
        Binding("slash", "search", "Find", tooltip="Filter riders by name", id="riders.search"),
        Binding("plus,equals_sign", "zoom(1)", "Zoom in", key_display="+", id="riders.zoom_in"),
        Binding("minus", "zoom(-1)", "Zoom out", key_display="-", id="riders.zoom_out"),
        Binding("0", "zoom(0)", "Fit", tooltip="The whole city on the map", id="riders.fit"),
        Binding("c", "centre", "Centre", tooltip="Centre the map on the rider", id="riders.centre"),
        Binding(
            "shift+left,H", "pan(-1, 0)", "Pan", show=False, tooltip="Pan west", id="riders.west"
        ),
        Binding(
            "shift+right,L", "pan(1, 0)", "Pan", show=False, tooltip="Pan east", id="riders.east"
        ),
        Binding(
            "shift+up,K", "pan(0, -1)", "Pan", show=False, tooltip="Pan north", id="riders.north"
        ),
        Binding(
            "shift+down,J", "pan(0, 1)", "Pan", show=False, tooltip="Pan south", id="riders.south"
        ),
        Binding(
            "z",
            "move_zone",
            "Move zone",
            tooltip="Move the selected rider to another zone",
            id="riders.move_zone",
        ),
        Binding("escape", "back", "Back", show=False, id="riders.back"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="riders.reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter_text = ""
        self.state_filter: RiderState | None = None
        """`:riders silent`: only riders in that state."""
        self.states: dict[int, RiderState] = {}
        self.selected: int | None = None
        self.route: list[tuple[int, LatLng]] = []
        """The selected rider's next stops in sequence: (order id, where), from the backend's
        route when it answered, else their current orders by promise."""
        self._route_of: int | None = None
        self._judged = 0.0
        self._name_rank: dict[int, int] = {}
        """Each rider's place in name order (the list's second sort key)."""

    @property
    def rider_map(self) -> RiderMap:
        return self.query_one(RiderMap)

    @property
    def rider_list(self) -> RiderList:
        return self.query_one(RiderList)

    def compose(self) -> ComposeResult:
        yield TopBar("riders")
        yield StaleBanner()
        with Horizontal(id="body"):
            with Vertical(id="map-side"):
                yield RiderMap(max_hz=self.host.refresh_hz, id="map")
                yield LiveText(id="legend")
            with Vertical(id="list-side"):
                yield Input(placeholder="rider name…", id="rider-search")
                yield RiderList(self.store, id="riders")
                yield StaffingTable(id="staffing")
        yield Footer()

    def on_mount(self) -> None:
        self._set_geography()
        self.show_changes(Changes(reloaded=True))
        self.rider_list.focus()
        # Shown with the first answer; never for store staff and riders (the desk's view).
        self.query_one(StaffingTable).display = False
        if may(self.host.me, STAFFING_READ):
            self._fetch_staffing()
            self.set_interval(STAFFING_EVERY_S, self._fetch_staffing)
        self.ready = True

    def on_screen_resume(self) -> None:
        self.show_changes(Changes(reloaded=True))

    def on_resize(self) -> None:
        self.set_class(self.size.width < COMPACT_WIDTH, "-compact")
        self._draw_legend()
        self._draw_staffing()

    # --- drawing from the store ---------------------------------------------------------------

    def show_changes(self, changes: Changes) -> None:
        """Judge every rider again when riders or orders changed, or a second went by (fix
        ages, riders falling silent); redraw the list's rows on screen and the map."""
        if changes.geography or changes.reloaded:
            self._set_geography()
        if changes.rider_names or changes.reloaded:
            self._name_rank = {}
        due = time.monotonic() - self._judged >= 1.0
        if changes.connection or changes.reloaded or due:
            # Where the riders were, not where they are, while the feed is down: say so.
            self.query_one(StaleBanner).say(picture_staleness(self.store, time.monotonic()))
        if not (changes.riders or changes.lanes or changes.reloaded or changes.rider_names or due):
            return
        self._judged = time.monotonic()
        store = self.store
        now = store.clock.now()
        state = store.rider_state
        self.states = {rider_id: state(rider, now) for rider_id, rider in store.riders.items()}
        riders = self.rider_list
        riders.states, riders.now = self.states, now
        riders.show(self._listed())
        if self.filter_text or self.state_filter:
            title = f"Riders  {len(riders.ids)} of {len(store.riders)}"
        else:
            title = f"Riders  {len(store.riders)}"
        counts = Counter(self.states.values())
        late, silent = counts[RiderState.LATE], counts[RiderState.SILENT]
        flags = [f"{late} late"] if late else []
        flags += [f"{silent} silent"] if silent else []
        riders.set_header(title, " · ".join(flags))
        riders.refresh()
        self._select(riders.current, force=True)

    def _listed(self) -> list[int]:
        """The riders to list, the worst state first, then by name. Sorting 10,000 riders by
        (state, name) tuples costs more than the map's redraw: names are ranked once (again
        only when riders join) and the sort key is one integer."""
        riders, states, rank = self.store.riders, self.states, STATE_RANK
        if len(self._name_rank) != len(riders):
            by_name = sorted(riders, key=lambda i: (riders[i].name, i))
            self._name_rank = {rider_id: n for n, rider_id in enumerate(by_name)}
        if self.filter_text:
            ids = [i for i, r in riders.items() if matches(r, self.filter_text)]
        else:
            ids = list(riders)
        if self.state_filter is not None:
            ids = [i for i in ids if states[i] == self.state_filter]
        names, size = self._name_rank, len(riders)
        ids.sort(key=lambda i: rank[states[i]] * size + names[i])
        return ids

    def _markers(self) -> Markers:
        """Every rider on shift with a fix, as the map wants them."""
        rank, states, offline = STATE_RANK, self.states, RiderState.OFFLINE
        markers = Markers()
        lats, lngs, ranks = markers.lats.append, markers.lngs.append, markers.ranks.append
        for i, r in self.store.riders.items():
            state = states.get(i, offline)
            if state is not offline and r.lat is not None and r.lng is not None:
                lats(r.lat)
                lngs(r.lng)
                ranks(rank[state])
        return markers

    def _set_geography(self) -> None:
        store = self.store
        zones = [Zone(name, polygon) for name, polygon in store.zones]
        places = [Place(name, lat, lng) for name, lat, lng in store.warehouses]
        if (tuple(zones), tuple(places)) != (self.rider_map.zones, self.rider_map.places):
            self.rider_map.set_geography(zones, places)

    # --- the selected rider -------------------------------------------------------------------

    def _select(self, rider_id: int | None, *, force: bool = False) -> None:
        """Show `rider_id` as the selected rider; redraw the map now when it is another rider
        (a key moved the cursor), or at the bounded rate when `force` (riders moved)."""
        changed = rider_id != self.selected
        if not changed and not force:
            return
        if changed:
            self.selected = rider_id
            self.route = []
            self._route_of = None
            if rider_id is not None:
                self._fetch_route(rider_id)
        self._draw_map(now=changed)

    def _draw_map(self, *, now: bool = False) -> None:
        riders = self._markers()
        pins: list[Pin] = []
        paths: list[tuple[Sequence[LatLng], str]] = []
        rider = self.store.riders.get(self.selected) if self.selected is not None else None
        if rider is not None and rider.lat is not None and rider.lng is not None:
            stops = self._stops(rider)
            if stops:
                paths.append(([(rider.lat, rider.lng), *(where for _, where in stops)], "route"))
            for number, (_, (lat, lng)) in enumerate(stops[:9], start=1):
                pins.append(Pin(lat, lng, str(number), "stop"))
            state = self.states.get(rider.id, RiderState.OFFLINE)
            kind = "idle" if state == RiderState.OFFLINE else state.value
            pins.append(Pin(rider.lat, rider.lng, "@", f"selected-{kind}"))
        self.rider_map.show(riders, paths, pins, now=now)
        self._draw_legend()

    def _stops(self, rider: RiderCard) -> list[tuple[int, LatLng]]:
        if self._route_of == rider.id and self.route:
            return self.route
        orders = self.store.orders
        return [
            (i, (orders[i].lat, orders[i].lng))
            for i in self.store.orders_of(rider.id)
            if i in orders
        ]

    @work(group="rider-route", exclusive=True, exit_on_error=False)
    async def _fetch_route(self, rider_id: int) -> None:
        """The backend's route (stops in the order the rider will make them), when it has one."""
        client = self.host.client
        if client is None:
            return
        try:
            route = await client.riders.route(rider_id)
        except FreshlineError as exc:
            log.info("no route for rider %s: %r", rider_id, exc)
            return
        if rider_id != self.selected:
            return
        self.route = [(stop.order_id, (stop.lat, stop.lng)) for stop in route.stops]
        self._route_of = rider_id
        self._draw_map(now=True)

    def _draw_legend(self) -> None:
        if not self.is_mounted:
            return
        compact = self.size.width < COMPACT_WIDTH
        text = Text()
        rider = self.store.riders.get(self.selected) if self.selected is not None else None
        if rider is not None and not compact:
            text.append(f"@ {rider.name}   ", style="bold")
        text.append(SHORT_LEGEND if compact else LEGEND)
        self.query_one("#legend", LiveText).show(text)

    # --- keys ---------------------------------------------------------------------------------

    @on(RiderList.Opened)
    def _open(self, event: RiderList.Opened) -> None:
        from screens.rider_orders import RiderOrdersScreen

        self.app.push_screen(RiderOrdersScreen(event.item_id))

    @on(RiderList.CursorMoved)
    def _follow_cursor(self, event: RiderList.CursorMoved) -> None:
        """The map follows the list's cursor on the keypress, not on the next tick."""
        self._select(event.item_id)

    def action_zoom(self, direction: int) -> None:
        self.rider_map.zoom(direction)

    def action_pan(self, cols: int, rows: int) -> None:
        self.rider_map.action_pan(cols, rows)

    def action_centre(self) -> None:
        rider = self.store.riders.get(self.selected) if self.selected is not None else None
        if rider is not None and rider.lat is not None and rider.lng is not None:
            view = self.rider_map.view
            if view is not None:
                self.rider_map.moved_by_hand = True
                self.rider_map._move(view.centred(rider.lat, rider.lng))

    def action_search(self) -> None:
        search = self.query_one("#rider-search", Input)
        search.add_class("-shown")
        self.set_focus(search)  # now: the keys typed after `/` are read against it

    @on(Input.Changed, "#rider-search")
    def _filter(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._judged = 0.0
        self.show_changes(Changes())

    @on(Input.Submitted, "#rider-search")
    def _search_done(self) -> None:
        self.rider_list.focus()

    def show_filtered(self, state: RiderState | None, text: str) -> None:
        """Only riders in `state` whose name has `text` (the `:riders` command)."""
        self.state_filter = state
        search = self.query_one("#rider-search", Input)
        search.value = text
        search.set_class(bool(text), "-shown")
        self.filter_text = text
        self._judged = 0.0
        self.show_changes(Changes())
        self.rider_list.focus()

    def action_back(self) -> None:
        """esc: out of the search box, then clear the filter (the state's too)."""
        search = self.query_one("#rider-search", Input)
        if search.has_focus:
            if not self.filter_text:
                search.remove_class("-shown")
            self.rider_list.focus()
        elif self.state_filter is not None and not self.filter_text:
            self.state_filter = None
            self._judged = 0.0
            self.show_changes(Changes())
        elif self.filter_text:
            search.value = ""
            search.remove_class("-shown")

    def action_reload(self) -> None:
        self.host.reload_feed()
        if may(self.host.me, STAFFING_READ):
            self._fetch_staffing()

    # --- staffing and moving riders between zones ---------------------------------------------

    @property
    def staffing(self) -> Staffing | None:
        """The backend's latest staffing answer, None before the first."""
        return self.query_one(StaffingTable).staffing

    @work(group="staffing", exclusive=True, exit_on_error=False)
    async def _fetch_staffing(self) -> None:
        client = self.host.client
        if client is None:
            return
        try:
            staffing = await client.riders.staffing(hours=STAFFING_HOURS)
        except FreshlineError as exc:
            log.info("no staffing: %r", exc)
            return
        table = self.query_one(StaffingTable)
        table.staffing = staffing
        table.display = True
        self._draw_staffing()

    def _draw_staffing(self) -> None:
        if not self.is_mounted:
            return
        table = self.query_one(StaffingTable)
        if table.staffing is not None:
            hours = 1 if self.size.width < COMPACT_WIDTH else 4
            table.show_staffing(table.staffing, self.zone, hours=hours)

    def _zone_of(self, warehouse_id: str | None) -> str | None:
        staffing = self.staffing
        if staffing is None or warehouse_id is None:
            return None
        return next((z.zone for z in staffing.zones if z.warehouse_id == warehouse_id), None)

    def action_move_zone(self) -> None:
        from screens.move_zone import ZonePicker

        rider = self.store.riders.get(self.selected) if self.selected is not None else None
        if rider is None:
            self.notify("Choose a rider first", severity="warning")
            return
        staffing = self.staffing
        if staffing is not None:
            zones = [
                (z.zone, f"{z.zone:<12} on shift {z.planned_now}, online {z.online_now}")
                for z in staffing.zones
            ]
        else:
            zones = [(name, name) for name, _ in self.store.zones]
        if not zones:
            self.notify("No zones known yet", severity="warning")
            return
        rider_id, current = rider.id, self._zone_of(rider.warehouse_id)

        def chosen(zone: str | None) -> None:
            if zone is not None and zone != current:
                self._move(rider_id, zone)

        self.app.push_screen(ZonePicker(rider.name, zones, current), chosen)

    @work(group="rider-move", exclusive=False, exit_on_error=False)
    async def _move(self, rider_id: int, zone: str) -> None:
        client = self.host.client
        if client is None:
            return
        try:
            rider = await client.riders.move_to_zone(rider_id, zone)
        except FreshlineError as exc:
            self.notify(str(exc), title="Not moved", severity="error")
            return
        card = self.store.riders.get(rider_id)
        if card is not None:
            card.warehouse_id = rider.warehouse_id  # the feed's rider.moved says the same
        self.notify(f"{rider.name} moved to {zone}", title="Moved")
        self._fetch_staffing()
