"""Wall mode (`freshline wall`): the console as a wall display nobody touches.

It signs in by itself as a read-only viewer account (again whenever its token dies), rotates
through the screens that exist (the KPIs, the board summary, the riders map once there is one)
every N seconds, and leaves reconnecting to the live feed, which already survives backend
restarts and network drops. The screens say loudly when their numbers are stale.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backend_client import (
    Backoff,
    FreshlineClient,
    FreshlineError,
    NotAuthenticated,
    RateLimited,
    StreamState,
    StreamStatus,
)
from backend_client.models import Me, Role

if TYPE_CHECKING:
    from console.app import FreshlineApp

log = logging.getLogger(__name__)

ROTATION = ("kpi", "summary", "riders")
"""The wall's screens in order; those the console does not have (yet) are left out."""
DEMO_VIEWER = {"username": "viewer", "password": "demo-viewer"}
"""The demo's viewer account (`freshline serve --demo`)."""
REFUSED_PAUSE = 120.0
"""After a refused password, wait this long before trying again (the login limiter counts)."""


@dataclass(frozen=True)
class WallSettings:
    rotate_seconds: float = 20.0
    username: str = "viewer"
    password: str | None = None
    """Without one the wall needs a kept token, and a person to sign in again when it dies."""


def rotation(modes: Mapping[str, object]) -> list[str]:
    return [mode for mode in ROTATION if mode in modes]


class Wall:
    """The app's wall behaviour: rotation and signing in without a keyboard."""

    def __init__(self, app: FreshlineApp, settings: WallSettings) -> None:
        self.app, self.settings = app, settings
        self.screens = rotation(app.MODES)
        self.index = 0

    @property
    def first(self) -> str:
        return self.screens[0]

    def start(self) -> None:
        self.app.add_class("-wall")
        if len(self.screens) > 1:
            self.app.set_interval(self.settings.rotate_seconds, self.rotate, name="wall-rotation")

    async def rotate(self) -> None:
        """On to the next screen, unless a dialog (a login) is up or the current mode has no
        screen yet (a switch still settling on a loaded machine): that beat is skipped."""
        if len(self.app.screen_stack) != 1:
            return
        self.index = (self.index + 1) % len(self.screens)
        await self.app.switch_mode(self.screens[self.index])

    def check(self, me: Me) -> bool:
        """A wall watches: any account that can change things is refused (and the app ends)."""
        if me.role == Role.VIEWER:
            return True
        self.app.exit(
            return_code=2,
            message=f"freshline wall signs in as a viewer account (read-only); "
            f"{me.username} is a {me.role}: create a viewer account, or use `viewer`",
        )
        return False

    def sign_in(self, why: str) -> bool:
        """Start signing in by itself; False when it cannot (no password: a person must)."""
        if self.settings.password is None:
            return False
        self.app.run_worker(self._sign_in(why), group="session", exclusive=True)
        return True

    async def _sign_in(self, why: str) -> None:
        app = self.app
        backoff = Backoff(base=1.0, cap=30.0)
        attempt = 0
        log.info("wall: signing in as %s (%s)", self.settings.username, why or "start")
        while True:
            client = FreshlineClient(app.server)
            try:
                await client.login(self.settings.username, self.settings.password or "")
                me = await client.me()
            except NotAuthenticated:
                await client.aclose()
                self._offline(f"cannot sign in as {self.settings.username}: wrong password")
                await asyncio.sleep(REFUSED_PAUSE)
                continue
            except (FreshlineError, RateLimited) as exc:
                await client.aclose()
                attempt += 1
                self._offline(f"cannot reach the server yet (attempt {attempt})", exc)
                await asyncio.sleep(backoff.delay(attempt))
                continue
            break
        if not self.check(me):
            await client.aclose()
            return
        await app.use_session(client, me)

    def _offline(self, detail: str, exc: Exception | None = None) -> None:
        log.info("wall: %s %r", detail, exc)
        self.app.store.set_connection(StreamStatus(StreamState.OFFLINE, detail=detail))
