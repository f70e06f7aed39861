"""The tracking page in a real browser: Debian's headless Chromium driven by Playwright (never a
downloaded browser), at phone size, against a real server. It shows the ETA, its rider dot
moves when the rider's fix moves, and a signature drawn on it lands as the order's proof.

`FRESHLINE_DOCS_IMAGES=1` also writes the page's picture to docs/images/tracking-page.png."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.backend.tracking_support import Desk, north
from tests.servers import Server, serving

pytestmark = pytest.mark.slow

DOCS_IMAGE = Path(__file__).resolve().parents[2] / "docs" / "images" / "tracking-page.png"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("tracking-page"), "--demo") as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is not installed (make system)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
        timezone_id="Asia/Shanghai", locale="en-GB",
    )  # fmt: skip
    page = context.new_page()
    yield page
    context.close()


def dot(page: Page) -> tuple[float, float]:
    rider = page.locator("#rider-dot")
    return float(rider.get_attribute("cx") or 0), float(rider.get_attribute("cy") or 0)


def test_the_page_shows_the_eta_follows_the_rider_and_takes_a_signature(
    server: Server, page: Page, tmp_path: Path
) -> None:
    desk = Desk(server.base_url)
    order, token = desk.order()
    order = desk.out_for_delivery(order, rider=1)
    desk.fix(1, north(-2500))
    desk.fix(1, north(-2000))
    eta = desk.view(token)["eta"]
    assert eta is not None

    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server.base_url}/t/{token}")
    expect(page.locator("#status")).to_have_text("On its way")
    shown = page.evaluate(
        "(iso) => new Date(iso).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'})",
        eta,
    )
    expect(page.locator("#eta")).to_have_text(shown)
    expect(page.locator("#rider")).to_contain_text("Li · 139****0001")
    expect(page.locator("#timeline li")).to_have_count(4)
    expect(page.locator("#connection")).to_have_text("live")
    before = dot(page)
    assert before[0] > 0 and before[1] > 0  # on the map

    # The rider moves north, towards the customer: the dot moves up, live.
    desk.fix(1, north(-900))
    page.wait_for_function(
        "(y) => Number(document.getElementById('rider-dot').getAttribute('cy')) < y - 1",
        arg=before[1],
    )
    after = dot(page)
    assert after[1] < before[1]

    # At the door: the rider asks, the pad opens; a signature drawn with a finger lands.
    expect(page.locator("#sign-box")).to_be_hidden()
    desk.call("rider-1", "POST", f"/orders/{order['id']}/signature-request")
    expect(page.locator("#sign-box")).to_be_visible()
    expect(page.locator("#pin")).to_contain_text(desk.view(token)["pin"])
    page.locator("#signature-pad").scroll_into_view_if_needed()
    pad = page.locator("#signature-pad").bounding_box()
    assert pad is not None
    page.mouse.move(pad["x"] + 20, pad["y"] + pad["height"] * 0.6)
    page.mouse.down()
    for step in range(1, 30):
        x = pad["x"] + 20 + step * (pad["width"] - 40) / 30
        y = pad["y"] + pad["height"] * (0.6 - 0.3 * ((step % 6) / 6))
        page.mouse.move(x, y)
    page.mouse.up()
    expect(page.locator("#sign-button")).to_be_enabled()
    picture = tmp_path / "tracking-page.png"
    page.screenshot(path=str(picture), full_page=True)
    if os.environ.get("FRESHLINE_DOCS_IMAGES"):
        shutil.copy(picture, DOCS_IMAGE)
    page.locator("#sign-button").click()
    expect(page.locator("#signed-note")).to_be_visible()
    expect(page.locator("#sign-box")).to_be_hidden()

    timeline = desk.call("dispatcher", "GET", f"/orders/{order['id']}/timeline")
    [proof] = [e for e in timeline if e["kind"] == "order.proof"]
    assert proof["payload"]["proof"]["kind"] == "signature"
    assert proof["role"] == "customer"
    assert desk.view(token)["signed"] is True
    assert errors == []


def test_a_dead_link_gets_a_page_saying_so(server: Server, page: Page) -> None:
    answer = page.goto(f"{server.base_url}/t/{'Q' * 32}")
    assert answer is not None and answer.status == 404
    expect(page.locator("h1")).to_contain_text("expired")
