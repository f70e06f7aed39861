"""405 Method Not Allowed with an `Allow` header that names what the path really takes.

Starlette names the methods of the first route whose path matches, which for
`PUT /orders/transitions` is `GET /orders/{order_id}`: `Allow: GET`, where the path takes POST
only. Here the header lists the methods the API's schema gives the path, a fixed path winning
over a template that happens to match it (as when a request is routed). A path the schema does
not document keeps Starlette's header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import compile_path

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True, slots=True)
class PathMethods:
    """One path of the schema: how to match it, and what it takes."""

    pattern: re.Pattern[str]
    templated: bool
    methods: frozenset[str]


def path_methods(schema: dict[str, object]) -> list[PathMethods]:
    """Every path of an OpenAPI schema with its methods."""
    paths = schema.get("paths", {})
    assert isinstance(paths, dict)
    found = []
    for path, operations in paths.items():
        pattern, _, convertors = compile_path(path)
        methods = frozenset(m.upper() for m in operations if m in METHODS)
        found.append(PathMethods(pattern, bool(convertors), methods))
    return found


def allowed_methods(paths: list[PathMethods], path: str) -> list[str]:
    """The methods the schema gives `path`, sorted; empty for a path it does not document."""
    matching = [p for p in paths if p.pattern.match(path)]
    fixed = [p for p in matching if not p.templated]
    return sorted({m for p in (fixed or matching) for m in p.methods})


def install_allow_header(app: FastAPI) -> None:
    """FastAPI's own HTTP error answers, with a 405's `Allow` computed as above."""
    paths: list[PathMethods] = []

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 405:
            if not paths:
                paths.extend(path_methods(app.openapi()))
            methods = allowed_methods(paths, request.url.path)
            if methods:
                exc.headers = {**(exc.headers or {}), "Allow": ", ".join(methods)}
        return await http_exception_handler(request, exc)
