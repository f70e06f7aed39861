"""The Webhooks screen with Pilot: reached from the palette, failing endpoints first and marked
`!!` (readable without colour), readable at 80x24, `p` resumes a parked subscription for an
admin and is dimmed, with the reason, for a supervisor. The backend is answered by an httpx
MockTransport speaking the real wire models."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from backend_client import FreshlineClient
from backend_client.models import Role, Webhook
from console.app import FreshlineApp
from console.store import FrozenClock, Store
from screens.webhooks import WebhooksScreen, failing, ordered
from tests.console.conftest import until
from tests.console.samples import me_as

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def hook(n: int, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": n,
        "url": f"https://hooks.example.com/{n}",
        "kinds": ["order.*"],
        "channel": None,
        "warehouse_id": None,
        "description": None,
        "state": "active",
        "cursor": 500,
        "head_seq": 500,
        "lag": 0,
        "failures": 0,
        "last_error": None,
        "last_attempt_at": None,
        "last_delivered_at": None,
        "created_at": NOW.isoformat(),
        "created_by": "admin",
    }
    return values | fields


class Backend:
    """The webhook routes, as far as the screen uses them."""

    def __init__(self) -> None:
        self.hooks = [
            hook(1, channel="app"),
            hook(2, state="parked", failures=8, lag=40, cursor=460,
                 last_error="seq 461: HTTP 503: down"),
            hook(3, warehouse_id="WH-CY", kinds=["alert.*", "return.*"], failures=2, lag=3,
                 cursor=497, last_error="seq 498: ConnectError"),
        ]  # fmt: skip
        self.resumed: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET" and path == "/api/v1/webhooks":
            return httpx.Response(200, json=self.hooks)
        if request.method == "POST" and path.endswith("/resume"):
            webhook_id = int(path.split("/")[-2])
            self.resumed.append(webhook_id)
            row = next(h for h in self.hooks if h["id"] == webhook_id)
            row.update(state="active", failures=0)
            return httpx.Response(200, json=row)
        return httpx.Response(404, json={"detail": "no"})


def webhooks_app(role: Role, backend: Backend) -> FreshlineApp:
    store = Store(FrozenClock(NOW))
    store.load([], [], last_seq=500)
    app = FreshlineApp(store=store, live=False, me=me_as(role, str(role)))
    app.client = FreshlineClient(
        "http://freshline.test", token="t", transport=httpx.MockTransport(backend)
    )
    return app


async def open_webhooks(app: FreshlineApp, pilot: Any) -> WebhooksScreen:
    await until(pilot, lambda: bool(app.screen_stack) and app.screen.is_mounted, "the board")
    await app.run_action("app.switch_mode('webhooks')")  # what the palette runs
    screen = app.screen
    assert isinstance(screen, WebhooksScreen)
    await until(pilot, lambda: len(screen.hooks) == 3, "the subscriptions read")
    return screen


async def test_failing_endpoints_come_first_marked_and_an_admin_resumes_one() -> None:
    backend = Backend()
    app = webhooks_app(Role.ADMIN, backend)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_webhooks(app, pilot)
        table = screen.query_one("#hooks")
        order = [str(table.coordinate_to_cell_key((row, 0)).row_key.value) for row in range(3)]  # type: ignore[attr-defined]
        assert order == ["2", "3", "1"]  # parked, failing, fine
        summary = str(screen.query_one("#hooks-summary").render())
        assert "3 subscriptions · 1 parked · 1 failing" in summary
        state = table.get_cell("2", "state")  # type: ignore[attr-defined]
        assert state.plain == "!! parked" and "bold" in str(state.style)
        assert table.get_cell("1", "state").plain == "active"  # type: ignore[attr-defined]
        # At 80x24 what matters is in sight without scrolling sideways: up to the failures.
        columns = list(table.columns.values())[:6]  # type: ignore[attr-defined]
        assert sum(column.get_render_width(table) for column in columns) <= 78

        await pilot.press("p")  # the cursor is on the parked one, first
        await until(pilot, lambda: backend.resumed == [2], "resumed")
        await until(
            pilot, lambda: screen.hooks[2].state == "active", "the list read again after it"
        )


async def test_a_supervisor_reads_but_may_not_resume() -> None:
    backend = Backend()
    app = webhooks_app(Role.SUPERVISOR, backend)
    notes: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_webhooks(app, pilot)
        app.notify = lambda message, **_: notes.append(str(message))  # type: ignore[method-assign]
        await pilot.press("p")
        await until(pilot, lambda: notes, "the refusal")
        assert backend.resumed == []
        assert notes == ["webhooks are managed by admins"]
        assert screen.check_action("resume", ()) is None  # dimmed in the footer


def test_ordering_and_failing_rules() -> None:
    hooks = [Webhook.model_validate(h) for h in Backend().hooks]
    assert [h.id for h in ordered(hooks)] == [2, 3, 1]
    assert [failing(h) for h in hooks] == [False, True, True]
    assert json.dumps(hooks[0].model_dump(mode="json"))  # the wire model round-trips
