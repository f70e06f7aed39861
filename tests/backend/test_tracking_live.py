"""The tracking link's live socket against a real server: the view first, a new view on each
change in seq order, resume by `since`, the rider's moves while DELIVERING, and refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.backend.tracking_support import Desk, north
from tests.servers import Server, serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {"FRESHLINE_STREAM_HEARTBEAT_SECONDS": "1"}
    with serving(tmp_path_factory.mktemp("tracking-live"), "--demo", env=env) as server:
        yield server


@pytest.fixture(scope="module")
def desk(server: Server) -> Desk:
    return Desk(server.base_url)


def live(server: Server, token: str, since: int | None = None) -> ClientConnection:
    query = "" if since is None else f"?since={since}"
    url = f"ws://127.0.0.1:{server.port}/api/v1/track/{token}/live{query}"
    return connect(url, compression=None, open_timeout=10)


def next_message(ws: ClientConnection, kind: str, within: float = 15.0) -> dict[str, Any]:
    """The next message of `kind`, skipping others (`within`: a bound for a loaded machine)."""
    while True:
        message = json.loads(ws.recv(timeout=within))
        if message["type"] == kind:
            return dict(message)


def test_views_come_in_seq_order_and_resume_from_since(server: Server, desk: Desk) -> None:
    order, token = desk.order()
    with live(server, token) as ws:
        first = next_message(ws, "view")["view"]
        assert first["status"] == "CREATED"
        order = desk.act("channel-app", order, "pay")
        paid = next_message(ws, "view")["view"]
        assert paid["status"] == "PAID" and paid["seq"] > first["seq"]
    # Back with the newest seq: nothing is owed until the order changes again.
    with live(server, token, since=paid["seq"]) as ws:
        assert json.loads(ws.recv(timeout=15))["type"] == "heartbeat"
        desk.act("dispatcher", order, "start_picking")
        picking = next_message(ws, "view")["view"]
        assert picking["status"] == "PICKING" and picking["seq"] > paid["seq"]
    # Back from an older seq: the current view at once (a view is the whole state).
    with live(server, token, since=first["seq"]) as ws:
        assert next_message(ws, "view")["view"]["seq"] == picking["seq"]
    # Ahead of the order's log (a replaced database): the view as it stands, at once.
    with live(server, token, since=picking["seq"] + 1000) as ws:
        assert next_message(ws, "view")["view"]["seq"] == picking["seq"]


def test_the_riders_moves_reach_only_their_orders_links(server: Server, desk: Desk) -> None:
    mine, my_token = desk.order()
    _other, other_token = desk.order()
    with live(server, my_token) as ws, live(server, other_token) as quiet:
        next_message(ws, "view")
        next_message(quiet, "view")
        desk.out_for_delivery(mine, rider=2)
        # Views are latest-wins: a burst of changes may come as its newest view only.
        while (view := next_message(ws, "view")["view"])["status"] != "DELIVERING":
            pass
        desk.fix(2, north(-1800))
        moved = next_message(ws, "position")
        assert moved["lat"] == pytest.approx(north(-1800)[0])
        assert set(moved) == {"type", "lat", "lng", "at"}  # no rider id, nothing else
        # The other order's link heard nothing of rider 2: only heartbeats.
        for _ in range(2):
            assert json.loads(quiet.recv(timeout=15))["type"] == "heartbeat"
    assert view["rider"]["first_name"] == "Zhang"


def test_unknown_links_are_refused_at_the_handshake(server: Server) -> None:
    for token in ("Q" * 32, "short"):
        with pytest.raises(InvalidStatus) as refused:
            live(server, token)
        assert refused.value.response.status_code == 403
