"""End to end in a real terminal: `freshline demo` (backend, simulator, console) in tmux, read
back from the screen and checked against what the REST API says."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from backend_client import FreshlineClient
from backend_client.models import (
    Alert,
    AlertRule,
    AlertState,
    CustomerIn,
    OrderCreate,
    OrderItemIn,
    OrderState,
)
from tests.console.terminal import Tmux
from tests.servers import FRESHLINE, clean_env, free_port

# serial and slow: the real console in a real terminal, with a timing bound.
pytestmark = [pytest.mark.serial, pytest.mark.slow]

WIDTH, HEIGHT = 200, 60
ROW_ID = re.compile(r"^\W{0,4}\s*(\d+)\s")  # glyph, mark, `•` new since I looked


class Terminal(Tmux):
    """The demo in tmux, in one window."""

    session = "e2e"

    def __init__(self, tmp_path: Path) -> None:
        env = clean_env(tmp_path, TMPDIR=str(tmp_path), TERM="xterm-256color")
        super().__init__(env, WIDTH, HEIGHT)


@contextmanager
def demo_in_tmux(tmp_path: Path) -> Iterator[tuple[Terminal, str]]:
    terminal = Terminal(tmp_path)
    port = free_port()
    # Nobody but the test answers incidents, and there are plenty of them.
    command = f"{FRESHLINE} demo --speed 30 --trouble 10 --no-desk --port {port}; sleep 60"
    terminal.open(command)
    try:
        yield terminal, f"http://127.0.0.1:{port}"
    finally:
        terminal.close()


def lane_rows(screen: list[str], title: str) -> tuple[int, list[int]] | None:
    """The count in a lane's border title and the order ids in its box, read off the screen."""
    for top, line in enumerate(screen):
        start = line.find(f"╭─ {title}  ")
        if start < 0:
            continue
        end = line.find("╮", start)
        count = int(re.search(rf"{title}  (\d+)", line[start:end]).group(1))  # type: ignore[union-attr]
        ids = []
        for row in screen[top + 1 :]:
            cell = row[start + 1 : end]
            if row[start : start + 1] == "╰" or not cell:
                break
            match = ROW_ID.match(cell)
            if match:
                ids.append(int(match.group(1)))
        return count, ids
    return None


def wait_for(predicate, what: str, within: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        time.sleep(0.05)  # polling the condition (a real terminal has nothing to await)


async def delivering_ids(client: FreshlineClient) -> set[int]:
    return {o.id async for o in client.orders.every(status=[OrderState.DELIVERING], limit=500)}


def test_the_real_console_follows_the_api_and_handles_an_incident_by_keyboard(
    tmp_path: Path,
) -> None:
    with demo_in_tmux(tmp_path) as (terminal, url):

        def healthy() -> bool:
            try:
                return httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, "the demo's backend", 60)
        wait_for(lambda: "● LIVE" in "\n".join(terminal.screen()), "the live board", 30)
        asyncio.run(_check_against_the_api(terminal, url))
        asyncio.run(_handle_an_incident(terminal, url))
        terminal.keys("q")
        wait_for(lambda: not healthy(), "the demo to stop with its console", 30)


async def _check_against_the_api(terminal: Terminal, url: str) -> None:
    async with FreshlineClient(url) as dispatcher, FreshlineClient(url) as channel:
        await dispatcher.login("dispatcher", "demo-dispatcher")
        await channel.login("channel-app", "demo-channel-app")

        # Orders the API reports as delivering are the ones in the delivering lane.
        async def agree() -> bool:
            before = await delivering_ids(dispatcher)
            shown = lane_rows(terminal.screen(), "Delivering")
            after = await delivering_ids(dispatcher)
            if not before or shown is None:
                return False
            count, ids = shown
            steady = before & after
            return len(before) == count == len(after) and steady <= set(ids) | (before ^ after)

        deadline = time.monotonic() + 90
        while not await agree():
            assert time.monotonic() < deadline, f"screen and API disagree:\n{_dump(terminal)}"
            await asyncio.sleep(0.2)  # polling the condition

        # A change made over REST is on screen within a second.
        external = f"E2E-{uuid.uuid4().hex[:6].upper()}"
        order = await channel.orders.create(
            OrderCreate(
                external_id=external,
                customer=CustomerIn(
                    name="Tian Yu",
                    phone="13900001234",
                    address="Sanlitun Rd 1",
                    lat=39.936,
                    lng=116.455,
                ),
                items=[OrderItemIn(sku="VEG-TOMATO", quantity=1)],
            )
        )
        # Search for it; a key sent while the console is busy drawing is read late, not lost,
        # but give the search bar time to show what was typed before going on.
        terminal.keys("/")
        # Type only once the search box has the focus: keys read before then go to the board,
        # where a digit switches screens.
        wait_for(lambda: "/ order id" in "\n".join(terminal.screen()), "the search box", 15)
        terminal.keys("-l", external)
        wait_for(lambda: external in "\n".join(terminal.screen()), "the search text", 15)
        terminal.keys("Enter")
        assert lane_rows_waiting(terminal, "New", order.id, 15)
        paid = await channel.orders.transition(order.id, "pay", order.version)
        await dispatcher.orders.transition(order.id, "start_picking", paid.version)
        committed = time.monotonic()  # the answer came: the change is committed
        lane_rows_waiting(terminal, "Picking", order.id, 5)
        took = time.monotonic() - committed
        assert took < 1.0, f"the transition took {took:.2f} s from commit to the screen"


