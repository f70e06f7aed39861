"""OpenAPI declarations of the error answers, so clients see every status they must handle."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

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

UNPARSEABLE = "The body cannot be read at all (not UTF-8, nested too deep, a broken form)."


def document_unparseable_bodies(app: FastAPI) -> None:
    """Every operation that takes a body declares FastAPI's own 400 for a body it cannot parse
    (a body it parses but refuses is a 422); added once where the schema is built, so a new
    route cannot forget it."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    if "requestBody" in operation:
                        operation["responses"].setdefault(
                            "400",
                            {
                                "description": UNPARSEABLE,
                                "content": {
                                    "application/json": {
                                        "schema": {"$ref": "#/components/schemas/ErrorBody"}
                                    }
                                },
                            },
                        )
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI documents this override
