"""Saved views at the console: what a board looks like (`console.board_look`), kept on the
server under a name per account (`GET/POST/PATCH/DELETE /views`), opened in two keys (`v 1`),
the default at sign-in, and `save_view(host, name)` / `open_view(host, name)` for whatever names
one (the `:view` command).

No Textual here: the board implements `ViewedBoard` and registers with the app's `ViewBook`;
the functions below talk to the server through `backend_client` and hand the board what to show.
Errors come out as `ViewError` with a sentence a person can act on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from pydantic import TypeAdapter, ValidationError

from backend_client import Conflict, FreshlineError, NotFound
from backend_client.models import SavedView, SavedViewUpdate, ViewSettingsIn
from backend_client.models.views import ViewName
from console.board_look import BoardLook, look_of, settings_of
from console.roles import VIEWS_KEEP, may

if TYPE_CHECKING:
    from console.host import ConsoleHost

log = logging.getLogger(__name__)

VIEW_NAME: TypeAdapter[str] = TypeAdapter(ViewName)


class ViewError(Exception):
    """A view could not be saved, opened or changed; the message says why, in words."""


# --- the views of the account signed in -----------------------------------------------------------


class ViewedBoard(Protocol):
    """The board, as views see it (screens/board.py)."""

    def board_look(self) -> BoardLook:
        """What the board shows now."""
        ...

    def show_look(self, look: BoardLook) -> None:
        """Show `look`: filter, lanes, focus, columns and sorts."""
        ...


class ViewBook:
    """The signed-in account's views as last read from the server, the one open, and the board
    to show them on (which registers itself when it mounts)."""

    def __init__(self) -> None:
        self.saved: list[SavedView] = []
        """By name, as the server lists them."""
        self.current: str | None = None
        """The name of the view the board shows (None: none, or changed since)."""
        self.board: ViewedBoard | None = None
        self.pending: BoardLook | None = None
        """A view opened before the board was up (the default at sign-in): shown when it is."""
        self.changed: Callable[[], None] | None = None
        """Called when the list or the view open changes (the picker redraws)."""

    def named(self, name: str) -> SavedView | None:
        return next((v for v in self.saved if v.name == name), None)

    @property
    def default(self) -> SavedView | None:
        return next((v for v in self.saved if v.default), None)

    def keep(self, views: list[SavedView]) -> None:
        self.saved = sorted(views, key=lambda v: v.name)
        if self.current is not None and self.named(self.current) is None:
            self.current = None
        self._tell()

    def put(self, view: SavedView) -> None:
        """One view as the server answered it (a default clears the others')."""
        others = [v for v in self.saved if v.id != view.id]
        if view.default:
            others = [v.model_copy(update={"default": False}) for v in others]
        self.keep([*others, view])

    def show(self, view: SavedView) -> None:
        look = look_of(view.settings)
        self.current = view.name
        if self.board is None:
            self.pending = look
        else:
            self.board.show_look(look)
        self._tell()

    def attach(self, board: ViewedBoard) -> None:
        """The board is up: it shows whatever view was opened before it."""
        self.board = board
        if self.pending is not None:
            look, self.pending = self.pending, None
            board.show_look(look)

    def forget(self) -> None:
        """Signed out (or signing in anew): nobody's views, and the board as it is by default,
        not as the last account left it."""
        self.saved, self.current, self.pending = [], None, None
        if self.board is not None:
            self.board.show_look(BoardLook())
        self._tell()

    def _tell(self) -> None:
        if self.changed is not None:
            self.changed()


def _keeps_views(host: ConsoleHost) -> None:
    if host.client is None or host.me is None:
        raise ViewError("sign in first: views are kept per account")
    if not may(host.me, VIEWS_KEEP):
        raise ViewError("this account keeps no views: views are the desk's board")


def _words(exc: FreshlineError) -> str:
    return str(exc) or type(exc).__name__


async def load_views(host: ConsoleHost) -> list[SavedView]:
    """The account's views from the server, kept in the book."""
    _keeps_views(host)
    assert host.client is not None
    try:
        views = await host.client.views.all()
    except FreshlineError as exc:
        raise ViewError(f"could not read your views: {_words(exc)}") from exc
    host.views.keep(views)
    return host.views.saved


async def open_default_view(host: ConsoleHost) -> SavedView | None:
    """At sign-in: read the account's views and open its default, if it has one (an account
    that keeps no views, or a server that cannot answer now, opens the plain board)."""
    host.views.forget()
    if host.me is None or not may(host.me, VIEWS_KEEP):
        return None
    try:
        await load_views(host)
    except ViewError as exc:
        log.warning("views at sign-in: %s", exc)
        return None
    default = host.views.default
    if default is not None:
        host.views.show(default)
    return default


async def open_view(host: ConsoleHost, name: str) -> SavedView:
    """Show the view called `name` on the board; ViewError if there is none."""
    _keeps_views(host)
    view = host.views.named(name)
    if view is None:
        await load_views(host)  # saved from another terminal since?
        view = host.views.named(name)
    if view is None:
        have = ", ".join(v.name for v in host.views.saved) or "none yet"
        raise ViewError(f"no view named {name!r} (yours: {have})")
    host.views.show(view)
    return view


async def save_view(host: ConsoleHost, name: str, *, default: bool | None = None) -> SavedView:
    """Keep what the board shows now as `name` (a new view, or that view replaced), and make it
    the default if `default`; the view is then the one open."""
    _keeps_views(host)
    try:
        name = VIEW_NAME.validate_python(name)
    except ValidationError as exc:
        why = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ViewError(f"{name!r} cannot name a view: {why}") from None
    board = host.views.board
    if board is None:
        raise ViewError("the board is not up: a view is what the board shows")
    settings = settings_of(board.board_look())
    assert host.client is not None
    try:
        held = host.views.named(name)
        if held is None:
            view = await host.client.views.create(name, settings, default=bool(default))
        else:
            change = SavedViewUpdate(version=held.version, settings=settings, default=default)
            view = await _update(host, held, change)
    except FreshlineError as exc:
        raise ViewError(f"could not save view {name!r}: {_words(exc)}") from exc
    host.views.put(view)
    host.views.current = view.name
    return view


async def keep_layouts(host: ConsoleHost) -> SavedView | None:
    """The lanes' columns and sorts changed: keep them in the view open (its filter as it was
    saved, not whatever was typed since); None when no view is open."""
    name, board = host.views.current, host.views.board
    held = host.views.named(name) if name else None
    if held is None or board is None:
        return None
    _keeps_views(host)
    layouts = settings_of(board.board_look()).model_dump(mode="json")["layouts"]
    settings = ViewSettingsIn.model_validate(
        {**held.settings.model_dump(mode="json"), "layouts": layouts}
    )
    try:
        view = await _update(host, held, SavedViewUpdate(version=held.version, settings=settings))
    except FreshlineError as exc:
        raise ViewError(f"could not keep the columns in view {held.name!r}: {_words(exc)}") from exc
    host.views.put(view)
    return view


async def set_default(host: ConsoleHost, name: str, default: bool = True) -> SavedView:
    """Make `name` the view opened at sign-in (or, `default=False`, stop it being one)."""
    _keeps_views(host)
    held = host.views.named(name)
    if held is None:
        raise ViewError(f"no view named {name!r}")
    try:
        view = await _update(host, held, SavedViewUpdate(version=held.version, default=default))
    except FreshlineError as exc:
        raise ViewError(f"could not change view {name!r}: {_words(exc)}") from exc
    host.views.put(view)
    return view


async def delete_view(host: ConsoleHost, name: str) -> None:
    """Forget the view called `name` (the board keeps showing what it shows)."""
    _keeps_views(host)
    held = host.views.named(name)
    if held is None:
        raise ViewError(f"no view named {name!r}")
    assert host.client is not None
    try:
        await host.client.views.delete(held.id)
    except NotFound:
        pass  # deleted from another terminal: gone either way
    except FreshlineError as exc:
        raise ViewError(f"could not delete view {name!r}: {_words(exc)}") from exc
    if host.views.current == name:
        host.views.current = None
    host.views.keep([v for v in host.views.saved if v.id != held.id])


async def _update(host: ConsoleHost, held: SavedView, change: SavedViewUpdate) -> SavedView:
    """PATCH the view; when another terminal of the same account changed it since we read it,
    read it again and apply the same change to what is there now (the change replaces whole
    fields, so the newer version is the right base)."""
    assert host.client is not None
    try:
        return await host.client.views.update(held.id, change)
    except Conflict:
        fresh = await host.client.views.get(held.id)
        return await host.client.views.update(
            held.id, change.model_copy(update={"version": fresh.version})
        )
