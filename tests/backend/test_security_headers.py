"""Every answer carries the security headers; the docs page loads only the package's own assets."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx

from tests.support import Api

EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def assert_secured(response: object, *, no_store: bool = True) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in EXPECTED.items():
        assert headers.get(name) == value, (name, dict(headers))
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    if no_store:
        assert headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in headers  # plain HTTP: only over TLS


async def test_the_token_answer_is_never_stored(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/auth/token", data={"username": "dispatcher", "password": "demo-dispatcher"}
    )
    assert response.status_code == 200, response.text
    assert_secured(response)
    assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_personal_data_and_refusals_carry_the_headers(api: Api) -> None:
    order = await api.create_order()
    detail = await api.get("dispatcher", f"/orders/{order['id']}")
    assert detail.status_code == 200, detail.text
    assert detail.json()["customer"]["name"]
    assert_secured(detail)
    assert_secured(await api.client.get("/api/v1/orders"))  # 401
    too_big = await api.client.post(
        "/api/v1/auth/token", content=b"x" * 2_000_000, headers={"content-type": "text/plain"}
    )
    assert too_big.status_code == 413
    assert_secured(too_big)
    assert_secured(await api.client.get("/api/v1/health"))


async def test_docs_load_nothing_from_another_host(api: Api) -> None:
    page = await api.client.get("/api/v1/docs")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    html = page.text
    assert "//" not in "".join(re.findall(r"(?:src|href)=\"([^\"]*)\"", html)), html
    assert not re.search(r"https?://", html), html
    assets = re.findall(r"(?:src|href)=\"([^\"]+)\"", html)
    assert len(assets) == 3, assets  # the script, the stylesheet, the icon
    for url in assets:
        asset = await api.client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url
    script = await api.client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in script.text
    assert script.headers["content-type"].startswith("text/javascript")
    # The page's one inline script runs by its hash; nothing else inline does.
    policy = page.headers["content-security-policy"]
    inline = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    script_src = next(p for p in policy.split(";") if p.strip().startswith("script-src"))
    assert script_src.split() == ["script-src", "'self'", f"'sha256-{digest}'"]
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"


async def test_only_the_docs_assets_are_served(api: Api) -> None:
    for name in ("redoc.standalone.js", "..%2Fcore.py", "__init__.py"):
        response = await api.client.get(f"/api/v1/docs/assets/{name}")
        assert response.status_code == 404, name


async def test_even_a_server_error_carries_the_headers(api: Api) -> None:
    @api.app.get("/api/v1/test-only-boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/api/v1/test-only-boom")
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert_secured(response)
