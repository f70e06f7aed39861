"""A socket whose client goes before its handshake is answered is nobody's error: no traceback
in the log, no exception out of the app (uvicorn raises `ClientDisconnected`, an `OSError`,
from the accept; the database-error handler used to take it for a request and fail on it)."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

import pytest
from uvicorn.protocols.utils import ClientDisconnected

from tests.backend.test_tracking import token_of
from tests.support import Api


def socket_scope(path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "ws",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"testserver")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "subprotocols": [],
    }


async def connect_and_vanish(api: Api, path: str, headers: dict[str, str]) -> list[str]:
    """Open a socket on the app whose client is gone by the time the app accepts it; the
    messages the app tried to send."""
    sent: list[str] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message["type"])
        raise ClientDisconnected()

    await api.app(socket_scope(path, headers), receive, send)
    return sent


@pytest.mark.parametrize("socket", ["stream", "tracking"])
async def test_a_client_gone_before_the_handshake_is_answered_is_no_error(
    api: Api, socket: str, caplog: pytest.LogCaptureFixture
) -> None:
    if socket == "stream":
        path, headers = "/api/v1/stream", await api.auth("dispatcher")
    else:
        path, headers = f"/api/v1/track/{token_of(await api.create_order())}/live", {}
    with caplog.at_level(logging.DEBUG):
        sent = await connect_and_vanish(api, path, headers)
    assert sent == ["websocket.accept"]  # it got as far as accepting, and no further
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not errors, [(r.name, r.getMessage()) for r in errors]
    assert any("before it was answered" in r.getMessage() for r in caplog.records)
