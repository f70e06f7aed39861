"""The desk's verbs on handover proposals (docs/auto-handover.md): read the recent ones, accept
one now, keep the orders with their rider, undo a handover carried out. Each sends the version
the dispatcher saw (a stale one is a 409, said as a notification), and reads the list again.

Runs inside workers; refusals become notifications, never crashes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from backend_client import FreshlineError
from backend_client.models import TakeoverProposal
from console.host import client_of, host
from console.takeover_words import moves_text

if TYPE_CHECKING:
    from screens.exceptions import ExceptionsScreen

POLL_SECONDS = 2.0
"""How often the queue reads the proposals again (also at once when its alerts change)."""
RECENT = timedelta(minutes=30)
"""How far back handovers are listed: the newest carried out within it can be undone."""


async def recent(screen: ExceptionsScreen) -> list[TakeoverProposal]:
    """The proposals of the last half hour, newest first."""
    since = host(screen.app).store.clock.now() - RECENT
    return await client_of(screen.app).takeovers.all(since=since, limit=20)


async def _send(
    screen: ExceptionsScreen,
    what: str,
    call: Callable[[], Awaitable[TakeoverProposal]],
) -> None:
    try:
        done = await call()
    except FreshlineError as exc:
        screen.app.notify(f"{what}: {exc}", title="Not done", severity="warning")
    else:
        screen.app.notify(f"{what}: {moves_text(done, screen.zone)}.", title="Sent")
    screen.read_takeovers()


async def accept(screen: ExceptionsScreen, proposal: TakeoverProposal) -> None:
    client = client_of(screen.app)
    await _send(
        screen,
        f"Handed {proposal.rider_name}'s orders over",
        lambda: client.takeovers.accept(proposal.id, proposal.version),
    )


async def keep(screen: ExceptionsScreen, proposal: TakeoverProposal) -> None:
    client = client_of(screen.app)
    await _send(
        screen,
        f"Kept with {proposal.rider_name}, not handed over",
        lambda: client.takeovers.dismiss(
            proposal.id, proposal.version, reason="kept from the exception queue"
        ),
    )


async def undo(screen: ExceptionsScreen, proposal: TakeoverProposal) -> None:
    client = client_of(screen.app)
    await _send(
        screen,
        f"Undone: back with {proposal.rider_name}",
        lambda: client.takeovers.undo(
            proposal.id, proposal.version, reason="undone from the exception queue"
        ),
    )
