"""Customers with their tracking links: some open the link the channel sent them, some follow
it live (the page's socket, or polling it as a page does when sockets fail), and those who
follow sign on it when their rider, at the door, asks them to.

Through the public API only, as the page does, with no account: the link's token is all a
customer has.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import io
import json
import logging
import random
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from backend.sim.accounts import Actor
from backend.sim.world import Story
from backend_client import Conflict, FreshlineClient, FreshlineError, NotFound, cancel_and_wait
from backend_client.models import OrderState
from backend_client.models.tracking import TrackingView

if TYPE_CHECKING:
    from backend.sim.runner import Simulator

log = logging.getLogger(__name__)

OPENS_LINK = 0.5
"""The share of customers who open the tracking link at all."""
FOLLOWS = 0.6
"""Of those, the share who keep the page open until the rider comes (and sign on it)."""
POLL_EVERY_S = 120.0
"""Simulated seconds between looks of a customer who reads the page now and then (or whose
socket failed)."""
FINAL = frozenset(
    {OrderState.SIGNED, OrderState.RETURNED, OrderState.CLAIM_SETTLED, OrderState.CANCELLED}
)


def token_of(tracking_url: str | None) -> str | None:
    return None if not tracking_url else tracking_url.rstrip("/").rsplit("/", 1)[-1]


@functools.cache
def signature_png() -> str:
    """A scribbled signature, drawn once: what a finger on the page's pad sends."""
    image = Image.new("L", (480, 160), 255)
    pen = ImageDraw.Draw(image)
    pen.line([(30, 110), (90, 40), (120, 120), (180, 50), (230, 115), (300, 60), (450, 90)], 0, 5)
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


async def customer_story(sim: Simulator, story: Story, rng: random.Random) -> None:
    """One customer with the link of `story`'s order: opens it a little after ordering, and,
    if they follow it, watches until it is theirs to sign, then signs."""
    token = story.tracking_token
    assert token is not None
    await sim.sleep(rng.uniform(30, 300))  # the text message arrives, they tap it
    async with FreshlineClient(sim.config.server, transport=sim.transport) as page:
        view = await _look(sim, page, token)
        if view is None or not story.customer_follows:
            return
        while view is not None and view.status not in FINAL:
            if view.can_sign and story.signature_asked.is_set():
                await _sign(sim, page, story, token)
                return
            if sim.transport is None:
                view = await _follow_live(sim, page, story, token, view)
            else:
                await sim.wait_for(story.signature_asked, seconds=POLL_EVERY_S)
                view = await _look(sim, page, token)


async def _look(sim: Simulator, page: FreshlineClient, token: str) -> TrackingView | None:
    try:
        view = await page.tracking.view(token)
    except NotFound:
        return None  # expired (or the order erased): nothing more to see
    sim.stats.tracking_views += 1
    return view


async def _sign(sim: Simulator, page: FreshlineClient, story: Story, token: str) -> None:
    try:
        await page.tracking.sign(token, signature_png())
    except Conflict as refused:
        log.info("order %s not signed on its page: %s", story.order_id, refused)
        return
    sim.stats.signatures += 1
    story.customer_signed.set()


async def _follow_live(
    sim: Simulator, page: FreshlineClient, story: Story, token: str, view: TrackingView
) -> TrackingView | None:
    """Read the link's socket until the order is ready to sign or ends; polls (as the page
    does) if the socket cannot be had. The newest view."""
    scheme, _, rest = sim.config.server.partition("://")
    url = f"{'wss' if scheme == 'https' else 'ws'}://{rest}/api/v1/track/{token}/live"
    try:
        async with connect(
            f"{url}?since={view.seq}", compression=None, ssl=page.tls, open_timeout=10
        ) as socket:
            sim.stats.tracking_sockets += 1
            while True:
                raw = await _next(socket, story)
                if raw is None:
                    return await _look(sim, page, token)  # asked: the newest, then sign
                message = json.loads(raw)
                if message.get("type") != "view":
                    continue  # positions and heartbeats: the page draws them
                view = TrackingView.model_validate(message["view"])
                if view.status in FINAL or (view.can_sign and story.signature_asked.is_set()):
                    return view
    except (OSError, WebSocketException, TimeoutError) as failed:
        log.info("tracking socket of order %s failed (%s): polling", story.order_id, failed)
        await sim.sleep(POLL_EVERY_S)
        return await _look(sim, page, token)


async def _next(socket: ClientConnection, story: Story) -> str | None:
    """The socket's next message, or None once the rider asked (whichever comes first)."""
    receive = asyncio.ensure_future(socket.recv())
    asked = asyncio.ensure_future(story.signature_asked.wait())
    try:
        done, _ = await asyncio.wait({receive, asked}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        # Not `suppress(CancelledError)` around each: the simulator stopping this customer
        # while they settle must stop them, not be swallowed with the helpers' cancellations.
        await cancel_and_wait(*(waiting for waiting in (receive, asked) if not waiting.done()))
    if receive in done:
        return str(receive.result())
    return None


async def ask_and_wait(sim: Simulator, story: Story, rider: Actor) -> None:
    """The rider at the door of a customer who follows their link: asks them to sign on it and
    waits a few simulated minutes for the signature (signing the order off either way)."""
    try:
        await rider.call(lambda client: client.tracking.ask_signature(story.order_id))
    except FreshlineError as refused:
        log.info("order %s: signature not asked: %s", story.order_id, refused)
        return
    story.signature_asked.set()
    await sim.wait_for(story.customer_signed, seconds=180)
