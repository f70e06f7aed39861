"""Helpers for the notification tests: a notifier that records (and fails when told to), the
queued rows, and an order driven to where a rule holds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend.notifications.models import NotificationRow
from backend.notifications.notifiers import NotifierError, NotifierRefused, Outgoing
from tests.support import Api


class RecordingNotifier:
    """Takes every message it is given (in `taken`), after failing the next `failures`; a
    `refuse`d order's messages are refused for good."""

    name = "test"

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.refuse: set[int] = set()
        self.tried: list[Outgoing] = []
        self.taken: list[Outgoing] = []

    async def send(self, message: Outgoing) -> None:
        self.tried.append(message)
        if message.order_id in self.refuse:
            raise NotifierRefused("HTTP 400")
        if self.failures:
            self.failures -= 1
            raise NotifierError("gateway down")
        self.taken.append(message)

    async def close(self) -> None:
        return None


async def rows(api: Api, order_id: int | None = None) -> list[NotificationRow]:
    """The notification rows (of one order), oldest first."""
    query = select(NotificationRow).order_by(NotificationRow.id)
    if order_id is not None:
        query = query.where(NotificationRow.order_id == order_id)
    async with api.app.state.runtime.db.read() as session:
        return list((await session.scalars(query)).all())


async def rules_of(api: Api, order_id: int) -> list[str]:
    return [r.rule for r in await rows(api, order_id)]


async def evaluate(api: Api, order_ids: list[int] | None = None) -> int:
    """One pass of the app's notification engine (not running by itself in tests)."""
    engine = api.app.state.runtime.notifications
    return await engine.evaluate(order_ids)


async def refresh(api: Api, order: dict[str, Any]) -> dict[str, Any]:
    response = await api.get("dispatcher", f"/orders/{order['id']}")
    assert response.status_code == 200, response.text
    return response.json()
