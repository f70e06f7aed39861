"""What the console's screens and widgets may ask of the app they run in.

`FreshlineApp` implements it (mypy checks, at the end of `console/app.py`); screens read it through
`host(self.app)` instead of reaching into the app by name. Textual's own `App` API (notify,
push_screen, ...) is used as it is.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:
    from textual.app import App

    from backend_client import FreshlineClient
    from backend_client.models import Me
    from console.looked import LookedBook
    from console.store import Store
    from console.views import ViewBook


class ConsoleHost(Protocol):
    """The console app, as its screens and widgets see it."""

    store: Store
    """The live picture of the backend the screens draw."""
    client: FreshlineClient | None
    """The signed-in client, None until someone signs in."""
    zone: tzinfo | None
    """Where times are shown (the backend's business zone), or None for the terminal's own."""
    refresh_hz: float
    """How often screens redraw what changed."""
    me: Me | None
    """Who is signed in, with the permissions the server gave them; None before sign-in."""
    views: ViewBook
    """The signed-in account's saved views and the one open (`console.views`)."""

    @property
    def looked(self) -> LookedBook:
        """What this desk has looked at ("since I looked": `console.looked`)."""
        ...

    @property
    def who(self) -> str:
        """`name (role)` for the top bar, or "" before sign-in."""
        ...

    def open_order(self, order_id: int) -> None:
        """Push the order's detail (not behind the sign-in form)."""
        ...

    def open_track(self, order_id: int) -> None:
        """Push the replay of the order's track."""
        ...

    def reload_feed(self) -> None:
        """ctrl+r: a fresh snapshot."""
        ...

    def reload_kpis(self) -> None:
        """ctrl+r on the KPI screen: the summary and the day now."""
        ...


def host(app: App[object]) -> ConsoleHost:
    """`app` as the console host it is: the one place the console's screens name its type."""
    return cast("ConsoleHost", app)


def client_of(app: App[object]) -> FreshlineClient:
    """The signed-in client: actions on orders and alerts are only offered after sign-in."""
    client = host(app).client
    if client is None:
        raise RuntimeError("not signed in: nothing can be sent yet")
    return client
