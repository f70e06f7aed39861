"""The stream's parts as route dependencies (see `backend/deps.py`): the hub, the feed, the bus."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from backend.realtime.bus import Bus
from backend.realtime.feed import EventFeed
from backend.realtime.hub import Hub


async def hub(connection: HTTPConnection) -> Hub:
    """This instance's WebSocket connections."""
    return connection.app.state.runtime.hub


async def feed(connection: HTTPConnection) -> EventFeed:
    """The committed events, in `seq` order, as this instance has read them."""
    return connection.app.state.runtime.feed


async def bus(connection: HTTPConnection) -> Bus:
    """The news between instances (positions, new events, forgotten tokens)."""
    return connection.app.state.runtime.bus


HubDep = Annotated[Hub, Depends(hub)]
FeedDep = Annotated[EventFeed, Depends(feed)]
BusDep = Annotated[Bus, Depends(bus)]
