"""OpenAPI declarations of the error answers, so clients see every status they must handle."""

from __future__ import annotations

from typing import Any

from backend_client.models import ErrorBody

Responses = dict[int | str, dict[str, Any]]


def errors(described: dict[int, str]) -> Responses:
    """Error responses with the common `{"detail": ...}` body, one description each."""
    return {code: {"model": ErrorBody, "description": text} for code, text in described.items()}


# Every call that needs a token can answer these.
PROTECTED = errors(
    {
        401: "Missing, unknown, expired or revoked bearer token.",
        403: "Your role may not do this.",
        422: "Invalid input; `detail` says what (a list of field errors, or a sentence).",
    }
)
# Every call with a body can also answer this.
TOO_LARGE = errors({413: "The request body is larger than the configured limit."})