async def _handle_an_incident(terminal: Terminal, url: str) -> None:
    """A rider reports an accident; the test, at the exception queue, acknowledges it with a
    note and gives the order to another rider, by keyboard, and the API says it happened."""
    async with FreshlineClient(url) as dispatcher:
        await dispatcher.login("dispatcher", "demo-dispatcher")

        async def an_accident() -> Alert | None:
            for alert in await dispatcher.alerts.all(rule=AlertRule.DELIVERY_EXCEPTION):
                order = await dispatcher.orders.get(alert.order_id or 0)
                if order.status == OrderState.EXCEPTION and order.rider_id is not None:
                    return alert
            return None

        deadline = time.monotonic() + 120
        while (incident := await an_accident()) is None:
            assert time.monotonic() < deadline, "no accident in two minutes of trouble"
            await asyncio.sleep(1)  # polling the API for the simulator's accident
        order_id = incident.order_id
        carrier = (await dispatcher.orders.get(order_id or 0)).rider_id

        terminal.keys("2")
        wait_for(lambda: "Alerts " in "\n".join(terminal.screen()), "the exception queue", 15)
        _cursor_to(terminal, f"#{order_id} ")
        terminal.keys("a")
        wait_for(lambda: "a note?" in "\n".join(terminal.screen()), "the note dialog", 15)
        terminal.keys("-l", "calling the rider")
        terminal.keys("Enter")
        deadline = time.monotonic() + 15
        while (await dispatcher.alerts.get(incident.id)).acknowledged_by != "dispatcher":
            assert time.monotonic() < deadline, f"not acknowledged:\n{_dump(terminal)}"
            await asyncio.sleep(0.2)  # polling the condition
        assert (await dispatcher.alerts.get(incident.id)).note == "calling the rider"

        terminal.keys("r")
        wait_for(lambda: "to whom?" in "\n".join(terminal.screen()), "the suggestions", 15)
        terminal.keys("Enter")
        # The question names the order and says the delivery resumes; only y says yes.
        wait_for(
            lambda: all(w in _dump(terminal) for w in ("n or esc: no", "resume")), "confirming", 15
        )
        terminal.keys("y")
        deadline = time.monotonic() + 15
        while (order := await dispatcher.orders.get(order_id or 0)).rider_id == carrier:
            assert time.monotonic() < deadline, f"not reassigned:\n{_dump(terminal)}"
            await asyncio.sleep(0.2)  # polling the condition
        timeline = await dispatcher.orders.timeline(order.id)
        last = [e for e in timeline if e.kind == "order.assigned"][-1]
        assert (last.actor, last.payload["to_rider"]) == ("dispatcher", order.rider_id)
        assert last.reason == "reassigned from the exception queue"
        # One step: the delivery resumed and the incident's alert is resolved.
        assert order.status != OrderState.EXCEPTION, order.status
        assert (await dispatcher.alerts.get(incident.id)).state == AlertState.RESOLVED


def _detail(terminal: Terminal) -> str:
    """The alert under the queue's cursor: its line in the detail pane."""
    return next((line for line in terminal.screen() if line.startswith(" alert ")), "")


def _cursor_to(terminal: Terminal, subject: str) -> None:
    """Down the queue until the alert about `subject` is the one shown in full below."""
    terminal.keys("Home")
    detail = ""
    for step in range(1, 121):
        # The key's effect, not a guess at how long it takes: the detail pane shows another
        # alert. At the bottom of the list it stays, so the wait is bounded (and Home comes).
        moved_at = time.monotonic()
        while (now := _detail(terminal)) == detail and time.monotonic() - moved_at < 5:
            time.sleep(0.05)  # polling the terminal
        detail = now
        if subject in detail:
            return
        # Round to the top again now and then: new alerts keep arriving above and below.
        terminal.keys("Home" if step % 40 == 0 else "Down")
    raise AssertionError(f"{subject} not found in the queue:\n{_dump(terminal)}")


def lane_rows_waiting(terminal: Terminal, title: str, order_id: int, within: float) -> bool:
    def shown() -> bool:
        rows = lane_rows(terminal.screen(), title)
        return rows is not None and order_id in rows[1]

    return wait_for(shown, f"order {order_id} in {title}:\n{_dump(terminal)}", within)


def _dump(terminal: Terminal) -> str:
    return "\n".join(terminal.screen())
