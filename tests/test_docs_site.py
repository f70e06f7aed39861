"""The front door and the docs site: README stays short and starts with the two commands, and
the site builds with `mkdocs build --strict` (no broken link, anchor or page), its API reference
covers every operation the app serves, it loads nothing from another host, and its search works
from the file system."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
README_LIMIT = 12 * 1024
# CI runs `make test`, and a fresh machine starts with these: README's first lines, as they are.
COMMANDS = [
    "```sh",
    "make run    # fresh machine: creates .venv, installs Freshline, runs `freshline`: the "
    "console on a living demo city (q quits)",
    "make test   # fresh machine: creates .venv, installs Freshline with its dev tools, runs "
    "ruff, mypy and the whole suite",
    "```",
]
# What a page may load: its own files (relative), inline data, and nothing from another host.
LOADED = re.compile(r'<(?:script|img|iframe|source)[^>]*\ssrc="([^"]+)"|<link[^>]*\shref="([^"]+)"')


def other_hosts(svg: str) -> list[str]:
    """Addresses an SVG names, but its XML namespace (a name, never fetched)."""
    return [url for url in re.findall(r"https?://[^\s\"')]+", svg) if "www.w3.org" not in url]


def hook(name: str) -> ModuleType:
    """A module of docs/hooks, loaded as MkDocs loads it (by path: docs/ is no package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / "hooks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_is_short_and_opens_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= README_LIMIT
    lines = text.splitlines()
    assert lines[0] == "# Freshline"
    assert lines[2:6] == COMMANDS


def test_readme_pictures_and_links_point_at_files_in_the_repository() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    local = [target for target in targets if not target.startswith(("http://", "https://"))]
    assert any(target.startswith("docs/images/") for target in local), "the tour has pictures"
    missing = [target for target in local if not (ROOT / target).is_file()]
    assert missing == []


def test_the_front_page_rewrites_readme_links_for_the_site() -> None:
    front_page = hook("front_page").front_page
    page = front_page(
        "[Console](docs/console.md#keys) ![Board](docs/images/board.svg) "
        "[Benchmarks](bench/README.md) [Layout](docs/layout.md)"
    )
    assert page == (
        "[Console](console.md#keys) ![Board](images/board.svg) "
        "[Benchmarks](benchmarks.md) [Layout](layout.md)"
    )


def test_the_api_reference_describes_operations_parameters_bodies_and_models() -> None:
    reference = hook("api_reference").reference
    schema: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Freshline", "version": "9"},
        "paths": {
            "/api/v1/orders/{order_id}": {
                "get": {
                    "tags": ["orders"],
                    "summary": "Get Order",
                    "security": [{"bearer": []}],
                    "parameters": [
                        {
                            "name": "order_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1.0},
                            "description": "Which | order",
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The order",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Order"}
                                }
                            },
                        },
                        "404": {"description": "No such order"},
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "Order": {
                    "description": "One order.",
                    "properties": {
                        "id": {"type": "integer"},
                        "note": {"anyOf": [{"type": "string", "maxLength": 500}, {"type": "null"}]},
                        "lines": {"type": "array", "items": {"$ref": "#/components/schemas/Line"}},
                    },
                    "required": ["id"],
                },
                "Line": {"properties": {"sku": {"type": "string"}}},
                "State": {"enum": ["PAID", "SIGNED"]},
            }
        },
    }
    page = reference(schema)
    assert "## orders { #tag-orders }" in page
    assert "### `GET /api/v1/orders/{order_id}`" in page
    assert "Needs a bearer token" in page
    # A pipe in a description would end the table cell early: it is escaped.
    assert "| `order_id` | path | integer, ≥ 1 | yes | Which \\| order |" in page
    assert "| `200` | The order | [Order](#model-order) |" in page
    assert "| `404` | No such order |  |" in page
    assert "### Order { #model-order }" in page
    assert "| `note` | (string, length ≤ 500) or null |  |  |" in page
    assert "| `lines` | list of [Line](#model-line) |  |  |" in page
    assert "One of `PAID`, `SIGNED`." in page


def test_screenshots_keep_no_web_fonts() -> None:
    spec = importlib.util.spec_from_file_location("capture", ROOT / "docs" / "capture.py")
    assert spec is not None and spec.loader is not None
    capture = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(capture)
    svg = (
        'src: local("FiraCode-Regular"),\n'
        '        url("https://cdn.example/FiraCode-Regular.woff2") format("woff2"),\n'
        '        url("https://cdn.example/FiraCode-Regular.woff") format("woff");'
    )
    assert capture.offline(svg) == 'src: local("FiraCode-Regular");'
    for image in (ROOT / "docs" / "images").glob("*.svg"):
        assert other_hosts(image.read_text(encoding="utf-8")) == [], image.name


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The docs site, built once for this module's tests, strictly: any warning fails it."""
    target = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(target)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    return target


@pytest.mark.slow
def test_the_site_builds_strictly_with_every_page(site: Path) -> None:
    for page in ("index.html", "console.html", "api.html", "api-reference.html", "benchmarks.html"):
        assert (site / page).is_file(), page
    home = (site / "index.html").read_text(encoding="utf-8")
    assert 'src="images/board.svg"' in home  # README's pictures, found from the site too
    benchmarks = (site / "benchmarks.html").read_text(encoding="utf-8")
    assert "make bench" in benchmarks  # bench/README.md included whole, not the include line
    assert "--8&lt;--" not in benchmarks


@pytest.mark.slow
def test_the_api_reference_lists_every_operation_the_app_serves(site: Path) -> None:
    from backend.app import create_app
    from backend.settings import Settings

    schema = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:")).openapi()
    page = (site / "api-reference.html").read_text(encoding="utf-8")
    for path, item in schema["paths"].items():
        for method in item.keys() & {"get", "post", "put", "patch", "delete"}:
            assert f"{method.upper()} {path}" in page, f"{method.upper()} {path}"
    for model in schema["components"]["schemas"]:
        assert f'id="model-{model.lower()}"' in page, model


@pytest.mark.slow
def test_no_page_loads_anything_from_another_host(site: Path) -> None:
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        for found in LOADED.finditer(html):
            address = found.group(1) or found.group(2)
            assert not re.match(r"(https?:)?//", address), f"{page.name} loads {address}"
    for image in (site / "images").glob("*.svg"):
        assert other_hosts(image.read_text(encoding="utf-8")) == [], image.name


@pytest.mark.slow
def test_search_works_from_the_file_system(site: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium (make system)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            remote: list[str] = []
            page.on(
                "request",
                lambda request: (
                    remote.append(request.url)
                    if not request.url.startswith(("file:", "data:", "blob:", "about:"))
                    else None
                ),
            )
            page.goto((site / "console.html").as_uri())
            page.evaluate("document.getElementById('__search').click()")
            page.focus("input.md-search__input")
            page.keyboard.type("reassign")
            # Playwright waits for the results (the worker answers through the iframe).
            page.wait_for_selector(".md-search-result__item", timeout=30_000)
            assert "matching document" in page.inner_text(".md-search-result__meta")
            assert remote == []
        finally:
            browser.close()
