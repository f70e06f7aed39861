"""`y` copies and alerts ring, with Pilot: what goes to the clipboard for each key typed after
`y` (in one burst), who may copy a phone or a link, and the escape sequences the console writes
for a critical alert: once, and not while switched off."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from backend_client import FreshlineClient
from backend_client.models import AlertSeverity, OrderState, Role
from console.app import FreshlineApp
from console.attention import BEL, AttentionSettings, Desktop
from screens.board import BoardScreen
from screens.order_detail import OrderDetailScreen
from tests.console.conftest import drawn, redrawn, until
from tests.console.samples import me_as, order
from tests.console.test_console_live import notes_of
from tests.console.test_since_looked import alert_event
from tests.console.test_snapshots import queue_app


class Backend:
    """Answers `GET /orders/{id}` as the server would for the account: the phone whole or
    masked, the tracking link (a path: no public address set) or none."""

    def __init__(self, role: Role) -> None:
        self.role = role
        self.asked: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/timeline"):
            return httpx.Response(200, json=[])  # the order's detail reads it too
        if not re.fullmatch(r"/api/v1/orders/\d+", path):
            return httpx.Response(404, json={"detail": "not here"})
        self.asked.append(path)
        order_id = int(path.rsplit("/", 1)[-1])
        answer = order(order_id - 1000, OrderState.CREATED, 40, None)
        if self.role == Role.VIEWER:
            answer = answer.model_copy(
                update={"customer": answer.customer.model_copy(update={"phone": "138****0003"})}
            )
        else:
            answer = answer.model_copy(update={"tracking_url": f"/t/tok{order_id}"})
        return httpx.Response(200, json=json.loads(answer.model_dump_json()))


def desk(role: Role, backend: Backend, **settings: object) -> FreshlineApp:
    sample = queue_app()
    written: list[str] = []
    app = FreshlineApp(
        store=sample.store,
        zone=sample.zone,
        live=False,
        me=me_as(role, str(role)),
        terminal_write=written.append,
        **settings,  # type: ignore[arg-type]
    )
    app.client = FreshlineClient(
        "http://freshline.test", token="t", transport=httpx.MockTransport(backend)
    )
    app.written = written  # type: ignore[attr-defined]
    return app


async def test_y_then_a_key_copies_the_id_the_phone_or_the_link_and_nothing_else_runs() -> None:
    backend = Backend(Role.DISPATCHER)
    app = desk(Role.DISPATCHER, backend)
    async with app.run_test(size=(160, 48)) as pilot:
        await drawn(pilot)
        board = app.screen
        assert isinstance(board, BoardScreen)
        under = board.lane_view(board.current).current
        assert under == 1003
        await pilot.press("y", "i")
        await until(pilot, lambda: app.clipboard == "1003", "the id copied")
        await pilot.press("y", "p")
        await until(pilot, lambda: app.clipboard == "13800130003", "the phone copied")
        await pilot.press("y", "l")  # `l` alone would show late orders only
        await until(pilot, lambda: app.clipboard.endswith("/t/tok1003"), "the link copied")
        assert app.clipboard == "http://freshline.test/t/tok1003"
        assert not board.order_filter.late_only
        await pilot.press("space", "y", "escape")  # esc after y: nothing copied, marks stay
        await pilot.press("y", "y")
        await until(pilot, lambda: app.clipboard != "http://freshline.test/t/tok1003", "yy")
        assert board.marks and app.clipboard == str(board.lane_view(board.current).current)
        assert backend.asked == ["/api/v1/orders/1003", "/api/v1/orders/1003"]


async def test_an_account_that_sees_phones_masked_cannot_copy_one_nor_a_link() -> None:
    backend = Backend(Role.VIEWER)
    app = desk(Role.VIEWER, backend)
    async with app.run_test(size=(160, 48)) as pilot:
        await drawn(pilot)
        said = notes_of(app)
        await pilot.press("y", "p", "y", "l")
        await until(pilot, lambda: len(said) >= 4, "the refusals")
        assert said[1].startswith("Copy the phone: not allowed: this account sees phones masked")
        assert said[3].startswith("Copy the tracking link: not allowed")
        assert app.clipboard == "" and backend.asked == []
        await pilot.press("y", "i")  # the id is on the board for everyone
        await until(pilot, lambda: app.clipboard == "1003", "the id copied")


async def test_a_critical_alert_rings_and_notifies_once_and_not_while_switched_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("TMUX", raising=False)
    app = desk(
        Role.DISPATCHER,
        Backend(Role.DISPATCHER),
        attention=AttentionSettings(desktop=Desktop.OSC9),
    )
    written: list[str] = app.written  # type: ignore[attr-defined]
    async with app.run_test(size=(160, 48)) as pilot:
        await drawn(pilot)
        await redrawn(pilot)
        assert written == []  # the alerts standing at start-up are on the queue, not rung
        store = app.store
        crash = store.alerts.alerts[3]

        def opened(seq: int, alert_id: int, severity: str = "critical") -> None:
            alert = crash.model_copy(
                update={
                    "id": alert_id,
                    "severity": AlertSeverity(severity),
                    "title": f"Crash {alert_id}",
                }
            )
            assert store.apply(alert_event(seq, alert))

        opened(501, 7)
        opened(502, 8, "warning")  # warnings do not ring by default
        await redrawn(pilot)
        await redrawn(pilot)
        assert written == [BEL + "\x1b]9;Freshline: 1 critical alert: Crash 7\x1b\\"]
        await pilot.press("2", "1")  # reloads and redraws: never twice
        await redrawn(pilot)
        assert len(written) == 1
        await pilot.press("ctrl+g")
        opened(503, 9)
        await redrawn(pilot)
        assert len(written) == 1
        await pilot.press("ctrl+g")
        opened(504, 10)
        await redrawn(pilot)
        assert written[1:] == [BEL + "\x1b]9;Freshline: 1 critical alert: Crash 10\x1b\\"]


async def test_y_copies_from_an_orders_detail_and_its_p_waits_for_the_phone() -> None:
    backend = Backend(Role.SUPPORT)
    app = desk(Role.SUPPORT, backend)
    async with app.run_test(size=(160, 48)) as pilot:
        await drawn(pilot)
        await pilot.press("enter", "y", "p")  # open 1003, copy its phone (`p` alone: proofs)
        await until(pilot, lambda: app.clipboard == "13800130003", "the phone copied")
        assert isinstance(app.screen, OrderDetailScreen) and app.screen.order_id == 1003
