"""Domain errors and how they answer over HTTP: JSON `{"detail": ...}` with the right status."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the client can act on; never a crash."""

    status_code = 400

    def __init__(self, detail: str, **context: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.context = context

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail, **self.context}


class NotAuthenticated(DomainError):
    status_code = 401


class Forbidden(DomainError):
    status_code = 403


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class IllegalTransition(Conflict):
    """The action does not apply to the order's current state."""


class StaleVersion(Conflict):
    """The client acted on an old version; `current_version` says which is current."""


class Unprocessable(DomainError):
    status_code = 422


class PayloadTooLarge(DomainError):
    status_code = 413


class RateLimited(DomainError):
    status_code = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after
