"""Outbound webhooks for admins and supervisors: every subscription with its kinds, scope,
state, lag behind the event log and last error; failing endpoints first and marked `!!`.

Not fed by the stream (subscriptions are few and change slowly): read from the API when the
screen shows and every few seconds while it does. `p` resumes a parked subscription (admins).
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer

from backend_client import FreshlineError
from backend_client.models import Webhook, WebhookState
from console.host import client_of
from screens.guard import GuardedScreen
from widgets.live_text import LiveText
from widgets.top_bar import TopBar

REFRESH_SECONDS = 5.0
"""How often the list is read again while the screen shows (lag moves by the second)."""
COLUMNS = ("id", "state", "lag", "kinds", "scope", "fails", "last error", "url")


def failing(hook: Webhook) -> bool:
    """Parked, or failing right now: the endpoints somebody should look at."""
    return hook.state is WebhookState.PARKED or hook.failures > 0


def scope_of(hook: Webhook) -> str:
    if hook.channel:
        return f"channel {hook.channel}"
    if hook.warehouse_id:
        return hook.warehouse_id
    return "all"


def row_of(hook: Webhook) -> tuple[Text, ...]:
    """One subscription's cells; a failing one bold with `!!` (readable without colour)."""
    style = "bold" if failing(hook) else ""
    state = ("!! " if failing(hook) else "") + str(hook.state)
    cells = (
        str(hook.id),
        state,
        str(hook.lag),
        ",".join(hook.kinds),
        scope_of(hook),
        str(hook.failures),
        hook.last_error or "",
        hook.url,
    )
    return tuple(Text(cell, style=style) for cell in cells)


def ordered(hooks: list[Webhook]) -> list[Webhook]:
    """Failing ones first, then the most behind."""
    return sorted(hooks, key=lambda h: (not failing(h), -h.lag, h.id))


def summary(hooks: list[Webhook]) -> str:
    parked = sum(h.state is WebhookState.PARKED for h in hooks)
    erring = sum(failing(h) for h in hooks) - parked
    head = max((h.head_seq for h in hooks), default=0)
    return f"{len(hooks)} subscriptions · {parked} parked · {erring} failing · log head seq {head}"


class WebhooksScreen(GuardedScreen):
    """The subscriptions, refreshed every few seconds while shown."""

    DEFAULT_CSS = """
    WebhooksScreen #hooks { height: 1fr; }
    WebhooksScreen #hooks-summary { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("ctrl+r", "reload", "Reload", tooltip="Read the list now", id="webhooks.reload"),
        Binding(
            "p",
            "resume",
            "Resume",
            tooltip="Deliver a parked subscription again from where it stopped",
            id="webhooks.resume",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.hooks: dict[int, Webhook] = {}

    def compose(self) -> ComposeResult:
        yield TopBar("webhooks")
        yield LiveText("reading…", id="hooks-summary")
        table: DataTable[Text] = DataTable(id="hooks", cursor_type="row", zebra_stripes=True)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#hooks", DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
        self.set_interval(REFRESH_SECONDS, self.action_reload)
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        if self.is_current:
            self._read()

    @work(group="webhooks-read", exclusive=True, exit_on_error=False)
    async def _read(self) -> None:
        try:
            hooks = await client_of(self.app).webhooks.all()
        except FreshlineError as error:
            self.query_one("#hooks-summary", LiveText).show(f"!! not read: {error}")
            return
        self.show(hooks)

    def show(self, hooks: list[Webhook]) -> None:
        """Keyed update: drop gone rows, change only changed cells, add new ones, sort once."""
        table: DataTable[Text] = self.query_one("#hooks", DataTable)
        fresh = {hook.id: hook for hook in hooks}
        with self.app.batch_update():
            for gone in set(self.hooks) - set(fresh):
                table.remove_row(str(gone))
            for hook in ordered(hooks):
                cells = row_of(hook)
                if hook.id not in self.hooks:
                    table.add_row(*cells, key=str(hook.id))
                    continue
                before = row_of(self.hooks[hook.id])
                for column, cell, old in zip(COLUMNS, cells, before, strict=True):
                    if (cell.plain, cell.style) != (old.plain, old.style):
                        table.update_cell(str(hook.id), column, cell)
            self.hooks = fresh
            rank = {str(h.id): n for n, h in enumerate(ordered(hooks))}
            table.sort("id", key=lambda cell: rank.get(str(cell), len(rank)))
        self.query_one("#hooks-summary", LiveText).show(summary(hooks))

    def selected(self) -> Webhook | None:
        table: DataTable[Text] = self.query_one("#hooks", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.hooks.get(int(key)) if key is not None else None

    def action_resume(self) -> None:
        hook = self.selected()
        if hook is None or hook.state is not WebhookState.PARKED:
            self.notify("choose a parked subscription", severity="warning")
            return
        self._resume(hook.id)

    @work(group="webhooks-act", exit_on_error=False)  # not exclusive: never cancel one in flight
    async def _resume(self, webhook_id: int) -> None:
        try:
            await client_of(self.app).webhooks.resume(webhook_id)
        except FreshlineError as error:
            self.notify(str(error), title="Resume: refused", severity="error")
            return
        self.notify(f"webhook {webhook_id} resumed")
        self._read()
