"""Every exception the Freshline client raises, importable from `backend_client`.

FreshlineError
├── ConnectionFailed      the server could not be reached, or the connection broke
├── UnexpectedAnswer      a success answer that does not fit the wire contract
├── StreamRefused         the stream closed for a reason retrying cannot fix (4400, 4403)
├── GapDetected           an event's `prev_seq` is not the last applied seq; the stream heals it
│                         by reconnecting from there, so a reader never sees this one
├── KeyringUnavailable    no keyring here and no token file opted in: sign in each time
└── ApiError              the server answered with an error status (.status, .detail, .body)
    ├── NotAuthenticated  401: no token, or it expired or was revoked: sign in again (also a
    │                          stream closed with 4401)
    ├── PermissionDenied  403: your role may not do this
    ├── NotFound          404: no such object in your scope
    ├── Conflict          409: illegal transition or stale version (.current_version,
    │                          .changed_by); an answer, never retried
    ├── InvalidRequest    413, 422 (and 400): the request itself is wrong
    ├── RateLimited       429: slow down (.retry_after seconds)
    └── ServerError       5xx: the server failed; retried where that is safe
"""

from __future__ import annotations

from typing import Any


class FreshlineError(Exception):
    """Anything that went wrong talking to the backend."""


class ConnectionFailed(FreshlineError):
    """The server could not be reached, or the connection broke before an answer."""


class UnexpectedAnswer(FreshlineError):
    """The server said yes, but in a shape the client does not know (a version mismatch)."""


class StreamRefused(FreshlineError):
    """The server closed the stream for a reason retrying cannot fix (4400 bad message, 4403
    forbidden), or sent a message the client cannot read."""


class GapDetected(FreshlineError):
    """An event's `prev_seq` is not the last applied seq: something was lost in between."""


class KeyringUnavailable(FreshlineError):
    """No keyring backend here and no token file opted in: sign in each time."""


class ApiError(FreshlineError):
    """The server answered with an error status."""

    def __init__(self, status: int, detail: Any, body: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.body = body or {}


class NotAuthenticated(ApiError):
    pass


class PermissionDenied(ApiError):
    pass


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    """An illegal transition or a stale version; `current_version` says which is current."""

    @property
    def current_version(self) -> int | None:
        return self.body.get("current_version")

    @property
    def changed_by(self) -> str | None:
        return self.body.get("changed_by")


class InvalidRequest(ApiError):
    pass


class RateLimited(ApiError):
    def __init__(
        self, status: int, detail: Any, body: dict[str, Any] | None, retry_after: float
    ) -> None:
        super().__init__(status, detail, body)
        self.retry_after = retry_after


class ServerError(ApiError):
    pass


_BY_STATUS: dict[int, type[ApiError]] = {
    401: NotAuthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    400: InvalidRequest,
    413: InvalidRequest,
    422: InvalidRequest,
}


def error_for(status: int, body: Any, retry_after: str | None = None) -> ApiError:
    """The one place that turns an HTTP error status into an exception."""
    payload = body if isinstance(body, dict) else {}
    detail = payload.get("detail", body)
    if status == 429:
        wait = parse_retry_after(retry_after)
        return RateLimited(status, detail, payload, 1.0 if wait is None else wait)
    if status >= 500:
        return ServerError(status, detail, payload)
    return _BY_STATUS.get(status, ApiError)(status, detail, payload)


MAX_RETRY_AFTER = 300.0


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds form), at most 5 minutes; None if absent
    or unreadable (dates, NaN, infinity)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))
