"""`v` on the board: the account's saved views. A digit opens one (`v 2`: two keys), `s` saves
what the board shows under a name, `d` makes the highlighted view the default (or not), `x`
deletes it. Opening is instant (the list is the one read at sign-in, refreshed as this opens);
saving and deleting go to the server.

A view of the console, not a decision (`console.keys`): it takes the keys typed right after
`v`, so a fast `v2` opens the second view. Deleting asks first.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from backend_client.models import SavedView
from console.views import ViewError, delete_view, load_views, save_view, set_default
from screens.dialogs import ConfirmDialog
from screens.guard import GuardedScreen

MOST_BY_DIGIT = 9


class ViewsScreen(GuardedScreen):
    """The saved views, numbered; the one open marked, the default starred."""

    DEFAULT_CSS = """
    ViewsScreen { align: center middle; background: $background 50%; }
    ViewsScreen > Vertical {
        width: 64; max-width: 95%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ViewsScreen Label.title { text-style: bold; margin-bottom: 1; }
    ViewsScreen Label.hint { color: $text-muted; margin-top: 1; }
    ViewsScreen OptionList { height: auto; max-height: 14; }
    ViewsScreen #name { display: none; }
    ViewsScreen.-naming #name { display: block; }
    """
    BINDINGS = [
        *(
            Binding(str(n), f"open({n})", f"View {n}", show=False, id=f"views.open_{n}")
            for n in range(1, MOST_BY_DIGIT + 1)
        ),
        Binding("s", "name", "Save as", tooltip="Keep this board as a view", id="views.save"),
        Binding("d", "default", "Default", tooltip="Open it at sign-in", id="views.default"),
        Binding("x", "delete", "Delete", tooltip="Forget the view (asks first)", id="views.delete"),
        Binding("escape", "back", "Back", id="views.back"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Saved views", classes="title")
            yield OptionList(id="views")
            yield Input(placeholder="name (one word)", max_length=40, id="name")
            yield Label(
                "1-9 or enter opens · s saves the board · d default · x deletes · esc back",
                classes="hint",
            )

    def on_mount(self) -> None:
        self.host.views.changed = self._draw
        self._draw()
        self.set_focus(self.query_one("#views", OptionList))
        self._refresh()

    def on_unmount(self) -> None:
        if self.host.views.changed == self._draw:
            self.host.views.changed = None

    def _draw(self) -> None:
        book = self.host.views
        views = self.query_one("#views", OptionList)
        at = views.highlighted
        views.clear_options()
        if not book.saved:
            views.add_option(Option("No views yet: s saves what the board shows.", disabled=True))
            return
        for n, view in enumerate(book.saved, start=1):
            line = Text()
            line.append(f"{n if n <= MOST_BY_DIGIT else ' '} ", style="bold")
            line.append(view.name, style="bold" if view.name == book.current else "")
            if view.default:
                line.append("  * default", style="italic")
            if view.name == book.current:
                line.append("  (open)", style="italic")
            views.add_option(Option(line, id=str(view.id)))
        views.highlighted = min(at or 0, len(book.saved) - 1)

    @work(group="views-list", exclusive=True, exit_on_error=False)
    async def _refresh(self) -> None:
        try:
            await load_views(self.host)
        except ViewError as exc:
            self.notify(str(exc), title="Views", severity="warning")

    def _highlighted(self) -> SavedView | None:
        index = self.query_one("#views", OptionList).highlighted
        saved = self.host.views.saved
        return saved[index] if index is not None and index < len(saved) else None

    # --- opening ------------------------------------------------------------------------------

    def action_open(self, n: int) -> None:
        saved = self.host.views.saved
        if not 1 <= n <= len(saved):
            have = f"1-{len(saved)}" if saved else "none yet"
            self.notify(f"No view {n} (views: {have}).", severity="warning")
            return
        self._open(saved[n - 1])

    @on(OptionList.OptionSelected, "#views")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        view = self._highlighted()
        if view is not None:
            self._open(view)

    def _open(self, view: SavedView) -> None:
        # From the list at hand, now: the board shows it before the next key is read.
        self.host.views.show(view)
        self.dismiss()
        self.app.notify(f"View {view.name}", timeout=2)

    # --- saving, the default, deleting --------------------------------------------------------

    def action_name(self) -> None:
        box = self.query_one("#name", Input)
        box.value = self.host.views.current or ""
        self.add_class("-naming")
        self.set_focus(box)  # now: the name typed right after `s` goes into the box

    @on(Input.Submitted, "#name")
    def _named(self, event: Input.Submitted) -> None:
        self._save(event.value.strip())

    @work(group="views", exclusive=True, exit_on_error=False)
    async def _save(self, name: str) -> None:
        try:
            view = await save_view(self.host, name)
        except ViewError as exc:
            self.notify(str(exc), title="Not saved", severity="warning")
            return
        self.app.notify(f"Saved view {view.name}.", timeout=3)
        self.dismiss()

    def action_default(self) -> None:
        view = self._highlighted()
        if view is not None:
            self._default(view.name, not view.default)

    @work(group="views", exclusive=True, exit_on_error=False)
    async def _default(self, name: str, default: bool) -> None:
        try:
            await set_default(self.host, name, default)
        except ViewError as exc:
            self.notify(str(exc), title="Views", severity="warning")
            return
        said = "opens at sign-in" if default else "no longer opens at sign-in"
        self.notify(f"View {name} {said}.", timeout=3)

    def action_delete(self) -> None:
        view = self._highlighted()
        if view is None:
            return
        question = ConfirmDialog(
            f"Delete view {view.name}?",
            consequence="The board keeps showing what it shows; the view is gone for good.",
            yes="delete",
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(view.name)

        self.app.push_screen(question, answered)

    @work(group="views", exclusive=True, exit_on_error=False)
    async def _delete(self, name: str) -> None:
        try:
            await delete_view(self.host, name)
        except ViewError as exc:
            self.notify(str(exc), title="Not deleted", severity="warning")
            return
        self.notify(f"Deleted view {name}.", timeout=3)

    def action_back(self) -> None:
        """esc: out of the name box first, then back to the board."""
        if self.has_class("-naming"):
            self.remove_class("-naming")
            self.set_focus(self.query_one("#views", OptionList))
            return
        self.dismiss()
