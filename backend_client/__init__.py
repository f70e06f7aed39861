"""Typed client for the Freshline backend: REST, the live stream, and token storage.

Never imports textual or rich (tests/test_layering.py).
"""

from backend_client.errors import (
    ApiError,
    Conflict,
    ConnectionFailed,
    FreshlineError,
    InvalidRequest,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    UnexpectedAnswer,
)
from backend_client.http import FreshlineClient
from backend_client.retry import Backoff
from backend_client.stream import (
    GapDetected,
    StreamConsumer,
    StreamRefused,
    StreamState,
    StreamStatus,
)
from backend_client.tokens import KeyringUnavailable, TokenStore

__all__ = [
    "ApiError",
    "Backoff",
    "Conflict",
    "ConnectionFailed",
    "FreshlineClient",
    "FreshlineError",
    "GapDetected",
    "InvalidRequest",
    "KeyringUnavailable",
    "NotAuthenticated",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "StreamConsumer",
    "StreamRefused",
    "StreamState",
    "StreamStatus",
    "TokenStore",
    "UnexpectedAnswer",
]
