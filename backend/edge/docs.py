"""The interactive API reference from the package's own copy of Swagger UI: it works offline
and loads nothing from another host.

Swagger UI's script and stylesheet come from the `fastapi-offline` package (MIT; Swagger UI
itself is Apache-2.0), served under `<docs>/assets/`. The page's one inline script is allowed
by its hash in the page's Content-Security-Policy, so the page runs nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

ASSETS: dict[str, str] = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}
"""The files the page needs, and their media types; nothing else of the package is served."""


def assets_folder() -> Path:
    """Where the installed package keeps Swagger UI."""
    return Path(str(files("fastapi_offline") / "static"))


def docs_policy(html: str) -> str:
    """The page's CSP: its own assets, and its inline script by hash."""
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in scripts
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


def add_docs(app: FastAPI, *, docs_url: str, openapi_url: str, title: str) -> None:
    """Serve Swagger UI at `docs_url`, its assets below it, reading the schema at
    `openapi_url`."""
    assets_url = f"{docs_url}/assets"
    page = bytes(
        get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - API reference",
            swagger_js_url=f"{assets_url}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets_url}/swagger-ui.css",
            swagger_favicon_url=f"{assets_url}/favicon.png",
            # Swagger UI would otherwise send the schema to an online validator.
            swagger_ui_parameters={"validatorUrl": None},
        ).body
    ).decode()
    headers = {"Content-Security-Policy": docs_policy(page), "Cache-Control": "no-cache"}
    folder = assets_folder()

    @app.get(docs_url, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page, headers=headers)

    @app.get(f"{assets_url}/{{name}}", include_in_schema=False)
    async def docs_asset(name: str) -> FileResponse:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise HTTPException(404, "no such asset")
        return FileResponse(
            folder / name, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
        )
