"""A console against a server shows the server's business time zone, not the machine's: the
same clock on every console, on the wall and in the demo (a real backend on a loopback port)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from console import launch
from console.app import FreshlineApp
from console.config import ConsoleConfig
from console.kpi_feed import KpiFeed
from console.store import Store
from tests.servers import free_port
from tests.stream_support import LiveServer


@pytest.mark.slow  # a real backend
async def test_a_console_against_a_server_takes_the_servers_time_zone(
    backend: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")  # the machine is elsewhere
    zones: list[object] = []

    async def run_async(self: FreshlineApp) -> None:
        zones.append(self.zone)

    monkeypatch.setattr(FreshlineApp, "run_async", run_async)
    config = ConsoleConfig(console_log=tmp_path / "console.log", token_file=True)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        await launch.run_console(backend.base_url, config)
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:], root.level = handlers, level
    assert zones == [ZoneInfo("Asia/Shanghai")]


async def test_a_server_out_of_reach_leaves_the_machines_zone() -> None:
    assert await launch.business_zone(f"http://127.0.0.1:{free_port()}") is None


def test_the_kpi_day_cuts_at_the_business_zones_midnight() -> None:
    feed = KpiFeed(client=None, store=Store(), zone=ZoneInfo("Asia/Shanghai"))  # type: ignore[arg-type]
    start, _ = feed.day(datetime(2026, 11, 22, 20, 0, tzinfo=UTC))  # 04:00 on the 23rd there
    assert start == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
