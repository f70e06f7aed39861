"""Who and what the request under way is about, for every log line and audit event it causes.

The request middleware (`observability/requests.py`) opens a `RequestContext` per HTTP request
and keeps it in a context variable; the permission gate fills in the caller, the route's path
parameters the order. Anything that runs inside the request (a service's log line, uvicorn's
access line, the writer capturing the id for the event log) reads it from there, without
being handed it. Standard library only: the writer and the logging setup import it.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
"""A client's request id is kept only if it is short and plain: it is written to every log
line and to the event log, so nothing that could forge a log line or carry a payload."""


@dataclass(slots=True)
class RequestContext:
    """One HTTP request as logs tell it."""

    request_id: str
    scope: dict[str, Any] = field(default_factory=dict)
    """The request's ASGI scope: routing adds the path parameters to it as it goes."""
    user: str | None = None
    role: str | None = None

    @property
    def order_id(self) -> int | None:
        """The order the route's path names (`/orders/{order_id}/...`), once routed."""
        value = self.scope.get("path_params", {}).get("order_id")
        if isinstance(value, int):
            return value
        return int(value) if isinstance(value, str) and value.isdigit() else None


_current: ContextVar[RequestContext | None] = ContextVar("freshline_request", default=None)


def current() -> RequestContext | None:
    """The request under way in this task, if any."""
    return _current.get()


def current_request_id() -> str | None:
    """The id of the request under way, if any."""
    context = _current.get()
    return None if context is None else context.request_id


def begin(
    request_id: str, scope: dict[str, Any]
) -> tuple[RequestContext, Token[RequestContext | None]]:
    """Open a request's context; `end(token)` when it is answered."""
    context = RequestContext(request_id, scope)
    return context, _current.set(context)


def end(token: Token[RequestContext | None]) -> None:
    _current.reset(token)


def request_id_from(offered: str | None) -> str:
    """The client's `X-Request-ID` when it is sane (`SANE_REQUEST_ID`), else a new one."""
    if offered is not None and SANE_REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def note_caller(user: str, role: str) -> None:
    """The request is by `user` in `role` (told by the permission gate)."""
    context = _current.get()
    if context is not None:
        context.user, context.role = user, role
