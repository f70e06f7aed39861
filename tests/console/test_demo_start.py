"""How `freshline demo` starts: it refuses a port that is taken (instead of signing in to
whatever answers there), says what it is doing while the backend comes up, and `--tour` starts
a city where something happens in the first minute."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from backend.sim.demand import BEIJING, Demand
from console.tour import PLAIN, TOUR, DemoPace, pace
from tests.console.test_demo import BANNER, WAIT_S, assert_all_gone, demo, scratch

pytestmark = pytest.mark.slow  # demos starting


@contextmanager
def another_demo() -> Iterator[tuple[int, list[str]]]:
    """Something on a loopback port that answers like a Freshline backend (as another demo
    would), and the paths it was asked for."""
    asked: list[str] = []

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = json.dumps({"status": "ok", "time": "2026-11-22T04:30:00Z"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], asked
    finally:
        server.shutdown()
        server.server_close()


def test_a_demo_on_a_port_in_use_exits_with_the_reason(tmp_path: Path) -> None:
    with (
        another_demo() as (port, asked),
        demo(tmp_path, "demo", "--headless", "--port", str(port), "--duration", "30") as run,
    ):
        code = run.process.wait(timeout=WAIT_S)
        run._reader.join(timeout=5)
    assert code != 0, run.output
    assert f"port {port} is in use" in run.output, run.output
    assert asked == [], "the demo talked to whatever held the port"
    assert list(scratch(tmp_path).glob("freshline-demo-*")) == []


def test_the_demo_says_what_it_is_doing_while_it_starts(tmp_path: Path) -> None:
    with demo(tmp_path, "demo", "--headless", "--tour", "--duration", "1") as run:
        port = run.port
        assert run.process.wait(timeout=WAIT_S) == 0, run.output
        run._reader.join(timeout=5)
    lines = run.output.splitlines()
    starting = next(i for i, line in enumerate(lines) if "starting the backend on" in line)
    ready = next(i for i, line in enumerate(lines) if re.search(r"backend ready in \d", line))
    banner = next(i for i, line in enumerate(lines) if BANNER.search(line) and "sign in" in line)
    assert starting < ready < banner, run.output
    assert "from 11:45 Beijing time at 15x" in lines[banner], run.output
    assert_all_gone(port, tmp_path)


def first_real_minute(chosen: DemoPace, seed: int = 1) -> list:
    hour, minute = (int(part) for part in chosen.start.split(":"))
    start = datetime.combine(datetime(2026, 11, 22).date(), time(hour, minute), BEIJING)
    plan = Demand(seed, start, orders_per_hour=chosen.orders_per_hour, trouble=chosen.trouble)
    within = timedelta(seconds=60 * chosen.speed)
    orders = []
    for order in plan:
        if order.at - start > within:
            return orders
        orders.append(order)
    return orders


def test_the_tour_starts_busy_enough_that_something_happens_in_the_first_minute() -> None:
    plain, toured = first_real_minute(PLAIN), first_real_minute(pace(PLAIN, tour=True))
    assert len(plain) <= 2  # the plain demo: an order, maybe two
    assert len(toured) >= 30
    first = toured[0].at - datetime.combine(toured[0].at.date(), time(11, 45), BEIJING)
    assert first.total_seconds() / TOUR.speed < 5, "the first order within seconds"
    # Shortages, unpaid orders and accidents are among the first minute's orders.
    assert sum(o.fate.short_while_picking for o in toured) >= 1
    assert sum(not o.fate.pays for o in toured) >= 1
    assert sum(o.fate.accident for o in toured) >= 1
    # Across seeds too, not only the default one.
    for seed in (2, 3, 4):
        orders = first_real_minute(TOUR, seed)
        assert len(orders) >= 30 and any(o.fate.short_while_picking for o in orders)


def test_options_given_beside_the_tour_win() -> None:
    asked = DemoPace(speed=5.0, start=PLAIN.start, orders_per_hour=PLAIN.orders_per_hour)
    assert pace(asked, tour=True) == DemoPace(5.0, TOUR.start, TOUR.orders_per_hour, TOUR.trouble)
    assert pace(asked, tour=False) == asked


def test_the_backend_is_known_by_its_own_listening_socket_not_by_any_answer() -> None:
    """A free port can be taken by another program between the demo choosing it and its backend
    binding it; then that program answers the health check. Readiness is the backend's own
    listening socket (Linux's /proc), so the demo never signs in to a stranger."""
    import os
    import socket
    import subprocess
    import sys

    from console.embedded import listens_on

    with socket.socket() as mine:
        mine.bind(("127.0.0.1", 0))
        mine.listen()
        port = mine.getsockname()[1]
        assert listens_on(os.getpid(), port)
        stranger = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)"], stdin=subprocess.DEVNULL
        )
        try:
            assert not listens_on(stranger.pid, port)
        finally:
            stranger.kill()
            stranger.wait()
    assert not listens_on(os.getpid(), port)  # closed
