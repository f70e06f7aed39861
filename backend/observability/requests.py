"""The ASGI layer every HTTP request passes: its id, its metrics, and `GET /metrics`.

- **Request id**: the client's `X-Request-ID` when sane (`context.SANE_REQUEST_ID`), else a
  new one; echoed in the answer's `X-Request-ID` and kept in a context variable for the log
  lines and audit events of the request (`observability/context.py`).
- **Metrics** (when `metrics_enabled`): one count and one latency per request, labelled by the
  route's template (`/api/v1/orders/{order_id}`), never by the raw path.
- **`GET /metrics`** is answered here, outside the API (no OpenAPI entry, no token of a
  user): on `metrics_port` only, when one is set (every other path there is 404); else with
  `Authorization: Bearer <metrics_token>` (401 without); with neither set, 404: an instance
  does not publish its figures to whoever asks.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from backend.observability.context import REQUEST_ID_HEADER, begin, end, request_id_from
from backend.observability.metrics import UNMATCHED, Metrics

Scope = dict[str, Any]
Message = dict[str, Any]

METRICS_PATH = "/metrics"
_HEADER = REQUEST_ID_HEADER.lower().encode()


class MetricsAccess:
    """Who may read `/metrics`: see the module's docstring."""

    def __init__(self, *, token: str | None, port: int | None) -> None:
        self.token = token.encode() if token else None
        self.port = port

    def on_metrics_port(self, scope: Scope) -> bool:
        server = scope.get("server")
        return self.port is not None and server is not None and server[1] == self.port

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        """None when this request may read the metrics, else the status and why."""
        if self.port is not None and not self.on_metrics_port(scope):
            return 404, "Not Found"
        if self.token is None:
            return None if self.port is not None else (404, "Not Found")
        header = dict(scope.get("headers") or ()).get(b"authorization", b"")
        scheme, _, given = header.partition(b" ")
        if scheme.lower() != b"bearer" or not hmac.compare_digest(given.strip(), self.token):
            return 401, "send Authorization: Bearer <metrics_token>"
        return None


class RequestObserver:
    """See the module's docstring. `metrics` None: ids only, no figures and no `/metrics`."""

    def __init__(self, app: Any, *, metrics: Metrics | None, access: MetricsAccess) -> None:
        self.app = app
        self.metrics = metrics
        self.access = access

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.metrics is not None:
            if scope["path"] == METRICS_PATH:
                await self._metrics(scope, send)
                return
            if self.access.on_metrics_port(scope):
                await _answer(send, 404, b'{"detail":"Not Found"}', b"application/json")
                return
        offered = dict(scope.get("headers") or ()).get(_HEADER)
        request_id = request_id_from(offered.decode("latin-1") if offered else None)
        echoed = (_HEADER, request_id.encode())
        _context, token = begin(request_id, scope)
        status = 500  # unless an answer starts: the app raised
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.metrics is not None:
                self.metrics.answered(
                    scope["method"], route_of(scope), status, time.perf_counter() - started
                )
            end(token)

    async def _metrics(self, scope: Scope, send: Any) -> None:
        assert self.metrics is not None
        refusal = self.access.refusal(scope)
        if refusal is not None:
            status, detail = refusal
            extra = [(b"www-authenticate", b"Bearer")] if status == 401 else []
            body = json.dumps({"detail": detail}).encode()
            await _answer(send, status, body, b"application/json", extra)
            return
        if scope["method"] != "GET":
            body = b'{"detail":"Method Not Allowed"}'
            await _answer(send, 405, body, b"application/json", [(b"allow", b"GET")])
            return
        app = scope.get("app")
        runtime = getattr(getattr(app, "state", None), "runtime", None)
        body = await self.metrics.render(runtime)
        await _answer(send, 200, body, CONTENT_TYPE_LATEST.encode())


def route_of(scope: Scope) -> str:
    """The whole template of the route that took the request (`/api/v1/orders/{order_id}`).

    Routing leaves the route on the scope; a route of a router included under a prefix knows
    only its own part (`/orders/{order_id}`), so the prefix is what the path has before it.
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if route is None or not template:
        return UNMATCHED
    path = scope["path"]
    own = _own_part.get(id(route))
    if own is None:
        pattern = route.path_regex.pattern.removeprefix("^")
        own = _own_part[id(route)] = re.compile(pattern)
    found = own.search(path)
    return template if found is None else path[: found.start()] + template


_own_part: dict[int, re.Pattern[str]] = {}
"""Each route's own part of a path, matched anywhere (routes live as long as the process)."""


async def _answer(
    send: Any,
    status: int,
    body: bytes,
    content_type: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    headers += extra or []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
